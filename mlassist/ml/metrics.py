"""Held-out metrics: macro F1 for tags, COCO mAP (pycocotools' COCOeval) for boxes and masks."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np


def classification_metrics(probs: np.ndarray, y: np.ndarray, multilabel: bool = False) -> dict:
    """f1_macro (the score shown and promoted by), accuracy, and for multi-label exact match and micro F1.

    Accuracy is kept for continuity but never decides anything: per-label accuracy of a multi-label
    head rewards predicting nothing (most labels are absent), and top-1 accuracy rewards always
    answering the commonest class. Macro F1 averages each class's F1 over the classes that occur in
    the truth or the predictions, so a head that predicts nothing, or one class for everything,
    scores low. f1_macro is -1.0 when no class occurs at all (COCOeval's convention for "no ground
    truth"), so it neither wins nor loses a comparison by accident.
    """
    if len(y) == 0:
        return {"accuracy": float("nan"), "f1_macro": -1.0, "n_val": 0}
    if not multilabel:
        truth_idx = np.asarray(y).astype(int)
        pred_idx = probs.argmax(axis=1)
        k = probs.shape[1]
        truth = np.eye(k, dtype=bool)[truth_idx]
        pred = np.eye(k, dtype=bool)[pred_idx]
        return {
            "accuracy": float(np.mean(pred_idx == truth_idx)),
            "f1_macro": f1_macro(pred, truth),
            "n_val": int(len(y)),
        }
    pred = probs >= 0.5
    truth = np.asarray(y).astype(bool)
    tp = float(np.sum(pred & truth))
    denom = float(pred.sum() + truth.sum())
    return {
        "accuracy": float(np.mean(pred == truth)),
        "exact_match": float(np.mean(np.all(pred == truth, axis=1))),
        "f1_micro": 2 * tp / denom if denom else 1.0,
        "f1_macro": f1_macro(pred, truth),
        "n_val": int(len(y)),
    }


def f1_macro(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean per-class F1 of boolean [n, classes] matrices, over classes present in truth or predictions."""
    tp = np.sum(pred & truth, axis=0).astype(float)
    denom = pred.sum(axis=0) + truth.sum(axis=0)
    present = denom > 0
    if not present.any():
        return -1.0
    return float(np.mean(2 * tp[present] / denom[present]))


def coco_map(
    gt: Sequence[Sequence[dict]],
    predictions: Sequence[Sequence[dict]],
    image_sizes: np.ndarray,
    n_classes: int,
    iou_type: str = "bbox",
) -> dict:
    """mAP over IoU 0.5 and 0.5:0.95 with COCOeval, from in-memory per-image lists.

    gt[i] / predictions[i]: dicts with "category" (0-based class index), "bbox"
    ([x, y, w, h] image pixels) for iou_type "bbox" or "segmentation" (COCO RLE)
    for "segm"; predictions also carry "score". Returns map50 = -1.0 when there
    is no ground truth to score against (COCOeval's own convention).
    """
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, anns, dets = [], [], []
    for i, (w, h) in enumerate(image_sizes):
        images.append({"id": i + 1, "width": int(w), "height": int(h)})
        for a in gt[i]:
            ann = {"id": len(anns) + 1, "image_id": i + 1, "category_id": int(a["category"]) + 1, "iscrowd": 0}
            if iou_type == "segm":
                ann["segmentation"] = a["segmentation"]
                ann["area"] = float(mask_utils.area(a["segmentation"]))
                ann["bbox"] = list(mask_utils.toBbox(a["segmentation"]))
            else:
                ann["bbox"] = [float(v) for v in a["bbox"]]
                ann["area"] = float(a["bbox"][2] * a["bbox"][3])
            anns.append(ann)
        for p in predictions[i]:
            det = {"image_id": i + 1, "category_id": int(p["category"]) + 1, "score": float(p["score"])}
            if iou_type == "segm":
                det["segmentation"] = p["segmentation"]
            else:
                det["bbox"] = [float(v) for v in p["bbox"]]
            dets.append(det)
    if not anns:
        return {"map50": -1.0, "map50_95": -1.0, "n_val": len(images)}
    if not dets:
        return {"map50": 0.0, "map50_95": 0.0, "n_val": len(images)}

    # COCOeval prints its progress and summary table; keep worker logs clean.
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {
            "images": images,
            "annotations": anns,
            "categories": [{"id": c + 1, "name": str(c)} for c in range(n_classes)],
        }
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dets)
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"map50": float(ev.stats[1]), "map50_95": float(ev.stats[0]), "n_val": len(images)}
