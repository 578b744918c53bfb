"""The workspace's autosave endpoint: deletes, updates and creates on one image in one transaction."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.models import Annotation, AnnotationEvent, Image

from ..factories import AnnotationFactory, ImageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(annotator, client_for):
    return client_for(annotator)


def url(image):
    return f"/api/images/{image.pk}/annotations/batch/"


def box(cls, x=1, y=2, w=10, h=20):
    return {"label_class": cls.pk, "kind": "box", "geometry": {"x": x, "y": y, "w": w, "h": h}}


def test_delete_update_create_in_one_request(api, image, classes):
    keep = AnnotationFactory(image=image, label_class=classes[0])
    gone = AnnotationFactory(image=image, label_class=classes[0])
    response = api.post(url(image), {
        "delete": [{"id": gone.pk, "version": 1}],
        "update": [{"id": keep.pk, "version": 1, "label_class": classes[1].pk, "geometry": {"x": 3, "y": 3, "w": 5, "h": 5}}],
        "create": [box(classes[2]), box(classes[0], x=20)],
    }, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["deleted"] == [gone.pk]
    assert [(a["id"], a["version"], a["label_class"]) for a in body["updated"]] == [(keep.pk, 2, classes[1].pk)]
    assert [a["label_class"] for a in body["created"]] == [classes[2].pk, classes[0].pk]
    assert all(a["version"] == 1 and a["state"] == "accepted" for a in body["created"])
    keep.refresh_from_db()
    assert keep.geometry == {"x": 3, "y": 3, "w": 5, "h": 5} and keep.version == 2
    assert not Annotation.objects.filter(pk=gone.pk).exists()
    assert Annotation.objects.filter(image=image).count() == 3
    actions = sorted(AnnotationEvent.objects.filter(image_id=image.pk).values_list("action", flat=True))
    assert actions == ["create", "create", "delete", "update"]
    image.refresh_from_db()
    assert image.status == Image.Status.IN_PROGRESS


def test_a_stale_item_writes_nothing_and_every_stale_item_is_named(api, image, classes):
    changed = AnnotationFactory(image=image, label_class=classes[0], version=3)
    fresh = AnnotationFactory(image=image, label_class=classes[0])
    deleted_id = AnnotationFactory(image=image, label_class=classes[0]).pk
    Annotation.objects.filter(pk=deleted_id).delete()
    response = api.post(url(image), {
        "update": [
            {"id": fresh.pk, "version": 1, "label_class": classes[1].pk},
            {"id": changed.pk, "version": 2, "label_class": classes[1].pk},
            {"id": deleted_id, "version": 1, "label_class": classes[1].pk},
        ],
        "create": [box(classes[2])],
    }, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["detail"].startswith("update[1]: annotation")
    assert [(c["path"], c["id"]) for c in body["conflicts"]] == [("update[1]", changed.pk), ("update[2]", deleted_id)]
    assert body["conflicts"][0]["current"]["version"] == 3
    assert body["conflicts"][1]["current"] is None
    fresh.refresh_from_db()
    assert fresh.version == 1 and fresh.label_class == classes[0]
    assert Annotation.objects.filter(image=image).count() == 2
    assert not AnnotationEvent.objects.filter(image_id=image.pk).exists()


def test_deleting_what_is_already_gone_counts_as_done(api, image, classes):
    gone = AnnotationFactory(image=image, label_class=classes[0])
    gone_id = gone.pk
    gone.delete()
    response = api.post(url(image), {"delete": [{"id": gone_id, "version": 1}]}, format="json")
    assert response.status_code == 200
    assert response.json() == {"created": [], "updated": [], "deleted": [gone_id]}


def test_a_stale_delete_is_a_conflict(api, image, classes):
    row = AnnotationFactory(image=image, label_class=classes[0], version=2)
    response = api.post(url(image), {"delete": [{"id": row.pk, "version": 1}]}, format="json")
    assert response.status_code == 409
    assert response.json()["conflicts"][0]["path"] == "delete[0]"
    assert Annotation.objects.filter(pk=row.pk).exists()


def test_bad_input_is_refused_whole_naming_the_item(api, image, classes):
    row = AnnotationFactory(image=image, label_class=classes[0])
    response = api.post(url(image), {
        "update": [{"id": row.pk, "version": 1, "geometry": {"x": 1, "y": 1, "w": 500, "h": 5}}],
        "create": [box(classes[0])],
    }, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith("update[0].geometry")
    bad_create = api.post(url(image), {"create": [box(classes[0]), box(classes[0], x=95)]}, format="json")
    assert bad_create.status_code == 400
    assert bad_create.json()["errors"][0]["field"] == "create[1].geometry.w"
    twice = api.post(url(image), {"delete": [{"id": row.pk, "version": 1}], "update": [{"id": row.pk, "version": 1, "iscrowd": True}]}, format="json")
    assert twice.status_code == 400 and twice.json()["errors"][0]["field"] == "update[0].id"
    unknown = api.post(url(image), {"update": [{"id": row.pk, "version": 1, "score": 0.5}]}, format="json")
    assert unknown.status_code == 400 and "score" in unknown.json()["detail"]
    assert not api.post(url(image), {"creates": []}, format="json").status_code == 200
    row.refresh_from_db()
    assert row.version == 1 and Annotation.objects.filter(image=image).count() == 1


def test_an_annotator_may_not_reject_a_persons_label_in_a_batch(api, image, classes, manager):
    theirs = AnnotationFactory(image=image, label_class=classes[0], created_by=manager)
    response = api.post(url(image), {"update": [{"id": theirs.pk, "version": 1, "state": "rejected"}]}, format="json")
    assert response.status_code == 403
    theirs.refresh_from_db()
    assert theirs.state == "accepted"


def test_an_annotation_of_another_image_is_not_touched(api, image, classes, project):
    other = AnnotationFactory(image=ImageFactory(project=project), label_class=classes[0])
    response = api.post(url(image), {"update": [{"id": other.pk, "version": 1, "iscrowd": True}]}, format="json")
    assert response.status_code == 409 and response.json()["conflicts"][0]["current"] is None
    other.refresh_from_db()
    assert other.iscrowd is False


def test_single_label_rules_see_the_deletes_of_the_same_batch(api, image, classes, project):
    project.multilabel = False
    project.save()
    old = AnnotationFactory(image=image, label_class=classes[0], kind="tag", geometry={})
    swap = {"delete": [{"id": old.pk, "version": 1}], "create": [{"label_class": classes[1].pk, "kind": "tag"}]}
    assert api.post(url(image), swap, format="json").status_code == 200
    again = api.post(url(image), {"create": [{"label_class": classes[0].pk, "kind": "tag"}]}, format="json")
    assert again.status_code == 400 and again.json()["errors"][0]["field"] == "create[0].label_class"


def test_queries_do_not_grow_with_the_batch(api, image, classes):
    rows = [AnnotationFactory(image=image, label_class=classes[0]) for _ in range(16)]
    api.post(url(image), {"create": [box(classes[0])]}, format="json")  # the image is started; caches warm

    def save(some):
        body = {"update": [{"id": r.pk, "version": 1, "geometry": {"x": 2, "y": 2, "w": 5, "h": 4}} for r in some],
                "create": [box(classes[1]) for _ in some]}
        with CaptureQueriesContext(connection) as queries:
            assert api.post(url(image), body, format="json").status_code == 200
        return len(queries)

    assert save(rows[:5]) == save(rows[5:])  # past a few updates, one UPDATE for all of them
