"""The judges of our COCO: pycocotools (COCO, COCOeval) and datumaro; and export → import → export."""

import copy
import io
import json
import logging
import warnings

import numpy as np
import pytest
from pycocotools import mask as mask_api
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from labeling.coco.export import coco_export_stream
from labeling.coco.importer import coco_parse
from labeling.coco.rows import AnnotationRow

from .conftest import CATEGORIES, IMAGES, export_bytes, ring_mask

EXPORTS = {
    "rle": {},
    "rle+scores": {"include_scores": True},
    "polygon": {"mask_format": "polygon"},
}


@pytest.fixture(params=list(EXPORTS))
def export(request) -> bytes:
    return export_bytes(**EXPORTS[request.param])


def load_coco(data: dict) -> COCO:
    coco = COCO()
    coco.dataset = copy.deepcopy(data)
    coco.createIndex()
    return coco


def test_pycocotools_loads_every_export(export, tmp_path, capsys):
    path = tmp_path / "instances.json"
    path.write_bytes(export)
    coco = COCO(str(path))
    assert len(coco.getImgIds()) == 3 and coco.getCatIds() == [1, 2, 3]
    for ann in coco.loadAnns(coco.getAnnIds()):
        if ann["segmentation"]:
            assert coco.annToMask(ann).sum() > 0  # every segmentation decodes


def average_precision(gt: dict, iou_type: str) -> list[float]:
    if iou_type == "segm":
        # Box-only annotations carry "segmentation": [] and are not segmentation ground truth.
        gt = {**gt, "annotations": [a for a in gt["annotations"] if a["segmentation"]]}
    coco_gt = load_coco(gt)
    dets = []
    for ann in gt["annotations"]:
        det = {"image_id": ann["image_id"], "category_id": ann["category_id"], "score": 1.0}
        if iou_type == "bbox":
            det["bbox"] = ann["bbox"]
        else:
            rle = coco_gt.annToRLE(ann)
            det["segmentation"] = {"size": rle["size"], "counts": rle["counts"]}
        dets.append(det)
    ev = COCOeval(coco_gt, coco_gt.loadRes(dets), iou_type)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return list(ev.stats)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_cocoeval_of_an_export_against_itself_is_perfect(export, iou_type, capsys):
    stats = average_precision(json.loads(export), iou_type)
    assert stats[0] == pytest.approx(1.0)  # AP@[.5:.95], all areas
    assert stats[1] == pytest.approx(1.0) and stats[2] == pytest.approx(1.0)  # AP50, AP75


def test_datumaro_imports_every_export_without_warnings(export, tmp_path, caplog):
    from datumaro.components.annotation import AnnotationType
    from datumaro.components.dataset import Dataset

    # datumaro's COCO layout: annotations/instances_<subset>.json beside images/<subset>/.
    (tmp_path / "annotations").mkdir()
    (tmp_path / "images" / "default").mkdir(parents=True)
    (tmp_path / "annotations" / "instances_default.json").write_bytes(export)
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING):
        warnings.simplefilter("error")
        dataset = Dataset.import_from(str(tmp_path), "coco_instances")
        items = {item.attributes["id"]: item for item in dataset}
    # datumaro's own records only: a live server left by an earlier browser test may still log its requests.
    assert [r.message for r in caplog.records if r.levelno >= logging.WARNING and not r.name.startswith("django")] == []
    assert [c.name for c in dataset.categories()[AnnotationType.label]] == ["cat", "dog", "outdoor"]
    assert items[2].media.size == (48, 64)
    ann_ids = {a.id for item in items.values() for a in item.annotations}
    assert ann_ids == {1, 2, 4, 5, 6, 7}  # everything but the tag
    if b'"counts"' in export:
        (ring,) = [a for a in items[2].annotations if a.id == 4 and a.type == AnnotationType.mask]
        assert np.array_equal(ring.image.astype(np.uint8), ring_mask())  # the hole survives


def rows_from(parsed) -> tuple:
    anns = [
        AnnotationRow(n, a.image_id, a.category_id, a.kind, a.geometry, a.iscrowd, a.score)
        for n, a in enumerate(parsed.annotations, 100)
    ]
    return parsed.categories, parsed.images, anns


def without_ids(doc: dict) -> list[dict]:
    return [{k: v for k, v in a.items() if k != "id"} for a in doc["annotations"]]


@pytest.mark.parametrize("options", [{}, {"include_scores": True}])
def test_export_import_export_gives_the_same_annotations(options):
    first = export_bytes(**options)
    categories, images, anns = rows_from(coco_parse(io.BytesIO(first), max_bytes=1 << 20))
    second = b"".join(
        coco_export_stream(
            info={"description": "test", "version": "1"},
            categories=categories,
            images=images,
            annotations=anns,
            **options,
        )
    )
    a, b = json.loads(first), json.loads(second)
    assert without_ids(a) == without_ids(b)
    assert a["images"] == b["images"] and a["categories"] == b["categories"]  # tags included


def test_polygon_mode_export_imports_cleanly():
    parsed = coco_parse(io.BytesIO(export_bytes(mask_format="polygon")), max_bytes=1 << 20)
    kinds = {a.id: a.kind for a in parsed.annotations}
    assert kinds == {1: "box", 2: "polygon", 4: "polygon", 5: "mask", 6: "box", 7: "mask"}


def test_imports_a_file_written_by_datumaro(tmp_path):
    from datumaro.components.dataset import Dataset

    src = tmp_path / "src"
    (src / "annotations").mkdir(parents=True)
    (src / "images" / "default").mkdir(parents=True)
    (src / "annotations" / "instances_default.json").write_bytes(export_bytes())
    Dataset.import_from(str(src), "coco_instances").export(
        str(tmp_path / "out"), "coco_instances", save_media=False, segmentation_mode="mask"
    )
    data = (tmp_path / "out" / "annotations" / "instances_default.json").read_bytes()
    parsed = coco_parse(io.BytesIO(data), max_bytes=1 << 20)
    # datumaro's mask mode rasterises polygons too, and writes uncompressed RLE.
    assert sorted(a.kind for a in parsed.annotations) == ["box", "box", "mask", "mask", "mask", "mask"]
    (ring,) = [a for a in parsed.annotations if a.id == 4]
    rle = ring.geometry["rle"]
    assert np.array_equal(mask_api.decode({"size": rle["size"], "counts": rle["counts"].encode()}), ring_mask())


def test_categories_and_images_rows_are_the_servers():
    assert [c.id for c in CATEGORIES] == [1, 2, 3] and len(IMAGES) == 3
