"""Review grid writes: accept, reject or relabel many annotations at once, all or nothing.

The rules are annotation_update's, from labeling.rules (state_after_change: a relabelled
proposal becomes accepted; tags_check: one accepted tag per class), with the same optimistic
concurrency: each id comes with the version it was based on, and if any row changed since,
nothing is applied and StaleVersions carries the current rows. Versions bumped, one audit
event per change, with a constant number of queries: one to lock the rows, one for the class,
one for the images' accepted tags, one bulk update and one bulk insert of events, whatever the
size (the backend may split a very large bulk update into batches by its parameter limit).
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Annotation, AnnotationEvent, LabelClass, Project
from ..permissions import can_change_state
from ..rules import RuleError, TagItem, state_after_change, tags_check
from .annotations import _labels_changed, snapshot

State = Annotation.State

MAX_BULK = 1000


class StaleVersions(Exception):
    """Some rows changed since the versions sent; ``current`` are those rows as they are now."""

    def __init__(self, current: list[Annotation]):
        super().__init__("stale versions")
        self.current = current


@dataclass(frozen=True)
class _Change:
    annotation: Annotation
    before: dict
    edited: bool


def annotation_bulk_update(
    *, project: Project, user, ids: list[int], versions: list[int], state: str | None = None,
    label_class: int | None = None,
) -> list[Annotation]:
    """Set ``state`` and/or ``label_class`` on the annotations ``ids`` of ``project``; returns them in order.

    ``versions[i]`` is the version ``ids[i]`` was based on. Raises ValidationError naming
    ``ids[i]`` for an id outside the project, StaleVersions when any row changed since its
    version (nothing applied), PermissionDenied when the user may not change one of them (see
    can_change_state). Rows already as asked are returned unchanged: no version bump, no event.
    """
    _check_input(ids, versions, state, label_class)
    with transaction.atomic():
        rows = _lock(project, ids)
        stale = [a for a, based_on in zip(rows, versions, strict=True) if a.version != based_on]
        if stale:
            raise StaleVersions(stale)
        target_class = _target_class(project, label_class)
        for annotation in rows:
            annotation.image.project = project  # every row is in the project: no query per row
            new_state = state_after_change(
                origin=annotation.origin, state=annotation.state, requested=state,
                edited=target_class is not None and target_class.pk != annotation.label_class_id,
            )
            if not can_change_state(user, annotation, new_state):
                raise PermissionDenied(
                    f"Annotation {annotation.pk} is a label made by a person (or already reviewed): "
                    "only reviewers and managers accept, reject or relabel it."
                )
        changes = [c for c in (_apply(a, state, target_class, user) for a in rows) if c is not None]
        _check_tags(project, ids, [c.annotation for c in changes])
        _save(project, user, changes)
    return rows


def _check_input(ids, versions, state, label_class) -> None:
    if state is None and label_class is None:
        raise ValidationError({"state": "Send a state (accepted or rejected), a label_class, or both."})
    if state is not None and state not in (State.ACCEPTED, State.REJECTED):
        raise ValidationError({"state": f"Unknown state {state!r}; one of accepted, rejected."})
    if not ids:
        raise ValidationError({"ids": "Send at least one annotation id."})
    if len(ids) > MAX_BULK:
        raise ValidationError({"ids": f"At most {MAX_BULK} annotations at a time; got {len(ids)}."})
    if len(versions) != len(ids):
        raise ValidationError(
            {"versions": f"Send one version per id, in the same order: {len(ids)} ids, {len(versions)} versions."}
        )
    seen = set()
    for i, pk in enumerate(ids):
        if pk in seen:
            raise ValidationError({f"ids[{i}]": f"Annotation {pk} is listed twice."})
        seen.add(pk)


def _lock(project: Project, ids: list[int]) -> list[Annotation]:
    """The rows, locked, in the order asked for; an id outside the project is named by its index."""
    found = {
        a.pk: a
        # created_by for the response; of=self locks only these rows, not their images or users.
        for a in Annotation.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, image__project=project)
        .select_related("image", "label_class", "created_by")
    }
    for i, pk in enumerate(ids):
        if pk not in found:
            raise ValidationError({f"ids[{i}]": f"No annotation {pk} in this project."})
    return [found[pk] for pk in ids]


def _target_class(project: Project, label_class: int | None) -> LabelClass | None:
    if label_class is None:
        return None
    target = project.label_classes.filter(pk=label_class).first()
    if target is None:
        raise ValidationError({"label_class": f"No class {label_class!r} in this project."})
    return target


def _apply(annotation: Annotation, state: str | None, target: LabelClass | None, user) -> _Change | None:
    """annotation_update's rules for one row, in memory; None when nothing would change."""
    before = snapshot(annotation)
    if target is not None and target.pk != annotation.label_class_id:
        annotation.label_class = target
    edited = annotation.label_class_id != before["label_class"]
    annotation.state = state_after_change(
        origin=annotation.origin, state=annotation.state, requested=state, edited=edited
    )
    if not edited and annotation.state == before["state"]:
        return None
    annotation.version += 1
    annotation.updated_by = user if user and user.is_authenticated else None
    annotation.updated_at = timezone.now()  # bulk_update does not apply auto_now
    return _Change(annotation, before, edited)


def _check_tags(project: Project, ids: list[int], changed: list[Annotation]) -> None:
    """The tag rules (labeling.rules.tags_check) over the whole batch; errors name ``ids[i]``."""
    tags = [a for a in changed if a.kind == Annotation.Kind.TAG and a.state == State.ACCEPTED]
    if not tags:
        return
    existing: dict[int, dict[int, str]] = {}
    rows = (
        Annotation.objects.filter(
            image_id__in={a.image_id for a in tags}, kind=Annotation.Kind.TAG, state=State.ACCEPTED
        )
        .exclude(pk__in=[a.pk for a in changed])
        .values_list("image_id", "label_class_id", "label_class__name")
    )
    for image_id, class_id, name in rows:
        existing.setdefault(image_id, {})[class_id] = name
    index = {pk: i for i, pk in enumerate(ids)}
    try:
        tags_check(
            multilabel=project.multilabel,
            existing=existing,
            new=[
                TagItem(f"ids[{index[a.pk]}]", a.image_id, a.label_class_id, a.label_class.name, f"Image {a.image_id}")
                for a in tags
            ],
        )
    except RuleError as exc:
        raise ValidationError({exc.path: exc.detail}) from None


def _save(project: Project, user, changes: list[_Change]) -> None:
    if not changes:
        return
    rows = [c.annotation for c in changes]
    try:
        Annotation.objects.bulk_update(rows, ["label_class", "state", "version", "updated_by", "updated_at"])
    except IntegrityError as exc:
        raise ValidationError({"label_class": f"Refused by the database: {exc}"}) from None
    actor = user if user and user.is_authenticated else None
    AnnotationEvent.objects.bulk_create(
        AnnotationEvent(
            annotation_id=c.annotation.pk,
            project_id=project.pk,
            image_id=c.annotation.image_id,
            action=AnnotationEvent.Action.UPDATE if c.edited else AnnotationEvent.Action.STATE,
            actor=actor,
            before=c.before,
            after=snapshot(c.annotation),
        )
        for c in changes
    )
    # One training check for the whole batch (annotation_update queues one per row).
    _labels_changed(rows[0].image, rows)
