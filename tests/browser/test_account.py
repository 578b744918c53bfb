"""The account page: make, rotate and revoke the API token in the browser, and use it from a script."""

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _works(live_server, key) -> bool:
    response = requests.get(f"{live_server.url}/api/projects/", headers={"Authorization": f"Token {key}"}, timeout=30)
    return response.status_code == 200


def test_make_rotate_and_revoke_the_api_token(signed_in, live_server):
    page, user = signed_in
    page.click("header a.who")  # the user name in the top bar leads to the account page
    expect(page.locator("#token-state")).to_have_text("You have no API token.")

    page.click("#rotate")
    first = page.locator("#new-key code").inner_text()
    assert _works(live_server, first)
    page.goto(f"{live_server.url}/accounts/")
    expect(page.locator("#new-key")).to_have_count(0)  # shown once only
    expect(page.locator("#token-state")).to_contain_text(first[:6])

    page.click("#rotate")
    second = page.locator("#new-key code").inner_text()
    assert second != first
    assert not _works(live_server, first) and _works(live_server, second)

    page.click("#revoke")
    expect(page.locator(".messages")).to_contain_text("revoked")
    expect(page.locator("#token-state")).to_have_text("You have no API token.")
    assert not _works(live_server, second)


def test_the_api_docs_page_renders_under_its_policy(signed_in, live_server):
    page, user = signed_in
    page.click("header >> text=API")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Annotator API")


def test_repeated_wrong_passwords_lock_the_sign_in_with_a_message(page, live_server, transactional_db, settings):
    from ..factories import UserFactory

    settings.LOGIN_FAILURE_LIMIT = 3
    UserFactory(username="ann")
    for password in ["guess-1", "guess-2", "guess-3", "pw-secret-123"]:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", "ann")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
    # Even the right password, last, is refused while the lock-out lasts.
    expect(page.locator(".error")).to_contain_text("Too many failed sign-ins from here. Wait 15 minutes")
    assert page.url.endswith("/accounts/login/")
