"""Plain arrays -> training targets; train/validation split; flip augmentation.

Conventions shared with predict.py:
- boxes are COCO [x, y, width, height] in the image's own pixels (after EXIF rotation);
- image_sizes are (width, height) rows;
- the spatial map covers the whole image (features.py resizes without letterbox),
  so one feature cell is image_width / map_w by image_height / map_h image pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

# TTFNet's choice: the Gaussian around a centre spans ~54 % of the box on each
# side, so large objects teach more cells to fire while small ones stay sharp.
GAUSSIAN_ALPHA = 0.54
MIN_SIGMA = 0.5  # in cells; below this a centre's neighbours would get no signal at all


def split_indices(
    n: int, strata: Sequence | None = None, val_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic (train, validation) index arrays.

    Stratified by `strata` (one hashable per item, e.g. the class) where a
    stratum has at least 2 items, so each class appears on both sides; items of
    singleton strata go to training (a class seen once can't be validated anyway).
    """
    if n < 2:
        return np.arange(n), np.arange(0)
    rng = np.random.default_rng(seed)
    if strata is None:
        order = rng.permutation(n)
        n_val = max(1, int(round(n * val_fraction)))
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    strata = list(strata)
    if len(strata) != n:
        raise ValueError(f"split_indices: {len(strata)} strata for {n} items")
    train, val = [], []
    groups: dict = {}
    for i, s in enumerate(strata):
        groups.setdefault(s, []).append(i)
    for key in sorted(groups, key=repr):  # sorted: the split must not depend on dict order
        idx = np.asarray(groups[key])
        idx = idx[rng.permutation(len(idx))]
        n_val = 0 if len(idx) < 2 else min(len(idx) - 1, max(1, int(round(len(idx) * val_fraction))))
        val.extend(idx[:n_val])
        train.extend(idx[n_val:])
    return np.sort(np.asarray(train, int)), np.sort(np.asarray(val, int))


def multilabel_strata(y: np.ndarray) -> list[int]:
    """One stratum per multi-hot row: its rarest positive label (-1 when it has none)."""
    y = np.asarray(y)
    freq = y.sum(axis=0)
    strata = []
    for row in y:
        pos = np.flatnonzero(row)
        strata.append(int(pos[np.argmin(freq[pos])]) if len(pos) else -1)
    return strata


def box_targets(
    boxes: Sequence[np.ndarray],
    classes: Sequence[np.ndarray],
    image_sizes: np.ndarray,
    map_hw: tuple[int, int],
    n_classes: int,
) -> np.ndarray:
    """Targets for heads.build_box_head: (N, h, w, n_classes + 5) float32.

    Channels: class heatmaps (Gaussian peaks of 1 at centre cells), centre
    offset within its cell (x, y in 0..1), log box size in cells (w, h), and a
    centre indicator where the offset and size losses apply.
    """
    h, w = map_hw
    out = np.zeros((len(boxes), h, w, n_classes + 5), np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    for i, (bxs, cls) in enumerate(zip(boxes, classes, strict=True)):
        bxs = np.asarray(bxs, np.float64).reshape(-1, 4)
        cell_w = image_sizes[i][0] / w
        cell_h = image_sizes[i][1] / h
        # Largest first, so a small object's size wins the rare shared centre cell.
        for j in np.argsort(-(bxs[:, 2] * bxs[:, 3])):
            bx, by, bw, bh = bxs[j]
            if bw <= 0 or bh <= 0:
                continue
            c = int(cls[j])
            cx, cy = (bx + bw / 2) / cell_w, (by + bh / 2) / cell_h
            ix, iy = min(int(cx), w - 1), min(int(cy), h - 1)
            sx = max(MIN_SIGMA, GAUSSIAN_ALPHA * bw / cell_w / 6)
            sy = max(MIN_SIGMA, GAUSSIAN_ALPHA * bh / cell_h / 6)
            g = np.exp(-((xs - (ix + 0.5)) ** 2) / (2 * sx**2) - ((ys - (iy + 0.5)) ** 2) / (2 * sy**2))
            out[i, :, :, c] = np.maximum(out[i, :, :, c], g)
            out[i, iy, ix, c] = 1.0
            out[i, iy, ix, n_classes : n_classes + 2] = (cx - ix, cy - iy)
            out[i, iy, ix, n_classes + 2 : n_classes + 4] = (np.log(bw / cell_w), np.log(bh / cell_h))
            out[i, iy, ix, n_classes + 4] = 1.0
    return out


def mask_targets(
    masks: Sequence[Sequence[np.ndarray]], classes: Sequence[np.ndarray], out_hw: tuple[int, int]
) -> np.ndarray:
    """Per-pixel class targets for heads.build_mask_head: (N, H, W) int32, 0 background, class k -> k + 1.

    masks[i] are binary instance masks (image height, image width); each is
    area-resampled to out_hw and kept where it covers half a target pixel.
    Later instances are drawn over earlier ones.
    """
    h, w = out_hw
    out = np.zeros((len(masks), h, w), np.int32)
    for i, (inst, cls) in enumerate(zip(masks, classes, strict=True)):
        for m, c in zip(inst, cls, strict=True):
            small = resize_float(np.asarray(m, np.float32), (h, w))
            out[i][small >= 0.5] = int(c) + 1
    return out


def resize_float(a: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Resize a 2-D float map to (h, w) with Pillow (area-averaging when shrinking, bilinear when growing)."""
    h, w = hw
    if a.shape == (h, w):
        return a.astype(np.float32)
    im = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(im.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


def flip_maps(maps: np.ndarray) -> np.ndarray:
    """Mirror (N, h, w, ...) maps left-right."""
    return np.ascontiguousarray(maps[:, :, ::-1])


def flip_boxes(boxes: Sequence[np.ndarray], image_sizes: np.ndarray) -> list[np.ndarray]:
    """Mirror COCO boxes left-right inside their images."""
    out = []
    for bxs, (iw, _) in zip(boxes, image_sizes, strict=True):
        b = np.asarray(bxs, np.float64).reshape(-1, 4).copy()
        b[:, 0] = iw - b[:, 0] - b[:, 2]
        out.append(b)
    return out


def flip_masks(masks: Sequence[Sequence[np.ndarray]]) -> list[list[np.ndarray]]:
    return [[np.ascontiguousarray(np.asarray(m)[:, ::-1]) for m in inst] for inst in masks]


def augment_flips(spatial: np.ndarray, image_sizes: np.ndarray, boxes=None, masks=None, classes=None):
    """Training set doubled with mirrored copies: (spatial, image_sizes, boxes, masks, classes).

    Mirroring a feature map only approximates the features of the mirrored
    image (MobileNet's kernels are not symmetric; trained ones are nearly so),
    so the trainers apply this only when asked (augment_flip=True).
    """
    spatial2 = np.concatenate([spatial, flip_maps(spatial)])
    sizes2 = np.concatenate([image_sizes, image_sizes])
    boxes2 = None if boxes is None else list(boxes) + flip_boxes(boxes, image_sizes)
    masks2 = None if masks is None else list(masks) + flip_masks(masks)
    classes2 = None if classes is None else list(classes) + list(classes)
    return spatial2, sizes2, boxes2, masks2, classes2
