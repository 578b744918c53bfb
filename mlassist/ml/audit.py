"""Which accepted labels a model doubts, and how much: plain NumPy over its predictions (no database).

Every label gets a doubt in [0, 1] (the list is sorted by it) and the model's alternative:
- single-label tag: 1 - p(labelled class) from a model that never saw the label; the alternative
  is the model's top class;
- multi-label tag: a given tag with p <= 1 - confidence ("the model does not see it"), or a class
  not given with p >= confidence ("the model sees it too": a tag is missing);
- box or mask: the mean of (1 - the score of the best proposal of the labelled class overlapping
  it at IoU >= ``IOU_MIN``) and the score of the best proposal of another class there (0 when
  none), which is the alternative.
  A shape is flagged when no proposal of its class overlaps it at the head's own proposal
  threshold: the serving model would not have proposed it.

The reason is part of the answer (``DISPUTED``, ``NOT_FOUND``, ``MISSING``) so a person knows
what to look for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DISPUTED = "disputed"  # the model says another class
NOT_FOUND = "not_found"  # the model sees nothing of the labelled class there
MISSING = "missing"  # multi-label: the model sees a class nobody tagged on the image

IOU_MIN = 0.3


@dataclass
class Doubt:
    row: int  # image index
    item: int  # tag: class index of the label; box or mask: the shape's index on its image
    doubt: float  # how sure the model is that the label is wrong, 0..1
    predicted: int  # the model's class index for it (the labelled one for NOT_FOUND)
    reason: str
    flagged: bool


def single_label_doubts(probs: np.ndarray, y: np.ndarray, confidence: float) -> list[Doubt]:
    """One per image: flagged when the model's own, different answer has p >= confidence."""
    out = []
    for i, row in enumerate(np.asarray(probs)):
        label, guess = int(y[i]), int(np.argmax(row))
        out.append(Doubt(i, label, float(1 - row[label]), guess, DISPUTED,
                         guess != label and float(row[guess]) >= confidence))
    return out


def multilabel_doubts(probs: np.ndarray, y: np.ndarray, confidence: float) -> list[Doubt]:
    """Per image and class: given tags the model does not see, and classes it sees that were not given."""
    out = []
    for i, row in enumerate(np.asarray(probs)):
        for c, p in enumerate(row):
            p = float(p)
            if y[i][c]:
                out.append(Doubt(i, c, 1 - p, c, NOT_FOUND, 1 - p >= confidence))
            else:
                out.append(Doubt(i, c, p, c, MISSING, p >= confidence))
    return out


def _ious(found, shape, iou_type: str) -> list[float]:
    if not found:
        return []
    if iou_type == "segm":
        from pycocotools import mask as mask_utils

        from .validation import _rle

        rles = [{"size": p.rle["size"], "counts": p.rle["counts"].encode()} for p in found]
        return [float(v) for v in mask_utils.iou(rles, [_rle(shape)], [0])[:, 0]]
    from .validation import _box_iou

    box = [float(v) for v in shape]
    return [_box_iou(p.bbox, box) for p in found]


def shape_doubts(found: Sequence[Sequence], shapes: Sequence[Sequence], classes: Sequence[Sequence[int]],
                 iou_type: str, threshold: float, iou_min: float = IOU_MIN) -> list[Doubt]:
    """Per labelled box (``iou_type`` "bbox", COCO [x, y, w, h]) or mask ("segm", a binary array or
    an RLE) against the model's proposals on its image (found with a low threshold, so the scores
    below ``threshold`` still rank)."""
    out = []
    for i, (preds, image_shapes, image_classes) in enumerate(zip(found, shapes, classes, strict=True)):
        for j, (shape, cls) in enumerate(zip(image_shapes, image_classes, strict=True)):
            cls = int(cls)
            same, other, other_class = 0.0, 0.0, cls
            for p, iou in zip(preds, _ious(preds, shape, iou_type), strict=True):
                if iou < iou_min:
                    continue
                if p.class_index == cls:
                    same = max(same, p.score)
                elif p.score > other:
                    other, other_class = p.score, p.class_index
            disputed = other >= threshold and other > same
            # Half "how little it sees the labelled class", half "how much it sees another one there":
            # a shape of the wrong class (the model sees the right one) ranks above one it merely
            # misses, which is what a weak head does to many right labels (ties at 1.0 before).
            out.append(Doubt(i, j, (1 - same + other) / 2, other_class if disputed else cls,
                             DISPUTED if disputed else NOT_FOUND, same < threshold))
    return out


def held_out_probabilities(x: np.ndarray, y: np.ndarray, n_classes: int, multilabel: bool, folds: int = 5,
                           seed: int = 0) -> np.ndarray:
    """Each row's class probabilities from the tag classifier trained on the other folds."""
    from . import predict, training

    probs = np.zeros((len(x), n_classes), np.float32)
    order = np.random.default_rng(seed).permutation(len(x))
    for fold in np.array_split(order, folds):
        result = training.train_classifier(x, y, n_classes, multilabel=multilabel, val_indices=fold)
        probs[fold] = predict.class_probabilities(result.model, x[fold])
    return probs


def held_out_shape_doubts(x: np.ndarray, shapes, classes, sizes: np.ndarray, n_classes: int, iou_type: str, *,
                          epochs: int, folds: int = 2, default_threshold: float = 0.5, seed: int = 0) -> list[Doubt]:
    """shape_doubts of every labelled box ("bbox") or mask ("segm"), each fold judged by a head trained
    on the other folds: a label the head trained on vouches for itself (a box drawn on nothing got a
    0.46 proposal from the head that had learnt it)."""
    from . import predict, training

    trainer = training.train_box_head if iou_type == "bbox" else training.train_mask_head
    doubts = []
    order = np.random.default_rng(seed).permutation(len(x))
    for fold in np.array_split(order, folds):
        result = trainer(x, shapes, classes, sizes, n_classes, epochs=epochs, augment_flip=True, val_indices=fold)
        if iou_type == "bbox":
            found = predict.predict_boxes(result.model, x[fold], sizes[fold], n_classes, threshold=0.01)
        else:
            found = predict.predict_masks(result.model, x[fold], sizes[fold], threshold=0.0)
        # Flagged where that head would not propose: below the threshold chosen on its own held-out
        # fold (a head trained on part of the labels scores lower than the serving one).
        threshold = float(result.metrics.get("threshold", default_threshold))
        part = shape_doubts(found, [shapes[i] for i in fold], [classes[i] for i in fold], iou_type, threshold)
        for d in part:
            d.row = int(fold[d.row])
        doubts += part
    return doubts


def share_found_at_top(doubts: Sequence[float], wrong: Sequence[bool], top: float = 0.1) -> float:
    """Of the labels known to be wrong, the share ranked in the top ``top`` fraction by doubt
    (the benchmark's "flipped labels in the top 10 % of the list")."""
    doubts, wrong = np.asarray(doubts, float), np.asarray(wrong, bool)
    if not wrong.any():
        return float("nan")
    k = max(1, int(round(top * len(doubts))))
    # Stable on ties, wrong ones last among equals: ties cannot flatter the figure.
    order = np.lexsort((wrong, -doubts))[:k]
    return float(wrong[order].sum() / wrong.sum())
