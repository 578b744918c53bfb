import pytest
from rest_framework.test import APIClient

from labeling.models import Membership

from .factories import ImageFactory, LabelClassFactory, MembershipFactory, ProjectFactory, UserFactory


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def project(db):
    return ProjectFactory()


@pytest.fixture
def classes(project):
    return [LabelClassFactory(project=project, name=n, hotkey=str(i + 1)) for i, n in enumerate(["cat", "dog", "bird"])]


@pytest.fixture
def image(project):
    return ImageFactory(project=project)


def _member(project, role):
    return MembershipFactory(project=project, role=role, user=UserFactory(username=f"{role}-{project.pk}")).user


@pytest.fixture
def manager(project):
    return _member(project, Membership.Role.MANAGER)


@pytest.fixture
def reviewer(project):
    return _member(project, Membership.Role.REVIEWER)


@pytest.fixture
def annotator(project):
    return _member(project, Membership.Role.ANNOTATOR)


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def client_for():
    """An API client signed in as the given user (by token, as scripts do)."""

    def make(user):
        from rest_framework.authtoken.models import Token

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        return client

    return make


def _database_url_for_workers(settings_dict) -> str:
    """The URL of the database the test runs on, so a worker process opens the same one."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db, settings, tmp_path):
    """A real Celery worker process on the test database and the configured broker."""
    import os
    import subprocess
    import sys
    import time

    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
        "DATABASE_URL": _database_url_for_workers(connection.settings_dict),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    base = [sys.executable, "-m", "celery", "-A", "annotator"]
    subprocess.run([*base, "purge", "-f"], env=env, check=True, capture_output=True, timeout=60)
    log_path = tmp_path / "worker.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [*base, "worker", "-P", "solo", "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    process.log_path = log_path
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
