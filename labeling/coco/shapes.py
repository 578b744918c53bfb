"""Geometry helpers shared by the COCO exporter and importer (pure Python, numpy, pycocotools)."""

from __future__ import annotations

import math
from operator import mul

import numpy as np
from pycocotools import mask as mask_api

from ..geometry import compressed_rle_total  # noqa: F401  (re-exported: the importer's name for it)

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


def polygons_pixel_area(parts: list[list[float]]) -> int:
    """Pixels of the union of flat polygon parts as pycocotools rasterises them: COCO's ``area``.

    Exactly what COCO's annToRLE + area() give for the exported segmentation. For points
    inside the image the result does not depend on the canvas (a ring reaching x = width
    covers columns up to width - 1), so the canvas is just large enough for the points.
    """
    height = int(math.ceil(max(max(p[1::2]) for p in parts))) + 1
    width = int(math.ceil(max(max(p[0::2]) for p in parts))) + 1
    rles = mask_api.frPyObjects(parts, height, width)
    return int(mask_api.area(mask_api.merge(rles) if len(rles) > 1 else rles[0]))


def ring_pixel_areas(rings: list[list[float]]) -> list[int]:
    """polygons_pixel_area of many one-ring polygons, in one pycocotools call per RLE_BATCH."""
    areas: list[int] = []
    for start in range(0, len(rings), RLE_BATCH):
        part = rings[start : start + RLE_BATCH]
        height = int(math.ceil(max(max(r[1::2]) for r in part))) + 1
        width = int(math.ceil(max(max(r[0::2]) for r in part))) + 1
        areas.extend(int(a) for a in mask_api.area(mask_api.frPyObjects(part, height, width)))
    return areas


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
