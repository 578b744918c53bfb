"""Small COCO fixtures: a mask with a hole, a mask in two parts, polygons, boxes and tags."""

import json

import numpy as np
import pytest
from pycocotools import mask as mask_api

from labeling.coco.export import coco_export_stream
from labeling.coco.rows import AnnotationRow, CategoryRow, ImageRow

W, H = 64, 48


def rle_of(mask: np.ndarray) -> dict:
    rle = mask_api.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": rle["counts"].decode("ascii")}


def ring_mask() -> np.ndarray:
    """A square with a square hole."""
    m = np.zeros((H, W), np.uint8)
    m[5:25, 10:30] = 1
    m[10:20, 15:25] = 0
    return m


def two_part_mask() -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[2:10, 2:12] = 1
    m[30:44, 40:60] = 1
    return m


CATEGORIES = [CategoryRow(1, "cat", "animal"), CategoryRow(2, "dog", "animal"), CategoryRow(3, "outdoor")]
IMAGES = [
    ImageRow(1, "a.jpg", W, H, tags=("outdoor",)),
    ImageRow(2, "b/c.png", W, H),
    ImageRow(3, 'odd "name".jpg', W, H, tags=("outdoor", "cat")),
]


def sample_annotations() -> list[AnnotationRow]:
    return [
        AnnotationRow(1, 1, 1, "box", {"x": 10, "y": 20, "w": 30, "h": 15}, score=0.9),
        AnnotationRow(2, 1, 2, "polygon", {"points": [[1, 1], [20.5, 2], [18, 30], [3, 25]]}),
        AnnotationRow(3, 1, 3, "tag", {}),
        AnnotationRow(4, 2, 1, "mask", {"rle": rle_of(ring_mask())}, score=0.5),
        AnnotationRow(5, 2, 2, "mask", {"rle": rle_of(two_part_mask())}),
        AnnotationRow(6, 3, 2, "box", {"x": 0.5, "y": 0.25, "w": 63.5, "h": 47.75}),
        AnnotationRow(7, 3, 1, "mask", {"rle": rle_of(two_part_mask())}, iscrowd=True),
    ]


def export_bytes(annotations=None, **kwargs) -> bytes:
    return b"".join(
        coco_export_stream(
            info={"description": "test", "version": "1"},
            categories=CATEGORIES,
            images=IMAGES,
            annotations=sample_annotations() if annotations is None else annotations,
            **kwargs,
        )
    )


@pytest.fixture
def exported() -> dict:
    return json.loads(export_bytes())
