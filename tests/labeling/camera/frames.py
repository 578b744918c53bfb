"""Camera frames for the tests: JPEGs of known content, a face from scikit-image's astronaut."""

import io

import numpy as np
import PIL.Image
from skimage import data


def jpeg(pixels: np.ndarray, quality: int = 90) -> bytes:
    out = io.BytesIO()
    PIL.Image.fromarray(pixels).save(out, "JPEG", quality=quality)
    return out.getvalue()


def noisy(seed: int, size=(240, 320), colour=None) -> np.ndarray:
    """A distinct picture per seed (noise), optionally mostly one colour."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (*size, 3)).astype(np.uint8)
    if colour is not None:
        pixels = (np.array(colour, np.float32) * 0.8 + pixels * 0.2).astype(np.uint8)
    return pixels


def face_frame(size=(240, 320)) -> np.ndarray:
    """The astronaut's head and shoulders on grey: one face about a quarter of the frame high."""
    height, width = size
    head = np.asarray(PIL.Image.fromarray(data.astronaut()[0:300, 100:400]).resize((height, height)))
    frame = np.full((height, width, 3), 128, np.uint8)
    x = (width - height) // 2
    frame[:, x:x + height] = head
    return frame
