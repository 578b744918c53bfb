import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pycocotools import mask as mask_api

from labeling.models import Annotation, AnnotationEvent, Image

from .bad_geometries import CASES as BAD_CASES
from .bad_geometries import GOOD, MAX_POINTS, path_of
from ..factories import AnnotationFactory, ImageFactory, LabelClassFactory, MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(annotator, client_for):
    return client_for(annotator)


def url(image):
    return f"/api/images/{image.pk}/annotations/"


def box(cls, x=1, y=2, w=10, h=20):
    return {"label_class": cls.pk, "kind": "box", "geometry": {"x": x, "y": y, "w": w, "h": h}}


def test_create_each_kind_and_read_back(api, image, classes):
    mask = np.zeros((image.height, image.width), np.uint8, order="F")
    mask[5:20, 5:30] = 1
    rle = mask_api.encode(mask)
    items = [
        box(classes[0]),
        {"label_class": classes[1].pk, "kind": "polygon", "geometry": {"points": [[1, 1], [20, 1], [10, 15]]}},
        {"label_class": classes[2].pk, "kind": "mask", "geometry": {"rle": {"size": rle["size"], "counts": rle["counts"].decode()}}},
        {"label_class": classes[0].pk, "kind": "tag", "geometry": {}},
    ]
    for item in items:
        response = api.post(url(image), item, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["origin"] == "human" and body["state"] == "accepted" and body["version"] == 1
    listed = api.get(url(image)).json()
    assert [a["kind"] for a in listed] == ["box", "polygon", "mask", "tag"]
    assert listed[2]["geometry"]["rle"]["counts"] == rle["counts"].decode()
    image.refresh_from_db()
    assert image.status == Image.Status.IN_PROGRESS
    assert AnnotationEvent.objects.filter(action="create").count() == 4


def test_bulk_create_is_all_or_nothing_and_names_the_item(api, image, classes):
    response = api.post(url(image), [box(classes[0]), box(classes[0], x=95)], format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["field"] == "[1].geometry.w"
    assert "outside the image" in body["detail"]
    assert not Annotation.objects.exists()
    ok = api.post(url(image), [box(classes[0]), box(classes[1])], format="json")
    assert ok.status_code == 201 and len(ok.json()) == 2
    assert AnnotationEvent.objects.count() == 2


@pytest.mark.parametrize(
    "body,field",
    [
        ({"kind": "box", "geometry": {"x": 1, "y": 1, "w": 1, "h": 1}}, "label_class"),
        ({"label_class": 999999, "kind": "box", "geometry": {"x": 1, "y": 1, "w": 1, "h": 1}}, "label_class"),
        ({"label_class": "CLS", "kind": "hexagon", "geometry": {}}, "kind"),
        ({"label_class": "CLS", "kind": "polygon", "geometry": {"points": [[1, 1], [2, 2]]}}, "geometry.points"),
        ({"label_class": "CLS", "kind": "tag", "geometry": {}, "state": "proposed"}, "state"),
    ],
)
def test_bad_annotations_name_the_field(api, image, classes, body, field):
    body = {k: (classes[0].pk if v == "CLS" else v) for k, v in body.items()}
    response = api.post(url(image), body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field


def test_a_class_of_another_project_is_refused(api, image):
    foreign = LabelClassFactory()
    response = api.post(url(image), box(foreign), format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "label_class"


def test_kind_the_project_does_not_use_is_refused(api, image, classes):
    image.project.uses_masks = False
    image.project.save()
    body = {"label_class": classes[0].pk, "kind": "mask", "geometry": {}}
    response = api.post(url(image), body, format="json")
    assert response.status_code == 400 and "does not use mask" in response.json()["detail"]


def test_single_label_projects_take_one_tag(api, image, classes):
    tag = {"kind": "tag", "geometry": {}}
    assert api.post(url(image), {"label_class": classes[0].pk, **tag}, format="json").status_code == 201
    second = api.post(url(image), {"label_class": classes[1].pk, **tag}, format="json")
    assert second.status_code == 400 and "single-label" in second.json()["detail"]
    image.project.multilabel = True
    image.project.save()
    assert api.post(url(image), {"label_class": classes[1].pk, **tag}, format="json").status_code == 201
    again = api.post(url(image), {"label_class": classes[1].pk, **tag}, format="json")
    assert again.status_code == 400 and "already tagged" in again.json()["detail"]


def test_two_clients_from_the_same_version_second_gets_409(image, classes, annotator, reviewer, client_for):
    annotation = AnnotationFactory(image=image, label_class=classes[0])
    first, second = client_for(annotator), client_for(reviewer)
    a = first.patch(f"/api/annotations/{annotation.pk}/", {"version": 1, "geometry": {"x": 5, "y": 5, "w": 5, "h": 5}}, format="json")
    assert a.status_code == 200 and a.json()["version"] == 2
    b = second.patch(
        f"/api/annotations/{annotation.pk}/",
        {"geometry": {"x": 9, "y": 9, "w": 9, "h": 9}},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert b.status_code == 409
    assert b.json()["current"]["version"] == 2
    assert b.json()["current"]["geometry"] == {"x": 5.0, "y": 5.0, "w": 5.0, "h": 5.0}
    annotation.refresh_from_db()
    assert annotation.geometry["x"] == 5  # never silently overwritten
    stale_delete = second.delete(f"/api/annotations/{annotation.pk}/?version=1")
    assert stale_delete.status_code == 409
    assert Annotation.objects.filter(pk=annotation.pk).exists()


def test_a_write_without_version_is_refused(api, image, classes):
    annotation = AnnotationFactory(image=image, label_class=classes[0])
    response = api.patch(f"/api/annotations/{annotation.pk}/", {"state": "rejected"}, format="json")
    assert response.status_code == 428
    assert "version" in response.json()["detail"]


def test_editing_a_proposal_accepts_it_and_events_record_everything(api, image, classes):
    proposal = AnnotationFactory(image=image, label_class=classes[0], origin="model", state="proposed", score=0.8)
    edited = api.patch(
        f"/api/annotations/{proposal.pk}/", {"version": 1, "geometry": {"x": 3, "y": 3, "w": 3, "h": 3}}, format="json"
    ).json()
    assert edited["state"] == "accepted" and edited["origin"] == "model"
    api.delete(f"/api/annotations/{proposal.pk}/", HTTP_IF_MATCH="2")
    events = list(AnnotationEvent.objects.filter(annotation_id=proposal.pk).values_list("action", flat=True))
    assert events == ["update", "delete"]
    trail = AnnotationEvent.objects.filter(annotation_id=proposal.pk)
    assert trail[0].before["state"] == "proposed" and trail[0].after["state"] == "accepted"
    assert trail[1].after is None


def test_rejecting_a_proposal_is_a_state_event(api, image, classes):
    proposal = AnnotationFactory(image=image, label_class=classes[0], origin="model", state="proposed", score=0.8)
    assert api.patch(f"/api/annotations/{proposal.pk}/", {"version": 1, "state": "rejected"}, format="json").status_code == 200
    assert AnnotationEvent.objects.get(annotation_id=proposal.pk).action == "state"


def test_list_endpoints_make_a_fixed_number_of_queries(api, annotator, project, classes):
    def count(path):
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(path).status_code == 200
        return len(ctx)

    image = ImageFactory(project=project)
    AnnotationFactory(image=image, label_class=classes[0])
    small = {p: count(p) for p in (f"/api/projects/{project.pk}/images/", url(image), f"/api/projects/{project.pk}/annotations/", "/api/projects/")}
    for i in range(15):
        MembershipFactory(project=ProjectFactory(), user=annotator)
        other = ImageFactory(project=project)
        AnnotationFactory(image=other, label_class=classes[i % 3])
        AnnotationFactory(image=image, label_class=classes[i % 3])
    large = {p: count(p) for p in small}
    assert large == small


def test_project_annotations_page_with_a_cursor(api, project, classes, image):
    for i in range(7):
        AnnotationFactory(image=image, label_class=classes[0], geometry={"x": i, "y": 0, "w": 1, "h": 1})
    seen, page = [], f"/api/projects/{project.pk}/annotations/?page_size=3"
    while page:
        body = api.get(page).json()
        seen += [a["id"] for a in body["results"]]
        page = body["next"]
    assert seen == sorted(seen) and len(seen) == 7


def test_the_fast_image_list_matches_the_serializer(api, image, classes):
    from labeling.serializers import AnnotationSerializer

    AnnotationFactory(image=image, label_class=classes[0], created_by=image.project.memberships.first().user)
    AnnotationFactory(image=image, label_class=classes[1], kind="tag", geometry={}, origin="model", state="proposed",
                      score=0.25)
    listed = api.get(url(image)).json()
    expected = AnnotationSerializer(Annotation.objects.filter(image=image).order_by("id"), many=True).data
    import json

    assert listed == json.loads(json.dumps(expected, default=str).replace("+00:00", "Z"))


# ---- one set of rules: the shared table of bad geometries on every API path ----


@pytest.fixture
def limited(settings):
    settings.POLYGON_MAX_POINTS = MAX_POINTS


def as_item(cls, kind, geometry):
    return {"label_class": cls.pk, "kind": kind, "geometry": geometry}


@pytest.mark.parametrize(("kind", "geometry", "loc", "words", "coco"), BAD_CASES)
def test_create_refuses_every_bad_geometry(limited, api, image, classes, kind, geometry, loc, words, coco):
    response = api.post(url(image), as_item(classes[0], kind, geometry), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["field"] == path_of("", loc) and words in error["detail"]
    assert not Annotation.objects.exists()


@pytest.mark.parametrize(("kind", "geometry", "loc", "words", "coco"), BAD_CASES)
def test_bulk_create_refuses_every_bad_geometry_and_stores_nothing(
    limited, api, image, classes, kind, geometry, loc, words, coco
):
    items = [as_item(classes[0], kind, GOOD[kind]), as_item(classes[1], kind, geometry)]
    response = api.post(url(image), items, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["field"] == path_of("[1]", loc) and words in error["detail"]
    assert not Annotation.objects.exists() and not AnnotationEvent.objects.exists()


@pytest.mark.parametrize(("kind", "geometry", "loc", "words", "coco"), BAD_CASES)
def test_patch_refuses_every_bad_geometry_and_changes_nothing(
    limited, api, image, classes, kind, geometry, loc, words, coco
):
    created = api.post(url(image), as_item(classes[0], kind, GOOD[kind]), format="json").json()
    response = api.patch(f"/api/annotations/{created['id']}/", {"version": 1, "geometry": geometry}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["field"] == path_of("", loc) and words in error["detail"]
    stored = Annotation.objects.get(pk=created["id"])
    assert (stored.geometry, stored.version) == (created["geometry"], 1)


def test_a_score_on_a_human_label_is_refused(api, image, classes):
    response = api.post(url(image), {**box(classes[0]), "score": 0.9}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "score" and "no score" in response.json()["detail"]
    many = api.post(url(image), [box(classes[0]), {**box(classes[0]), "score": 0.2}], format="json")
    assert many.status_code == 400 and many.json()["errors"][0]["field"] == "[1].score"
    assert not Annotation.objects.exists()


def test_patch_may_not_set_a_score_or_other_fields(api, image, classes):
    label = api.post(url(image), box(classes[0]), format="json").json()
    for field, value in [("score", 0.9), ("origin", "model"), ("outline", {})]:
        response = api.patch(f"/api/annotations/{label['id']}/", {"version": 1, field: value}, format="json")
        assert response.status_code == 400, field
        assert response.json()["errors"][0]["field"] == field
    stored = Annotation.objects.get(pk=label["id"])
    assert (stored.score, stored.origin, stored.version) == (None, "human", 1)


def test_masks_store_their_outline_on_create_and_on_edit(api, image, classes):
    created = api.post(url(image), as_item(classes[0], "mask", GOOD["mask"]), format="json").json()
    stored = Annotation.objects.get(pk=created["id"])
    assert stored.outline["bbox"] == [10, 5, 1, 20]  # GOOD["mask"]: rows 5..24 of column 10
    moved = {"rle": {"size": [80, 100], "counts": [80 * 50, 30, 80 * 50 - 30]}}
    assert api.patch(f"/api/annotations/{created['id']}/", {"version": 1, "geometry": moved}, format="json").status_code == 200
    stored.refresh_from_db()
    assert stored.outline["bbox"] == [50, 0, 1, 30]
    box_row = api.post(url(image), box(classes[1]), format="json").json()
    assert Annotation.objects.get(pk=box_row["id"]).outline is None
