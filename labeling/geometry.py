"""Validation and normalisation of annotation geometry, in image pixels (origin top-left).

Shapes must lie inside the image: nothing is clipped silently, an outside shape is refused
with the path of the offending value. Masks are COCO RLE handled by pycocotools' mask API.
"""

import math

from django.conf import settings
from pycocotools import mask as mask_api


class GeometryError(ValueError):
    """Invalid geometry; ``path`` names the offending element (e.g. ``geometry.points[3][0]``)."""

    def __init__(self, path: str, detail: str):
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


def _number(value, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GeometryError(path, "must be a number.")
    if not math.isfinite(value):
        raise GeometryError(path, "must be a finite number.")
    return float(value)


def _expect_keys(geometry, keys: set[str], path: str) -> None:
    if not isinstance(geometry, dict):
        raise GeometryError(path, "must be an object.")
    missing = sorted(keys - geometry.keys())
    if missing:
        raise GeometryError(f"{path}.{missing[0]}", "is required.")
    extra = sorted(geometry.keys() - keys)
    if extra:
        raise GeometryError(f"{path}.{extra[0]}", "is not a field of this kind of geometry.")


def _inside(value: float, limit: int, path: str) -> None:
    if value < 0 or value > limit:
        raise GeometryError(path, f"{value:g} lies outside the image (0 to {limit}).")


def validate_box(geometry, width: int, height: int, path: str = "geometry") -> dict:
    _expect_keys(geometry, {"x", "y", "w", "h"}, path)
    x, y = _number(geometry["x"], f"{path}.x"), _number(geometry["y"], f"{path}.y")
    w, h = _number(geometry["w"], f"{path}.w"), _number(geometry["h"], f"{path}.h")
    if w <= 0:
        raise GeometryError(f"{path}.w", "must be greater than 0.")
    if h <= 0:
        raise GeometryError(f"{path}.h", "must be greater than 0.")
    _inside(x, width, f"{path}.x")
    _inside(y, height, f"{path}.y")
    _inside(x + w, width, f"{path}.w")
    _inside(y + h, height, f"{path}.h")
    return {"x": x, "y": y, "w": w, "h": h}


def validate_polygon(geometry, width: int, height: int, path: str = "geometry") -> dict:
    _expect_keys(geometry, {"points"}, path)
    points = geometry["points"]
    limit = settings.POLYGON_MAX_POINTS
    if not isinstance(points, list):
        raise GeometryError(f"{path}.points", "must be a list of [x, y] points.")
    if len(points) < 3:
        raise GeometryError(f"{path}.points", f"needs at least 3 points, got {len(points)}.")
    if len(points) > limit:
        raise GeometryError(f"{path}.points", f"has {len(points)} points; at most {limit} are allowed.")
    clean = []
    for i, point in enumerate(points):
        where = f"{path}.points[{i}]"
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise GeometryError(where, "must be a pair [x, y].")
        x, y = _number(point[0], f"{where}[0]"), _number(point[1], f"{where}[1]")
        _inside(x, width, f"{where}[0]")
        _inside(y, height, f"{where}[1]")
        clean.append([x, y])
    if polygon_area(clean) == 0:
        raise GeometryError(f"{path}.points", "encloses no area (all points on one line).")
    return {"points": clean}


def polygon_area(points) -> float:
    """Shoelace area of one ring."""
    s = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
        s += x1 * y2 - x2 * y1
    return abs(s) / 2


def validate_mask(geometry, width: int, height: int, path: str = "geometry") -> dict:
    _expect_keys(geometry, {"rle"}, path)
    rle = geometry["rle"]
    _expect_keys(rle, {"size", "counts"}, f"{path}.rle")
    size = rle["size"]
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)
    ):
        raise GeometryError(f"{path}.rle.size", "must be [height, width] in whole pixels.")
    if size != [height, width]:
        raise GeometryError(f"{path}.rle.size", f"is {size} but the image is [height, width] = [{height}, {width}].")
    counts = rle["counts"]
    if isinstance(counts, list):
        # Uncompressed RLE: run lengths that must add up to the image's pixel count.
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise GeometryError(f"{path}.rle.counts", "uncompressed counts must be whole numbers >= 0.")
        if sum(counts) != height * width:
            raise GeometryError(
                f"{path}.rle.counts", f"runs add up to {sum(counts)} pixels, the image has {height * width}."
            )
        compressed = mask_api.frPyObjects({"size": size, "counts": counts}, height, width)
    elif isinstance(counts, str):
        try:
            # Decoding checks the runs against the size; re-encoding gives the canonical string.
            compressed = mask_api.encode(mask_api.decode({"size": size, "counts": counts.encode("ascii")}))
        except Exception as exc:  # pycocotools raises bare Exceptions; non-ASCII fails encode
            raise GeometryError(f"{path}.rle.counts", f"is not valid COCO compressed RLE ({exc}).") from exc
    else:
        raise GeometryError(f"{path}.rle.counts", "must be a compressed RLE string or a list of run lengths.")
    if int(mask_api.area(compressed)) == 0:
        raise GeometryError(f"{path}.rle", "is empty: the mask covers no pixel.")
    return {"rle": {"size": size, "counts": compressed["counts"].decode("ascii")}}


def validate_tag(geometry, width: int, height: int, path: str = "geometry") -> dict:
    if geometry not in ({}, None):
        raise GeometryError(path, "a tag has no geometry: send {}.")
    return {}


VALIDATORS = {"tag": validate_tag, "box": validate_box, "polygon": validate_polygon, "mask": validate_mask}


def validate_geometry(kind: str, geometry, *, width: int, height: int, path: str = "geometry") -> dict:
    """Check ``geometry`` for an annotation of ``kind`` on a width×height image; return it normalised."""
    try:
        validator = VALIDATORS[kind]
    except KeyError:
        raise GeometryError("kind", f"unknown kind {kind!r}; one of {', '.join(VALIDATORS)}.") from None
    return validator(geometry, width, height, path)
