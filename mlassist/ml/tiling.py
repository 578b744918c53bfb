"""Large images as fixed-size tiles at native resolution, and the map they give stitched back.

The backbone's 224x224 view of a whole image loses everything under about 1/14 of its side; a
12-pixel object on a 2048x1536 picture is 1/170 of it. So stage 1 of MAIA looks at tiles of the
image's own pixels. Each tile carries a margin on every side that the model sees (so a
convolution at the tile's edge has its real neighbours) but whose output is thrown away; the
kept cores tile the image exactly once. Stitching the cores into one map *before* connected
regions are cut means an object lying across a tile border is one region, not two halves to be
merged afterwards (``merge_boxes`` is there for detections made per tile, where that is not so).

Pure NumPy: no Keras, no Django. Memory per image is bounded by one tile batch plus the stitched
map at the map's own stride.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Tile:
    """A window of the (reflect-padded) image and the core of it that is kept.

    ``y, x`` is the core's top-left corner in image pixels; the window is the core plus ``margin``
    on every side, taken from the image padded by ``margin`` (so window coordinates are image
    coordinates shifted by +margin).
    """

    y: int
    x: int
    core_h: int
    core_w: int


def tile_grid(height: int, width: int, core: int) -> list[Tile]:
    """Cores of ``core`` pixels covering an image of height x width exactly once (the last ones shorter)."""
    if core < 1:
        raise ValueError(f"tile core must be at least 1 pixel, not {core}")
    return [
        Tile(y, x, min(core, height - y), min(core, width - x))
        for y in range(0, height, core)
        for x in range(0, width, core)
    ]


def padded(image: np.ndarray, core: int, margin: int) -> np.ndarray:
    """The image reflect-padded by ``margin`` (and up to a whole number of cores), so every window is full size."""
    h, w = image.shape[:2]
    extra_h, extra_w = (-h) % core, (-w) % core
    pad = [(margin, margin + extra_h), (margin, margin + extra_w)] + [(0, 0)] * (image.ndim - 2)
    # reflect needs the image to be larger than the pad; fall back to edge for tiny images.
    mode = "reflect" if min(h, w) > margin + max(extra_h, extra_w) else "edge"
    return np.pad(image, pad, mode=mode)


def windows(image: np.ndarray, core: int, margin: int) -> Iterator[tuple[Tile, np.ndarray]]:
    """(tile, window of core + 2 * margin pixels square) for every tile of ``image``."""
    big = padded(image, core, margin)
    side = core + 2 * margin
    for tile in tile_grid(image.shape[0], image.shape[1], core):
        yield tile, big[tile.y : tile.y + side, tile.x : tile.x + side]


def stitch(height: int, width: int, stride: int, parts: Iterator[tuple[Tile, np.ndarray]], margin: int) -> np.ndarray:
    """One map at ``stride`` pixels per cell from per-window maps (each covering its whole window).

    ``margin`` and the cores must be multiples of ``stride``; each window map's margin cells are
    dropped and its core written in place.
    """
    if margin % stride:
        raise ValueError(f"margin {margin} is not a multiple of the map stride {stride}")
    out = np.zeros((-(-height // stride), -(-width // stride)), np.float32)
    m = margin // stride
    for tile, part in parts:
        y, x = tile.y // stride, tile.x // stride
        h, w = -(-tile.core_h // stride), -(-tile.core_w // stride)
        out[y : y + h, x : x + w] = part[m : m + h, m : m + w]
    return out


def box_iou(a, b) -> float:
    """IoU of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def merge_boxes(boxes: list, scores: list, iou: float = 0.3, touch: float = 1.0) -> list[int]:
    """Indices of the boxes kept, best score first, when duplicates are dropped: IoU >= ``iou``, or
    two boxes abutting within ``touch`` pixels along a side they share (the two halves of an object
    that per-tile detection cut at a tile border)."""
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])
    kept: list[int] = []
    for i in order:
        a = boxes[i]
        duplicate = False
        for j in kept:
            b = boxes[j]
            near = (a[0] <= b[0] + b[2] + touch and b[0] <= a[0] + a[2] + touch
                    and a[1] <= b[1] + b[3] + touch and b[1] <= a[1] + a[3] + touch)
            if box_iou(a, b) >= iou or (near and touch > 0 and _shares_border(a, b, touch)):
                duplicate = True
                break
        if not duplicate:
            kept.append(i)
    return kept


def _shares_border(a, b, touch: float) -> bool:
    """Two boxes abutting along one side with overlapping extents along the other (a cut object)."""
    horizontal = abs((a[0] + a[2]) - b[0]) <= touch or abs((b[0] + b[2]) - a[0]) <= touch
    vertical = abs((a[1] + a[3]) - b[1]) <= touch or abs((b[1] + b[3]) - a[1]) <= touch
    overlap_y = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]) > 0
    overlap_x = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]) > 0
    return (horizontal and overlap_y) or (vertical and overlap_x)
