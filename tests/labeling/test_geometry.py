import numpy as np
import pytest
from pycocotools import mask as mask_api

from labeling.geometry import GeometryError, validate_geometry


def check(kind, geometry, w=100, h=80):
    return validate_geometry(kind, geometry, width=w, height=h)


def refused_at(kind, geometry, path):
    with pytest.raises(GeometryError) as info:
        check(kind, geometry)
    assert info.value.path == path, info.value
    return info.value


def rle_of(mask):
    rle = mask_api.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": rle["size"], "counts": rle["counts"].decode()}


def test_box_inside_image_is_kept_as_floats():
    assert check("box", {"x": 10, "y": 20, "w": 30, "h": 40}) == {"x": 10.0, "y": 20.0, "w": 30.0, "h": 40.0}


@pytest.mark.parametrize(
    "geometry,path",
    [
        ({"x": 1, "y": 2, "w": 3}, "geometry.h"),
        ({"x": "1", "y": 2, "w": 3, "h": 4}, "geometry.x"),
        ({"x": float("nan"), "y": 2, "w": 3, "h": 4}, "geometry.x"),
        ({"x": 1, "y": 2, "w": float("inf"), "h": 4}, "geometry.w"),
        ({"x": 1, "y": 2, "w": 0, "h": 4}, "geometry.w"),
        ({"x": 1, "y": 2, "w": -3, "h": 4}, "geometry.w"),
        ({"x": -1, "y": 2, "w": 3, "h": 4}, "geometry.x"),
        ({"x": 90, "y": 2, "w": 30, "h": 4}, "geometry.w"),
        ({"x": 1, "y": 2, "w": 3, "h": 4, "z": 1}, "geometry.z"),
    ],
)
def test_bad_boxes_are_refused_naming_the_field(geometry, path):
    refused_at("box", geometry, path)


def test_polygon_rules(settings):
    assert check("polygon", {"points": [[0, 0], [10, 0], [10, 10]]})["points"][2] == [10.0, 10.0]
    refused_at("polygon", {"points": [[0, 0], [10, 0]]}, "geometry.points")
    refused_at("polygon", {"points": [[0, 0], [10, 0], [10, 100]]}, "geometry.points[2][1]")
    refused_at("polygon", {"points": [[0, 0], [10, 0], [10]]}, "geometry.points[2]")
    refused_at("polygon", {"points": [[0, 0], [5, 5], [10, 10]]}, "geometry.points")  # no area
    settings.POLYGON_MAX_POINTS = 4
    err = refused_at("polygon", {"points": [[0, 0], [1, 0], [2, 1], [1, 2], [0, 1]]}, "geometry.points")
    assert "at most 4" in err.detail


def test_mask_compressed_and_uncompressed_are_stored_compressed():
    mask = np.zeros((80, 100), bool)
    mask[10:30, 20:50] = True
    mask[15:20, 25:30] = False  # a hole
    compressed = rle_of(mask)
    assert check("mask", {"rle": compressed}) == {"rle": compressed}
    # Uncompressed: column-major run lengths starting with background, as COCO defines them.
    flat = mask.flatten(order="F").astype(int)
    runs, current, count = [], 0, 0
    for v in flat:
        if v == current:
            count += 1
        else:
            runs.append(count)
            current, count = v, 1
    runs.append(count)
    assert check("mask", {"rle": {"size": [80, 100], "counts": runs}}) == {"rle": compressed}


def test_mask_errors():
    mask = np.zeros((80, 100), bool)
    mask[1:5, 1:5] = True
    good = rle_of(mask)
    refused_at("mask", {"rle": {**good, "size": [100, 80]}}, "geometry.rle.size")
    refused_at("mask", {"rle": {"size": [80, 100], "counts": "not rle!"}}, "geometry.rle.counts")
    refused_at("mask", {"rle": {"size": [80, 100], "counts": [1, 2, 3]}}, "geometry.rle.counts")
    refused_at("mask", {"rle": rle_of(np.zeros((80, 100), bool))}, "geometry.rle")
    refused_at("mask", {"polygon": []}, "geometry.rle")


def test_tag_has_no_geometry():
    assert check("tag", {}) == {}
    refused_at("tag", {"x": 1}, "geometry")
