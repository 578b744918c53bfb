"""Reduced copies of an image (factors 2^k), decoded once and reused by every smart tool.

JPEG is decoded already reduced (libjpeg's DCT scaling through Pillow's ``draft``), so an 8000-px
photo is never decoded whole; other formats are decoded once, then halved. The finest level kept
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


def decode_levels(fileobj, *, width: int, height: int) -> list[Level]:
    """Levels finest first, from an image file whose shown size (after EXIF orientation) is width × height."""
    factor = first_factor(width, height)
    with PIL.Image.open(fileobj) as img:
        if factor > 1 and img.format == "JPEG":
            raw_w, raw_h = img.size
            img.draft("RGB", (max(1, raw_w // factor), max(1, raw_h // factor)))
        img = PIL.ImageOps.exif_transpose(img).convert("RGB")
        rows, cols = level_shape(width, height, factor)
        if img.size != (cols, rows):
            img = img.resize((cols, rows), PIL.Image.Resampling.BOX)
        pixels = np.asarray(img, dtype=np.uint8)
    levels = [Level(factor, np.ascontiguousarray(pixels))]
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
