"""A user's own API token: rotate (the old key stops working at once) and revoke, by API and on the account page."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def _client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_rotating_gives_a_new_key_and_the_old_one_stops_working(manager, client_for):
    api = client_for(manager)
    old = Token.objects.get(user=manager).key

    rotated = api.post("/api/auth/token/")
    assert rotated.status_code == 201
    new = rotated.json()["key"]
    assert new != old and rotated.json()["prefix"] == new[:6]

    assert _client(old).get("/api/projects/").json()["detail"] == "Invalid token."
    assert _client(new).get("/api/projects/").status_code == 200
    shown = _client(new).get("/api/auth/token/")
    assert shown.status_code == 200
    assert shown.json()["prefix"] == new[:6] and "key" not in shown.json()  # the key is shown only once


def test_revoking_refuses_the_key_from_then_on(manager, client_for):
    api = client_for(manager)
    key = Token.objects.get(user=manager).key
    assert api.delete("/api/auth/token/").status_code == 204
    assert _client(key).get("/api/projects/").status_code == 401
    assert not Token.objects.filter(user=manager).exists()


def test_without_a_token_get_says_how_to_make_one(manager):
    api = APIClient()
    api.force_authenticate(manager)
    response = api.get("/api/auth/token/")
    assert response.status_code == 404
    assert "POST" in response.json()["detail"]


def test_signed_in_by_session_rotation_needs_the_csrf_token(manager):
    csrf_checking = APIClient(enforce_csrf_checks=True)
    csrf_checking.force_login(manager)
    assert csrf_checking.post("/api/auth/token/").status_code == 403
    assert not Token.objects.filter(user=manager).exists()


def test_the_account_page_rotates_and_revokes(client, manager):
    client.force_login(manager)
    page = client.get("/accounts/")
    assert "You have no API token." in page.content.decode()

    made = client.post("/accounts/", {"action": "rotate"})
    key = Token.objects.get(user=manager).key
    assert key in made.content.decode()  # shown this once
    assert made["Cache-Control"].startswith("max-age=0")
    again = client.get("/accounts/").content.decode()
    assert key not in again and key[:6] in again

    client.post("/accounts/", {"action": "rotate"})
    assert not Token.objects.filter(key=key).exists()

    revoked = client.post("/accounts/", {"action": "revoke"}, follow=True)
    assert "revoked" in revoked.content.decode()
    assert not Token.objects.filter(user=manager).exists()
