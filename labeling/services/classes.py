"""Label classes: create, edit, delete, merge two, and add many from a pasted list.

Mistakes are answered with sentences that name the class or key in question ("Key 3 is already
used by class 'dog'."), checked before the database's constraints would refuse with their names.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Annotation, AnnotationEvent, LabelClass, Project
from .annotations import snapshot

# A palette that stays readable on photographs; classes take the next colour in turn.
PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4"]
# The workspace keeps 0 (Fit) and letters (tools, A for Accept) for itself: classes get 1-9 only.
HOTKEYS = [str(d) for d in range(1, 10)]
PASTE_MAX_CLASSES = 200


def _check(label_class: LabelClass) -> None:
    """Every rule of a class, as sentences: hotkey 1-9, unique name and key in the project."""
    errors = {}
    name = label_class.name
    if not name:
        errors["name"] = "Give the class a name."
    elif len(name) > 100:
        errors["name"] = f"The name has {len(name)} characters; the limit is 100."
    if label_class.hotkey and label_class.hotkey not in HOTKEYS:
        errors["hotkey"] = (f"Key {label_class.hotkey!r} cannot be a class key: use 1–9 "
                            "(0 is Fit and letters are the workspace's tools), or leave it empty.")
    others = LabelClass.objects.filter(project_id=label_class.project_id).exclude(pk=label_class.pk)
    if "name" not in errors:
        clash = others.filter(name=name).first()
        if clash is not None:
            errors["name"] = f"A class called {name!r} already exists."
    if label_class.hotkey and "hotkey" not in errors:
        clash = others.filter(hotkey=label_class.hotkey).first()
        if clash is not None:
            errors["hotkey"] = f"Key {label_class.hotkey} is already used by class {clash.name!r}."
    if errors:
        raise ValidationError(errors)


def _save(label_class: LabelClass) -> LabelClass:
    _check(label_class)
    label_class.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            label_class.save()
    except IntegrityError:
        _check(label_class)  # a concurrent writer took the name or key first: say which
        raise ValidationError({"name": "Another change to these classes came first; reload and try again."}) from None
    return label_class


def _free_hotkey(project: Project, taken=()) -> str:
    used = set(project.label_classes.values_list("hotkey", flat=True)) | set(taken)
    return next((k for k in HOTKEYS if k not in used), "")


def label_class_create(*, project: Project, name: str, color: str = "", hotkey: str | None = None, order=None):
    """A new class; left out, the colour is the palette's next and the key the first free of 1-9."""
    count = project.label_classes.count()
    label_class = LabelClass(
        project=project,
        name=name.strip(),
        color=color or PALETTE[count % len(PALETTE)],
        hotkey=_free_hotkey(project) if hotkey is None else hotkey,
        order=count if order is None else order,
    )
    return _save(label_class)


def label_class_update(*, label_class: LabelClass, **fields) -> LabelClass:
    for name, value in fields.items():
        if name not in ("name", "color", "hotkey", "order"):
            raise ValidationError({name: "This field cannot be changed."})
        setattr(label_class, name, value.strip() if name == "name" else value)
    return _save(label_class)


def label_class_delete(*, label_class: LabelClass) -> None:
    count = label_class.annotations.count()
    if count:
        raise ValidationError({"label_class": (
            f"Class {label_class.name!r} still labels {count} object{'' if count == 1 else 's'}; "
            "merge it into another class to keep them, or delete those labels first.")})
    label_class.delete()


@transaction.atomic
def label_classes_paste(*, project: Project, text: str) -> list[LabelClass]:
    """One class per non-empty line, all or none; names already in the project are errors by line."""
    names = [line.strip() for line in text.splitlines()]
    wanted = [(i + 1, n) for i, n in enumerate(names) if n]
    if not wanted:
        raise ValidationError({"names": "Paste one class name a line."})
    if len(wanted) > PASTE_MAX_CLASSES:
        raise ValidationError({"names": f"{len(wanted)} names; at most {PASTE_MAX_CLASSES} at once."})
    existing = set(project.label_classes.values_list("name", flat=True))
    seen: dict[str, int] = {}
    errors = []
    for line, name in wanted:
        if len(name) > 100:
            errors.append(f"Line {line}: the name has {len(name)} characters; the limit is 100.")
        elif name in existing:
            errors.append(f"Line {line}: a class called {name!r} already exists.")
        elif name in seen:
            errors.append(f"Line {line}: {name!r} is already on line {seen[name]}.")
        seen.setdefault(name, line)
    if errors:
        raise ValidationError({"names": errors})
    created = []
    for _, name in wanted:
        created.append(label_class_create(project=project, name=name))
    return created


def label_class_merge(*, source: LabelClass, target: LabelClass, user) -> dict:
    """Move every annotation of ``source`` to ``target`` and delete ``source``, in one transaction.

    A tag of ``source`` on an image that ``target`` already tags in the same state would be a
    duplicate (and two accepted tags of one class on one image are refused): it is dropped, with a
    delete event in the audit trail. Every moved annotation gets an update event and a new version,
    so a workspace holding the old version is told it changed.
    """
    if source.pk == target.pk:
        raise ValidationError({"target": "Choose another class to merge into."})
    if source.project_id != target.project_id:
        raise ValidationError({"target": f"No class {target.pk} in this project."})
    actor = user if user is not None and user.is_authenticated else None
    with transaction.atomic():
        # Lock both classes (id order, so two opposite merges queue instead of deadlocking).
        locked = {c.pk: c for c in LabelClass.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")}
        if len(locked) != 2:
            raise ValidationError({"label_class": "One of the two classes was deleted meanwhile; reload."})
        target_tags = set(
            Annotation.objects.filter(label_class=target, kind=Annotation.Kind.TAG).values_list("image_id", "state")
        )
        moving = list(Annotation.objects.select_for_update().filter(label_class=source).select_related("image"))
        dropped = [a for a in moving if a.kind == Annotation.Kind.TAG and (a.image_id, a.state) in target_tags]
        dropped_ids = {a.pk for a in dropped}
        moved = [a for a in moving if a.pk not in dropped_ids]
        events = [
            AnnotationEvent(annotation_id=a.pk, project_id=source.project_id, image_id=a.image_id,
                            action=AnnotationEvent.Action.DELETE, actor=actor, before=snapshot(a), after=None)
            for a in dropped
        ]
        now = timezone.now()
        for a in moved:
            before = snapshot(a)
            a.label_class = target
            a.version += 1
            a.updated_at = now
            a.updated_by = actor
            events.append(AnnotationEvent(annotation_id=a.pk, project_id=source.project_id, image_id=a.image_id,
                                          action=AnnotationEvent.Action.UPDATE, actor=actor, before=before,
                                          after=snapshot(a)))
        Annotation.objects.filter(pk__in=dropped_ids).delete()
        Annotation.objects.bulk_update(moved, ["label_class", "version", "updated_at", "updated_by"], batch_size=1000)
        AnnotationEvent.objects.bulk_create(events, batch_size=1000)
        source_name = source.name
        source.delete()
    return {"moved": len(moved), "dropped": len(dropped), "source": source_name, "target": target.name}
