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
]


@pytest.mark.parametrize("role", ["annotator", "reviewer", "manager", "outsider"])
@pytest.mark.parametrize("method,url,least", CASES)
def test_roles(project, manager, reviewer, annotator, outsider, client_for, role, method, url, least):
    version = ModelVersion.objects.create(project=project, kind="classifier", number=1)
    user = {"annotator": annotator, "reviewer": reviewer, "manager": manager, "outsider": outsider}[role]
    response = getattr(client_for(user), method)(url.format(p=project.pk, v=version.pk))
    if role == "outsider":
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
