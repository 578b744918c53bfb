"""Validation and normalisation of annotation geometry, in image pixels (origin top-left).

Pure functions (numpy, pycocotools, OpenCV; no ORM), so every path that stores an
annotation — the API, bulk edits, COCO import, the model's proposals — runs the same checks.
``labeling.rules`` adds the rules that are not about shape (kinds, states, scores, tags).

Shapes must lie inside the image: nothing is clipped silently, an outside shape is refused
with the path of the offending value. Masks are COCO RLE handled by pycocotools' mask API,
but only after their runs are decoded here and found to cover exactly height × width
pixels: pycocotools trusts short runs and leaves the rest of its buffer uninitialised.

Polygons are simple rings. A ring that crosses itself is refused, naming the crossing
edges: its inside depends on the fill rule (the browser's canvas fills a bow-tie by the
non-zero rule, pycocotools rasterises it its own way), so what the annotator saw would not be
what is exported; a crossing shape is drawn as several polygons or as a mask instead.
"""

from __future__ import annotations

import math

import numpy as np
from pycocotools import mask as mask_api

from .crossing import cross, find_crossing


# Outlines stored for masks (see mask_outline): traced on a copy no larger than this on its
# long side, with at most this many vertices in all.
OUTLINE_MAX_SIDE = 256
OUTLINE_MAX_VERTICES = 128


class RuleError(ValueError):
    """Refused input; ``path`` names the offending element (e.g. ``geometry.points[3][0]``).

    ``loc`` is the same place relative to the geometry (``("points", 3, 0)``), so that a
    caller with another format (COCO) can name it in its own terms.
    """

    def __init__(self, path: str, detail: str, loc: tuple = ()):
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail
        self.loc = loc


GeometryError = RuleError  # the older name, kept for callers


def _join(path: str, loc: tuple) -> str:
    out = path
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _error(path: str, loc: tuple, detail: str) -> RuleError:
    return RuleError(_join(path, loc), detail, loc)


def _max_points(max_points: int | None) -> int:
    if max_points is not None:
        return max_points
    from django.conf import settings  # read lazily: the COCO core passes its limit instead

    return settings.POLYGON_MAX_POINTS


def _number(value, path: str, loc: tuple) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _error(path, loc, "must be a number.")
    if not math.isfinite(value):
        raise _error(path, loc, "must be a finite number.")
    return float(value)


def _expect_keys(geometry, keys: set[str], path: str, loc: tuple = ()) -> None:
    if not isinstance(geometry, dict):
        raise _error(path, loc, "must be an object.")
    missing = sorted(keys - geometry.keys())
    if missing:
        raise _error(path, (*loc, missing[0]), "is required.")
    extra = sorted(geometry.keys() - keys)
    if extra:
        raise _error(path, (*loc, extra[0]), "is not a field of this kind of geometry.")


def _inside(value: float, limit: int, path: str, loc: tuple) -> None:
    if value < 0 or value > limit:
        raise _error(path, loc, f"{value:g} lies outside the image (0 to {limit}).")


# --- boxes ----------------------------------------------------------------------------------


def validate_box(geometry, width: int, height: int, path: str = "geometry") -> dict:
    _expect_keys(geometry, {"x", "y", "w", "h"}, path)
    x, y = _number(geometry["x"], path, ("x",)), _number(geometry["y"], path, ("y",))
    w, h = _number(geometry["w"], path, ("w",)), _number(geometry["h"], path, ("h",))
    if w <= 0:
        raise _error(path, ("w",), "must be greater than 0.")
    if h <= 0:
        raise _error(path, ("h",), "must be greater than 0.")
    _inside(x, width, path, ("x",))
    _inside(y, height, path, ("y",))
    _inside(x + w, width, path, ("w",))
    _inside(y + h, height, path, ("h",))
    return {"x": x, "y": y, "w": w, "h": h}


# --- polygons -------------------------------------------------------------------------------


def validate_polygon(
    geometry, width: int, height: int, path: str = "geometry", *, max_points: int | None = None
) -> dict:
    """A simple ring of at most ``max_points`` points inside the image, enclosing some area.

    Normalised: numbers as floats, repeated consecutive points (and a closing repeat of the
    first point, as some COCO files have) dropped.
    """
    _expect_keys(geometry, {"points"}, path)
    points = geometry["points"]
    limit = _max_points(max_points)
    if not isinstance(points, list):
        raise _error(path, ("points",), "must be a list of [x, y] points.")
    if len(points) > limit:
        raise _error(path, ("points",), f"has {len(points)} points; at most {limit} are allowed.")
    pts = _points_inside(points, width, height, path)
    # Drop repeated consecutive points and a closing repeat; index: where each kept one was sent.
    index = np.flatnonzero(np.concatenate(([True], (pts[1:] != pts[:-1]).any(axis=1)))) if len(pts) else pts
    if len(index) > 1 and (pts[index[-1]] == pts[index[0]]).all():
        index = index[:-1]
    pts, index = pts[index], index.tolist()
    clean = pts.tolist()
    if len(clean) < 3:
        raise _error(path, ("points",), f"needs at least 3 different points, got {len(clean)}.")
    if not cross(pts[0, 0], pts[0, 1], pts[1, 0], pts[1, 1], pts[:, 0], pts[:, 1]).any():
        raise _error(path, ("points",), "encloses no area (all points on one line).")
    # Before any area: a crossing ring's shoelace area is meaningless (a symmetric bow-tie's is 0).
    crossing = find_crossing(pts)
    if crossing is not None:
        i, j, (cx, cy) = crossing
        n = len(clean)
        a, b = index[i], index[(i + 1) % n]
        c, d = index[j], index[(j + 1) % n]
        raise _error(
            path,
            ("points",),
            f"crosses itself: the edge from points[{a}] to points[{b}] meets the edge from points[{c}] "
            f"to points[{d}] near ({cx:.6g}, {cy:.6g}). Draw separate polygons or a mask instead.",
        )
    return {"points": clean}


_NUMBER_TYPES = (int, float)  # what JSON numbers parse to (bool is not one of them)


def _points_inside(points: list, width: int, height: int, path: str) -> np.ndarray:
    """The points as an (n, 2) float array, or RuleError naming the first bad coordinate.

    One vectorised check for the usual case (JSON's ints and floats); otherwise a
    point-by-point walk names the culprit.
    """
    if all(type(p) in (list, tuple) and len(p) == 2 and type(p[0]) in _NUMBER_TYPES
           and type(p[1]) in _NUMBER_TYPES for p in points):
        pts = np.array(points, dtype=np.float64).reshape(-1, 2)
        if np.isfinite(pts).all() and (pts >= 0).all() and (pts[:, 0] <= width).all() and (pts[:, 1] <= height).all():
            return pts
    for i, point in enumerate(points):
        loc = ("points", i)
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise _error(path, loc, "must be a pair [x, y].")
        x, y = _number(point[0], path, (*loc, 0)), _number(point[1], path, (*loc, 1))
        _inside(x, width, path, (*loc, 0))
        _inside(y, height, path, (*loc, 1))
    # Numbers of other types (numpy's, from Python callers) that passed the walk.
    return np.array([[float(p[0]), float(p[1])] for p in points], dtype=np.float64).reshape(-1, 2)


# --- masks ----------------------------------------------------------------------------------


def compressed_rle_total(counts: str) -> tuple[int, int]:
    """(pixels covered by all runs, pixels set) of a COCO compressed RLE string (see rle_runs)."""
    runs = rle_runs(counts)
    return int(runs.sum()), int(runs[1::2].sum())


def rle_runs(counts: str) -> np.ndarray:
    """The run lengths (int64) of a COCO compressed RLE string, background first.

    Mirrors pycocotools' rleFrString (5 bits a character, 0x20 continues a number, 0x10 on
    the last character is the sign, runs after the third are deltas from the run two back),
    vectorised, so that a corrupt string is refused before it reaches C code that trusts it.
    Raises ValueError on a character outside the alphabet, a truncated or oversized number,
    or a run outside 0..2**32-1.
    """
    try:
        c = np.frombuffer(counts.encode("ascii"), np.uint8).astype(np.int64) - 48
    except UnicodeEncodeError:
        raise ValueError("has a non-ASCII character") from None
    if not len(c):
        raise ValueError("is empty")
    bad = np.flatnonzero((c < 0) | (c > 63))
    if len(bad):
        raise ValueError(f"character {counts[bad[0]]!r} at {bad[0]} is not in the COCO RLE alphabet")
    more = (c & 0x20) != 0
    if more[-1]:
        raise ValueError("truncated run length at the end")
    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    k = np.arange(len(c)) - np.repeat(starts, ends - starts + 1)  # position within its number
    if k.max() > 6:  # 7 characters carry 35 bits, more than any uint32 run needs
        raise ValueError("has a run length too large for pycocotools")
    x = np.add.reduceat((c & 0x1F) << (5 * k), starts)
    negative = (c[ends] & 0x10) != 0
    x[negative] -= np.left_shift(1, 5 * (k[ends][negative] + 1))
    runs = x.copy()
    runs[2::2] = np.cumsum(x[2::2])
    runs[1::2] = np.cumsum(x[1::2])
    if runs.min() < 0 or runs.max() >= 1 << 32:
        raise ValueError(f"run {int(np.flatnonzero((runs < 0) | (runs >= 1 << 32))[0])} is out of range")
    return runs


def validate_mask(geometry, width: int, height: int, path: str = "geometry") -> dict:
    """A COCO RLE of exactly the image's size covering at least one pixel; stored compressed."""
    return checked_mask(geometry, width, height, path)[0]


def checked_mask(geometry, width: int, height: int, path: str = "geometry") -> tuple[dict, np.ndarray]:
    """validate_mask, also returning the mask's canonical runs (for mask_outline).

    Works on the runs alone, never on a decoded image: checking and storing a mask costs
    what its runs cost, whatever the image's size.
    """
    _expect_keys(geometry, {"rle"}, path)
    rle = geometry["rle"]
    _expect_keys(rle, {"size", "counts"}, path, ("rle",))
    size = rle["size"]
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)
    ):
        raise _error(path, ("rle", "size"), "must be [height, width] in whole pixels.")
    if size != [height, width]:
        raise _error(path, ("rle", "size"), f"is {size} but the image is [height, width] = [{height}, {width}].")
    counts = rle["counts"]
    pixels = height * width
    if isinstance(counts, list):
        if not counts or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= pixels for c in counts):
            raise _error(path, ("rle", "counts"), f"uncompressed counts must be whole numbers from 0 to {pixels}.")
        runs = np.asarray(counts, dtype=np.int64)
    elif isinstance(counts, str):
        try:
            runs = rle_runs(counts)
        except ValueError as exc:
            raise _error(path, ("rle", "counts"), f"is not valid COCO compressed RLE: {exc}.") from None
    else:
        raise _error(path, ("rle", "counts"), "must be a compressed RLE string or a list of run lengths.")
    # Checked here, never left to pycocotools: it decodes short runs from uninitialised memory.
    total = int(runs.sum())
    if total != pixels:
        raise _error(
            path, ("rle", "counts"), f"runs cover {total} pixels but the image has {height} × {width} = {pixels}."
        )
    if not runs[1::2].any():
        raise _error(path, ("rle",), "is empty: the mask covers no pixel.")
    runs = _canonical(runs)
    # pycocotools compresses runs without decoding them: the string its encode() would give.
    compressed = mask_api.frPyObjects({"size": size, "counts": runs.tolist()}, height, width)
    return {"rle": {"size": size, "counts": compressed["counts"].decode("ascii")}}, runs


def _canonical(runs: np.ndarray) -> np.ndarray:
    """Runs as pycocotools' encode() writes them: no empty run but a leading empty background run."""
    values = np.arange(len(runs)) % 2
    kept = runs > 0
    runs, values = runs[kept], values[kept]
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    merged = np.add.reduceat(runs, starts)
    return np.concatenate(([0], merged)) if values[0] == 1 else merged


def _coverage(runs: np.ndarray, height: int) -> tuple[np.ndarray, list[int], int]:
    """(grid, [x, y, w, h], step) of a mask, from its runs alone.

    The grid covers the mask's pixel box in blocks of step × step pixels, step chosen so that
    its long side is at most OUTLINE_MAX_SIDE; a cell is 1 when its block is at least half
    covered. Only the columns the mask touches are expanded (np.repeat of the runs, one byte a
    pixel), never the whole image.
    """
    ends = np.cumsum(runs)
    starts = ends - runs
    on = np.flatnonzero(runs[1::2]) * 2 + 1
    x = int(starts[on[0]] // height)
    last = int((ends[on[-1]] - 1) // height)
    low, high = x * height, (last + 1) * height
    values = (np.arange(len(runs)) % 2).astype(np.uint8)
    columns = np.repeat(values, np.clip(ends, low, high) - np.clip(starts, low, high)).reshape(-1, height)
    rows = np.flatnonzero(columns.any(axis=0))
    y, h, w = int(rows[0]), int(rows[-1] - rows[0] + 1), columns.shape[0]
    crop = columns[:, y : y + h].T
    step = max(1, math.ceil(max(h, w) / OUTLINE_MAX_SIDE))
    if step == 1:
        return np.ascontiguousarray(crop), [x, y, w, h], 1
    ph, pw = -h % step, -w % step
    covered = np.pad(crop, ((0, ph), (0, pw))).reshape((h + ph) // step, step, (w + pw) // step, step).sum(
        axis=(1, 3), dtype=np.int32
    )
    # Half covered or more; a mask thinner than that everywhere keeps whatever it touches.
    binary = 2 * covered >= step * step
    if not binary.any():
        binary = covered > 0
    return binary.astype(np.uint8), [x, y, w, h], step


def mask_outline(geometry: dict, runs: np.ndarray | None = None) -> dict:
    """What a preview draws of a mask, traced once when it is stored: never on a page view.

    ``{"bbox": [x, y, w, h], "polygons": [[x1, y1, x2, y2, ...], ...]}`` in image pixels: the
    exact pixel box, and the outer contours (holes are not drawn) traced by OpenCV on the box's
    coverage grid (at most OUTLINE_MAX_SIDE cells on its long side), simplified to at most
    OUTLINE_MAX_VERTICES vertices in all. Built from the runs: no full-image decode.
    """
    import cv2

    rle = geometry["rle"]
    if runs is None:
        runs = rle_runs(rle["counts"])
    crop, (x, y, w, h), step = _coverage(runs, rle["size"][0])
    contours, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contours = sorted(contours, key=len, reverse=True)
    tolerance = 0.5
    while True:
        simple = [cv2.approxPolyDP(c, tolerance, True)[:, 0, :] for c in contours]
        simple = [c for c in simple if len(c) >= 3] or [c for c in simple if len(c)]
        if sum(len(c) for c in simple) <= OUTLINE_MAX_VERTICES or tolerance > max(crop.shape):
            break
        tolerance *= 1.4
    polygons, budget = [], OUTLINE_MAX_VERTICES
    for c in simple:
        if len(c) > budget:
            break
        budget -= len(c)
        pts = np.empty(2 * len(c))
        # A reduced pixel's centre in image coordinates (pixel edges at whole numbers).
        pts[0::2] = (c[:, 0] + 0.5) * step + x
        pts[1::2] = (c[:, 1] + 0.5) * step + y
        polygons.append(np.round(pts, 1).tolist())
    if not any(len(p) >= 6 for p in polygons):  # a dot or a line of pixels: draw its box
        polygons = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    return {"bbox": [x, y, w, h], "polygons": polygons}


# --- tags and dispatch ----------------------------------------------------------------------


def validate_tag(geometry, width: int, height: int, path: str = "geometry") -> dict:
    if geometry not in ({}, None):
        raise RuleError(path, "a tag has no geometry: send {}.")
    return {}


VALIDATORS = {"tag": validate_tag, "box": validate_box, "polygon": validate_polygon, "mask": validate_mask}


def validate_geometry(
    kind: str, geometry, *, width: int, height: int, path: str = "geometry", max_points: int | None = None
) -> dict:
    """Check ``geometry`` for an annotation of ``kind`` on a width×height image; return it normalised."""
    return checked_geometry(kind, geometry, width=width, height=height, path=path, max_points=max_points)[0]


def checked_geometry(
    kind: str, geometry, *, width: int, height: int, path: str = "geometry", max_points: int | None = None
) -> tuple[dict, dict | None]:
    """(normalised geometry, outline to store): the outline is traced for masks, None otherwise."""
    if kind == "mask":
        clean, runs = checked_mask(geometry, width, height, path)
        return clean, mask_outline(clean, runs)
    if kind == "polygon":
        return validate_polygon(geometry, width, height, path, max_points=max_points), None
    try:
        validator = VALIDATORS[kind]
    except KeyError:
        raise RuleError("kind", f"unknown kind {kind!r}; one of {', '.join(VALIDATORS)}.") from None
    return validator(geometry, width, height, path), None
