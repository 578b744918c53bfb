"""Annotations: create (one or many), update with optimistic concurrency, delete; every change audited."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import learning_loop
from ..geometry import RuleError, checked_geometry
from ..models import Annotation, AnnotationEvent, Image, LabelClass
from ..rules import TagItem, annotation_check, coco_fields, state_after_change, tags_check

State = Annotation.State
Origin = Annotation.Origin


class StaleVersion(Exception):
    """The change was based on an older version; ``current`` is the annotation as it is now."""

    def __init__(self, current: Annotation | None):
        super().__init__("stale version")
        self.current = current


def snapshot(annotation: Annotation) -> dict:
    """What the audit trail keeps of an annotation before and after a change."""
    return {
        "label_class": annotation.label_class_id,
        "kind": annotation.kind,
        "geometry": annotation.geometry,
        "iscrowd": annotation.iscrowd,
        "origin": annotation.origin,
        "state": annotation.state,
        "score": annotation.score,
        "model_version": annotation.model_version_id,
        "version": annotation.version,
    }


def _record(annotation, action, actor, before, after) -> None:
    AnnotationEvent.objects.create(
        annotation_id=annotation.pk,
        project_id=annotation.image.project_id,
        image_id=annotation.image_id,
        action=action,
        actor=actor if actor and actor.is_authenticated else None,
        before=before,
        after=after,
    )


def _invalid(exc: RuleError) -> ValidationError:
    return ValidationError({exc.path: exc.detail})


def _build(image: Image, classes: dict[int, LabelClass], data: dict, user, prefix: str = "") -> Annotation:
    """Validate one incoming annotation against its image and project; return it unsaved."""
    at = (lambda field: f"{prefix}.{field}") if prefix else (lambda field: field)
    checked = annotation_check(
        kind=data.get("kind"), geometry=data.get("geometry", {}), width=image.width, height=image.height,
        kinds=image.project.kinds, origin=data.get("origin", Origin.HUMAN), state=data.get("state"),
        score=data.get("score"), prefix=prefix,
    )
    label_class = classes.get(data.get("label_class"))
    if label_class is None:
        raise RuleError(at("label_class"), f"No class {data.get('label_class')!r} in this project.")
    return Annotation(
        image=image,
        label_class=label_class,
        kind=checked.kind,
        geometry=checked.geometry,
        outline=checked.outline,
        coco_bbox=checked.coco_bbox,
        coco_area=checked.coco_area,
        iscrowd=bool(data.get("iscrowd", False)),
        origin=checked.origin,
        state=checked.state,
        score=checked.score,
        model_version=data.get("model_version"),
        created_by=user if user and user.is_authenticated else None,
        updated_by=user if user and user.is_authenticated else None,
    )


def _check_tags(image: Image, new: list[Annotation], paths: list[str] | None = None) -> None:
    """The tag rules (labeling.rules.tags_check) for annotations about to be saved on one image."""
    tags = [(i, a) for i, a in enumerate(new) if a.kind == Annotation.Kind.TAG and a.state == State.ACCEPTED]
    if not tags:
        return
    existing = dict(
        image.annotations.filter(kind=Annotation.Kind.TAG, state=State.ACCEPTED)
        .exclude(pk__in=[a.pk for a in new if a.pk])
        .values_list("label_class_id", "label_class__name")
    )
    try:
        tags_check(
            multilabel=image.project.multilabel,
            existing={image.pk: existing},
            new=[
                TagItem(f"{paths[i]}.label_class" if paths else "label_class", image.pk, a.label_class_id,
                        a.label_class.name)
                for i, a in tags
            ],
        )
    except RuleError as exc:
        raise _invalid(exc) from None


def _labels_changed(image: Image, annotations) -> None:
    """After commit: people's accepted labels count towards the next training run."""
    if any(a.state == State.ACCEPTED for a in annotations):
        learning_loop.labels_accepted(project_id=image.project_id)


def _mark_started(image: Image) -> None:
    if image.status == Image.Status.NEW:
        Image.objects.filter(pk=image.pk, status=Image.Status.NEW).update(
            status=Image.Status.IN_PROGRESS, updated_at=timezone.now()
        )


def _lock_image(image: Image) -> None:
    """Hold the image for this transaction, or raise Image.DoesNotExist (the API answers 404).

    A save racing image_delete: the delete locks the image row FOR UPDATE, waits for saves under
    way and deletes their annotations with it; a save arriving later finds no row and answers
    "deleted" instead of failing on the foreign key at commit (a 400 naming the database's text,
    or a 500). PostgreSQL: FOR KEY SHARE, the lock a foreign-key check takes, so saves on one
    image do not wait for each other. SQLite: a no-op UPDATE takes the database's write lock now.
    """
    from django.db import connection
    from django.db.models import F

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {Image._meta.db_table} WHERE id = %s FOR KEY SHARE", [image.pk])
            found = cursor.fetchone() is not None
    else:
        found = Image.objects.filter(pk=image.pk).update(updated_at=F("updated_at")) == 1
    if not found:
        raise Image.DoesNotExist(f"Image {image.pk} was deleted while this was being saved.")


def annotation_create_many(*, image: Image, user, items: list[dict]) -> list[Annotation]:
    """Create several annotations on one image in one transaction: all of them or none.

    Errors name the item: ``[3].geometry.points[0][1]``.
    """
    classes = {c.pk: c for c in image.project.label_classes.all()}
    built = []
    for i, data in enumerate(items):
        try:
            built.append(_build(image, classes, data, user, prefix=f"[{i}]"))
        except RuleError as exc:
            raise _invalid(exc) from None
    _check_tags(image, built, [f"[{i}]" for i in range(len(built))])
    try:
        with transaction.atomic():
            _lock_image(image)
            Annotation.objects.bulk_create(built)
            if any(a.pk is None for a in built):  # backends without RETURNING: fetch ids back
                raise RuntimeError("the database did not return ids from bulk_create")
            AnnotationEvent.objects.bulk_create(
                AnnotationEvent(
                    annotation_id=a.pk,
                    project_id=image.project_id,
                    image_id=image.pk,
                    action=AnnotationEvent.Action.CREATE,
                    actor=a.created_by,
                    after=snapshot(a),
                )
                for a in built
            )
            _mark_started(image)
            _labels_changed(image, built)
    except IntegrityError as exc:
        raise ValidationError({"label_class": f"Refused by the database: {exc}"}) from None
    return built


def annotation_create(*, image: Image, user, data: dict) -> Annotation:
    classes = {c.pk: c for c in image.project.label_classes.all()}
    try:
        annotation = _build(image, classes, data, user)
    except RuleError as exc:
        raise _invalid(exc) from None
    _check_tags(image, [annotation])
    try:
        with transaction.atomic():
            _lock_image(image)
            annotation.save()
            _record(annotation, AnnotationEvent.Action.CREATE, user, None, snapshot(annotation))
            _mark_started(image)
            _labels_changed(image, [annotation])
    except IntegrityError as exc:
        raise ValidationError({"label_class": f"Refused by the database: {exc}"}) from None
    return annotation


def _lock_current(annotation: Annotation, based_on: int) -> Annotation:
    """Lock the annotation's row (only that row: not its image or project) and check its version."""
    current = Annotation.objects.select_for_update().filter(pk=annotation.pk).first()
    if current is None or current.version != based_on:
        raise StaleVersion(current)
    # The image and project do not change under an annotation: reuse the ones already loaded.
    current.image = annotation.image
    if current.created_by_id == annotation.created_by_id:
        current.created_by = annotation.created_by
    return current


def _apply_changes(current: Annotation, user, changes: dict, classes: dict | None = None, prefix: str = "") -> tuple[dict, str]:
    """Apply ``changes`` to the locked ``current`` under the rules; return (before, event action).

    Shared by PATCH and the batch save; ``prefix`` names the item in a batch (``update[2]``).
    The caller saves the row and records the event (so a batch can write its events at once).
    """
    at = (lambda field: f"{prefix}.{field}") if prefix else (lambda field: field)
    allowed = {"label_class", "geometry", "state", "iscrowd"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValidationError({at(unknown[0]): "This field cannot be changed."})
    before = snapshot(current)
    image = current.image
    if "label_class" in changes and changes["label_class"] != current.label_class_id:
        label_class = (classes.get(changes["label_class"]) if classes is not None
                       else image.project.label_classes.filter(pk=changes["label_class"]).first())
        if label_class is None:
            raise ValidationError({at("label_class"): f"No class {changes['label_class']!r} in this project."})
        current.label_class = label_class
    try:
        if "geometry" in changes:
            current.geometry, current.outline = checked_geometry(
                current.kind, changes["geometry"], width=image.width, height=image.height, path=at("geometry")
            )
            current.coco_bbox, current.coco_area = coco_fields(current.kind, current.geometry)
        edited = current.label_class_id != before["label_class"] or current.geometry != before["geometry"]
        current.state = state_after_change(
            origin=current.origin, state=current.state, requested=changes.get("state"), edited=edited
        )
    except RuleError as exc:
        path = exc.path if exc.path.startswith(prefix) else at(exc.path)
        raise ValidationError({path: exc.detail}) from None
    if "iscrowd" in changes:
        current.iscrowd = bool(changes["iscrowd"])
    current.version += 1
    current.updated_by = user if user and user.is_authenticated else None
    action = AnnotationEvent.Action.STATE if not edited and before["state"] != current.state else AnnotationEvent.Action.UPDATE
    return before, action


def annotation_update(*, annotation: Annotation, user, version: int, changes: dict) -> Annotation:
    """Apply ``changes`` (label_class, geometry, state, iscrowd) if nobody changed it since ``version``.

    Raises StaleVersion with the current annotation otherwise. A proposal whose class or
    geometry is edited becomes accepted: the human has vouched for it.
    """
    with transaction.atomic():
        current = _lock_current(annotation, version)
        before, action = _apply_changes(current, user, changes)
        _check_tags(current.image, [current])
        current.save()
        _record(current, action, user, before, snapshot(current))
        _labels_changed(current.image, [current])
    return current


def annotation_delete(*, annotation: Annotation, user, version: int) -> None:
    with transaction.atomic():
        current = _lock_current(annotation, version)
        _record(current, AnnotationEvent.Action.DELETE, user, snapshot(current), None)
        current.delete()
