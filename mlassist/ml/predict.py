"""Trained heads + stored features -> proposals in image pixels, as plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .data import resize_float


@dataclass
class TagProposal:
    class_index: int
    score: float


@dataclass
class BoxProposal:
    class_index: int
    score: float
    bbox: list[float]  # COCO [x, y, width, height] in image pixels


@dataclass
class MaskProposal:
    class_index: int
    score: float
    rle: dict  # COCO compressed RLE: {"size": [height, width], "counts": str}
    bbox: list[float]
    area: int


def _batched(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    # Direct calls on fixed-size slices: model.predict's per-call setup costs
    # more than the heads themselves at these sizes.
    outs = [np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,) + tuple(model.output.shape[1:]), np.float32)


def class_probabilities(model, pooled: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """(N, n_classes) probabilities from a classifier head."""
    return _batched(model, np.asarray(pooled, np.float32), batch_size)


def margins(probs: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 probability per row: small means the model is unsure (label these first)."""
    if probs.shape[1] < 2:
        return np.abs(2 * probs[:, 0] - 1)
    top2 = np.sort(probs, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def predict_tags(
    model, pooled: np.ndarray, multilabel: bool = False, threshold: float = 0.0, top_k: int = 1
) -> list[list[TagProposal]]:
    """Per image, tags sorted by score: the top_k best (single-label) or every label above threshold (multi-label)."""
    threshold = max(threshold, 0.5) if multilabel else threshold
    return tags_from_probabilities(class_probabilities(model, pooled), multilabel, threshold, top_k)


def tags_from_probabilities(
    probs: np.ndarray, multilabel: bool = False, threshold: float = 0.0, top_k: int = 1
) -> list[list[TagProposal]]:
    """predict_tags from probabilities already computed (proposals also need them for the margins).

    Multi-label: every label at or above ``threshold`` (the head's own threshold chosen from its
    validation, which may be below 0.5: a label at 0.4 is still worth a glance when checking is cheap).
    """
    out = []
    for row in probs:
        order = np.argsort(-row, kind="stable")
        picked = [c for c in order if row[c] >= threshold]
        if not multilabel:
            picked = picked[:top_k]
        out.append([TagProposal(int(c), float(row[c])) for c in picked])
    return out


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def decode_boxes(
    raw: np.ndarray, image_sizes: np.ndarray, n_classes: int, threshold: float = 0.1, max_per_image: int = 100
) -> list[list[BoxProposal]]:
    """Box-head output (N, h, w, n_classes + 4) -> boxes in image pixels.

    A peak is a cell whose score is the maximum of its 3x3 neighbourhood in its
    class (CenterNet's max-pool "NMS"); no IoU suppression is needed.
    """
    n, h, w, _ = raw.shape
    heat = _sigmoid(raw[..., :n_classes])
    peaks = heat == ndimage.maximum_filter(heat, size=(1, 3, 3, 1), mode="constant", cval=-1.0)
    out = []
    for i in range(n):
        iw, ih = image_sizes[i]
        cell_w, cell_h = iw / w, ih / h
        ys, xs, cs = np.nonzero(peaks[i] & (heat[i] >= threshold))
        scores = heat[i][ys, xs, cs]
        keep = np.argsort(-scores, kind="stable")[:max_per_image]
        boxes = []
        for k in keep:
            y, x, c = ys[k], xs[k], cs[k]
            off = _sigmoid(raw[i, y, x, n_classes : n_classes + 2])
            bw, bh = np.exp(np.clip(raw[i, y, x, n_classes + 2 : n_classes + 4], -10, 10)) * (cell_w, cell_h)
            cx, cy = (x + off[0]) * cell_w, (y + off[1]) * cell_h
            x0, y0 = max(0.0, cx - bw / 2), max(0.0, cy - bh / 2)
            x1, y1 = min(float(iw), cx + bw / 2), min(float(ih), cy + bh / 2)
            if x1 > x0 and y1 > y0:
                boxes.append(BoxProposal(int(c), float(scores[k]), [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]))
        out.append(boxes)
    return out


def predict_boxes(
    model, spatial: np.ndarray, image_sizes: np.ndarray, n_classes: int, threshold: float = 0.1,
    max_per_image: int = 100, batch_size: int = 256,
) -> list[list[BoxProposal]]:  # fmt: skip
    """Boxes for each image from its stored spatial map; image_sizes rows are (width, height)."""
    raw = _batched(model, np.asarray(spatial, np.float32), batch_size)
    return decode_boxes(raw, np.asarray(image_sizes), n_classes, threshold, max_per_image)


def encode_rle(mask: np.ndarray) -> dict:
    """Binary (height, width) mask -> COCO compressed RLE with counts as str (JSON-ready)."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def decode_masks(
    logits: np.ndarray, image_sizes: np.ndarray, threshold: float = 0.5, min_area: int = 4
) -> list[list[MaskProposal]]:
    """Mask-head logits (N, H, W, n_classes + 1) -> instance masks in image pixels.

    Class probabilities are upsampled to the image size, each pixel takes its
    most likely class, and each connected region of a class is one instance,
    scored by its mean probability.
    """
    out = []
    for i, lg in enumerate(logits):
        iw, ih = (int(v) for v in image_sizes[i])
        e = np.exp(lg - lg.max(axis=-1, keepdims=True))
        probs = e / e.sum(axis=-1, keepdims=True)
        # Decide per pixel at image size (not at head size) so edges are smooth, not blocky.
        up = np.stack([resize_float(probs[..., k], (ih, iw)) for k in range(probs.shape[-1])], axis=-1)
        label = up.argmax(axis=-1)
        found = []
        for k in range(1, probs.shape[-1]):
            regions, count = ndimage.label(label == k)
            for r in range(1, count + 1):
                m = regions == r
                area = int(m.sum())
                score = float(up[..., k][m].mean())
                if area < min_area or score < threshold:
                    continue
                ys, xs = np.nonzero(m)
                bbox = [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
                found.append(MaskProposal(k - 1, score, encode_rle(m), bbox, area))
        found.sort(key=lambda p: -p.score)
        out.append(found)
    return out


def predict_masks(
    model, spatial: np.ndarray, image_sizes: np.ndarray, threshold: float = 0.5, min_area: int = 4,
    batch_size: int = 256,
) -> list[list[MaskProposal]]:  # fmt: skip
    """Instance masks for each image from its stored spatial map, in image pixels."""
    logits = _batched(model, np.asarray(spatial, np.float32), batch_size)
    return decode_masks(logits, np.asarray(image_sizes), threshold, min_area)
