"""Failed sign-ins and wrong tokens lock the sender out for a while; request rates are capped."""

import pytest
from rest_framework.test import APIClient

from ..factories import UserFactory


@pytest.fixture
def limits(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 6
    settings.TOKEN_FAILURE_LIMIT = 4
    settings.AUTH_FAILURE_WINDOW_SECONDS = 900
    return settings


def _sign_in(client, username, password, address="10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_login_page_locks_out_a_user_name_after_repeated_failures(client, db, limits):
    UserFactory(username="ann")
    for _ in range(2):
        wrong = _sign_in(client, "ann", "not-it")
        assert wrong.status_code == 200
        assert "did not match" in wrong.content.decode()
    third = _sign_in(client, "ann", "not-it")
    assert third.status_code == 429 and third["Retry-After"] == "900"
    assert "Too many failed sign-ins from here. Wait 15 minutes" in third.content.decode()

    # Locked out: even the right password is refused, with the reason shown.
    right = _sign_in(client, "ann", "pw-secret-123")
    assert right.status_code == 429
    assert "Too many failed sign-ins" in right.content.decode()
    assert "_auth_user_id" not in client.session

    # Someone else at another address is not affected, nor another user name from this address.
    UserFactory(username="bob")
    assert _sign_in(client, "ann", "pw-secret-123", address="10.0.0.2").status_code == 302
    client.logout()
    assert _sign_in(client, "bob", "pw-secret-123").status_code == 302


def test_password_spraying_from_one_address_is_locked_out_whatever_the_names(client, db, limits):
    UserFactory(username="carol")
    for i in range(6):
        _sign_in(client, f"nobody{i}", "guess")
    response = _sign_in(client, "carol", "pw-secret-123")
    assert "Too many failed sign-ins" in response.content.decode()


def test_the_admin_login_is_locked_out_too(client, db, limits):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(3):
        _sign_in(client, "root", "guess")
    response = client.post("/admin/login/", {"username": "root", "password": "pw-secret-123"}, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 200  # the form again, not a redirect into the admin
    assert "_auth_user_id" not in client.session


def test_a_successful_sign_in_forgets_earlier_failures(client, db, limits):
    UserFactory(username="dan")
    for _ in range(2):
        _sign_in(client, "dan", "not-it")
    assert _sign_in(client, "dan", "pw-secret-123").status_code == 302
    client.logout()
    for _ in range(2):
        _sign_in(client, "dan", "not-it")
    assert _sign_in(client, "dan", "pw-secret-123").status_code == 302


def test_wrong_tokens_from_one_address_get_429_then_even_a_right_one(manager, limits):
    from rest_framework.authtoken.models import Token

    good = Token.objects.create(user=manager).key
    guesser = APIClient(REMOTE_ADDR="10.0.0.9")
    for i in range(4):
        guesser.credentials(HTTP_AUTHORIZATION=f"Token wrong{i}")
        response = guesser.get("/api/projects/")
        assert response.status_code == 401  # token authentication comes first: 401, WWW-Authenticate: Token
        assert response.json()["detail"] == "Invalid token."
    guesser.credentials(HTTP_AUTHORIZATION=f"Token {good}")
    locked = guesser.get("/api/projects/")
    assert locked.status_code == 429
    assert "wrong token" in locked.json()["detail"]
    assert int(locked["Retry-After"]) == 900

    # Another address with the right token is served.
    other = APIClient(REMOTE_ADDR="10.0.0.10")
    other.credentials(HTTP_AUTHORIZATION=f"Token {good}")
    assert other.get("/api/projects/").status_code == 200


def test_api_request_rates_per_user_and_per_anonymous_address(manager, client_for, settings):
    settings.API_THROTTLE_USER_RATE = "3/minute"
    settings.API_THROTTLE_ANON_RATE = "2/minute"
    api = client_for(manager)
    assert [api.get("/api/projects/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert api.get("/api/projects/").json()["detail"].startswith("Request was throttled")

    anonymous = APIClient()
    assert [anonymous.get("/api/schema/").status_code for _ in range(3)] == [200, 200, 429]


def test_the_address_behind_a_trusted_proxy_is_the_forwarded_one(client, db, limits, settings):
    from rest_framework.settings import api_settings

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert api_settings.NUM_PROXIES == 1
    UserFactory(username="erin")
    for _ in range(3):
        client.post("/accounts/login/", {"username": "erin", "password": "guess"},
                    REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="203.0.113.5")
    # The proxy's address is shared by everyone: only the client behind it is locked out.
    other = client.post("/accounts/login/", {"username": "erin", "password": "pw-secret-123"},
                        REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert other.status_code == 302
