"""Every role against every endpoint; outsiders find nothing (404), so ids leak nothing."""

import pytest

from ..factories import AnnotationFactory, upload

pytestmark = pytest.mark.django_db

BOX = {"kind": "box", "geometry": {"x": 1, "y": 1, "w": 5, "h": 5}}


@pytest.fixture
def world(project, classes, image, manager, reviewer, annotator, outsider):
    human = AnnotationFactory(image=image, label_class=classes[0])
    proposal = AnnotationFactory(image=image, label_class=classes[1], origin="model", state="proposed", score=0.9)
    accepted = AnnotationFactory(image=image, label_class=classes[2], origin="model", state="accepted", score=0.8)
    return {
        "project": project, "image": image, "cls": classes[0], "human": human, "proposal": proposal, "accepted": accepted,
        "users": {"manager": manager, "reviewer": reviewer, "annotator": annotator, "outsider": outsider},
    }


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
    ("get", "/api/images/{i}/annotations/", None, "annotator"),
    ("post", "/api/images/{i}/annotations/", {"label_class": "{c}", **BOX}, "annotator"),
    ("get", "/api/annotations/{a}/", None, "annotator"),
    ("get", "/api/annotations/{a}/events/", None, "annotator"),
    ("patch", "/api/annotations/{a}/", {"version": 1, "geometry": {"x": 2, "y": 2, "w": 5, "h": 5}}, "annotator"),
    ("patch", "/api/annotations/{a}/", {"version": 1, "state": "rejected"}, "reviewer"),
    ("patch", "/api/annotations/{q}/", {"version": 1, "state": "accepted"}, "annotator"),
    ("patch", "/api/annotations/{r}/", {"version": 1, "state": "proposed"}, "annotator"),  # undo an accept
    ("delete", "/api/annotations/{a}/?version=1", None, "annotator"),
    ("delete", "/api/images/{i}/", None, "manager"),
    ("delete", "/api/projects/{p}/", None, "manager"),
]
RANK = {"annotator": 1, "reviewer": 2, "manager": 3}


def _fill(template, world):
    ids = {"p": world["project"].pk, "i": world["image"].pk, "c": world["cls"].pk, "a": world["human"].pk,
           "q": world["proposal"].pk, "r": world["accepted"].pk}
    return template.format(**ids)


@pytest.mark.parametrize("role", ["annotator", "reviewer", "manager", "outsider"])
@pytest.mark.parametrize("method,url,body,least", CASES, ids=[f"{c[0]} {c[1]} {c[2] or ''}" for c in CASES])
def test_role_matrix(world, client_for, role, method, url, body, least):
    client = client_for(world["users"][role])
    if isinstance(body, dict):
        body = {k: (int(_fill(v, world)) if isinstance(v, str) and v.startswith("{") else v) for k, v in body.items()}
    response = call(client, method, _fill(url, world), body)
    if role == "outsider":
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


def test_anonymous_gets_401_or_403():
    from rest_framework.test import APIClient

    assert APIClient().get("/api/projects/").status_code in (401, 403)


def test_only_managers_add_model_proposals(world, client_for):
    body = {"label_class": world["cls"].pk, "origin": "model", "state": "proposed", "score": 0.7, **BOX}
    url = f"/api/images/{world['image'].pk}/annotations/"
    assert client_for(world["users"]["annotator"]).post(url, body, format="json").status_code == 403
    created = client_for(world["users"]["manager"]).post(url, body, format="json")
    assert created.status_code == 201 and created.json()["state"] == "proposed"
