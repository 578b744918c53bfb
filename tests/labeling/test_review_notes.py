"""Review at image level through the API: reviewed / sent back with a comment, who may, what moves."""

import pytest

from labeling.models import AnnotationEvent, Image, ImageReviewNote
from labeling.selectors import project_stats
from labeling.selectors_review import images_sent_back

from ..factories import ImageFactory

pytestmark = pytest.mark.django_db


def review(client, image, **body):
    return client.post(f"/api/images/{image.pk}/review/", body, format="json")


def test_reviewer_sends_back_with_a_comment_and_the_annotator_reads_it(client_for, image, reviewer, annotator):
    image.status = Image.Status.DONE
    image.save()
    res = review(client_for(reviewer), image, verdict="sent_back", text="The left dog has no box.")
    assert res.status_code == 201, res.data
    assert res.data["image_status"] == "in_progress"
    image.refresh_from_db()
    assert image.status == "in_progress"
    notes = client_for(annotator).get(f"/api/images/{image.pk}/review/")
    assert notes.status_code == 200
    assert [(n["verdict"], n["text"], n["author"], n["resolved"]) for n in notes.data] == [
        ("sent_back", "The left dog has no box.", reviewer.username, False)
    ]
    assert list(images_sent_back(project=image.project)) == [image]
    # Fixed and marked done again: it waits for the reviewer, no longer for the annotator.
    assert client_for(annotator).patch(f"/api/images/{image.pk}/", {"status": "done"}, format="json").status_code == 200
    assert list(images_sent_back(project=image.project)) == []


def test_marking_reviewed_moves_the_count_and_closes_the_open_comment(client_for, image, reviewer):
    review(client_for(reviewer), image, verdict="sent_back", text="fix it")
    before = project_stats(project=image.project)
    res = review(client_for(reviewer), image, verdict="reviewed")
    assert res.status_code == 201 and res.data["image_status"] == "reviewed"
    after = project_stats(project=image.project)
    assert str(after) != str(before)
    image.refresh_from_db()
    assert image.status == "reviewed"
    assert not ImageReviewNote.objects.filter(image=image, resolved=False).exists()
    assert list(images_sent_back(project=image.project)) == []


def test_sending_back_without_a_comment_is_refused_and_changes_nothing(client_for, image, reviewer):
    image.status = Image.Status.DONE
    image.save()
    res = review(client_for(reviewer), image, verdict="sent_back", text="   ")
    assert res.status_code == 400
    assert res.data["errors"][0]["field"] == "text"
    assert "annotator sees" in res.data["errors"][0]["detail"]
    image.refresh_from_db()
    assert image.status == "done" and not ImageReviewNote.objects.exists()


def test_unknown_verdict_names_the_field(client_for, image, reviewer):
    res = review(client_for(reviewer), image, verdict="maybe")
    assert res.status_code == 400 and res.data["errors"][0]["field"] == "verdict"


def test_an_annotator_may_read_but_not_judge(client_for, image, annotator):
    image.status = Image.Status.DONE
    image.save()
    res = review(client_for(annotator), image, verdict="reviewed")
    assert res.status_code == 403
    image.refresh_from_db()
    assert image.status == "done" and not ImageReviewNote.objects.exists()


def test_manager_may_judge(client_for, image, manager):
    assert review(client_for(manager), image, verdict="reviewed").status_code == 201


def test_outsider_gets_404_and_anonymous_401(client_for, image, outsider):
    from rest_framework.test import APIClient

    assert review(client_for(outsider), image, verdict="reviewed").status_code == 404
    assert APIClient().get(f"/api/images/{image.pk}/review/").status_code == 401


def test_image_events_list_the_trail_of_its_annotations_deleted_ones_included(client_for, image, classes, annotator):
    client = client_for(annotator)
    made = client.post(f"/api/images/{image.pk}/annotations/",
                       [{"kind": "box", "label_class": classes[0].pk, "geometry": {"x": 1, "y": 1, "w": 5, "h": 5}}],
                       format="json")
    assert made.status_code == 201, made.data
    ann_id, version = made.data[0]["id"], made.data[0]["version"]
    assert client.delete(f"/api/annotations/{ann_id}/?version={version}").status_code == 204
    other = ImageFactory(project=image.project)
    client.post(f"/api/images/{other.pk}/annotations/",
                [{"kind": "box", "label_class": classes[0].pk, "geometry": {"x": 2, "y": 2, "w": 5, "h": 5}}], format="json")
    res = client.get(f"/api/images/{image.pk}/events/")
    assert res.status_code == 200
    assert [(e["action"], e["annotation_id"], e["actor"]) for e in res.data] == [
        ("delete", ann_id, annotator.username), ("create", ann_id, annotator.username)
    ]
    assert res.data[1]["after"]["label_class"] == classes[0].pk
    assert AnnotationEvent.objects.filter(image_id=other.pk).exists()  # another image's trail is not listed


def test_image_trail_and_notes_are_read_in_a_fixed_number_of_queries(client_for, image, classes, reviewer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(reviewer)

    def counts():
        with CaptureQueriesContext(connection) as events:
            assert client.get(f"/api/images/{image.pk}/events/").status_code == 200
        with CaptureQueriesContext(connection) as notes:
            assert client.get(f"/api/images/{image.pk}/review/").status_code == 200
        return len(events), len(notes)

    box = {"kind": "box", "label_class": classes[0].pk, "geometry": {"x": 1, "y": 1, "w": 5, "h": 5}}
    client.post(f"/api/images/{image.pk}/annotations/", [box], format="json")
    review(client, image, verdict="sent_back", text="one")
    few = counts()
    client.post(f"/api/images/{image.pk}/annotations/", [box] * 5, format="json")
    for i in range(5):
        review(client, image, verdict="sent_back", text=f"again {i}")
    assert counts() == few
