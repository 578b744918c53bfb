"""Superpixels (SLIC) of a region of the image, for the superpixel brush.

SLIC costs about 0.2 s on 512² pixels on one core, so a region is shrunk to ``WORK_SIDE`` pixels
a side (from the pyramid level closest above that) and computed once per region; the brush then
adds whole superpixels in the browser with no further request.
"""

import math

import cv2
import numpy as np
from skimage.segmentation import slic

from .pyramid import Level, pick_level

WORK_SIDE = 512
CELL = 10  # a superpixel's side, about, in work pixels


def slic_region(
    levels: list[Level], *, width: int, height: int, region
) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """((x0, y0, x1, y1) in image pixels, labels rows × cols uint16): the labels' grid covers the box."""
    x, y, w, h = region
    level = pick_level(levels, span=max(w, h), want=WORK_SIDE)
    sx, sy = level.scale(width, height)
    rows, cols = level.pixels.shape[:2]
    lx0, ly0 = int(x * sx), int(y * sy)
    lx1, ly1 = min(cols, max(lx0 + 1, math.ceil((x + w) * sx))), min(rows, max(ly0 + 1, math.ceil((y + h) * sy)))
    crop = np.ascontiguousarray(level.pixels[ly0:ly1, lx0:lx1])
    ch, cw = crop.shape[:2]
    k = min(1.0, WORK_SIDE / max(ch, cw))
    gh, gw = max(1, round(ch * k)), max(1, round(cw * k))
    work = cv2.resize(crop, (gw, gh), interpolation=cv2.INTER_AREA) if (gh, gw) != (ch, cw) else crop
    segments = max(1, (gh * gw) // (CELL * CELL))
    # sigma=1: a light blur first, so pixel noise and fine texture do not fray the edges.
    labels = slic(work, n_segments=segments, compactness=10, sigma=1, start_label=0, enforce_connectivity=True)
    f = level.factor
    return (lx0 * f, ly0 * f, min(lx1 * f, width), min(ly1 * f, height)), labels.astype(np.uint16)
