"""COCO export and import through the API: exact, judged by pycocotools, all-or-nothing."""

import io
import json
import time
import zipfile

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pycocotools import mask as mask_api
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from labeling.models import Annotation, Job, LabelClass
from labeling.services.annotations import annotation_create
from labeling.services.images import image_upload
from labeling.services.projects import label_class_create, project_create

from ..factories import upload

pytestmark = pytest.mark.django_db


def mask_rle(h, w):
    mask = np.zeros((h, w), np.uint8, order="F")
    mask[10:40, 10:40] = 1
    mask[20:30, 20:30] = 0  # a hole, which must survive the export
    mask[50:55, 60:70] = 1  # a second part of the same instance
    rle = mask_api.encode(mask)
    return {"size": rle["size"], "counts": rle["counts"].decode()}


@pytest.fixture
def labelled(manager):
    project = project_create(user=manager, name="Export me", kinds=["tag", "box", "polygon", "mask"], multilabel=True)
    cat, dog = label_class_create(project=project, name="cat"), label_class_create(project=project, name="dog")
    result = image_upload(
        project=project, user=manager,
        files=[upload("a.png", width=100, height=80, color=(1, 1, 1)), upload("b.png", width=120, height=90, color=(2, 2, 2))],
    )
    a, b = result.created
    for image, data in [
        (a, {"label_class": cat.pk, "kind": "box", "geometry": {"x": 5, "y": 6, "w": 20.5, "h": 30}}),
        (a, {"label_class": dog.pk, "kind": "polygon", "geometry": {"points": [[10, 10], [60, 10], [35, 50]]}}),
        (b, {"label_class": dog.pk, "kind": "mask", "geometry": {"rle": mask_rle(90, 120)}}),
        (b, {"label_class": cat.pk, "kind": "tag", "geometry": {}}),
        (b, {"label_class": cat.pk, "kind": "box", "geometry": {"x": 1, "y": 1, "w": 5, "h": 5}, "origin": "model",
             "state": "proposed", "score": 0.4}),
    ]:
        annotation_create(image=image, user=manager, data=data)
    return project


def export(client, project, query=""):
    response = client.get(f"/api/projects/{project.pk}/export/coco/{query}")
    assert response.status_code == 200, response.content
    return json.loads(b"".join(response.streaming_content))


def test_export_is_exact_and_pycocotools_judges_it_perfect(labelled, manager, client_for, tmp_path):
    doc = export(client_for(manager), labelled)
    assert [c["id"] for c in doc["categories"]] == [1, 2]
    assert [(i["file_name"], i["width"], i["height"]) for i in doc["images"]] == [("a.png", 100, 80), ("b.png", 120, 90)]
    assert doc["images"][1]["attributes"]["tags"] == ["cat"]
    assert len(doc["annotations"]) == 3  # the proposal is not exported unless asked for
    mask = next(a for a in doc["annotations"] if isinstance(a["segmentation"], dict))
    assert mask["area"] == 30 * 30 - 10 * 10 + 5 * 10 and mask["iscrowd"] == 0
    assert mask["bbox"] == [10.0, 10.0, 60.0, 45.0]
    for iou_type in ("bbox", "segm"):
        # Boxes carry "segmentation": [] and are no segmentation ground truth.
        kept = [a for a in doc["annotations"] if iou_type == "bbox" or a["segmentation"]]
        path = tmp_path / f"{iou_type}.json"
        path.write_text(json.dumps({**doc, "annotations": kept}))
        gt = COCO(str(path))
        detections = gt.loadRes(
            [{**a, "score": 1.0, **({} if iou_type == "segm" else {"segmentation": None})} for a in kept]
        )
        evaluation = COCOeval(gt, detections, iou_type)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
        assert evaluation.stats[0] == pytest.approx(1.0)


def test_export_options(labelled, manager, client_for):
    api = client_for(manager)
    with_proposals = export(api, labelled, "?states=accepted,proposed")
    assert len(with_proposals["annotations"]) == 4
    assert any(a.get("score") == 0.4 for a in with_proposals["annotations"])
    polygons = export(api, labelled, "?mask_format=polygon")
    assert all(isinstance(a["segmentation"], list) for a in polygons["annotations"])
    csv = b"".join(api.get(f"/api/projects/{labelled.pk}/export/coco/?output=tags_csv").streaming_content).decode()
    assert csv.splitlines() == ["file_name,labels", "a.png,", "b.png,cat"]
    bad = api.get(f"/api/projects/{labelled.pk}/export/coco/?states=maybe")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "states"


def test_round_trip_through_an_empty_project(labelled, manager, client_for):
    api = client_for(manager)
    first = export(api, labelled)
    empty = project_create(user=manager, name="Copy", kinds=["tag", "box", "polygon", "mask"], multilabel=True)
    image_upload(project=empty, user=manager, files=[upload("a.png", width=100, height=80, color=(1, 1, 1)),
                                                    upload("b.png", width=120, height=90, color=(2, 2, 2))])
    response = api.post(f"/api/projects/{empty.pk}/import/coco/",
                        {"file": SimpleUploadedFile("coco.json", json.dumps(first).encode())}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json() == {"annotations": 4, "images": 2, "classes_created": ["cat", "dog"]}
    second = export(api, empty)

    def comparable(doc):
        names = {c["id"]: c["name"] for c in doc["categories"]}
        files = {i["id"]: i["file_name"] for i in doc["images"]}
        return sorted(
            json.dumps({**{k: v for k, v in a.items() if k not in ("id", "image_id", "category_id")},
                        "file": files[a["image_id"]], "class": names[a["category_id"]]}, sort_keys=True)
            for a in doc["annotations"]
        ), [i.get("attributes") for i in doc["images"]]

    assert comparable(second) == comparable(first)


def test_broken_file_names_the_element_and_imports_nothing(labelled, manager, client_for):
    api = client_for(manager)
    doc = export(api, labelled)
    doc["annotations"][1]["image_id"] = 999
    before = Annotation.objects.count(), LabelClass.objects.count()
    response = api.post(f"/api/projects/{labelled.pk}/import/coco/",
                        {"file": SimpleUploadedFile("coco.json", json.dumps(doc).encode())}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith("annotations[1]")
    assert (Annotation.objects.count(), LabelClass.objects.count()) == before
    not_json = api.post(f"/api/projects/{labelled.pk}/import/coco/",
                        {"file": SimpleUploadedFile("coco.json", b'{"images": [')}, format="multipart")
    assert not_json.status_code == 400 and not_json.json()["detail"]


def test_missing_image_and_size_mismatch_are_refused(manager, client_for):
    project = project_create(user=manager, name="P", kinds=["box"])
    image_upload(project=project, user=manager, files=[upload("a.png", width=100, height=80)])
    doc = {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 81}], "categories": [{"id": 1, "name": "x"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 0}]}
    api = client_for(manager)
    send = lambda d: api.post(f"/api/projects/{project.pk}/import/coco/",  # noqa: E731
                              {"file": SimpleUploadedFile("c.json", json.dumps(d).encode())}, format="multipart")
    mismatch = send(doc)
    assert mismatch.status_code == 400 and mismatch.json()["errors"][0]["field"] == "images[0]"
    doc["images"][0].update(file_name="zzz.png", height=80)
    missing = send(doc)
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "images[0].file_name"
    assert not Annotation.objects.exists() and not LabelClass.objects.exists()


def test_only_managers_export_and_import(labelled, annotator, client_for):
    api = client_for(annotator)
    assert api.get(f"/api/projects/{labelled.pk}/export/coco/").status_code == 404  # annotator of another project
    from labeling.models import Membership

    Membership.objects.create(project=labelled, user=annotator, role="annotator")
    assert api.get(f"/api/projects/{labelled.pk}/export/coco/").status_code == 403
    assert api.post(f"/api/projects/{labelled.pk}/import/coco/", {}, format="multipart").status_code == 403


def wait_job(api, job_id, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/api/jobs/{job_id}/").json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {job}")


@pytest.mark.worker
@pytest.mark.slow
def test_large_exports_and_imports_run_as_jobs(celery_worker_process, labelled, manager, client_for):
    api = client_for(manager)
    started = api.get(f"/api/projects/{labelled.pk}/export/coco/?output=zip")
    assert started.status_code == 202
    job = wait_job(api, started.json()["id"])
    assert job["state"] == "succeeded" and job["progress"] == 1.0, job
    archive = zipfile.ZipFile(io.BytesIO(b"".join(api.get(job["result_url"]).streaming_content)))
    assert sorted(archive.namelist()) == ["annotations/instances_default.json", "images/a.png", "images/b.png"]
    doc = json.loads(archive.read("annotations/instances_default.json"))
    assert len(doc["annotations"]) == 3

    empty = project_create(user=manager, name="From zip", kinds=["tag", "box", "polygon", "mask"], multilabel=True)
    images = io.BytesIO()
    with zipfile.ZipFile(images, "w") as out:
        for name in ("a.png", "b.png"):
            out.writestr(name, archive.read(f"images/{name}"))
    response = api.post(
        f"/api/projects/{empty.pk}/import/coco/",
        {"file": SimpleUploadedFile("c.json", json.dumps(doc).encode()),
         "images": SimpleUploadedFile("images.zip", images.getvalue())},
        format="multipart",
    )
    assert response.status_code == 202
    job = wait_job(api, response.json()["id"])
    assert job["state"] == "succeeded", job
    assert job["result"]["annotations"] == 4
    assert Annotation.objects.filter(image__project=empty).count() == 4
    assert Job.objects.get(pk=job["id"]).attempts == 1
    other = client_for(manager).get(f"/api/jobs/{job['id']}/")
    assert other.status_code == 200

    # The zip export exactly as it downloads, sent alone, brings back the images and every label.
    again = project_create(user=manager, name="From our own zip", kinds=["tag", "box", "polygon", "mask"],
                           multilabel=True)
    response = api.post(f"/api/projects/{again.pk}/import/coco/",
                        {"file": SimpleUploadedFile("export.zip", archive.fp.getvalue())}, format="multipart")
    assert response.status_code == 202, response.json()
    job = wait_job(api, response.json()["id"])
    assert job["state"] == "succeeded", job
    assert sorted(again.images.values_list("file_name", flat=True)) == ["a.png", "b.png"]
    assert Annotation.objects.filter(image__project=again).count() == 4


def test_a_zip_without_its_coco_json_is_refused_by_name(manager, client_for):
    project = project_create(user=manager, name="Zips", kinds=["box"])
    api = client_for(manager)
    send = lambda data: api.post(f"/api/projects/{project.pk}/import/coco/", data, format="multipart")  # noqa: E731
    bare = io.BytesIO()
    with zipfile.ZipFile(bare, "w") as out:
        out.writestr("images/a.png", b"not really")
    refused = send({"file": SimpleUploadedFile("x.zip", bare.getvalue())})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "file" and "no COCO JSON" in refused.json()["errors"][0]["detail"]
    both = send({"file": SimpleUploadedFile("x.zip", bare.getvalue()),
                 "images": SimpleUploadedFile("y.zip", bare.getvalue())})
    assert both.status_code == 400 and both.json()["errors"][0]["field"] == "images"
    assert not project.jobs.exists()


def test_jobs_are_invisible_to_outsiders(labelled, manager, outsider, client_for):
    job = Job.objects.create(project=labelled, kind="coco_export")
    assert client_for(outsider).get(f"/api/jobs/{job.pk}/").status_code == 404
    assert client_for(outsider).get(f"/api/jobs/{job.pk}/result/").status_code == 404


def test_management_commands_round_trip(labelled, manager, tmp_path):
    from django.core.management import CommandError, call_command

    out = tmp_path / "out.json"
    call_command("export_coco", str(labelled.pk), str(out), "--states=accepted", stderr=io.StringIO())
    doc = json.loads(out.read_text())
    assert len(doc["annotations"]) == 3
    copy = project_create(user=manager, name="Copy", kinds=["tag", "box", "polygon", "mask"], multilabel=True)
    images = tmp_path / "images.zip"
    with zipfile.ZipFile(images, "w") as archive:
        for image in labelled.images.all():
            archive.writestr(image.file_name, image.file.read())
    stdout = io.StringIO()
    call_command("import_coco", str(copy.pk), str(out), f"--images={images}", stdout=stdout)
    assert "Imported 4 annotations on 2 images" in stdout.getvalue()
    doc["annotations"][0]["bbox"] = [-1, 0, 3, 3]
    out.write_text(json.dumps(doc))
    with pytest.raises(CommandError, match=r"annotations\[0\]\.bbox"):
        call_command("import_coco", str(copy.pk), str(out))


def test_every_refused_element_is_named_not_only_the_first(manager, client_for):
    project = project_create(user=manager, name="Many faults", kinds=["box"])
    image_upload(project=project, user=manager, files=[upload("a.png", width=100, height=80)])
    doc = {
        "images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 80}, {"id": 1, "file_name": "b.png"}],
        "categories": [{"id": 1, "name": "x"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 7, "bbox": [1, 1, 2, 2], "area": 4, "iscrowd": 0},
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [90, 1, 20, 2], "area": 40, "iscrowd": 0},
        ],
    }
    answer = client_for(manager).post(f"/api/projects/{project.pk}/import/coco/",
                                      {"file": SimpleUploadedFile("c.json", json.dumps(doc).encode())},
                                      format="multipart")
    assert answer.status_code == 400
    fields = [e["field"] for e in answer.json()["errors"]]
    assert fields[0].startswith("images[1]")
    assert "annotations[1].category_id" in fields and any(f.startswith("annotations[2]") for f in fields)
    assert not Annotation.objects.exists() and not LabelClass.objects.exists()
