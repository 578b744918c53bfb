"""Smart drawing tools on a stored image: reduced copies cached on disk, then the pure tools.

Nothing here writes to the database: a tool's result goes back to the workspace, which saves it
through the normal annotation API like any hand-drawn shape (so the same rules check it).

The reduced copies (labeling/smart/pyramid.py) are decoded once per image and kept as .npy files
next to the media folder (``SMART_CACHE_DIR``), opened memory-mapped: a request reads only the
rows of the level it needs, so an 8000-px image costs a few milliseconds after the first request.
"""

import base64
import os
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError

from ..models import Image
from ..smart.grabcut import Stroke, grabcut_box_to_mask
from ..smart.pyramid import MIN_LEVEL_SIDE, Level, decode_levels, first_factor, level_shape
from ..smart.rle import crop_mask_area, crop_mask_bbox, crop_mask_to_rle
from ..smart.superpixels import slic_region

# Larger images are refused by the smart tools (the workspace's other tools still work on them).
DEFAULT_MAX_SIDE = 10_000
# The disk cache is trimmed, least recently used first, past this size (an 8000² image takes 64 MB).
DEFAULT_CACHE_MAX_BYTES = 2 * 1024**3
_MEMORY_CACHE_IMAGES = 8

# One request per web worker at a time: OpenCV's own thread pool would only compete with the other
# workers for the same cores (the tools' arrays are small; GrabCut itself is single-threaded).
cv2.setNumThreads(1)

_cache_lock = threading.Lock()
_opened: OrderedDict[str, list[Level]] = OrderedDict()


def _max_side() -> int:
    return getattr(settings, "SMART_TOOLS_MAX_SIDE", DEFAULT_MAX_SIDE)


def _cache_dir() -> Path:
    configured = getattr(settings, "SMART_CACHE_DIR", None)
    return Path(configured) if configured else Path(settings.MEDIA_ROOT).parent / "smart-cache"


def _factors(width: int, height: int) -> list[int]:
    factors = [first_factor(width, height)]
    while max(level_shape(width, height, factors[-1])) > MIN_LEVEL_SIDE:
        factors.append(factors[-1] * 2)
    return factors


def image_levels(*, image: Image) -> list[Level]:
    """The image's reduced copies, finest first: from memory, the disk cache, or decoded once."""
    key = f"{image.pk}-{image.sha256[:24]}-{image.width}x{image.height}"
    with _cache_lock:
        if key in _opened:
            _opened.move_to_end(key)
            return _opened[key]
    folder = _cache_dir()
    paths = [folder / f"{key}-f{f}.npy" for f in _factors(image.width, image.height)]
    if not all(p.exists() for p in paths):
        with image.file.open("rb") as fh:
            decoded = decode_levels(fh, width=image.width, height=image.height)
        folder.mkdir(parents=True, exist_ok=True)
        for level, path in zip(decoded, paths, strict=True):
            # Written aside and renamed, so a concurrent request never reads half a file.
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npy.tmp")
            with os.fdopen(fd, "wb") as out:
                np.save(out, level.pixels)
            os.replace(tmp, path)
        del decoded
        _trim_cache(folder, keep=set(paths))
    # Memory-mapped: the pages are the OS's file cache, shared by the web processes, not each one's heap.
    levels = []
    for path in paths:
        levels.append(Level(int(path.stem.rsplit("-f", 1)[1]), np.load(path, mmap_mode="r")))
        path.touch()  # recently used: trimmed last
    with _cache_lock:
        _opened[key] = levels
        while len(_opened) > _MEMORY_CACHE_IMAGES:
            _opened.popitem(last=False)
    return levels


def _trim_cache(folder: Path, keep: set[Path]) -> None:
    """Delete the least recently used levels until the cache fits SMART_CACHE_MAX_BYTES."""
    limit = getattr(settings, "SMART_CACHE_MAX_BYTES", DEFAULT_CACHE_MAX_BYTES)
    entries = []
    for entry in os.scandir(folder):
        if entry.name.endswith(".npy"):
            stat = entry.stat()
            entries.append((stat.st_mtime, stat.st_size, Path(entry.path)))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        if path in keep:
            continue
        path.unlink(missing_ok=True)
        total -= size


def _check_image(image: Image) -> None:
    if max(image.width, image.height) > _max_side():
        raise ValidationError({"image": [
            f"The image is {image.width}×{image.height} pixels; the smart tools take images up to "
            f"{_max_side()} pixels a side. Draw by hand on this one."
        ]})


def _check_point(field: str, x: float, y: float, image: Image, errors: dict) -> None:
    if not (0 <= x <= image.width and 0 <= y <= image.height):
        errors.setdefault(field, []).append(
            f"({x:g}, {y:g}) is outside the image (0..{image.width} × 0..{image.height})."
        )


def _check_box(name: str, box: dict, image: Image, errors: dict) -> tuple[float, float, float, float]:
    """A box {x, y, w, h} inside the image with an area; errors name the field (``box.w``)."""
    x, y, w, h = (float(box[k]) for k in ("x", "y", "w", "h"))
    for key, value in (("w", w), ("h", h)):
        if value <= 0:
            errors[f"{name}.{key}"] = [f"The {name} must have an area: {key} is {value:g}."]
    if x < 0 or x > image.width:
        errors[f"{name}.x"] = [f"x = {x:g} is outside the image (0..{image.width})."]
    if y < 0 or y > image.height:
        errors[f"{name}.y"] = [f"y = {y:g} is outside the image (0..{image.height})."]
    if f"{name}.w" not in errors and x + w > image.width + 1e-6:
        errors[f"{name}.w"] = [f"The {name} ends at x = {x + w:g}, past the image's width {image.width}."]
    if f"{name}.h" not in errors and y + h > image.height + 1e-6:
        errors[f"{name}.h"] = [f"The {name} ends at y = {y + h:g}, past the image's height {image.height}."]
    return x, y, w, h


def smart_box_mask(*, image: Image, box: dict, strokes: list[dict]) -> dict:
    """The object in ``box`` as COCO RLE of the whole image, with its area and tight bbox.

    ``box``: {x, y, w, h} in image pixels, inside the image, w and h > 0. ``strokes``:
    [{"label": "fg"|"bg", "points": [[x, y], ...], "radius": r}] corrections, inside the image.
    """
    _check_image(image)
    errors: dict[str, list[str]] = {}
    x, y, w, h = _check_box("box", box, image, errors)
    for i, stroke in enumerate(strokes):
        for j, (px, py) in enumerate(stroke["points"]):
            _check_point(f"strokes[{i}].points[{j}]", px, py, image, errors)
    if errors:
        raise ValidationError(errors)

    t0 = time.perf_counter()
    levels = image_levels(image=image)
    t1 = time.perf_counter()
    crop = grabcut_box_to_mask(
        levels, width=image.width, height=image.height, box=(x, y, w, h),
        strokes=[Stroke(s["label"] == "fg", [tuple(p) for p in s["points"]], s["radius"]) for s in strokes],
    )
    t2 = time.perf_counter()
    rle = crop_mask_to_rle(crop, image.height, image.width)
    return {
        "rle": rle,
        "area": crop_mask_area(crop),
        "bbox": crop_mask_bbox(crop),
        "timing_ms": {"levels": round((t1 - t0) * 1000, 1), "grabcut": round((t2 - t1) * 1000, 1),
                      "total": round((time.perf_counter() - t0) * 1000, 1)},
    }


def smart_superpixels(*, image: Image, region: dict) -> dict:
    """SLIC superpixels of ``region`` ({x, y, w, h} in image pixels): a label grid over [x0, x1) × [y0, y1).

    ``labels`` is base64 of little-endian uint16, ``rows`` × ``cols``, row-major; image pixel (X, Y)
    has the label of cell (floor((Y - y0) · rows / (y1 - y0)), floor((X - x0) · cols / (x1 - x0))).
    """
    _check_image(image)
    errors: dict[str, list[str]] = {}
    x, y, w, h = _check_box("region", region, image, errors)
    if errors:
        raise ValidationError(errors)
    t0 = time.perf_counter()
    levels = image_levels(image=image)
    (x0, y0, x1, y1), labels = slic_region(levels, width=image.width, height=image.height, region=(x, y, w, h))
    return {
        "x0": x0, "y0": y0, "x1": x1, "y1": y1, "rows": int(labels.shape[0]), "cols": int(labels.shape[1]),
        "count": int(labels.max()) + 1,
        "labels": base64.b64encode(labels.astype("<u2").tobytes()).decode("ascii"),
        "timing_ms": {"total": round((time.perf_counter() - t0) * 1000, 1)},
    }
