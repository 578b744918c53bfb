"""Training runs filtered by state, the minimum to train shown where training starts, model events."""

import pytest

from mlassist import events
from mlassist.models import ModelVersion, TrainingRun

from .synthetic import feature_images, tag

pytestmark = pytest.mark.django_db


def test_training_runs_filter_by_state_and_an_unknown_state_is_named(project, annotator, client_for):
    TrainingRun.objects.create(project=project, state="failed", error="boom")
    TrainingRun.objects.create(project=project, state="succeeded")
    TrainingRun.objects.create(project=project, state="queued")
    api = client_for(annotator)
    url = f"/api/projects/{project.pk}/training-runs/"
    assert [r["state"] for r in api.get(url, {"state": "failed"}).json()] == ["failed"]
    assert sorted(r["state"] for r in api.get(url, {"state": "queued,succeeded"}).json()) == ["queued", "succeeded"]
    assert len(api.get(url).json()) == 3
    bad = api.get(url, {"state": "done"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "state" and "'done'" in bad.json()["errors"][0]["detail"]


def test_the_minimum_to_train_is_said_where_training_is_started(project, classes, reviewer, client_for):
    project.set_kinds(["tag", "box"])
    project.save()
    for image, cls in zip(feature_images(project, [0, 1, 0]), [0, 1, 0], strict=True):
        tag(image, classes[cls], reviewer)
    api = client_for(reviewer)
    started = api.post(f"/api/projects/{project.pk}/train/")
    assert started.status_code == 202
    by_kind = {row["kind"]: row for row in started.json()["readiness"]}
    assert by_kind["tag"] == {"kind": "tag", "head": "classifier", "labelled_images": 3, "classes": 2,
                              "min_images": 4, "min_classes": 2, "ready": False,
                              "problem": "3 images have accepted tag labels; training needs 4."}
    assert by_kind["box"]["labelled_images"] == 0 and not by_kind["box"]["ready"]
    shown = api.get(f"/api/projects/{project.pk}/training-readiness/").json()
    assert shown == started.json()["readiness"]


def test_model_events_answer_at_once_on_a_change_and_wait_otherwise(project, annotator, client_for):
    api = client_for(annotator)
    url = f"/api/projects/{project.pk}/model-events/"
    first = api.get(url).json()
    assert first["changed"] is False and first["serving"] == []
    same = api.get(url, {"since": first["token"], "wait": 0.2}).json()
    assert same["changed"] is False and same["token"] == first["token"]
    ModelVersion.objects.create(project=project, kind="classifier", number=1, in_service=True)
    moved = api.get(url, {"since": first["token"], "wait": 20}).json()  # answered at once: it changed
    assert moved["changed"] is True and moved["serving"][0]["number"] == 1 and moved["token"] != first["token"]
    assert api.get(url, {"wait": "soon"}).json()["errors"][0]["field"] == "wait"


def test_waiting_pages_never_hold_more_than_their_share_of_workers(project, annotator, client_for):
    api = client_for(annotator)
    url = f"/api/projects/{project.pk}/model-events/"
    token = api.get(url).json()["token"]
    held = [events._waiters.acquire(blocking=False) for _ in range(events.MAX_WAITERS)]
    try:
        busy = api.get(url, {"since": token, "wait": 20})
        assert busy.json()["retry_after"] == 5 and busy["Retry-After"] == "5"
    finally:
        for got in held:
            if got:
                events._waiters.release()


def test_server_sent_events_stream_the_state_then_end(project, annotator, client_for):
    ModelVersion.objects.create(project=project, kind="detector", number=3, in_service=True)
    response = client_for(annotator).get(f"/api/projects/{project.pk}/model-events/", {"wait": 0},
                                         HTTP_ACCEPT="text/event-stream")
    assert response["Content-Type"] == "text/event-stream"
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("retry: ") and "event: model\n" in body and '"number": 3' in body


def test_a_waiting_stream_writes_a_comment_each_check_so_a_closed_page_ends_it(project):
    token = events.model_state(project_id=project.pk)["token"]
    stream = events.model_event_stream(project_id=project.pk, since=token, wait=1.5)
    assert next(stream).startswith("retry: ")
    assert next(stream) == ":\n\n"  # nothing changed: a comment, which fails to write once the page is gone
    stream.close()  # what the server does when that write fails: the waiter's slot is free again
    held = [events._waiters.acquire(blocking=False) for _ in range(events.MAX_WAITERS)]
    try:
        assert all(held)
    finally:
        for got in held:
            if got:
                events._waiters.release()
