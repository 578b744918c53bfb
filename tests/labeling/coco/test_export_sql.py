"""COCO's bbox and area stored with each shape, and the export written from them by the database.

The stored fields come from labeling.rules.coco_fields on every write path; the export on
PostgreSQL writes each annotation's JSON in SQL from them (labeling.selectors_coco). Both must
give exactly what the Python writer (labeling.coco.export, judged by pycocotools) gives; rows
without stored fields, or whose geometry changed under a writer that did not update them, are
still exported exactly.
"""

import importlib
import json

import numpy as np
import pytest
from django.apps import apps
from django.db import connection

from labeling.coco.export import coco_export_stream
from labeling.models import Annotation
from labeling.rules import annotation_check, coco_fields
from labeling.services.annotations import annotation_create, annotation_update
from labeling.services.coco import _annotations, _category_ids, coco_export_chunks
from labeling.services.images import image_upload
from labeling.services.projects import label_class_create, project_create

from ...factories import upload
from .conftest import rle_of, sample_annotations

W, H = 120, 80


def _backslash_mask() -> np.ndarray:
    """A mask whose compressed RLE holds a backslash, which JSON must escape."""
    m = np.zeros((H, W), np.uint8)
    m[0:4, 10:20] = 1
    return m


def test_rules_give_the_bbox_and_area_the_exporter_writes():
    rows = [r for r in sample_annotations() if r.kind != "tag"]
    doc = json.loads(b"".join(coco_export_stream(info={}, categories=[], images=[], annotations=rows)))
    for row, written in zip(rows, doc["annotations"], strict=True):
        bbox, area = coco_fields(row.kind, row.geometry)
        assert (bbox, area) == (written["bbox"], written["area"]), row.kind


def test_a_tag_has_no_coco_fields_and_checked_carries_them():
    assert coco_fields("tag", {}) == (None, None)
    checked = annotation_check(kind="box", geometry={"x": 1, "y": 2, "w": 3.5, "h": 4}, width=10, height=10)
    assert (checked.coco_bbox, checked.coco_area) == ([1.0, 2.0, 3.5, 4.0], 14.0)


@pytest.fixture
def shapes(manager):
    project = project_create(user=manager, name="SQL export", kinds=["tag", "box", "polygon", "mask"], multilabel=True)
    dog, cat = label_class_create(project=project, name="dog"), label_class_create(project=project, name="cat")
    cat.order, dog.order = 0, 1  # category ids follow the classes' order, not their ids
    cat.save(), dog.save()
    a, b = image_upload(project=project, user=manager, files=[
        upload("a.png", width=W, height=H, color=(1, 1, 1)), upload("b.png", width=W, height=H, color=(2, 2, 2)),
    ]).created
    ring = np.zeros((H, W), np.uint8)
    ring[5:40, 10:50] = 1
    ring[15:30, 20:40] = 0
    items = [
        (a, {"label_class": cat.pk, "kind": "box", "geometry": {"x": 0.1, "y": 0.2, "w": 30.3, "h": 10}}),
        (a, {"label_class": dog.pk, "kind": "polygon",
             "geometry": {"points": [[10.25, 10], [60, 12.5], [35.125, 50], [12, 40]]}}),
        (a, {"label_class": dog.pk, "kind": "mask", "geometry": {"rle": rle_of(_backslash_mask())}, "iscrowd": True}),
        (a, {"label_class": cat.pk, "kind": "tag", "geometry": {}}),
        (b, {"label_class": cat.pk, "kind": "mask", "geometry": {"rle": rle_of(ring)}}),
        (b, {"label_class": dog.pk, "kind": "box", "geometry": {"x": 1, "y": 1, "w": 5, "h": 5}, "origin": "model",
             "state": "proposed", "score": 0.4}),
        (b, {"label_class": dog.pk, "kind": "polygon", "geometry": {"points": [[1, 1], [9, 1], [5, 7]]}}),
    ]
    created = [annotation_create(image=image, user=manager, data=data) for image, data in items]
    return project, created


def _python_writer(project, states) -> list[dict]:
    """The annotations as the Python writer gives them, from the same rows."""
    rows = _annotations(project, None, states, _category_ids(project))
    doc = b"".join(coco_export_stream(info={}, categories=[], images=[], annotations=rows,
                                      include_scores="proposed" in states))
    return json.loads(doc)["annotations"]


def _exported(project, states) -> list[dict]:
    return json.loads(b"".join(coco_export_chunks(project=project, states=states)))["annotations"]


@pytest.mark.parametrize("states", [("accepted",), ("accepted", "proposed")])
def test_every_write_path_stores_the_fields_and_the_export_equals_the_python_writer(shapes, states):
    project, created = shapes
    for annotation in created:
        annotation.refresh_from_db()
        assert (annotation.coco_bbox, annotation.coco_area) == coco_fields(annotation.kind, annotation.geometry)
    exported = _exported(project, states)
    assert exported == _python_writer(project, states)
    assert len(exported) == (6 if "proposed" in states else 5)
    assert any("\\" in a["segmentation"]["counts"] for a in exported if isinstance(a["segmentation"], dict))
    assert {a["category_id"] for a in exported} == {1, 2}


def test_rows_without_fields_and_edited_shapes_are_exported_exactly(shapes, manager):
    project, created = shapes
    box, polygon = created[0], created[1]
    Annotation.objects.filter(pk=polygon.pk).update(coco_bbox=None, coco_area=None)  # a row from before the fields
    annotation_update(annotation=box, user=manager, version=box.version,
                      changes={"geometry": {"x": 2, "y": 3, "w": 7.5, "h": 9}})
    box.refresh_from_db()
    # Never stale: either the new shape's own values or none (then the export computes them).
    assert box.coco_area in (None, 7.5 * 9)
    exported = _exported(project, ("accepted",))
    assert exported == _python_writer(project, ("accepted",))
    written = next(a for a in exported if a["id"] == box.pk)
    assert (written["bbox"], written["area"]) == ([2, 3, 7.5, 9], 67.5)
    if connection.vendor == "postgresql":
        # A writer that changes the geometry but not the fields leaves none behind (the trigger).
        Annotation.objects.filter(pk=created[6].pk).update(geometry={"points": [[2, 2], [9, 2], [5, 7]]})
        assert Annotation.objects.get(pk=created[6].pk).coco_area is None
        assert _exported(project, ("accepted",)) == _python_writer(project, ("accepted",))


def test_the_migration_fills_existing_rows(shapes):
    project, created = shapes
    fill = importlib.import_module("labeling.migrations.0006_annotation_coco_fields").fill
    Annotation.objects.filter(image__project=project).update(coco_bbox=None, coco_area=None)
    fill(apps, None)
    for annotation in Annotation.objects.filter(image__project=project):
        bbox, area = coco_fields(annotation.kind, annotation.geometry)
        assert (annotation.coco_bbox, annotation.coco_area) == (bbox, area)
