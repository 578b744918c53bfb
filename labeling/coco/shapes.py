"""Geometry helpers shared by the COCO exporter and importer (pure Python, numpy, pycocotools)."""

from __future__ import annotations

from operator import mul

import numpy as np
from pycocotools import mask as mask_api

# pycocotools 2.0.11's area()/toBbox() overflow a uint8 with 256 or more RLEs in one call.
RLE_BATCH = 255


def shoelace_area(flat: list[float]) -> float:
    """Geometric area of one ring given as [x1, y1, x2, y2, ...].

    COCO's own polygon areas are geometric (fractional), not pixel counts; COCOeval only
    uses ``area`` for the small/medium/large buckets.
    """
    xs, ys = flat[0::2], flat[1::2]
    xs2, ys2 = xs[1:] + xs[:1], ys[1:] + ys[:1]
    return abs(sum(map(mul, xs, ys2)) - sum(map(mul, xs2, ys))) / 2.0


def flat_bbox(flat: list[float]) -> tuple[float, float, float, float]:
    """Tight [x, y, w, h] around the points of a flat coordinate list."""
    xs, ys = flat[0::2], flat[1::2]
    x0, y0 = min(xs), min(ys)
    return x0, y0, max(xs) - x0, max(ys) - y0


def rle_areas_bboxes(rles: list[dict]) -> tuple[list[int], list[list[float]]]:
    """Pixel counts and tight boxes of compressed RLEs, in batches pycocotools can take."""
    areas: list[int] = []
    boxes: list[list[float]] = []
    for start in range(0, len(rles), RLE_BATCH):
        part = rles[start : start + RLE_BATCH]
        areas.extend(int(a) for a in mask_api.area(part))
        boxes.extend(mask_api.toBbox(part).tolist())
    return areas, boxes


def trace_rle(rle: dict) -> list[list[float]]:
    """Outer contours of a mask as flat COCO polygons; holes are dropped (COCO polygons are a union).

    Contours run at level 0.5 between pixel centres, shifted by half a pixel so that a
    vertex sits on pixel edges: the traced box equals the mask's pixel box.
    """
    from skimage import measure  # only polygon mode needs it; keeps the RLE export's footprint small

    counts = rle["counts"]
    rle = {"size": rle["size"], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    x, y, w, h = (int(v) for v in mask_api.toBbox(rle))
    if w == 0 or h == 0:
        return []
    # Crop to the mask's box before tracing: decoding is cheap, tracing a whole image is not.
    crop = np.pad(mask_api.decode(rle)[y : y + h, x : x + w], 1)
    polygons = []
    for contour in measure.find_contours(crop, 0.5):
        contour = measure.approximate_polygon(contour, tolerance=0.01)[:-1]  # closed: drop the repeat
        if len(contour) < 3:
            continue
        cols, rows = contour[:, 1], contour[:, 0]
        # find_contours orients outer boundaries counter-clockwise in (col, row): positive area.
        signed = np.sum(cols * np.roll(rows, -1) - np.roll(cols, -1) * rows)
        if signed <= 0:
            continue  # a hole
        pts = np.empty(2 * len(contour))
        pts[0::2] = cols + (x - 0.5)
        pts[1::2] = rows + (y - 0.5)
        polygons.append([round(v, 2) for v in pts.tolist()])
    return polygons


def polygons_to_rle(parts: list[list[float]], height: int, width: int) -> dict:
    """Union of polygon parts rasterised by pycocotools, exactly as COCOeval reads them."""
    rle = mask_api.merge(mask_api.frPyObjects(parts, height, width))
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def uncompressed_to_rle(counts: list[int], height: int, width: int) -> dict:
    """Compress an uncompressed (list) RLE with pycocotools."""
    rle = mask_api.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def compressed_rle_total(counts: str) -> tuple[int, int]:
    """(pixels covered by all runs, pixels set) of a COCO compressed RLE string.

    Mirrors pycocotools' rleFrString (5 bits a character, 0x20 continues a number, 0x10 on
    the last character is the sign, runs after the third are deltas from the run two back),
    vectorised, so that a corrupt string is refused before it reaches C code that trusts it.
    Raises ValueError on a character outside the alphabet, a truncated or oversized number,
    or a run outside 0..2**32-1.
    """
    try:
        c = np.frombuffer(counts.encode("ascii"), np.uint8).astype(np.int64) - 48
    except UnicodeEncodeError:
        raise ValueError("has a non-ASCII character") from None
    if not len(c):
        raise ValueError("is empty")
    bad = np.flatnonzero((c < 0) | (c > 63))
    if len(bad):
        raise ValueError(f"character {counts[bad[0]]!r} at {bad[0]} is not in the COCO RLE alphabet")
    more = (c & 0x20) != 0
    if more[-1]:
        raise ValueError("truncated run length at the end")
    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    k = np.arange(len(c)) - np.repeat(starts, ends - starts + 1)  # position within its number
    if k.max() > 6:  # 7 characters carry 35 bits, more than any uint32 run needs
        raise ValueError("has a run length too large for pycocotools")
    x = np.add.reduceat((c & 0x1F) << (5 * k), starts)
    negative = (c[ends] & 0x10) != 0
    x[negative] -= np.left_shift(1, 5 * (k[ends][negative] + 1))
    runs = x.copy()
    runs[2::2] = np.cumsum(x[2::2])
    runs[1::2] = np.cumsum(x[1::2])
    if runs.min() < 0 or runs.max() >= 1 << 32:
        raise ValueError(f"run {int(np.flatnonzero((runs < 0) | (runs >= 1 << 32))[0])} is out of range")
    return int(runs.sum()), int(runs[1::2].sum())
