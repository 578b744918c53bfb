"""Held-out metrics: accuracy for tags, COCO mAP (pycocotools' COCOeval) for boxes and masks."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np


def classification_metrics(probs: np.ndarray, y: np.ndarray, multilabel: bool = False) -> dict:
    """accuracy (top-1, or per-label at 0.5 for multi-label) and, for multi-label, micro F1."""
    if len(y) == 0:
        return {"accuracy": float("nan"), "n_val": 0}
    if not multilabel:
        return {"accuracy": float(np.mean(probs.argmax(axis=1) == np.asarray(y))), "n_val": int(len(y))}
    pred = probs >= 0.5
    truth = np.asarray(y).astype(bool)
    tp = float(np.sum(pred & truth))
    denom = float(pred.sum() + truth.sum())
    return {
        "accuracy": float(np.mean(pred == truth)),
        "exact_match": float(np.mean(np.all(pred == truth, axis=1))),
        "f1_micro": 2 * tp / denom if denom else 1.0,
        "n_val": int(len(y)),
    }


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
