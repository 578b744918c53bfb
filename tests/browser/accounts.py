"""Signing in through the login page, as a person does (every factory user has this password)."""


def sign_in(page, live_server, username: str, password: str = "pw-secret-123") -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
