"""A mask known on a grid coarser than the image, written as COCO RLE of the whole image.

The mask of an 8000-px object is computed on at most about a thousand pixels a side; writing it
out at full size (64 MB) and run-length encoding that would cost more than the segmentation. The
runs are instead computed from the coarse grid's transitions, mapped to image rows and repeated
for every image column that the coarse column covers: the result is exactly the RLE of the mask
upscaled by nearest neighbour, in time proportional to the number of runs.
"""

from dataclasses import dataclass

import numpy as np
from pycocotools import mask as mask_utils


@dataclass(frozen=True)
class CropMask:
    """``mask`` (rows × cols, bool) covers image pixels [x0, x1) × [y0, y1), each cell a block."""

    x0: int
    y0: int
    x1: int
    y1: int
    mask: np.ndarray

    def __post_init__(self):
        mh, mw = self.mask.shape
        if not (0 < mh <= self.y1 - self.y0 and 0 < mw <= self.x1 - self.x0):
            raise ValueError("the mask grid must be non-empty and no finer than the image")

    def upscaled(self) -> np.ndarray:
        """The crop at image resolution (for tests and small crops)."""
        mh, mw = self.mask.shape
        rows = (np.arange(self.y1 - self.y0) * mh) // (self.y1 - self.y0)
        cols = (np.arange(self.x1 - self.x0) * mw) // (self.x1 - self.x0)
        return self.mask[rows][:, cols]


def crop_mask_counts(crop: CropMask, height: int, width: int) -> list[int]:
    """Uncompressed COCO counts (column-major, background first) of the crop placed in the image."""
    m = np.ascontiguousarray(crop.mask.astype(np.int8))
    mh, mw = m.shape
    hh, ww = crop.y1 - crop.y0, crop.x1 - crop.x0
    padded = np.zeros((mh + 2, mw), np.int8)
    padded[1:-1] = m
    d = np.diff(padded, axis=0).T  # column-major: (mw, mh + 1); +1 a rise at row r, -1 a fall
    cols, rows = np.nonzero(d)
    signs = d[cols, rows]
    # First image row at or past grid row r: y0 + ceil(r * hh / mh).
    ys = crop.y0 + (-(-(rows.astype(np.int64) * hh) // mh))
    per_col = np.bincount(cols, minlength=mw)
    starts = np.concatenate([[0], np.cumsum(per_col)[:-1]])
    xs = np.arange(crop.x0, crop.x1, dtype=np.int64)
    mcol = ((xs - crop.x0) * mw) // ww
    n = per_col[mcol]
    total = int(n.sum())
    if total == 0:
        return [height * width]
    entry = np.repeat(starts[mcol], n) + (np.arange(total) - np.repeat(np.cumsum(n) - n, n))
    pos = np.repeat(xs, n) * height + ys[entry]
    sign = signs[entry]
    # A run ending at the bottom of one column and one starting at the top of the next are one run.
    joined = (sign[:-1] == -1) & (sign[1:] == 1) & (pos[:-1] == pos[1:])
    if joined.any():
        keep = np.ones(total, bool)
        keep[:-1] &= ~joined
        keep[1:] &= ~joined
        pos = pos[keep]
    bounds = np.concatenate([[0], pos, [height * width]])
    counts = np.diff(bounds).tolist()
    if len(counts) > 1 and counts[-1] == 0:  # pycocotools ends on the last run, not an empty one
        counts.pop()
    return counts


def crop_mask_to_rle(crop: CropMask, height: int, width: int) -> dict:
    """Compressed COCO RLE (``counts`` a str), as the annotation API takes and stores it."""
    counts = crop_mask_counts(crop, height, width)
    rle = mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def crop_mask_area(crop: CropMask) -> int:
    """Pixels of the mask at image resolution, without upscaling it."""
    mh, mw = crop.mask.shape
    hh, ww = crop.y1 - crop.y0, crop.x1 - crop.x0
    row_px = np.bincount((np.arange(hh) * mh) // hh, minlength=mh)
    col_px = np.bincount((np.arange(ww) * mw) // ww, minlength=mw)
    return int(row_px @ crop.mask.astype(np.int64) @ col_px)


def crop_mask_bbox(crop: CropMask) -> list[int] | None:
    """Tight [x, y, w, h] in image pixels, or None when the mask is empty."""
    mh, mw = crop.mask.shape
    rows, cols = np.nonzero(crop.mask.any(axis=1))[0], np.nonzero(crop.mask.any(axis=0))[0]
    if not len(rows):
        return None
    hh, ww = crop.y1 - crop.y0, crop.x1 - crop.x0
    top = crop.y0 + -(-(int(rows[0]) * hh) // mh)
    bottom = crop.y0 + -(-((int(rows[-1]) + 1) * hh) // mh)
    left = crop.x0 + -(-(int(cols[0]) * ww) // mw)
    right = crop.x0 + -(-((int(cols[-1]) + 1) * ww) // mw)
    return [left, top, right - left, bottom - top]
