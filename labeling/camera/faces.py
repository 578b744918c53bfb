"""Face crops for captured frames: OpenCV's Haar cascade, which ships inside the opencv-python(-headless)
4.x wheel (cv2.data.haarcascades), so nothing is downloaded at run time. Pure: arrays in, arrays out.

OpenCV 5 wheels no longer ship the cascades; requirements.txt pins 4.x for this reason too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

# alt2 rather than default: on JPEG frames the default cascade also fired on clothing (a second
# "face" on the astronaut's suit); alt2 found the face alone at every size and quality we tried.
CASCADE = "haarcascade_frontalface_alt2.xml"
# Frames are searched at most this wide: a face worth a crop for a data set fills ~10% of the frame
# or more (24 px here), and the search costs ~33 ms of CPU at 320 px against ~84 ms at 640 px
# (bench/camera.py): at the default 5 frames/s, one core keeps up with a 640x480 camera.
SEARCH_MAX_SIDE = 320
MIN_FACE_FRACTION = 0.08  # of the frame's shorter side, after the reduction above
DEFAULT_MARGIN = 0.25  # of the face's width/height added on every side (hair, chin, ears)

_local = threading.local()


def _cascade() -> cv2.CascadeClassifier:
    # One classifier per thread: detectMultiScale on a shared CascadeClassifier is not thread-safe.
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE)
        if cascade.empty():
            raise RuntimeError(f"OpenCV's {CASCADE} is missing from cv2.data.haarcascades (opencv 5 dropped it)")
        _local.cascade = cascade
    return cascade


@dataclass(frozen=True)
class Face:
    x: int
    y: int
    w: int
    h: int


def faces_detect(rgb: np.ndarray) -> list[Face]:
    """Faces in an (H, W, 3) uint8 RGB frame, in its pixels, largest first."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB array, not shape {rgb.shape}")
    height, width = rgb.shape[:2]
    scale = min(1.0, SEARCH_MAX_SIDE / max(height, width))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        gray = cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    smallest = max(24, int(min(gray.shape) * MIN_FACE_FRACTION))
    found = _cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest))
    faces = [
        Face(round(x / scale), round(y / scale), round(w / scale), round(h / scale)) for (x, y, w, h) in found
    ]
    return sorted(faces, key=lambda f: f.w * f.h, reverse=True)


def face_crops(rgb: np.ndarray, *, margin: float = DEFAULT_MARGIN) -> list[np.ndarray]:
    """Each face with ``margin`` (a fraction of its size) around it, clipped to the frame."""
    height, width = rgb.shape[:2]
    crops = []
    for face in faces_detect(rgb):
        dx, dy = round(face.w * margin), round(face.h * margin)
        x0, y0 = max(0, face.x - dx), max(0, face.y - dy)
        x1, y1 = min(width, face.x + face.w + dx), min(height, face.y + face.h + dy)
        crops.append(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    return crops
