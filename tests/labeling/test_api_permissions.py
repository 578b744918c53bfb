"""Every role against every endpoint; outsiders find nothing (404), so ids leak nothing."""

import pytest

from labeling.models import AnnotationEvent, Image
from labeling.services.annotations import snapshot

from ..factories import AnnotationFactory, ImageFactory, upload

pytestmark = pytest.mark.django_db

BOX = {"kind": "box", "geometry": {"x": 1, "y": 1, "w": 5, "h": 5}}


@pytest.fixture
def world(project, classes, image, manager, reviewer, annotator, outsider):
    human = AnnotationFactory(image=image, label_class=classes[0])
    proposal = AnnotationFactory(image=image, label_class=classes[1], origin="model", state="proposed", score=0.9)
    accepted = AnnotationFactory(image=image, label_class=classes[2], origin="model", state="accepted", score=0.8)
    # The annotator accepted that proposal themself (so they may undo it); a reviewer rejected another.
    _judged(accepted, annotator, "proposed")
    judged = AnnotationFactory(image=image, label_class=classes[1], origin="model", state="rejected", score=0.6)
    _judged(judged, reviewer, "proposed")
    reviewed = ImageFactory(project=project, status="reviewed")
    return {
        "project": project, "image": image, "cls": classes[0], "human": human, "proposal": proposal, "accepted": accepted,
        "judged": judged, "reviewed": reviewed,
        "users": {"manager": manager, "reviewer": reviewer, "annotator": annotator, "outsider": outsider},
    }


def _judged(annotation, actor, before_state):
    """Write the audit event of ``actor`` moving ``annotation`` from ``before_state`` to its state."""
    after = snapshot(annotation)
    AnnotationEvent.objects.create(
        annotation_id=annotation.pk, project_id=annotation.image.project_id, image_id=annotation.image_id,
        action=AnnotationEvent.Action.STATE, actor=actor, before={**after, "state": before_state}, after=after,
    )


def call(client, method, url, data=None, fmt="json"):
    return getattr(client, method)(url, data, format=fmt) if data is not None else getattr(client, method)(url)


# (method, url template, body, least role that may: annotator < reviewer < manager)
CASES = [
    ("get", "/api/projects/{p}/", None, "annotator"),
    ("patch", "/api/projects/{p}/", {"description": "x"}, "manager"),
    ("get", "/api/projects/{p}/members/", None, "annotator"),
    ("post", "/api/projects/{p}/members/", {"username": "outsider", "role": "annotator"}, "manager"),
    ("get", "/api/projects/{p}/classes/", None, "annotator"),
    ("post", "/api/projects/{p}/classes/", {"name": "new"}, "manager"),
    ("patch", "/api/projects/{p}/classes/{c}/", {"color": "#00ff00"}, "manager"),
    ("get", "/api/projects/{p}/images/", None, "annotator"),
    ("get", "/api/projects/{p}/stats/", None, "annotator"),
    ("get", "/api/projects/{p}/annotations/", None, "annotator"),
    ("get", "/api/projects/{p}/next-image/", None, "annotator"),
    ("get", "/api/images/{i}/", None, "annotator"),
    ("get", "/api/images/{i}/file/", None, "annotator"),
    ("get", "/api/images/{i}/thumbnail/", None, "annotator"),
    ("patch", "/api/images/{i}/", {"status": "done"}, "annotator"),
    ("patch", "/api/images/{i}/", {"status": "reviewed"}, "reviewer"),
    ("patch", "/api/images/{v}/", {"status": "done"}, "reviewer"),  # take "reviewed" back
    ("patch", "/api/images/{v}/", {"status": "in_progress"}, "reviewer"),
    ("get", "/api/images/{i}/annotations/", None, "annotator"),
    ("post", "/api/images/{i}/annotations/", {"label_class": "{c}", **BOX}, "annotator"),
    ("get", "/api/annotations/{a}/", None, "annotator"),
    ("get", "/api/annotations/{a}/events/", None, "annotator"),
    ("patch", "/api/annotations/{a}/", {"version": 1, "geometry": {"x": 2, "y": 2, "w": 5, "h": 5}}, "annotator"),
    ("patch", "/api/annotations/{a}/", {"version": 1, "state": "rejected"}, "reviewer"),
    ("patch", "/api/annotations/{q}/", {"version": 1, "state": "accepted"}, "annotator"),
    ("patch", "/api/annotations/{r}/", {"version": 1, "state": "proposed"}, "annotator"),  # undo their own accept
    ("patch", "/api/annotations/{j}/", {"version": 1, "state": "accepted"}, "reviewer"),  # overturn a reviewer
    ("patch", "/api/annotations/{j}/", {"version": 1, "state": "proposed"}, "reviewer"),
    ("get", "/api/projects/{p}/review/annotations/", None, "annotator"),
    ("post", "/api/projects/{p}/annotations/bulk/", {"ids": ["{q}"], "versions": [1], "state": "rejected"}, "annotator"),
    ("get", "/api/projects/{p}/jobs/", None, "annotator"),
    ("get", "/api/projects/{p}/export/coco/", None, "manager"),
    ("delete", "/api/annotations/{a}/?version=1", None, "annotator"),
    ("delete", "/api/images/{i}/", None, "manager"),
    ("delete", "/api/projects/{p}/", None, "manager"),
]
RANK = {"annotator": 1, "reviewer": 2, "manager": 3}


def _fill(template, world):
    ids = {"p": world["project"].pk, "i": world["image"].pk, "c": world["cls"].pk, "a": world["human"].pk,
           "q": world["proposal"].pk, "r": world["accepted"].pk, "j": world["judged"].pk, "v": world["reviewed"].pk}
    return template.format(**ids)


def _fill_body(value, world):
    if isinstance(value, str) and value.startswith("{"):
        return int(_fill(value, world))
    if isinstance(value, dict):
        return {k: _fill_body(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_body(v, world) for v in value]
    return value


@pytest.mark.parametrize("role", ["annotator", "reviewer", "manager", "outsider", "anonymous"])
@pytest.mark.parametrize("method,url,body,least", CASES, ids=[f"{c[0]} {c[1]} {c[2] or ''}" for c in CASES])
def test_role_matrix(world, client_for, role, method, url, body, least):
    from rest_framework.test import APIClient

    client = APIClient() if role == "anonymous" else client_for(world["users"][role])
    response = call(client, method, _fill(url, world), _fill_body(body, world))
    if role == "anonymous":
        assert response.status_code == 401, response.content  # no token, no session
        assert response.json()["detail"]
    elif role == "outsider":
        assert response.status_code == 404, response.content
        assert response.json()["detail"]
    elif RANK[role] >= RANK[least]:
        assert response.status_code in (200, 201, 204), response.content
    else:
        assert response.status_code == 403, response.content
        assert response.json()["detail"]


def test_upload_needs_manager(world, client_for):
    url = f"/api/projects/{world['project'].pk}/images/"
    assert client_for(world["users"]["annotator"]).post(url, {"files": [upload()]}).status_code == 403
    assert client_for(world["users"]["outsider"]).post(url, {"files": [upload()]}).status_code == 404
    assert client_for(world["users"]["manager"]).post(url, {"files": [upload()]}).status_code == 201


def test_project_list_shows_only_memberships(world, client_for):
    assert client_for(world["users"]["outsider"]).get("/api/projects/").json()["results"] == []
    mine = client_for(world["users"]["annotator"]).get("/api/projects/").json()["results"]
    assert [p["id"] for p in mine] == [world["project"].pk]
    assert mine[0]["role"] == "annotator"


def test_anonymous_gets_401():
    from rest_framework.test import APIClient

    assert APIClient().get("/api/projects/").status_code == 401


def test_only_managers_add_model_proposals(world, client_for):
    body = {"label_class": world["cls"].pk, "origin": "model", "state": "proposed", "score": 0.7, **BOX}
    url = f"/api/images/{world['image'].pk}/annotations/"
    assert client_for(world["users"]["annotator"]).post(url, body, format="json").status_code == 403
    created = client_for(world["users"]["manager"]).post(url, body, format="json")
    assert created.status_code == 201 and created.json()["state"] == "proposed"


def test_an_annotator_cannot_overturn_a_reviewers_rejection(project, classes, image, annotator, reviewer, client_for):
    proposal = AnnotationFactory(image=image, label_class=classes[0], origin="model", state="proposed", score=0.9)
    url = f"/api/annotations/{proposal.pk}/"
    assert client_for(reviewer).patch(url, {"version": 1, "state": "rejected"}, format="json").status_code == 200
    api = client_for(annotator)
    for state in ("accepted", "proposed"):
        refused = api.patch(url, {"version": 2, "state": state}, format="json")
        assert refused.status_code == 403 and refused.json()["detail"]
    bulk = api.post(f"/api/projects/{project.pk}/annotations/bulk/",
                    {"ids": [proposal.pk], "versions": [2], "state": "accepted"}, format="json")
    assert bulk.status_code == 403
    proposal.refresh_from_db()
    assert (proposal.state, proposal.version) == ("rejected", 2)


def test_an_annotator_undoes_only_their_own_filtering(project, classes, image, annotator, client_for):
    from ..factories import MembershipFactory, UserFactory

    other = MembershipFactory(project=project, user=UserFactory(username="second-annotator"), role="annotator").user
    proposal = AnnotationFactory(image=image, label_class=classes[0], origin="model", state="proposed", score=0.9)
    url = f"/api/annotations/{proposal.pk}/"
    assert client_for(annotator).patch(url, {"version": 1, "state": "rejected"}, format="json").status_code == 200
    assert client_for(other).patch(url, {"version": 2, "state": "accepted"}, format="json").status_code == 403
    undone = client_for(annotator).patch(url, {"version": 2, "state": "proposed"}, format="json")
    assert undone.status_code == 200 and undone.json()["state"] == "proposed"
    # Back to a proposal: anyone who labels may filter it again.
    assert client_for(other).patch(url, {"version": 3, "state": "accepted"}, format="json").status_code == 200


def test_only_reviewers_take_reviewed_back(project, annotator, reviewer, client_for):
    image = ImageFactory(project=project)
    url = f"/api/images/{image.pk}/"
    assert client_for(annotator).patch(url, {"status": "done"}, format="json").json()["status"] == "done"
    assert client_for(reviewer).patch(url, {"status": "reviewed"}, format="json").json()["status"] == "reviewed"
    for status in ("done", "in_progress", "new"):
        refused = client_for(annotator).patch(url, {"status": status}, format="json")
        assert refused.status_code == 403 and "reviewed" in refused.json()["detail"]
    assert Image.objects.get(pk=image.pk).status == "reviewed"
    assert client_for(reviewer).patch(url, {"status": "in_progress"}, format="json").json()["status"] == "in_progress"


def test_a_bulk_edit_that_keeps_a_judged_state_is_not_an_overturn(project, classes, image, annotator, reviewer, client_for):
    proposal = AnnotationFactory(image=image, label_class=classes[0], origin="model", state="proposed", score=0.9)
    url = f"/api/projects/{project.pk}/annotations/bulk/"
    assert client_for(reviewer).post(url, {"ids": [proposal.pk], "versions": [1], "state": "rejected"},
                                     format="json").status_code == 200
    # Asking for the state it already has changes nothing, so it is not refused either.
    same = client_for(annotator).post(url, {"ids": [proposal.pk], "versions": [2], "state": "rejected"}, format="json")
    assert same.status_code == 200 and same.json()[0]["version"] == 2
