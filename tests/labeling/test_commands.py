import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.models import Image, Project

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.django_db
def test_create_api_user_prints_a_working_token_on_its_last_line():
    out = StringIO()
    call_command("create_api_user", "script", stdout=out, stderr=StringIO())
    token = out.getvalue().strip().splitlines()[-1]
    assert Token.objects.get(user__username="script").key == token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/projects/").status_code == 200
    again = StringIO()
    call_command("create_api_user", "script", "--superuser", stdout=again, stderr=StringIO())
    assert again.getvalue().strip().splitlines()[-1] == token


@pytest.mark.django_db
def test_seed_demo_makes_a_project_from_packaged_images_and_an_admin():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "password:" in out.getvalue()
    project = Project.objects.get(name="Demo")
    assert project.images.count() >= 3
    astronaut = Image.objects.get(file_name="astronaut.jpg")
    assert (astronaut.width, astronaut.height) == (512, 512)
    call_command("seed_demo", stdout=StringIO())  # a second run changes nothing
    assert Project.objects.filter(name="Demo").count() == 1


@pytest.mark.django_db
def test_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_production_mode_passes_the_deploy_check(tmp_path):
    env = {
        **os.environ,
        "ANNOTATOR_MODE": "production",
        "SECRET_KEY": "x" * 60 + "-production-secret-for-the-check",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "ANNOTATOR_VAR_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "annotate.example.org",
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
    }
    env.pop("DEBUG", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests' live server only
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_mode_requires_a_secret_key(tmp_path):
    env = {**os.environ, "ANNOTATOR_MODE": "production", "ANNOTATOR_VAR_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "annotator.settings"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_embedded_mode_keeps_the_generated_secret(tmp_path):
    env = {**os.environ, "ANNOTATOR_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "annotator.settings"}
    env.pop("SECRET_KEY", None)
    env.pop("ANNOTATOR_MODE", None)
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    run = lambda: subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT, env=env,  # noqa: E731
                                 capture_output=True, text=True).stdout.strip()
    first = run()
    assert len(first) > 40 and run() == first
