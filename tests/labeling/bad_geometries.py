"""One table of bad geometries, refused on every path that stores an annotation.

The API (one and many), PATCH, COCO import and the model's proposals are each tested with
all of it (tests/labeling/test_rules.py, test_annotations_api.py, coco/test_import_rules.py,
tests/mlassist/test_proposal_rules.py). Geometries are for the factories' 100 x 80 image, with
POLYGON_MAX_POINTS set to MAX_POINTS.
"""

import math

import pytest
from pycocotools import mask as mask_api

W, H = 100, 80
MAX_POINTS = 8


def _compressed(counts: list[int], h: int = H, w: int = W) -> str:
    """pycocotools compresses any runs without checking them: exactly the strings to refuse."""
    return mask_api.frPyObjects({"size": [h, w], "counts": counts}, h, w)["counts"].decode("ascii")


def _circle(n: int) -> list[list[float]]:
    return [[50 + 30 * math.cos(2 * math.pi * k / n), 40 + 30 * math.sin(2 * math.pi * k / n)] for k in range(n)]


def _rle(counts, size=(H, W)) -> dict:
    return {"rle": {"size": list(size), "counts": counts}}


# (id, kind, geometry, where the rules point (relative to the geometry), words of the refusal,
#  words of the COCO importer where its own format check speaks first)
BAD = [
    ("box-outside", "box", {"x": 90, "y": 10, "w": 20, "h": 10}, ("w",), "outside", None),
    ("box-negative", "box", {"x": -1, "y": 10, "w": 20, "h": 10}, ("x",), "outside", "negative"),
    ("box-empty", "box", {"x": 1, "y": 1, "w": 0, "h": 5}, ("w",), "greater than 0", "zero size"),
    ("polygon-outside", "polygon", {"points": [[1, 1], [120, 1], [50, 50]]}, ("points", 1, 0), "outside", None),
    ("polygon-too-many-points", "polygon", {"points": _circle(MAX_POINTS + 1)}, ("points",), "at most 8", None),
    ("polygon-bow-tie", "polygon", {"points": [[10, 10], [50, 50], [50, 10], [10, 50]]}, ("points",),
     "crosses itself", None),
    ("polygon-touches-itself", "polygon", {"points": [[10, 10], [60, 10], [60, 50], [35, 10], [10, 50]]},
     ("points",), "crosses itself", None),
    ("polygon-on-a-line", "polygon", {"points": [[1, 1], [5, 5], [9, 9]]}, ("points",), "no area", None),
    ("polygon-two-points", "polygon", {"points": [[1, 1], [5, 5]]}, ("points",), "at least 3", None),
    ("mask-short-runs-compressed", "mask", _rle(_compressed([100, 50])), ("rle", "counts"),
     "runs cover 150 pixels", None),
    ("mask-short-runs-uncompressed", "mask", _rle([100, 50]), ("rle", "counts"), "runs cover 150 pixels", None),
    ("mask-long-runs", "mask", _rle(_compressed([7000, 2000])), ("rle", "counts"), "runs cover 9000 pixels", None),
    ("mask-empty", "mask", _rle([W * H]), ("rle",), "covers no pixel", None),
    ("mask-wrong-size", "mask", _rle([1000, 1000], size=(40, 50)), ("rle", "size"), "but the image is", None),
    ("mask-not-rle", "mask", _rle("\u00ff\u00fe"), ("rle", "counts"), "COCO compressed RLE", None),
]

CASES = [pytest.param(kind, geometry, loc, words, coco, id=name) for name, kind, geometry, loc, words, coco in BAD]


def path_of(prefix: str, loc: tuple) -> str:
    """The API's name for a place in the geometry: ``geometry.points[1][0]``, ``[3].geometry.w``."""
    out = f"{prefix}.geometry" if prefix else "geometry"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


GOOD = {
    "box": {"x": 1, "y": 2, "w": 10, "h": 20},
    "polygon": {"points": [[10, 10], [60, 10], [35, 50]]},
    "mask": _rle([H * 10 + 5, 20, W * H - H * 10 - 25]),  # column 10, rows 5..24 (column-major)
}


def coco_segmentation(kind: str, geometry: dict) -> dict:
    """The table's geometry as the fields of a COCO annotation."""
    if kind == "box":
        return {"bbox": [geometry["x"], geometry["y"], geometry["w"], geometry["h"]]}
    if kind == "polygon":
        return {"segmentation": [[v for point in geometry["points"] for v in point]]}
    return {"segmentation": geometry["rle"]}
