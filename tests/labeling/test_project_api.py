import pytest

from labeling.models import Membership, Project

pytestmark = pytest.mark.django_db


def test_creator_becomes_manager_and_kinds_round_trip(client_for, outsider):
    api = client_for(outsider)
    response = api.post("/api/projects/", {"name": "Birds", "kinds": ["tag", "box"], "multilabel": True}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kinds"] == ["tag", "box"] and body["role"] == "manager"
    assert Membership.objects.get(project_id=body["id"], user=outsider).role == "manager"


def test_project_without_kinds_is_refused(client_for, outsider):
    response = client_for(outsider).post("/api/projects/", {"name": "x", "kinds": []}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "kinds"
    assert not Project.objects.exists()


def test_members_and_the_last_manager(project, manager, outsider, client_for):
    api = client_for(manager)
    added = api.post(f"/api/projects/{project.pk}/members/", {"username": "outsider", "role": "reviewer"}, format="json")
    assert added.status_code == 201 and added.json()["role"] == "reviewer"
    unknown = api.post(f"/api/projects/{project.pk}/members/", {"username": "nobody", "role": "reviewer"}, format="json")
    assert unknown.status_code == 400 and "nobody" in unknown.json()["detail"]
    me = Membership.objects.get(project=project, user=manager)
    demote = api.patch(f"/api/projects/{project.pk}/members/{me.pk}/", {"role": "annotator"}, format="json")
    assert demote.status_code == 400 and "at least one manager" in demote.json()["detail"]


def test_classes_get_hotkeys_and_colours_and_refuse_duplicates(project, manager, client_for):
    api = client_for(manager)
    url = f"/api/projects/{project.pk}/classes/"
    first = api.post(url, {"name": "cat"}, format="json").json()
    second = api.post(url, {"name": "dog"}, format="json").json()
    assert (first["hotkey"], second["hotkey"]) == ("1", "2")
    assert first["color"] != second["color"]
    duplicate = api.post(url, {"name": "cat"}, format="json")
    assert duplicate.status_code == 400 and "already exists" in duplicate.json()["detail"]
    bad_colour = api.post(url, {"name": "emu", "color": "red"}, format="json")
    assert bad_colour.status_code == 400 and bad_colour.json()["errors"][0]["field"] == "color"
