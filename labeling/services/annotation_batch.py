"""The workspace's autosave in one request: deletes, updates and creates on one image, one transaction.

Each delete and update carries the version it is based on. If any of them is stale, nothing is
written and every stale item is named (``BatchConflict``), so the page can show each conflict and
send the rest again. Bad input is refused whole, naming the item (``update[2].geometry.points[0]``).
The rules are those of the single writes (labeling/rules.py through services.annotations).
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..geometry import RuleError
from ..models import Annotation, AnnotationEvent, Image
from ..permissions import can_change_state
from .annotations import (
    _apply_changes,
    _build,
    _check_tags,
    _invalid,
    _labels_changed,
    _lock_image,
    _mark_started,
    snapshot,
)

# One autosave holds what a person changed in half a second; a larger batch is a client error.
MAX_ITEMS = 2000
_UPDATED_FIELDS = ["label_class", "geometry", "outline", "coco_bbox", "coco_area", "state", "iscrowd", "version",
                   "updated_by", "updated_at"]


# Up to this many updates are saved row by row; more in one bulk UPDATE (bench.save_batch's profile:
# building bulk_update's CASE expressions took a quarter of a one-update batch).
_SAVE_ONE_BY_ONE = 3


@dataclass
class StaleItem:
    path: str  # "update[3]" or "delete[0]"
    id: int
    current: Annotation | None  # None: deleted by someone else


class BatchConflict(Exception):
    """Some items were based on older versions; nothing was written."""

    def __init__(self, stale: list[StaleItem]):
        super().__init__(f"{len(stale)} stale item(s)")
        self.stale = stale


@dataclass
class BatchResult:
    created: list[Annotation] = field(default_factory=list)
    updated: list[Annotation] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)


def _refs(delete: list[dict], update: list[dict]) -> dict[int, str]:
    """id -> the path of the item naming it; one item per annotation in a batch."""
    seen: dict[int, str] = {}
    for kind, items in (("delete", delete), ("update", update)):
        for i, item in enumerate(items):
            path = f"{kind}[{i}]"
            if item["id"] in seen:
                raise ValidationError({f"{path}.id": f"Annotation {item['id']} is already in this batch at {seen[item['id']]}."})
            seen[item["id"]] = path
    return seen


def annotation_batch(*, image: Image, user, delete: list[dict], update: list[dict], create: list[dict]) -> BatchResult:
    """Delete, then update, then create, all or nothing.

    ``delete``: ``{id, version}``; an annotation already gone counts as deleted (that was the
    wish). ``update``: ``{id, version, <changes>}``; ``create``: new annotations as for a POST.
    Raises ValidationError naming the item, PermissionDenied for a state the user may not set,
    BatchConflict (nothing written) when an item is stale.
    """
    if len(delete) + len(update) + len(create) > MAX_ITEMS:
        raise ValidationError({"non_field_errors": f"At most {MAX_ITEMS} items per batch; send the rest in another."})
    _refs(delete, update)
    classes = {c.pk: c for c in image.project.label_classes.all()}
    built = []
    for i, data in enumerate(create):
        try:
            built.append(_build(image, classes, data, user, prefix=f"create[{i}]"))
        except RuleError as exc:
            raise _invalid(exc) from None
    result = BatchResult(created=built)
    try:
        with transaction.atomic():
            _lock_image(image)
            ids = [item["id"] for item in (*delete, *update)]
            rows = {}
            if ids:  # in id order, so two batches on one image lock their rows in the same order
                rows = {a.pk: a for a in Annotation.objects.select_for_update().filter(image=image, pk__in=ids).order_by("pk")}
            stale = []
            for kind, items in (("delete", delete), ("update", update)):
                for i, item in enumerate(items):
                    row = rows.get(item["id"])
                    if row is None and kind == "delete":
                        continue  # already gone
                    if row is None or row.version != item["version"]:
                        stale.append(StaleItem(f"{kind}[{i}]", item["id"], row))
            if stale:
                raise BatchConflict(stale)
            events = []
            gone = [rows[item["id"]] for item in delete if item["id"] in rows]
            for row in gone:
                events.append(_event(image, row, AnnotationEvent.Action.DELETE, user, snapshot(row), None))
            if gone:
                Annotation.objects.filter(pk__in=[a.pk for a in gone]).delete()
            result.deleted = [item["id"] for item in delete]
            now = timezone.now()
            for i, item in enumerate(update):
                row = rows[item["id"]]
                row.image = image
                changes = {k: v for k, v in item.items() if k not in ("id", "version")}
                if "state" in changes and changes["state"] != row.state and not can_change_state(user, row, changes["state"]):
                    raise PermissionDenied(f"update[{i}].state: only reviewers and managers accept or reject labels made by people.")
                before, action = _apply_changes(row, user, changes, classes, prefix=f"update[{i}]")
                row.updated_at = now
                events.append(_event(image, row, action, user, before, snapshot(row)))
                result.updated.append(row)
            new = result.updated + built
            _check_tags(image, new, [f"update[{i}]" for i in range(len(update))] + [f"create[{i}]" for i in range(len(built))])
            if len(result.updated) > _SAVE_ONE_BY_ONE:
                Annotation.objects.bulk_update(result.updated, _UPDATED_FIELDS)
            else:  # an autosave's usual one or two: bulk_update's CASE per field cost more to build (profile)
                for row in result.updated:
                    row.save(update_fields=_UPDATED_FIELDS)
            if built:
                Annotation.objects.bulk_create(built)
                events.extend(_event(image, a, AnnotationEvent.Action.CREATE, user, None, snapshot(a)) for a in built)
            AnnotationEvent.objects.bulk_create(events)
            if built or result.updated:
                _mark_started(image)
            _labels_changed(image, new)
    except IntegrityError as exc:
        raise ValidationError({"non_field_errors": f"Refused by the database: {exc}"}) from None
    return result


def _event(image: Image, annotation: Annotation, action: str, user, before, after) -> AnnotationEvent:
    return AnnotationEvent(
        annotation_id=annotation.pk,
        project_id=image.project_id,
        image_id=image.pk,
        action=action,
        actor=user if user and user.is_authenticated else None,
        before=before,
        after=after,
    )
