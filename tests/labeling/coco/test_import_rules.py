"""COCO import and export through the server: the same annotation rules as every other path,
tags checked against what the project holds, and zip entries that are safe to unpack."""

import json
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Annotation, AnnotationEvent, LabelClass
from labeling.services.coco import coco_export_to_storage

from ...factories import ImageFactory, LabelClassFactory
from ..bad_geometries import CASES, GOOD, MAX_POINTS, coco_segmentation

pytestmark = pytest.mark.django_db


def doc_for(images, annotations=(), categories=("cat", "dog")):
    return {
        "images": [{"id": n, "file_name": img.file_name, "width": img.width, "height": img.height, **extra}
                   for n, (img, extra) in enumerate(images, 1)],
        "categories": [{"id": n, "name": name} for n, name in enumerate(categories, 1)],
        "annotations": list(annotations),
    }


def send(client, project, doc):
    return client.post(f"/api/projects/{project.pk}/import/coco/",
                       {"file": SimpleUploadedFile("coco.json", json.dumps(doc).encode())}, format="multipart")


@pytest.mark.parametrize(("kind", "geometry", "loc", "words", "coco"), CASES)
def test_import_refuses_every_bad_geometry_and_stores_nothing(
    settings, client_for, manager, project, image, kind, geometry, loc, words, coco
):
    settings.POLYGON_MAX_POINTS = MAX_POINTS
    good = {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, **coco_segmentation(kind, GOOD[kind])}
    bad = {"id": 2, "image_id": 1, "category_id": 2, "iscrowd": 0, **coco_segmentation(kind, geometry)}
    response = send(client_for(manager), project, doc_for([(image, {})], [good, bad]))
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["field"].startswith("annotations[1].bbox" if kind == "box" else "annotations[1].segmentation")
    assert (coco or words) in error["detail"]
    assert not Annotation.objects.exists() and not LabelClass.objects.exists()


def test_imported_masks_store_their_outline(client_for, manager, project, image):
    ann = {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, **coco_segmentation("mask", GOOD["mask"])}
    assert send(client_for(manager), project, doc_for([(image, {})], [ann])).status_code == 201
    assert Annotation.objects.get().outline["bbox"] == [10, 5, 1, 20]


def test_a_tag_listed_twice_is_named(client_for, manager, project, image):
    project.multilabel = True
    project.save()
    response = send(client_for(manager), project, doc_for([(image, {"attributes": {"tags": ["cat", "dog", "cat"]}})]))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "images[0].attributes.tags[2]" and "already tagged 'cat'" in error["detail"]
    assert not Annotation.objects.exists()


def test_reimporting_tags_is_a_clear_400_not_a_500(client_for, manager, project, image):
    project.multilabel = True
    project.save()
    doc = doc_for([(image, {"attributes": {"tags": ["cat", "dog"]}})])
    api = client_for(manager)
    assert send(api, project, doc).status_code == 201
    again = send(api, project, doc)
    assert again.status_code == 400, again.content
    error = again.json()["errors"][0]
    assert error["field"] == "images[0].attributes.tags[0]"
    assert error["detail"] == f"Image {image.file_name!r} is already tagged 'cat'."
    assert Annotation.objects.count() == 2 and AnnotationEvent.objects.count() == 2


def test_single_label_projects_take_one_tag_per_image_on_import(client_for, manager, project, image, classes):
    assert not project.multilabel
    api = client_for(manager)
    two = send(api, project, doc_for([(image, {"attributes": {"tags": ["cat", "dog"]}})]))
    assert two.status_code == 400 and two.json()["errors"][0]["field"] == "images[0].attributes.tags[1]"
    assert "single-label" in two.json()["detail"]
    Annotation.objects.create(image=image, label_class=classes[0], kind="tag", geometry={})
    other = send(api, project, doc_for([(image, {"attributes": {"tags": ["dog"]}})]))
    assert other.status_code == 400 and "already tagged 'cat'" in other.json()["detail"]
    assert Annotation.objects.count() == 1


def test_zip_export_entries_are_safe_unique_and_match_file_name(project, classes, settings):
    names = ["a.png", "a.png", "A.png", "../../../tmp/x.png", "/etc/cron.d/x.png", "dir/..", "ok\r\n.png"]
    images = [ImageFactory(project=project, file_name=name) for name in names]
    Annotation.objects.create(image=images[3], label_class=classes[0], kind="box",
                              geometry={"x": 1, "y": 1, "w": 5, "h": 5})
    stored = coco_export_to_storage(project=project, job_id=None, options={"output": "zip"})
    with default_storage.open(stored, "rb") as fh, zipfile.ZipFile(fh) as archive:
        entries = [n for n in archive.namelist() if n.startswith("images/")]
        doc = json.loads(archive.read("annotations/instances_default.json"))
    files = [i["file_name"] for i in doc["images"]]
    assert entries == [f"images/{name}" for name in files]
    assert files == ["a.png", "a-2.png", "A-3.png", "x.png", "x-2.png", "image-%d" % images[5].pk, "ok__.png"]
    assert all("/" not in f and ".." not in f and not f.startswith(".") for f in files)
    # The annotation still points at the image it was drawn on.
    (ann,) = doc["annotations"]
    assert {i["id"]: i["file_name"] for i in doc["images"]}[ann["image_id"]] == "x.png"


def test_label_class_of_another_project_is_not_reused(client_for, manager, project, image):
    LabelClassFactory(name="cat")  # another project's class of the same name
    ann = {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [1, 1, 5, 5]}
    assert send(client_for(manager), project, doc_for([(image, {})], [ann])).status_code == 201
    assert Annotation.objects.get().label_class.project_id == project.pk
