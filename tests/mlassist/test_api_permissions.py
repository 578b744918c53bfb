"""The server's permission rules hold for every model-assistance endpoint."""

import pytest

from mlassist.models import ModelVersion

pytestmark = pytest.mark.django_db

RANK = {"annotator": 1, "reviewer": 2, "manager": 3}
CASES = [
    ("get", "/api/projects/{p}/model-versions/", "annotator"),
    ("get", "/api/projects/{p}/training-runs/", "annotator"),
    ("post", "/api/projects/{p}/train/", "reviewer"),
    ("post", "/api/projects/{p}/model-versions/{v}/promote/", "manager"),
    ("get", "/api/projects/{p}/suspicious-labels/", "annotator"),
]


@pytest.mark.parametrize("role", ["annotator", "reviewer", "manager", "outsider", "anonymous"])
@pytest.mark.parametrize("method,url,least", CASES)
def test_roles(project, manager, reviewer, annotator, outsider, client_for, role, method, url, least):
    from rest_framework.test import APIClient

    version = ModelVersion.objects.create(project=project, kind="classifier", number=1)
    users = {"annotator": annotator, "reviewer": reviewer, "manager": manager, "outsider": outsider}
    client = APIClient() if role == "anonymous" else client_for(users[role])
    response = getattr(client, method)(url.format(p=project.pk, v=version.pk))
    if role == "anonymous":
        assert response.status_code == 401 and response.json()["detail"]
    elif role == "outsider":
        assert response.status_code == 404
    elif RANK[role] >= RANK[least]:
        assert response.status_code in (200, 202), response.content
    else:
        assert response.status_code == 403


def test_propose_and_tflite_explain_what_is_missing(project, manager, client_for):
    api = client_for(manager)
    propose = api.post(f"/api/projects/{project.pk}/propose/", {"images": []}, format="json")
    assert propose.status_code == 400 and "No model is trained yet" in propose.json()["detail"]
    tflite = api.get(f"/api/projects/{project.pk}/model/tflite/")
    assert tflite.status_code == 404 and "train one first" in tflite.json()["detail"]


def test_promote_rolls_back(project, manager, client_for):
    old = ModelVersion.objects.create(project=project, kind="classifier", number=1)
    new = ModelVersion.objects.create(project=project, kind="classifier", number=2, in_service=True)
    response = client_for(manager).post(f"/api/projects/{project.pk}/model-versions/{old.pk}/promote/")
    assert response.status_code == 200 and response.json()["in_service"]
    new.refresh_from_db()
    assert not new.in_service
    listed = client_for(manager).get(f"/api/projects/{project.pk}/model-versions/").json()
    assert [(v["number"], v["in_service"]) for v in listed] == [(2, False), (1, True)]


@pytest.mark.parametrize("role,allowed", [("annotator", False), ("reviewer", True), ("manager", True)])
def test_propose_needs_a_reviewer(project, manager, reviewer, annotator, client_for, role, allowed):
    user = {"annotator": annotator, "reviewer": reviewer, "manager": manager}[role]
    response = client_for(user).post(f"/api/projects/{project.pk}/propose/", {"images": []}, format="json")
    # Allowed roles get past the role check to "no model yet"; annotators are stopped before it.
    assert response.status_code == (400 if allowed else 403), response.content
