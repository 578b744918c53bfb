"""Security headers, the Content-Security-Policy, password rules, production's required settings, /health."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _csp(response) -> dict[str, list[str]]:
    policy = {}
    for directive in response["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        policy[name] = values
    return policy


def test_pages_and_the_api_send_the_security_headers(client, manager, client_for):
    client.force_login(manager)
    page = client.get("/")
    api = client_for(manager).get("/api/projects/")
    for response in (page, api):
        assert response.status_code == 200
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_content_security_policy_allows_nothing_inline_and_no_other_origin(client, manager):
    client.force_login(manager)
    policy = _csp(client.get("/"))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]


def test_only_the_api_docs_page_may_use_inline_styles_and_its_script_is_a_file(client, manager):
    client.force_login(manager)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    policy = _csp(docs)
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["script-src"] == ["'self'"]
    assert b"<script>" not in docs.content  # the split view serves its script from a URL
    assert client.get("/api/docs/?script=").status_code == 200


def test_with_s3_storage_images_may_come_from_the_storage_host(tmp_path):
    env = {**os.environ, "ANNOTATOR_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "annotator.settings",
           "STORAGE_BACKEND": "s3", "AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_ENDPOINT_URL": "https://s3.example.org"}
    code = "from django.conf import settings; print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])"
    out = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert "'https://s3.example.org'" in out and "'https://*.s3.example.org'" in out


@pytest.mark.parametrize("missing", ["DATABASE_URL", "CELERY_BROKER_URL"])
def test_production_mode_refuses_to_start_without_its_servers(tmp_path, missing):
    env = {**os.environ, "ANNOTATOR_MODE": "production", "ANNOTATOR_VAR_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "annotator.settings", "SECRET_KEY": "s" * 60,
           "DATABASE_URL": "postgres://annotator@127.0.0.1:5432/annotator",
           "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    env.pop(missing)
    result = subprocess.run([sys.executable, "-c", "import annotator.settings"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"ANNOTATOR_MODE=production needs {missing}" in result.stderr


def test_the_password_rules_are_djangos_four(client, manager):
    """Entirely numeric, too common, too short, too like the user name: each is refused with its reason."""
    manager.set_password("an-old-Passw0rd-for-the-test")
    manager.save()
    client.force_login(manager)
    refusals = {
        "83920417563": "entirely numeric",
        "password123": "too common",
        "Xq7!": "too short",
        manager.username + "x1": "too similar to the username",
    }
    for password, reason in refusals.items():
        response = client.post("/accounts/password/", {"old_password": "an-old-Passw0rd-for-the-test",
                                                        "new_password1": password, "new_password2": password})
        assert response.status_code == 200, password
        assert reason in response.content.decode(), (password, reason)
    ok = client.post("/accounts/password/", {"old_password": "an-old-Passw0rd-for-the-test",
                                             "new_password1": "violet-harbour-lantern-42",
                                             "new_password2": "violet-harbour-lantern-42"})
    assert ok.status_code == 302
    manager.refresh_from_db()
    assert manager.check_password("violet-harbour-lantern-42")


def test_health_needs_no_sign_in_and_reports_each_part(client, db):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_health_reports_an_unreachable_broker_but_stays_in_rotation(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "broker": "unreachable"}
