"""Reduced copies of an image (factors 2^k), decoded once and reused by every smart tool.

Images larger than a level are decoded already reduced (JPEG by libjpeg's DCT scaling, PNG a strip
at a time: mlassist/ml/decode.py, as for thumbnails), so an 8000-px image is never held whole; then
each level is the previous one halved. The finest level kept
has at most ``MAX_LEVEL_SIDE`` pixels a side: below that the tools work at a few pixels' precision
on huge images, which is far finer than a click or a box corner.
"""

from dataclasses import dataclass

import cv2
import numpy as np
import PIL.Image
import PIL.ImageOps

MAX_LEVEL_SIDE = 4096
MIN_LEVEL_SIDE = 128


@dataclass(frozen=True)
class Level:
    factor: int  # image pixels per level pixel (a power of two)
    pixels: np.ndarray  # rows × cols × 3, uint8 RGB

    def scale(self, width: int, height: int) -> tuple[float, float]:
        """Level pixels per image pixel along x and y."""
        return self.pixels.shape[1] / width, self.pixels.shape[0] / height


def level_shape(width: int, height: int, factor: int) -> tuple[int, int]:
    return -(-height // factor), -(-width // factor)


def first_factor(width: int, height: int) -> int:
    factor = 1
    while max(width, height) / factor > MAX_LEVEL_SIDE:
        factor *= 2
    return factor


_TRANSPOSE = {
    2: PIL.Image.Transpose.FLIP_LEFT_RIGHT, 3: PIL.Image.Transpose.ROTATE_180, 4: PIL.Image.Transpose.FLIP_TOP_BOTTOM,
    5: PIL.Image.Transpose.TRANSPOSE, 6: PIL.Image.Transpose.ROTATE_270, 7: PIL.Image.Transpose.TRANSVERSE,
    8: PIL.Image.Transpose.ROTATE_90,
}


def decode_levels(fileobj, *, width: int, height: int) -> list[Level]:
    """Levels finest first, from an image file whose shown size (after EXIF orientation) is width × height."""
    factor = first_factor(width, height)
    rows, cols = level_shape(width, height, factor)
    if factor > 1:
        # Reduced while decoding, in bounded memory: JPEG by libjpeg's scaling, PNG a strip at a
        # time (the thumbnails' decoder; pure Pillow, no TensorFlow).
        from ..learning_loop import decode_reduced

        with PIL.Image.open(fileobj) as probe:
            raw_short = min(probe.size)
        fileobj.seek(0)
        img, _, orientation = decode_reduced(fileobj, max(1, raw_short // factor))
        if orientation in _TRANSPOSE:
            img = img.transpose(_TRANSPOSE[orientation])
    else:
        with PIL.Image.open(fileobj) as opened:
            img = PIL.ImageOps.exif_transpose(opened)
            img.load()
    img = img.convert("RGB")
    if img.size != (cols, rows):
        img = img.resize((cols, rows), PIL.Image.Resampling.BOX)
    levels = [Level(factor, np.ascontiguousarray(np.asarray(img, dtype=np.uint8)))]
    while max(levels[-1].pixels.shape[:2]) > MIN_LEVEL_SIDE:
        factor *= 2
        rows, cols = level_shape(width, height, factor)
        levels.append(Level(factor, cv2.resize(levels[-1].pixels, (cols, rows), interpolation=cv2.INTER_AREA)))
    return levels


def pick_level(levels: list[Level], *, span: float, want: int) -> Level:
    """The coarsest level on which ``span`` image pixels still cover at least ``want`` level pixels."""
    best = levels[0]
    for level in levels:
        if span / level.factor >= want:
            best = level
    return best
