"""Validation and normalisation of annotation geometry, in image pixels (origin top-left).

Pure functions (numpy, pycocotools, scikit-image; no ORM), so every path that stores an
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
OUTLINE_MAX_VERTICES = 512


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
    clean, index = [], []  # index: where each kept point was in the input, for error paths
    for i, point in enumerate(points):
        loc = ("points", i)
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise _error(path, loc, "must be a pair [x, y].")
        x, y = _number(point[0], path, (*loc, 0)), _number(point[1], path, (*loc, 1))
        _inside(x, width, path, (*loc, 0))
        _inside(y, height, path, (*loc, 1))
        if clean and clean[-1] == [x, y]:
            continue
        clean.append([x, y])
        index.append(i)
    if len(clean) > 1 and clean[-1] == clean[0]:
        clean.pop()
        index.pop()
    if len(clean) < 3:
        raise _error(path, ("points",), f"needs at least 3 different points, got {len(clean)}.")
    pts = np.asarray(clean, dtype=np.float64)
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


def polygon_area(points) -> float:
    """Shoelace area of one ring."""
    s = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
        s += x1 * y2 - x2 * y1
    return abs(s) / 2


# --- masks ----------------------------------------------------------------------------------


def compressed_rle_total(counts: str) -> tuple[int, int]:
    """(pixels covered by all runs, pixels set) of a COCO compressed RLE string.

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
    return int(runs.sum()), int(runs[1::2].sum())


def validate_mask(geometry, width: int, height: int, path: str = "geometry") -> dict:
    """A COCO RLE of exactly the image's size covering at least one pixel; stored compressed."""
    return checked_mask(geometry, width, height, path)[0]


def checked_mask(geometry, width: int, height: int, path: str = "geometry") -> tuple[dict, np.ndarray]:
    """validate_mask, also returning the decoded mask (height × width, Fortran order)."""
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
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise _error(path, ("rle", "counts"), "uncompressed counts must be whole numbers >= 0.")
        total, covered = sum(counts), sum(counts[1::2])
        source = None  # made by pycocotools once the runs are known to be right
    elif isinstance(counts, str):
        try:
            total, covered = compressed_rle_total(counts)
        except ValueError as exc:
            raise _error(path, ("rle", "counts"), f"is not valid COCO compressed RLE: {exc}.") from None
        source = {"size": size, "counts": counts.encode("ascii")}
    else:
        raise _error(path, ("rle", "counts"), "must be a compressed RLE string or a list of run lengths.")
    # Checked before pycocotools sees the runs: it would decode short runs from uninitialised memory.
    if total != pixels:
        raise _error(
            path, ("rle", "counts"), f"runs cover {total} pixels but the image has {height} × {width} = {pixels}."
        )
    if covered == 0:
        raise _error(path, ("rle",), "is empty: the mask covers no pixel.")
    if source is None:
        source = mask_api.frPyObjects({"size": size, "counts": counts}, height, width)
    decoded = mask_api.decode(source)
    canonical = mask_api.encode(decoded)  # the canonical string, whatever form came in
    return {"rle": {"size": size, "counts": canonical["counts"].decode("ascii")}}, decoded


def mask_outline(geometry: dict, decoded: np.ndarray | None = None) -> dict:
    """What a preview draws of a mask, traced once when it is stored: never on a page view.

    ``{"bbox": [x, y, w, h], "polygons": [[x1, y1, x2, y2, ...], ...]}`` in image pixels: the
    exact pixel box, and the outer contours traced on the box's crop shrunk to at most
    OUTLINE_MAX_SIDE pixels on its long side, simplified to at most OUTLINE_MAX_VERTICES
    vertices in all (holes are not drawn).
    """
    from skimage import measure

    rle = geometry["rle"]
    if decoded is None:
        decoded = mask_api.decode({"size": rle["size"], "counts": rle["counts"].encode("ascii")})
    rows, cols = np.flatnonzero(decoded.any(axis=1)), np.flatnonzero(decoded.any(axis=0))
    if not len(rows):
        return {"bbox": [0, 0, 0, 0], "polygons": []}
    y, x = int(rows[0]), int(cols[0])
    h, w = int(rows[-1]) - y + 1, int(cols[-1]) - x + 1
    crop = decoded[y : y + h, x : x + w].astype(np.float32)
    step = max(1, math.ceil(max(h, w) / OUTLINE_MAX_SIDE))
    if step > 1:  # block means: thin parts fade instead of vanishing between samples
        ph, pw = -h % step, -w % step
        crop = np.pad(crop, ((0, ph), (0, pw))).reshape((h + ph) // step, step, (w + pw) // step, step).mean(axis=(1, 3))
    crop = np.pad(crop, 1)
    contours = []
    for contour in measure.find_contours(crop, 0.5):
        c, r = contour[:, 1], contour[:, 0]
        # find_contours orients outer boundaries counter-clockwise in (col, row): positive area.
        if np.sum(c * np.roll(r, -1) - np.roll(c, -1) * r) > 0:
            contours.append(contour)
    contours.sort(key=len, reverse=True)
    tolerance = 0.5
    while True:
        simple = [measure.approximate_polygon(c, tolerance=tolerance)[:-1] for c in contours]
        simple = [s for s in simple if len(s) >= 3]
        if sum(len(s) for s in simple) <= OUTLINE_MAX_VERTICES or tolerance > max(crop.shape):
            break
        tolerance *= 2
    polygons, budget = [], OUTLINE_MAX_VERTICES
    for s in simple:
        if len(s) > budget:
            break
        budget -= len(s)
        pts = np.empty(2 * len(s))
        # Padded crop index u -> image coordinate: the block's centre, on pixel-edge coordinates.
        pts[0::2] = (s[:, 1] - 1) * step + step / 2 + x
        pts[1::2] = (s[:, 0] - 1) * step + step / 2 + y
        polygons.append([round(v, 1) for v in pts.tolist()])
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
        clean, decoded = checked_mask(geometry, width, height, path)
        return clean, mask_outline(clean, decoded)
    if kind == "polygon":
        return validate_polygon(geometry, width, height, path, max_points=max_points), None
    try:
        validator = VALIDATORS[kind]
    except KeyError:
        raise RuleError("kind", f"unknown kind {kind!r}; one of {', '.join(VALIDATORS)}.") from None
    return validator(geometry, width, height, path), None
