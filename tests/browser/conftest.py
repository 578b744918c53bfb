"""Browser tests: Debian's Chromium driven by Playwright against a live test server.

A failing test leaves a screenshot under test-results/ (pytest-playwright's --screenshot).
"""

import os

import pytest

# Playwright's sync API runs an event loop in this thread; the live server's ORM calls are
# still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@pytest.fixture(autouse=True)
def _no_content_security_policy_violation(request):
    """Every browser test fails if Chromium refused anything under the Content-Security-Policy.

    Chromium reports each refusal (an inline script, style attribute or handler, a foreign image...)
    as a console error naming the policy: what a user would see as a dead button or a missing colour.
    """
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    violations = []
    page.context.on("console", lambda message: violations.append(f"{message.location.get('url')}: {message.text}")
                    if "Content Security Policy" in message.text else None)
    yield
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def signed_in(page, live_server, transactional_db):
    """Sign in through the login page as a fresh user; returns (page, user)."""
    from ..factories import UserFactory

    user = UserFactory(username="ann")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "ann")
    page.fill("input[name=password]", "pw-secret-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page, user
