import pytest
from django.contrib.auth.models import Permission

from labeling.models import Membership, Project

from ..factories import UserFactory

pytestmark = pytest.mark.django_db


def grant_project_creation(user):
    user.user_permissions.add(Permission.objects.get(content_type__app_label="labeling", codename="add_project"))
    return user


def test_creator_becomes_manager_and_kinds_round_trip(client_for, outsider):
    api = client_for(grant_project_creation(outsider))
    response = api.post("/api/projects/", {"name": "Birds", "kinds": ["tag", "box"], "multilabel": True}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kinds"] == ["tag", "box"] and body["role"] == "manager"
    assert Membership.objects.get(project_id=body["id"], user=outsider).role == "manager"


def test_project_without_kinds_is_refused(client_for, outsider):
    response = client_for(grant_project_creation(outsider)).post("/api/projects/", {"name": "x", "kinds": []}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "kinds"
    assert not Project.objects.exists()


def test_members_and_the_last_manager(project, manager, outsider, client_for):
    api = client_for(manager)
    added = api.post(f"/api/projects/{project.pk}/members/", {"username": "outsider", "role": "reviewer"}, format="json")
    assert added.status_code == 201 and added.json()["role"] == "reviewer"
    unknown = api.post(f"/api/projects/{project.pk}/members/", {"username": "nobody", "role": "reviewer"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "username"
    assert unknown.json()["detail"] == "username: No user called 'nobody' can be added; check the exact user name."
    # The exact name: a different case is another (missing) name, answered the same way.
    wrong_case = api.post(f"/api/projects/{project.pk}/members/", {"username": "Outsider", "role": "reviewer"}, format="json")
    assert wrong_case.json()["detail"] == "username: No user called 'Outsider' can be added; check the exact user name."
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


@pytest.mark.parametrize("setting", ["staff_and_granted", "everyone"])
def test_who_may_create_projects(client_for, settings, setting):
    settings.PROJECT_CREATORS = setting
    body = {"name": "Birds", "kinds": ["box"]}
    plain = client_for(UserFactory(username="plain")).post("/api/projects/", body, format="json")
    if setting == "everyone":
        assert plain.status_code == 201
    else:
        assert plain.status_code == 403
        assert plain.json()["detail"] == "Your account may not create projects; ask an administrator for the permission."
        assert not Project.objects.filter(created_by__username="plain").exists()
    granted = grant_project_creation(UserFactory(username="granted"))
    staff = UserFactory(username="staff", is_staff=True)
    root = UserFactory(username="root", is_superuser=True)
    for user in (granted, staff, root):
        assert client_for(user).post("/api/projects/", body, format="json").status_code == 201, user.username


def test_a_refused_creator_learns_nothing_from_validation(client_for):
    """Refused before the body is read: a 403, not a 400 listing the fields."""
    response = client_for(UserFactory(username="plain")).post("/api/projects/", {"kinds": []}, format="json")
    assert response.status_code == 403 and "errors" not in response.json()


def test_the_project_page_refuses_a_create_post_without_the_permission(client):
    user = UserFactory(username="plain")
    client.force_login(user)
    page = client.get("/")
    assert page.status_code == 200 and b'id="new-project"' not in page.content
    assert client.post("/", {"name": "Sneaky", "kinds": ["box"]}).status_code == 403
    assert not Project.objects.exists()
    grant_project_creation(user)
    assert b'id="new-project"' in client.get("/").content
    created = client.post("/", {"name": "Allowed", "kinds": ["box"]})
    assert created.status_code == 302 and Project.objects.get().name == "Allowed"


def test_two_managers_demoting_each_other_leave_one_manager(project, manager, client_for):
    """Sequential here (the threaded race is in test_concurrency.py): the second demotion is refused."""
    other = UserFactory(username="co-manager")
    Membership.objects.create(project=project, user=other, role="manager")
    mine = Membership.objects.get(project=project, user=manager)
    theirs = Membership.objects.get(project=project, user=other)
    first = client_for(manager).patch(f"/api/projects/{project.pk}/members/{theirs.pk}/", {"role": "annotator"}, format="json")
    assert first.status_code == 200
    # The co-manager's request was allowed when they sent it; under the lock they find they are the last.
    from labeling.services.projects import membership_role_set
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="at least one manager"):
        membership_role_set(membership=mine, role="annotator")
    assert list(project.memberships.filter(role="manager").values_list("user__username", flat=True)) == [manager.username]


def test_create_api_user_can_grant_project_creation():
    from io import StringIO

    from django.core.management import call_command
    from rest_framework.test import APIClient

    def token_for(*args):
        out = StringIO()
        call_command("create_api_user", *args, stdout=out, stderr=StringIO())
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip().splitlines()[-1]}")
        return client

    body = {"name": "Scripted", "kinds": ["tag"]}
    assert token_for("plain-script").post("/api/projects/", body, format="json").status_code == 403
    assert token_for("creator-script", "--can-create-projects").post("/api/projects/", body, format="json").status_code == 201
    assert token_for("root-script", "--superuser").post("/api/projects/", body, format="json").status_code == 201
