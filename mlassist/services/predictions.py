"""Bulk predictions: a model outside this server pushes its proposals, and anyone fetches them by cursor.

An external model is represented without a new table: a ``ModelVersion`` per head kind
(classifier for tags, detector for boxes, segmenter for polygons and masks) whose metrics say
``{"source": "external", "name": ..., "version": ...}``. It has no artifact and is never put in
service (``proposals_refresh`` loads Keras heads from in-service versions only), so the learning
loop never tries to run it. Pushing the same name and version again reuses the same rows, so a
client may send a large set in several requests.

Every prediction goes through the same annotation rules as every other label
(``labeling.rules.annotation_check`` with origin "model", state "proposed": what
``proposals.proposal_annotation`` does, without building a model instance per row), and a
request is stored whole or not at all (one transaction; rows go in by COPY on PostgreSQL). Like the built-in proposals, nothing
is proposed where a person already settled that kind on the image, on finished images, or as a
tag a person rejected there: those are counted as skipped, not refused, so a model that
predicts for every image can push blindly. The built-in heads' refresh (``proposals_refresh``)
replaces every model proposal of a kind on the images it proposes for, external ones included:
a project uses its own trained heads or an external model for a kind, and the newer wins.

Not handled here (``services/training.py``): promoting an external version must be refused, as
it has no artifact for ``proposals_refresh`` to load.
"""

from __future__ import annotations

import base64
import binascii

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q

from labeling.models import Annotation, Image, Project
from labeling.rules import RuleError, annotation_check
from labeling.services.bulk_rows import AnnotationRowIn, annotations_insert

from ..models import ModelVersion
from .proposals import FINISHED, SETTLED_BY

# The head a prediction of each annotation kind belongs to (ModelVersion.kind).
HEAD_OF_KIND = {"tag": "classifier", "box": "detector", "polygon": "segmenter", "mask": "segmenter"}
MAX_PER_REQUEST = 100_000
MAX_ERRORS = 20  # a bad file names its first errors at once, not one per round trip
PAGE_SIZE, MAX_PAGE_SIZE = 1000, 10_000
_LOOKUP_CHUNK = 5000  # ids per IN (...) query (SQLite's parameter limit)


def _fail(errors: dict):
    raise ValidationError(errors)


def _model_fields(model) -> tuple[str, str]:
    if not isinstance(model, dict):
        _fail({"model": 'Give the model as {"name": "...", "version": "..."}.'})
    name, version = model.get("name"), model.get("version", "")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        _fail({"model.name": "Name the model that made these predictions (1 to 100 characters)."})
    if not isinstance(version, (str, int)) or isinstance(version, bool) or len(str(version)) > 100:
        _fail({"model.version": "The model's version: text of at most 100 characters."})
    return name.strip(), str(version).strip()


def _chunks(ids: list, size: int = _LOOKUP_CHUNK):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


MAX_ID = 2**63 - 1  # past PostgreSQL's bigint an id exists nowhere (and would be a database error)


def _int_field(item: dict, key: str):
    value = item.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID else None


def external_versions(*, project: Project, name: str, version: str, heads: set[str]) -> dict[str, ModelVersion]:
    """The external model's ModelVersion per head, created (numbered after the newest) where missing.

    Call inside a transaction: the project row is locked so two pushes never take the same number.
    """
    Project.objects.select_for_update().filter(pk=project.pk).first()
    found = {}
    for head in sorted(heads):
        existing = ModelVersion.objects.filter(
            project=project, kind=head, metrics__source="external", metrics__name=name, metrics__version=version
        ).first()
        if existing is None:
            number = (ModelVersion.objects.filter(project=project, kind=head).aggregate(n=Max("number"))["n"] or 0) + 1
            existing = ModelVersion.objects.create(
                project=project, kind=head, number=number,
                metrics={"source": "external", "name": name, "version": version},
            )
        found[head] = existing
    return found


def predictions_store(*, project: Project, model, predictions, replace: bool = False) -> dict:
    """Store an external model's predictions as proposals, all or nothing.

    ``predictions`` is a list of ``{"image", "label_class", "kind", "geometry", "score"}``;
    errors name the element (``predictions[3].geometry.w``). With ``replace`` the model's
    earlier proposals on the images of this request are removed first (send each image's
    predictions in one request then). Returns what was stored and skipped, and the versions.
    """
    name, version = _model_fields(model)
    if not isinstance(predictions, list):
        _fail({"predictions": "Give a list of predictions."})
    if len(predictions) > MAX_PER_REQUEST:
        _fail({"predictions": f"{len(predictions)} predictions in one request; send at most "
                              f"{MAX_PER_REQUEST} per request (the same model name and version gather them)."})
    image_ids = sorted({i for p in predictions if isinstance(p, dict) and (i := _int_field(p, "image")) is not None})
    images: dict[int, tuple[int, int, str]] = {}
    for chunk in _chunks(image_ids):
        images.update((i, (w, h, s)) for i, w, h, s in
                      Image.objects.filter(project=project, pk__in=chunk).values_list("id", "width", "height", "status"))
    classes = set(project.label_classes.values_list("id", flat=True))
    kinds = project.kinds

    errors: dict[str, str] = {}
    built: list[tuple[str, AnnotationRowIn]] = []  # (head, row without its version yet)
    for i, item in enumerate(predictions):
        at = f"predictions[{i}]"
        try:
            if not isinstance(item, dict):
                raise RuleError(at, "Each prediction is an object with image, label_class, kind, geometry and score.")
            image_id = _int_field(item, "image")
            if image_id not in images:
                raise RuleError(f"{at}.image", f"No image {item.get('image')!r} in this project.")
            class_id = _int_field(item, "label_class")
            if class_id not in classes:
                raise RuleError(f"{at}.label_class", f"No class {item.get('label_class')!r} in this project.")
            if item.get("score") is None:
                raise RuleError(f"{at}.score", "A prediction carries the model's score, a number from 0 to 1.")
            width, height, _ = images[image_id]
            kind = item.get("kind")
            if kind not in HEAD_OF_KIND:
                raise RuleError(f"{at}.kind", f"Unknown kind {kind!r}; one of {', '.join(HEAD_OF_KIND)}.")
            checked = annotation_check(
                kind=kind, geometry=item.get("geometry", {} if kind == "tag" else None), width=width, height=height,
                kinds=kinds, origin=Annotation.Origin.MODEL, state=Annotation.State.PROPOSED,
                score=item.get("score"), prefix=at,
            )
        except RuleError as exc:
            errors[exc.path] = exc.detail
            if len(errors) >= MAX_ERRORS:
                break
            continue
        built.append((HEAD_OF_KIND[kind], AnnotationRowIn(
            image_id=image_id, label_class_id=class_id, kind=checked.kind, geometry=checked.geometry,
            outline=checked.outline, origin=checked.origin, state=checked.state, score=checked.score,
            coco_bbox=checked.coco_bbox, coco_area=checked.coco_area)))
    if errors:
        _fail(errors)

    settled, rejected = _settled_on(image_ids=list(images))
    kept, skipped = [], {"finished": 0, "settled": 0, "rejected_tag": 0}
    for head, a in built:
        if images[a.image_id][2] in FINISHED:
            skipped["finished"] += 1
        elif (a.image_id, _settling_kind(a.kind)) in settled:
            skipped["settled"] += 1
        elif a.kind == "tag" and (a.image_id, a.label_class_id) in rejected:
            skipped["rejected_tag"] += 1
        else:
            kept.append((head, a))

    with transaction.atomic():
        versions = external_versions(project=project, name=name, version=version, heads={h for h, _ in built})
        if replace and versions:
            for chunk in _chunks(list(images)):
                Annotation.objects.filter(image_id__in=chunk, model_version__in=list(versions.values()),
                                          state=Annotation.State.PROPOSED).delete()
        for head, row in kept:
            row.model_version_id = versions[head].pk
        stored = annotations_insert(row for _, row in kept)
    return {
        "stored": stored,
        "skipped": skipped,
        "model_versions": [version_summary(v) for v in versions.values()],
    }


def _settling_kind(kind: str) -> str:
    """The group of kinds that settle ``kind`` (SETTLED_BY): polygons and masks settle each other."""
    return "mask" if kind in ("mask", "polygon") else kind


def _settled_on(*, image_ids: list[int]) -> tuple[set, set]:
    """(image, kind group) a person settled, and (image, class) tags a person rejected, on these images."""
    settled, rejected = set(), set()
    by_person = Q(origin=Annotation.Origin.HUMAN) | Q(state=Annotation.State.ACCEPTED)
    for chunk in _chunks(image_ids):
        for image_id, kind in Annotation.objects.filter(by_person, image_id__in=chunk).values_list("image_id", "kind").distinct():
            for group, kinds in SETTLED_BY.items():
                if kind in kinds:
                    settled.add((image_id, group))
        rejected.update(Annotation.objects.filter(image_id__in=chunk, kind="tag", state=Annotation.State.REJECTED)
                        .values_list("image_id", "label_class_id"))
    return settled, rejected


def version_summary(v: ModelVersion) -> dict:
    metrics = v.metrics or {}
    return {"id": v.pk, "kind": v.kind, "number": v.number, "source": metrics.get("source", "trained"),
            "name": metrics.get("name", ""), "version": metrics.get("version", str(v.number))}


def cursor_encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"a{last_id}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text[:1] == "a" and text[1:].isdigit() and int(text[1:]) <= MAX_ID:
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationError({"cursor": "Not a cursor of this list; use the next_cursor of the page before."})
