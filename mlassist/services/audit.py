"""Suspicious labels: accepted tags, boxes and masks that a model confidently doubts.

Tags are judged by a classifier that never saw them (k-fold cross-validation on the stored
features), so a mistaken tag cannot vouch for itself; single-label tags the model gives another
class, multi-label tags it does not see, and tags it sees that nobody gave (shown on the image's
least believed tag). Boxes and masks are judged after each training run by two heads, each trained
on half the labelled images and judging the other half: a shape none of whose proposals of the
same class overlap it (IoU >= 0.3 at the serving head's proposal threshold), with the class the
model sees there instead if any; at most every SHAPE_AUDIT_EVERY_S per project and kind. The rules are in ml/audit.py; the reason shown is derived from the stored row
(selectors.suspicion_reason).
"""

import time
from collections import defaultdict

import numpy as np
from django.db import transaction

from labeling.models import Annotation

from ..models import ModelVersion, SuspiciousLabel
from .datasets import HEAD_OF_KIND, label_set, tag_matrix

FOLDS = 5
CONFIDENCE = 0.8  # single-label: the held-out model's probability for its own, different answer


def _replace(project, kind: str, rows: list[SuspiciousLabel]) -> None:
    """The project's list for one annotation kind, replaced as one change."""
    with transaction.atomic():
        SuspiciousLabel.objects.filter(annotation__image__project=project, annotation__kind=kind).delete()
        SuspiciousLabel.objects.bulk_create(rows)


def _annotation_ids(image_ids, kind: str) -> dict[int, list[int]]:
    """Per image, its accepted annotations of ``kind`` in label_set's order (by id)."""
    out = defaultdict(list)
    for pk, image_id in (Annotation.objects.filter(image_id__in=image_ids, kind=kind, state=Annotation.State.ACCEPTED)
                         .order_by("image_id", "id").values_list("id", "image_id")):
        out[image_id].append(pk)
    return out


def suspicious_labels_refresh(*, project, run, x: np.ndarray, targets: list[list[int]], image_ids, class_ids) -> int:
    """Cross-validate the tag classifier and store the tags it disputes; returns how many."""
    from ..ml import audit

    n, n_classes = len(image_ids), len(class_ids)
    if n < FOLDS * 2:
        _replace(project, "tag", [])
        return 0
    y = tag_matrix(targets, n_classes, project.multilabel)
    probs = audit.held_out_probabilities(x, y, n_classes, project.multilabel, folds=FOLDS)
    ids = _annotation_ids(image_ids, "tag")
    tag_of = {}  # (row, class index) -> annotation id
    for row, image_id in enumerate(image_ids):
        pks = ids.get(image_id, [])
        if len(pks) == len(targets[row]):  # else the labels changed since they were read: judged next time
            tag_of.update(((row, c), pk) for c, pk in zip(targets[row], pks, strict=True))
    best: dict[int, tuple[float, int]] = {}  # annotation id -> (confidence, predicted class index)
    if project.multilabel:
        doubts = audit.multilabel_doubts(probs, y, CONFIDENCE)
        given = defaultdict(list)
        for d in doubts:
            if d.reason == audit.NOT_FOUND:
                given[d.row].append(d)
        for d in doubts:
            if not d.flagged:
                continue
            # A missing tag has no annotation of its own: it is shown on the image's least believed tag.
            own = d if d.reason == audit.NOT_FOUND else max(given[d.row], key=lambda g: g.doubt, default=None)
            pk = own and tag_of.get((d.row, own.item))
            if pk and d.doubt > best.get(pk, (-1, 0))[0]:
                best[pk] = (d.doubt, d.predicted)
    else:
        for d in audit.single_label_doubts(probs, y, CONFIDENCE):
            pk = tag_of.get((d.row, d.item))
            if d.flagged and pk:
                best[pk] = (float(probs[d.row, d.predicted]), d.predicted)
    _replace(project, "tag", [
        SuspiciousLabel(annotation_id=pk, predicted_class_id=class_ids[c], confidence=p, training_run=run)
        for pk, (p, c) in best.items()
    ])
    return len(best)


SHAPE_FOLDS = 2  # each half judged by a head trained on the other: about one more training of the head
# Boxes and masks are judged at most this often per project and kind: the two extra heads cost about
# one training of the head (bench.loop_turn measured a box run at 163 s instead of 12 s with a check
# on every run), and the next run waits for them. The list is then at most this old.
SHAPE_AUDIT_EVERY_S = 600


def suspicious_shapes_refresh(*, project, kind: str, run=None) -> int | None:
    """Judge the accepted boxes or masks (``kind``) by heads that never saw them; returns how many are
    flagged, or None when they were judged less than SHAPE_AUDIT_EVERY_S ago."""
    from django.conf import settings

    from ..ml import audit
    from ..ml.features import stack_spatial
    from .features import backbone_config, features_of
    from .proposals import threshold_for

    cfg = backbone_config()
    head = HEAD_OF_KIND[kind]
    if ModelVersion.objects.filter(project=project, kind=head,
                                   metrics__shapes_audited_at__gte=time.time() - SHAPE_AUDIT_EVERY_S).exists():
        return None  # checked a short while ago: the list stands
    version = ModelVersion.objects.filter(project=project, kind=head, in_service=True).first()
    labels = label_set(project=project, kind=kind)
    if version is None or labels.problem:
        _replace(project, kind, [])
        return 0
    blobs = features_of(image_ids=labels.image_ids, cfg=cfg)
    ids = _annotation_ids(labels.image_ids, kind)
    rows = [(image_id, t) for image_id, t in zip(labels.image_ids, labels.targets, strict=True)
            if image_id in blobs and len(ids.get(image_id, [])) == len(t[1])]
    if len(rows) < SHAPE_FOLDS * 4:
        _replace(project, kind, [])
        return 0
    x, sizes = stack_spatial(blobs[image_id] for image_id, _ in rows)
    shapes = [np.reshape(t[0], (-1, 4)) if kind == "box" else t[0] for _, t in rows]
    classes = [np.asarray(t[1], np.int64) for _, t in rows]
    doubts = audit.held_out_shape_doubts(x, shapes, classes, sizes, len(labels.class_ids),
                                         "bbox" if kind == "box" else "segm", epochs=settings.MLASSIST_HEAD_EPOCHS,
                                         folds=SHAPE_FOLDS, default_threshold=threshold_for(version, project))
    flagged = [
        SuspiciousLabel(annotation_id=ids[rows[d.row][0]][d.item], predicted_class_id=labels.class_ids[d.predicted],
                        confidence=d.doubt, training_run=run)
        for d in doubts if d.flagged
    ]
    _replace(project, kind, flagged)
    version.refresh_from_db(fields=["metrics"])
    ModelVersion.objects.filter(pk=version.pk).update(metrics={**version.metrics, "shapes_audited_at": time.time()})
    return len(flagged)
