"""The team page (site admins manage accounts in the app) and the statistics page's refusals."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from labeling.permissions import can_create_project

from ..factories import UserFactory

User = get_user_model()
GOOD = "Tr1cky-enough-pass"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(db):
    return UserFactory(username="sam", is_staff=True)


def test_staff_create_a_user_who_may_create_projects_and_sign_in(staff):
    response = _client(staff).post("/team/", {"action": "create", "username": "nina", "password": GOOD,
                                              "can_create_projects": "1"}, follow=True)
    assert response.status_code == 200
    assert "User nina created" in response.content.decode()
    nina = User.objects.get(username="nina")
    assert can_create_project(nina)
    assert Client().login(username="nina", password=GOOD)


def test_bad_new_user_names_and_passwords_are_named_beside_their_field(staff):
    UserFactory(username="rita")
    response = _client(staff).post("/team/", {"action": "create", "username": "Rita", "password": "123"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "A user called &#x27;Rita&#x27; already exists." in page
    assert 'data-field="password"' in page and "too short" in page
    assert 'value="Rita"' in page  # what was typed stays in the form
    assert not User.objects.filter(username="Rita").exists()


def test_reset_password_token_and_creation_right_for_another_user(staff):
    rita = UserFactory(username="rita")
    client = _client(staff)
    client.post("/team/", {"action": "password", "user": rita.pk, "password": GOOD})
    assert Client().login(username="rita", password=GOOD)
    response = client.post("/team/", {"action": "token", "user": rita.pk})
    key = Token.objects.get(user=rita).key
    assert key in response.content.decode()  # shown once, on the page that made it
    assert "no-store" in response["Cache-Control"]
    assert client.get("/team/").content.decode().count(key) == 0
    client.post("/team/", {"action": "grant", "user": rita.pk})
    assert can_create_project(User.objects.get(pk=rita.pk))
    client.post("/team/", {"action": "withdraw", "user": rita.pk})
    assert not can_create_project(User.objects.get(pk=rita.pk))


def test_a_weak_password_is_refused_beside_the_row(staff):
    rita = UserFactory(username="rita")
    response = _client(staff).post("/team/", {"action": "password", "user": rita.pk, "password": "rita"})
    assert response.status_code == 400
    page = response.content.decode()
    row = page[page.index('data-user="rita"'):]
    row = row[: row.index("</tr>")]
    assert "field-error" in row and "too similar" in row


def test_staff_cannot_take_over_a_superuser_or_another_staff_account(staff):
    boss = UserFactory(username="boss", is_superuser=True, is_staff=True)
    client = _client(staff)
    old = boss.password
    response = client.post("/team/", {"action": "password", "user": boss.pk, "password": GOOD})
    assert response.status_code == 403
    boss.refresh_from_db()
    assert boss.password == old
    assert client.post("/team/", {"action": "token", "user": boss.pk}).status_code == 403
    assert not Token.objects.filter(user=boss).exists()
    # A superuser may.
    assert _client(boss).post("/team/", {"action": "token", "user": staff.pk}).status_code == 200
    assert Token.objects.filter(user=staff).exists()


def test_disabled_accounts_cannot_sign_in_and_nobody_disables_themselves(staff):
    rita = UserFactory(username="rita")
    client = _client(staff)
    client.post("/team/", {"action": "disable", "user": rita.pk})
    assert not Client().login(username="rita", password="pw-secret-123")
    response = client.post("/team/", {"action": "disable", "user": staff.pk})
    assert response.status_code == 400 and "You cannot disable your own account." in response.content.decode()


def test_people_without_staff_rights_get_403(project, manager, annotator):
    for user in (manager, annotator):
        client = _client(user)
        assert client.get("/team/").status_code == 403
        assert client.post("/team/", {"action": "create", "username": "x", "password": GOOD}).status_code == 403
    assert not User.objects.filter(username="x").exists()
    assert Client().get("/team/").status_code == 302  # to the login page


def test_statistics_page_for_reviewers_and_managers_only(project, manager, reviewer, annotator, outsider):
    url = f"/projects/{project.pk}/statistics/"
    for user in (manager, reviewer):
        response = _client(user).get(url)
        assert response.status_code == 200
        assert 'id="nav-statistics"' in response.content.decode()
    assert _client(annotator).get(url).status_code == 403
    assert 'id="nav-statistics"' not in _client(annotator).get(f"/projects/{project.pk}/").content.decode()
    assert _client(outsider).get(url).status_code == 404
