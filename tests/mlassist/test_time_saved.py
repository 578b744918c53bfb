"""Time saved so far, from the action log, costed with the published action costs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ..factories import AnnotationFactory, ImageFactory

pytestmark = pytest.mark.django_db

BOX = {"x": 10, "y": 10, "w": 20, "h": 20}


def _proposal(image, label_class, kind="box", geometry=BOX):
    return AnnotationFactory(image=image, label_class=label_class, kind=kind, geometry=geometry, origin="model",
                             state="proposed", score=0.8)


def _patch(api, annotation, **changes):
    response = api.patch(f"/api/annotations/{annotation.pk}/", {"version": annotation.version, **changes},
                         format="json")
    assert response.status_code == 200, response.json()
    annotation.refresh_from_db()
    return annotation


def test_time_saved_counts_each_judged_proposal_once_at_the_published_costs(project, classes, annotator, client_for):
    api = client_for(annotator)
    images = [ImageFactory(project=project) for _ in range(4)]
    accepted = [_proposal(images[0], classes[0]), _proposal(images[1], classes[0])]
    edited = _proposal(images[2], classes[0])
    rejected = _proposal(images[3], classes[1])
    changed_mind = _proposal(images[3], classes[0], geometry={"x": 50, "y": 40, "w": 10, "h": 10})
    tag = _proposal(images[0], classes[1], kind="tag", geometry={})
    for proposal in accepted + [tag]:
        _patch(api, proposal, state="accepted")
    _patch(api, edited, geometry={"x": 12, "y": 10, "w": 20, "h": 20})  # editing accepts it
    _patch(api, rejected, state="rejected")
    # Accepted, undone, then rejected: one rejection, not an accept and a rejection.
    _patch(api, _patch(api, _patch(api, changed_mind, state="accepted"), state="proposed"), state="rejected")
    drawn = api.post(f"/api/images/{images[1].pk}/annotations/",
                     {"label_class": classes[2].pk, "kind": "box", "geometry": BOX}, format="json")
    assert drawn.status_code == 201

    body = api.get(f"/api/projects/{project.pk}/time-saved/").json()
    assert (body["accepted"], body["edited"], body["rejected"], body["drawn"]) == (3, 1, 2, 1)
    boxes = next(k for k in body["by_kind"] if k["kind"] == "box")
    assert (boxes["accepted"], boxes["edited"], boxes["rejected"], boxes["drawn"]) == (2, 1, 2, 1)
    # Boxes: 2 accepted x (7 - 1.6) + 1 edited x (7 - 2.2) - 2 rejected x 1.0; the tag: 3.0 - 1.6.
    assert boxes["saved_seconds"] == pytest.approx(2 * 5.4 + 4.8 - 2.0)
    assert body["saved_seconds"] == pytest.approx(2 * 5.4 + 4.8 - 2.0 + 1.4)
    assert body["manual_seconds"] == pytest.approx(4 * 7 + 3)  # 2 accepted, 1 edited, 1 drawn box; 1 tag
    assert body["assisted_seconds"] == pytest.approx(7 + 2 * 1.6 + 2.2 + 2 * 1.0 + 1.6)
    assert body["ratio"] == pytest.approx(round(body["assisted_seconds"] / body["manual_seconds"], 3))
    assert "check (1.6 s)" in body["method"] and body["costs"]["draw"]["mask"] == 79.0


def test_an_untouched_project_saved_nothing_and_says_so(project, annotator, client_for):
    body = client_for(annotator).get(f"/api/projects/{project.pk}/time-saved/").json()
    assert body["saved_seconds"] == 0 and body["ratio"] is None and body["by_kind"] == []


def test_time_saved_costs_a_fixed_number_of_queries_however_many_decisions(project, classes, annotator, client_for):
    from mlassist.selectors_effort import time_saved

    api = client_for(annotator)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            time_saved(project=project)
        return len(ctx.captured_queries)

    _patch(api, _proposal(ImageFactory(project=project), classes[0]), state="accepted")
    few = queries()
    for _ in range(15):
        _patch(api, _proposal(ImageFactory(project=project), classes[1]), state="rejected")
        _patch(api, _proposal(ImageFactory(project=project), classes[0], kind="mask", geometry={
            "rle": {"size": [80, 100], "counts": [100, 20, 7880]}}), state="accepted")
    assert queries() == few == 2
    assert time_saved(project=project)["by_kind"][-1]["kind"] == "mask"
