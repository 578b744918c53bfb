import json

import numpy as np
import pytest
from pycocotools import mask as mask_api

from labeling.coco.export import coco_export_stream, tags_csv_stream
from labeling.coco.rows import AnnotationRow

from .conftest import CATEGORIES, IMAGES, export_bytes, ring_mask, sample_annotations, two_part_mask


def by_id(doc):
    return {a["id"]: a for a in doc["annotations"]}


def test_document_shape(exported):
    assert list(exported) == ["info", "licenses", "categories", "images", "annotations"]
    assert exported["licenses"] == []
    assert [c["id"] for c in exported["categories"]] == [1, 2, 3]
    assert exported["images"][1] == {"id": 2, "file_name": "b/c.png", "width": 64, "height": 48}
    assert exported["images"][2]["file_name"] == 'odd "name".jpg'


def test_tags_go_to_image_attributes_not_annotations(exported):
    assert exported["images"][0]["attributes"] == {"tags": ["outdoor"]}
    assert "attributes" not in exported["images"][1]
    assert 3 not in by_id(exported)  # the tag row


def test_box_is_bbox_only(exported):
    box = by_id(exported)[1]
    assert box["bbox"] == [10.0, 20.0, 30.0, 15.0]
    assert all(isinstance(v, float) for v in box["bbox"])
    assert box["segmentation"] == [] and box["area"] == 450.0 and box["iscrowd"] == 0
    assert "score" not in box


def test_polygon_has_tight_box_and_pixel_area(exported):
    poly = by_id(exported)[2]
    assert poly["segmentation"] == [[1.0, 1.0, 20.5, 2.0, 18.0, 30.0, 3.0, 25.0]]
    assert poly["bbox"] == [1.0, 1.0, 19.5, 29.0]
    # The pixels pycocotools rasterises (448), not the shoelace value (449.25).
    assert poly["area"] == int(mask_api.area(mask_api.frPyObjects(poly["segmentation"], 48, 64)[0])) == 448


@pytest.mark.parametrize("mask_format", ["rle", "polygon"])
def test_every_area_is_what_pycocotools_computes_from_the_exported_segmentation(mask_format):
    from pycocotools.coco import COCO

    doc = json.loads(export_bytes(mask_format=mask_format))
    coco = COCO()
    coco.dataset = doc
    coco.createIndex()
    for ann in doc["annotations"]:
        if ann["segmentation"]:
            assert ann["area"] == int(mask_api.area(coco.annToRLE(ann))), ann["id"]
        else:
            assert ann["area"] == ann["bbox"][2] * ann["bbox"][3]


def test_tags_csv_cells_cannot_be_formulas():
    from labeling.coco.rows import ImageRow

    rows = [ImageRow(1, "=HYPERLINK(\"http://x\")", 4, 4, tags=("+cmd", "ok")), ImageRow(2, "@a.png", 4, 4),
            ImageRow(3, "-2+3.png", 4, 4, tags=("-x",)), ImageRow(4, "\tb.png", 4, 4), ImageRow(5, "plain.png", 4, 4)]
    text = b"".join(tags_csv_stream(rows)).decode()
    import csv
    import io as _io

    cells = list(csv.reader(_io.StringIO(text)))[1:]
    assert cells == [["'=HYPERLINK(\"http://x\")", "'+cmd;ok"], ["'@a.png", ""], ["'-2+3.png", "'-x"],
                     ["'\tb.png", ""], ["plain.png", ""]]


def test_zip_entry_names_are_safe_and_unique():
    from labeling.coco.export import safe_entry_names

    names = safe_entry_names([(1, "a.png"), (2, "A.png"), (3, "../../../tmp/x.png"), (4, "/etc/cron.d/x.png"),
                              (5, ".."), (6, "a\x07b.png"), (7, "c:\\w\\x.png"), (8, "a-2.png"), (9, ".bashrc")])
    assert names == {1: "a.png", 2: "A-2.png", 3: "x.png", 4: "x-2.png", 5: "image-5", 6: "a_b.png",
                     7: "x-3.png", 8: "a-2-2.png", 9: "bashrc"}


@pytest.mark.parametrize(("ann_id", "mask"), [(4, ring_mask()), (5, two_part_mask())])
def test_mask_is_one_rle_annotation_with_holes_and_parts(exported, ann_id, mask):
    ann = by_id(exported)[ann_id]
    rle = ann["segmentation"]
    decoded = mask_api.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    assert np.array_equal(decoded, mask)  # hole and both parts kept, one annotation
    assert ann["area"] == int(mask.sum())
    ys, xs = np.nonzero(mask)
    assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    assert ann["iscrowd"] == 0


def test_crowd_flag(exported):
    assert by_id(exported)[7]["iscrowd"] == 1


def test_scores_only_on_request():
    doc = json.loads(export_bytes(include_scores=True))
    assert by_id(doc)[1]["score"] == 0.9 and by_id(doc)[4]["score"] == 0.5
    assert "score" not in by_id(doc)[2]  # human row without a score


def test_license_is_referenced_by_every_image():
    doc = json.loads(export_bytes(license={"id": 1, "name": "CC-BY 4.0", "url": "https://example.org"}))
    assert doc["licenses"][0]["id"] == 1
    assert {img["license"] for img in doc["images"]} == {1}


def test_polygon_mode_traces_every_part_into_one_annotation_and_fills_holes():
    doc = json.loads(export_bytes(mask_format="polygon"))
    ring, parts = by_id(doc)[4], by_id(doc)[5]
    assert len(ring["segmentation"]) == 1  # the hole cannot be a COCO polygon
    assert len(parts["segmentation"]) == 2
    assert ring["bbox"] == [10.0, 5.0, 20.0, 20.0] and parts["bbox"] == [2.0, 2.0, 58.0, 42.0]
    # Traced polygons rasterise back to the mask (hole filled) up to corner pixels.
    rle = mask_api.merge(mask_api.frPyObjects(parts["segmentation"], 48, 64))
    assert abs(int(mask_api.area(rle)) - int(two_part_mask().sum())) <= 8


def test_untraceable_mask_falls_back_to_rle():
    empty = mask_api.encode(np.asfortranarray(np.zeros((48, 64), np.uint8)))
    row = AnnotationRow(9, 1, 1, "mask", {"rle": {"size": [48, 64], "counts": empty["counts"].decode()}})
    (ann,) = json.loads(export_bytes([row], mask_format="polygon"))["annotations"]
    assert ann["segmentation"]["size"] == [48, 64] and ann["area"] == 0


def test_annotations_are_consumed_lazily_in_chunks():
    consumed = []

    def rows():
        for i in range(1, 3001):
            consumed.append(i)
            yield AnnotationRow(i, 1, 1, "box", {"x": 1, "y": 1, "w": 2, "h": 2})

    stream = coco_export_stream(info={}, categories=CATEGORIES, images=IMAGES, annotations=rows())
    for chunk in stream:
        if b'"annotations":[' in chunk:
            break
    assert consumed == []  # nothing read before the annotations section
    next(stream)
    assert 0 < len(consumed) < 3000
    rest = b"".join(stream)
    assert rest.endswith(b"]}\n") and len(consumed) == 3000


def test_more_than_255_masks_in_a_chunk_boundary():
    # pycocotools' area() overflows at 256 RLEs per call; the exporter batches below that.
    rle = sample_annotations()[3].geometry
    rows = [AnnotationRow(i, 2, 1, "mask", rle) for i in range(1, 600)]
    doc = json.loads(export_bytes(rows))
    assert {a["area"] for a in doc["annotations"]} == {int(ring_mask().sum())}


def test_non_finite_geometry_is_refused():
    row = AnnotationRow(1, 1, 1, "box", {"x": float("nan"), "y": 0, "w": 1, "h": 1})
    with pytest.raises(ValueError, match="non-finite"):
        export_bytes([row])


def test_unknown_mask_format_is_refused():
    with pytest.raises(ValueError, match="mask_format"):
        export_bytes(mask_format="png")


def test_tags_csv():
    text = b"".join(tags_csv_stream(IMAGES)).decode()
    assert text.splitlines() == ["file_name,labels", "a.jpg,outdoor", "b/c.png,", '"odd ""name"".jpg",outdoor;cat']
