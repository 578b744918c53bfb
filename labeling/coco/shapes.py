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

    Mirrors pycocotools' rleFrString so a corrupt string is refused before it reaches C
    code that trusts it. Raises ValueError on a character outside the alphabet, a
    truncated number, or a negative run.
    """
    runs: list[int] = []
    append = runs.append
    i, n = 0, len(counts)
    while i < n:
        x, k, more = 0, 0, True
        while more:
            if i >= n:
                raise ValueError("truncated run length at the end")
            c = ord(counts[i]) - 48
            if c < 0 or c > 63:
                raise ValueError(f"character {counts[i]!r} at {i} is not in the COCO RLE alphabet")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            i += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        m = len(runs)
        if m > 2:
            x += runs[m - 2]
        if x < 0:
            raise ValueError(f"run {m} is negative")
        append(x)
    return sum(runs), sum(runs[1::2])
