"""Bulk predictions: an external model pushes proposals through the annotation rules; they are read back by cursor."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Annotation, Image
from mlassist.models import ModelVersion

from ..factories import AnnotationFactory, ImageFactory

pytestmark = pytest.mark.django_db

MODEL = {"name": "yolo-outside", "version": "8.1"}


def _url(project):
    return f"/api/projects/{project.pk}/predictions/"


def _box(image, cls, score=0.8, x=1):
    return {"image": image.pk, "label_class": cls.pk, "kind": "box", "geometry": {"x": x, "y": 2, "w": 10, "h": 10},
            "score": score}


def test_an_external_model_pushes_boxes_polygons_masks_and_tags_as_proposals(project, classes, image, reviewer, client_for):
    rle = {"size": [80, 100], "counts": [0, 8000]}
    body = {"model": MODEL, "predictions": [
        _box(image, classes[0]),
        {"image": image.pk, "label_class": classes[1].pk, "kind": "polygon",
         "geometry": {"points": [[1, 1], [30, 1], [30, 20]]}, "score": 0.5},
        {"image": image.pk, "label_class": classes[2].pk, "kind": "mask", "geometry": {"rle": rle}, "score": 0.4},
        {"image": image.pk, "label_class": classes[0].pk, "kind": "tag", "score": 0.9},
    ]}
    response = client_for(reviewer).post(_url(project), body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["stored"] == 4
    stored = Annotation.objects.filter(image=image)
    assert {(a.kind, a.origin, a.state) for a in stored} == {
        ("box", "model", "proposed"), ("polygon", "model", "proposed"), ("mask", "model", "proposed"),
        ("tag", "model", "proposed")}
    # One version per head, named after the external model, never in service (nothing to load).
    versions = {v.kind: v for v in ModelVersion.objects.filter(project=project)}
    assert set(versions) == {"classifier", "detector", "segmenter"}
    assert all(v.metrics == {"source": "external", **MODEL} and not v.in_service for v in versions.values())
    assert stored.get(kind="mask").outline  # the mask got its outline, like every other mask
    # The same model and version again: the same versions, no new numbers.
    again = client_for(reviewer).post(_url(project), {"model": MODEL, "predictions": [_box(image, classes[0])]},
                                      format="json")
    assert again.json()["model_versions"][0]["id"] == versions["detector"].pk
    assert ModelVersion.objects.filter(project=project).count() == 3


def test_a_bad_prediction_is_named_and_nothing_is_stored(project, classes, image, reviewer, client_for):
    other = ImageFactory()  # another project's image reads as a missing one
    body = {"model": MODEL, "predictions": [
        _box(image, classes[0]),
        {**_box(image, classes[0]), "geometry": {"x": 95, "y": 2, "w": 10, "h": 10}},  # past the right edge
        {**_box(image, classes[0]), "score": 1.5},
        {**_box(image, classes[0]), "image": other.pk},
        {"image": image.pk, "label_class": classes[0].pk, "kind": "polygon",
         "geometry": {"points": [[0, 0], [10, 10], [10, 0], [0, 10]]}, "score": 0.3},  # crosses itself
    ]}
    response = client_for(reviewer).post(_url(project), body, format="json")
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"predictions[2].score", "predictions[3].image"} <= fields
    assert any(f.startswith("predictions[1].geometry") for f in fields)
    assert any(f.startswith("predictions[4].geometry") for f in fields)
    assert "predictions[0]" not in str(fields)
    assert not Annotation.objects.exists()
    assert not ModelVersion.objects.exists()


def test_a_prediction_needs_a_model_name_and_a_score(project, classes, image, reviewer, client_for):
    api = client_for(reviewer)
    assert api.post(_url(project), {"predictions": []}, format="json").json()["errors"][0]["field"] == "model"
    item = _box(image, classes[0])
    del item["score"]
    response = api.post(_url(project), {"model": MODEL, "predictions": [item]}, format="json")
    assert response.json()["errors"][0]["field"] == "predictions[0].score"


def test_what_a_person_settled_is_skipped_not_proposed_over(project, classes, image, reviewer, client_for):
    AnnotationFactory(image=image, label_class=classes[0], kind="box", geometry={"x": 1, "y": 1, "w": 5, "h": 5})
    AnnotationFactory(image=image, label_class=classes[1], kind="tag", geometry={}, origin="model",
                      state="rejected", score=0.7)
    done = ImageFactory(project=project, status=Image.Status.DONE)
    body = {"model": MODEL, "predictions": [
        _box(image, classes[0]),  # a person drew a box here
        {"image": image.pk, "label_class": classes[1].pk, "kind": "tag", "score": 0.9},  # rejected before
        {"image": image.pk, "label_class": classes[2].pk, "kind": "tag", "score": 0.9},  # stored
        _box(done, classes[0]),  # finished image
    ]}
    response = client_for(reviewer).post(_url(project), body, format="json")
    assert response.status_code == 201
    assert response.json()["stored"] == 1
    assert response.json()["skipped"] == {"finished": 1, "settled": 1, "rejected_tag": 1}
    assert Annotation.objects.filter(origin="model", state="proposed").get().label_class == classes[2]


def test_replace_removes_the_models_earlier_proposals_on_those_images_only(project, classes, reviewer, client_for):
    a, b = ImageFactory(project=project), ImageFactory(project=project)
    api = client_for(reviewer)
    api.post(_url(project), {"model": MODEL, "predictions": [_box(a, classes[0]), _box(b, classes[0])]}, format="json")
    api.post(_url(project), {"model": MODEL, "replace": True, "predictions": [_box(a, classes[1], x=3)]}, format="json")
    assert sorted(Annotation.objects.values_list("image_id", "label_class_id")) == sorted(
        [(a.pk, classes[1].pk), (b.pk, classes[0].pk)])


def test_fetch_pages_by_cursor_with_the_model_version(project, classes, reviewer, annotator, client_for):
    images = [ImageFactory(project=project) for _ in range(5)]
    client_for(reviewer).post(_url(project), {"model": MODEL, "predictions": [
        _box(img, classes[0], x=x) for img in images for x in (1, 20, 40)]}, format="json")
    AnnotationFactory(image=images[0], label_class=classes[0])  # a person's label is not a prediction
    api = client_for(annotator)
    seen, url, pages = [], _url(project) + "?page_size=4", 0
    while url:
        with CaptureQueriesContext(connection) as queries:
            page = api.get(url).json()
        assert len(queries) <= 6  # constant per page: no query per row
        seen += page["results"]
        url, pages = page["next"], pages + 1
    assert pages == 4 and len(seen) == 15
    assert len({r["id"] for r in seen}) == 15
    version = ModelVersion.objects.get(project=project)
    assert {r["model_version"] for r in seen} == {version.pk}
    assert page["model_versions"][str(version.pk)]["name"] == "yolo-outside"
    assert page["model_versions"][str(version.pk)]["version"] == "8.1"
    assert seen[0]["geometry"] == {"x": 1, "y": 2, "w": 10, "h": 10} and seen[0]["score"] == 0.8
    only = api.get(_url(project) + f"?image={images[1].pk}").json()["results"]
    assert len(only) == 3


def test_fetch_refuses_a_forged_cursor_and_bad_filters(project, reviewer, client_for):
    api = client_for(reviewer)
    response = api.get(_url(project) + "?cursor=not-ours")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "cursor"
    assert api.get(_url(project) + "?state=maybe").json()["errors"][0]["field"] == "state"
    assert api.get(_url(project) + "?page_size=0").json()["errors"][0]["field"] == "page_size"


def test_an_annotator_reads_predictions_but_cannot_push_them(project, classes, image, annotator, client_for):
    api = client_for(annotator)
    assert api.get(_url(project)).status_code == 200
    response = api.post(_url(project), {"model": MODEL, "predictions": [_box(image, classes[0])]}, format="json")
    assert response.status_code == 403
    assert not Annotation.objects.exists()


def test_storing_many_predictions_takes_a_constant_number_of_queries(project, classes, reviewer, client_for):
    api = client_for(reviewer)
    counts = []
    for n_images, per_image in ((1, 1), (20, 30)):
        images = [ImageFactory(project=project) for _ in range(n_images)]
        body = {"model": MODEL, "predictions": [_box(img, classes[i % 3], x=1 + i % 50) for img in images
                                                for i in range(per_image)]}
        with CaptureQueriesContext(connection) as queries:
            response = api.post(_url(project), body, format="json")
        assert response.status_code == 201 and response.json()["stored"] == n_images * per_image
        # Inserts go in batches (SQLite's batches are small); every other query is the same for 1 or 600.
        counts.append(sum(not q["sql"].startswith("INSERT") for q in queries.captured_queries))
    assert counts[1] <= counts[0]


def test_ids_past_64_bits_are_missing_ones_not_server_errors(project, classes, image, reviewer, client_for):
    api = client_for(reviewer)
    huge = 2**64
    response = api.post(_url(project), {"model": MODEL, "predictions": [{**_box(image, classes[0]), "image": huge}]},
                        format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "predictions[0].image"
    assert api.get(_url(project) + f"?image={huge}").json()["results"] == []
    assert api.get(_url(project) + f"?model_version={huge}").status_code == 200
