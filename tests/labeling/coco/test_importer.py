import copy
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_api

from labeling.coco.importer import CocoFormatError, coco_parse

from .conftest import export_bytes, ring_mask, two_part_mask

LIMIT = 1 << 20


def parse(doc) -> object:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return coco_parse(io.BytesIO(data), max_bytes=LIMIT)


def refused(doc, *, max_bytes=LIMIT) -> CocoFormatError:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    with pytest.raises(CocoFormatError) as err:
        coco_parse(io.BytesIO(data), max_bytes=max_bytes)
    return err.value


def base() -> dict:
    return {
        "images": [{"id": 7, "file_name": "x.jpg", "width": 64, "height": 48}],
        "categories": [{"id": 3, "name": "cat"}, {"id": 4, "name": "dog"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 2, 3, 4], "iscrowd": 0, "area": 12},
            {"id": 2, "image_id": 7, "category_id": 4, "segmentation": [[0, 0, 10, 0, 10, 10]]},
        ],
    }


def with_ann(**fields) -> dict:
    doc = base()
    doc["annotations"][1] = {"id": 2, "image_id": 7, "category_id": 4, **fields}
    return doc


def test_parses_kinds_into_server_shapes():
    parsed = parse(base())
    assert [(c.id, c.name) for c in parsed.categories] == [(3, "cat"), (4, "dog")]
    assert parsed.images[0].width == 64 and parsed.images[0].height == 48
    box, poly = parsed.annotations
    assert (box.image_id, box.category_id, box.kind) == (7, 3, "box")
    assert box.geometry == {"x": 1.0, "y": 2.0, "w": 3.0, "h": 4.0}
    assert poly.kind == "polygon" and poly.geometry == {"points": [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]}


def test_annotations_may_come_before_images():
    doc = base()
    reordered = {"annotations": doc["annotations"], "categories": doc["categories"], "images": doc["images"]}
    assert len(parse(reordered).annotations) == 2


def test_compressed_and_uncompressed_rle():
    m = ring_mask()
    compressed = mask_api.encode(np.asfortranarray(m))["counts"].decode()
    flat = m.flatten(order="F")
    runs, current, n = [], 0, 0
    for v in flat:
        if v != current:
            runs.append(n)
            current, n = v, 0
        n += 1
    runs.append(n)
    for seg in ({"size": [48, 64], "counts": compressed}, {"size": [48, 64], "counts": runs}):
        (ann,) = [a for a in parse(with_ann(segmentation=seg)).annotations if a.id == 2]
        assert ann.kind == "mask" and ann.geometry["rle"] == {"size": [48, 64], "counts": compressed}


def test_multi_part_polygon_becomes_one_mask_of_the_union():
    parts = [[2, 2, 12, 2, 12, 10, 2, 10], [40, 30, 60, 30, 60, 44, 40, 44]]
    (ann,) = [a for a in parse(with_ann(segmentation=parts)).annotations if a.id == 2]
    assert ann.kind == "mask"
    expected = mask_api.merge(mask_api.frPyObjects(parts, 48, 64))
    assert ann.geometry["rle"]["counts"] == expected["counts"].decode()


def test_tags_read_back_from_image_attributes():
    parsed = coco_parse(io.BytesIO(export_bytes()), max_bytes=LIMIT)
    assert parsed.images[2].tags == ("outdoor", "cat")


def test_crowd_and_score():
    (ann,) = [
        a for a in parse(with_ann(bbox=[0, 0, 5, 5], iscrowd=1, score=0.25)).annotations if a.id == 2
    ]
    assert ann.iscrowd is True and ann.score == 0.25


def mutate(fn) -> dict:
    doc = base()
    fn(doc)
    return doc


BAD = [
    ("bad JSON", b'{"images": [{"id": 1,, }]}', "images[0].id"),
    ("not an object", b"[1, 2]", "$"),
    ("missing section", json.dumps({"images": [], "categories": []}).encode(), "annotations"),
    ("section not a list", mutate(lambda d: d.update(images={})), "images"),
    ("missing image key", mutate(lambda d: d["images"][0].pop("width")), "images[0].width"),
    ("image width type", mutate(lambda d: d["images"][0].update(width="64")), "images[0].width"),
    ("image height zero", mutate(lambda d: d["images"][0].update(height=0)), "images[0].height"),
    ("image id bool", mutate(lambda d: d["images"][0].update(id=True)), "images[0].id"),
    ("category name missing", mutate(lambda d: d["categories"][1].pop("name")), "categories[1].name"),
    ("duplicate category id", mutate(lambda d: d["categories"][1].update(id=3)), "categories[1].id"),
    ("duplicate category name", mutate(lambda d: d["categories"][1].update(name="cat")), "categories[1].name"),
    (
        "duplicate image id",
        mutate(lambda d: d["images"].append({"id": 7, "file_name": "y.jpg", "width": 1, "height": 1})),
        "images[1].id",
    ),
    ("duplicate annotation id", mutate(lambda d: d["annotations"][1].update(id=1)), "annotations[1].id"),
    ("missing image_id", mutate(lambda d: d["annotations"][1].pop("image_id")), "annotations[1].image_id"),
    ("unknown image", mutate(lambda d: d["annotations"][1].update(image_id=99)), "annotations[1].image_id"),
    ("unknown category", mutate(lambda d: d["annotations"][0].update(category_id=1)), "annotations[0].category_id"),
    ("category id float", mutate(lambda d: d["annotations"][0].update(category_id=3.0)), "annotations[0].category_id"),
    ("odd coordinates", with_ann(segmentation=[[0, 0, 10, 0, 10]]), "annotations[1].segmentation[0]"),
    (
        "odd coordinates in a later part",
        with_ann(segmentation=[[0, 0, 10, 0, 10, 10], [1, 1, 2, 2, 3, 1, 4]]),
        "annotations[1].segmentation[1]",
    ),
    ("two points", with_ann(segmentation=[[0, 0, 10, 0]]), "annotations[1].segmentation[0]"),
    ("coordinate type", with_ann(segmentation=[[0, 0, 10, "0", 10, 10]]), "annotations[1].segmentation[0][3]"),
    ("segmentation type", with_ann(segmentation="poly"), "annotations[1].segmentation"),
    ("polygon outside image", with_ann(segmentation=[[0, 0, 70, 0, 10, 10]]), "annotations[1].segmentation[0]"),
    (
        "RLE size disagrees with image",
        with_ann(segmentation={"size": [64, 48], "counts": [3000, 72]}),
        "annotations[1].segmentation.size",
    ),
    (
        "uncompressed RLE runs do not cover the size",
        with_ann(segmentation={"size": [48, 64], "counts": [10, 5]}),
        "annotations[1].segmentation.counts",
    ),
    (
        "corrupt compressed RLE",
        with_ann(segmentation={"size": [48, 64], "counts": "ab~"}),
        "annotations[1].segmentation.counts",
    ),
    ("empty mask", with_ann(segmentation={"size": [48, 64], "counts": [3072]}), "annotations[1].segmentation"),
    ("negative bbox", mutate(lambda d: d["annotations"][0].update(bbox=[1, 2, -3, 4])), "annotations[0].bbox"),
    ("zero-size bbox", mutate(lambda d: d["annotations"][0].update(bbox=[1, 2, 0, 4])), "annotations[0].bbox"),
    ("bbox of 3 numbers", mutate(lambda d: d["annotations"][0].update(bbox=[1, 2, 3])), "annotations[0].bbox"),
    ("bbox outside image", mutate(lambda d: d["annotations"][0].update(bbox=[60, 2, 5, 4])), "annotations[0].bbox"),
    ("no bbox nor segmentation", with_ann(iscrowd=0), "annotations[1].bbox"),
    ("iscrowd", mutate(lambda d: d["annotations"][0].update(iscrowd=2)), "annotations[0].iscrowd"),
    (
        "non-finite number",
        json.dumps(base()).replace("[1, 2, 3, 4]", "[1, 2, 3, 1e999]").encode(),
        "annotations[0].bbox",
    ),
    ("NaN literal", json.dumps(base()).replace("[1, 2, 3, 4]", "[1, NaN, 3, 4]").encode(), "annotations[0].bbox"),
    (
        "tag that is no category",
        mutate(lambda d: d["images"][0].update(attributes={"tags": ["cow"]})),
        "images[0].attributes.tags[0]",
    ),
]


@pytest.mark.parametrize(("doc", "path"), [pytest.param(d, p, id=name) for name, d, p in BAD])
def test_malformed_input_names_the_element(doc, path):
    err = refused(copy.deepcopy(doc))
    assert err.path == path, err.detail
    assert err.detail


def test_bad_json_reports_the_byte_position():
    err = refused(b'{"images": [{"id": 1,, }]}')
    assert "at byte 21" in err.detail


def test_truncated_file():
    err = refused(json.dumps(base()).encode()[:-30])
    assert err.path.startswith("annotations[1]") and "ends too early" in err.detail


def test_file_over_the_size_limit_is_refused_while_reading():
    data = json.dumps(base()).encode()
    err = refused(data, max_bytes=len(data) - 1)
    assert err.path == "$" and "limit" in err.detail
    assert parse(data)  # exactly at the limit is fine
    coco_parse(io.BytesIO(data), max_bytes=len(data))


def test_text_mode_file_is_refused():
    with pytest.raises(CocoFormatError, match="binary"):
        coco_parse(io.StringIO(json.dumps(base())), max_bytes=LIMIT)


def test_two_part_mask_from_export_stays_one_mask():
    parsed = coco_parse(io.BytesIO(export_bytes()), max_bytes=LIMIT)
    (ann,) = [a for a in parsed.annotations if a.id == 5]
    rle = ann.geometry["rle"]
    assert np.array_equal(mask_api.decode({"size": rle["size"], "counts": rle["counts"].encode()}), two_part_mask())


def test_compressed_rle_check_agrees_with_pycocotools():
    from labeling.coco.shapes import compressed_rle_total

    rng = np.random.default_rng(0)
    for _ in range(50):
        h, w = (int(v) for v in rng.integers(1, 80, 2))
        m = (rng.random((h, w)) < rng.random()).astype(np.uint8)
        counts = mask_api.encode(np.asfortranarray(m))["counts"].decode()
        assert compressed_rle_total(counts) == (h * w, int(m.sum()))


# ---- nesting: refused early, in bounded memory ----


def _peak_bytes(data: bytes) -> tuple[CocoFormatError, int]:
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(CocoFormatError) as err:
            coco_parse(io.BytesIO(data), max_bytes=LIMIT, max_depth=64)
        return err.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_400_kb_of_brackets_fails_fast_in_bounded_memory():
    # The file that grew a web worker to 17.6 GB through ijson's per-event prefixes.
    data = b'{"annotations": ' + b"[" * 400_000
    err, peak = _peak_bytes(data)
    assert err.path.startswith("annotations[0][0]") and "nested deeper than 64 levels" in err.detail
    assert peak < 4 << 20


@pytest.mark.parametrize("where", ["annotations", "info", "images"])
def test_5000_levels_deep_anywhere_is_a_clear_error(where):
    inner = "[" * 5000 + "]" * 5000
    doc = base()
    data = json.dumps(doc).encode().replace(b"{", b'{"%s": %s, ' % (where.encode(), inner.encode()), 1)
    if where != "info":  # replace the real list: the deep one comes first
        data = b'{"%s": [%s], ' % (where.encode(), inner.encode()) + json.dumps(
            {k: v for k, v in doc.items() if k != where}).encode()[1:]
    err, peak = _peak_bytes(data)
    assert "nested deeper than 64 levels" in err.detail and err.path.startswith(where)
    assert peak < 4 << 20


def test_nesting_up_to_the_limit_is_read():
    doc = base()
    doc["info"] = {"deep": json.loads("[" * 61 + "]" * 61)}  # document 1, info 2, "deep" 3..63
    assert parse(doc).info == doc["info"]
    doc["info"] = {"deep": json.loads("[" * 63 + "]" * 63)}
    with pytest.raises(CocoFormatError, match="nested deeper than 64"):
        coco_parse(io.BytesIO(json.dumps(doc).encode()), max_bytes=LIMIT, max_depth=64)


# ---- the server's geometry rules, named in COCO terms ----


def test_polygon_point_limit_and_crossing_polygons():
    doc = base()
    doc["annotations"] = [{"id": 1, "image_id": 7, "category_id": 3,
                           "segmentation": [[1, 1, 20, 1, 20, 20, 10, 25, 1, 20]]}]
    with pytest.raises(CocoFormatError) as err:
        coco_parse(io.BytesIO(json.dumps(doc).encode()), max_bytes=LIMIT, max_points=4)
    assert err.value.path == "annotations[0].segmentation[0]" and "at most 4" in err.value.detail
    doc["annotations"][0]["segmentation"] = [[10, 10, 40, 40, 40, 10, 10, 40]]
    err = refused(doc)
    assert err.path == "annotations[0].segmentation[0]" and "crosses itself" in err.detail
    doc["annotations"][0]["segmentation"] = [[1, 1, 20, 1, 20, 20], [30, 30, 40, 30, 40, 40]] * 2
    with pytest.raises(CocoFormatError) as err:  # several parts become one mask: their points count together
        coco_parse(io.BytesIO(json.dumps(doc).encode()), max_bytes=LIMIT, max_points=10)
    assert err.value.path == "annotations[0].segmentation" and "12 points" in err.value.detail


def test_imported_masks_carry_their_outline():
    parsed = coco_parse(io.BytesIO(export_bytes()), max_bytes=LIMIT)
    masks = [a for a in parsed.annotations if a.kind == "mask"]
    assert masks and all(a.outline and a.outline["polygons"] for a in masks)
    assert all(a.outline is None for a in parsed.annotations if a.kind != "mask")
