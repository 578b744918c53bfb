import pytest
from rest_framework.test import APIClient

from labeling.models import Membership

from .factories import ImageFactory, LabelClassFactory, MembershipFactory, ProjectFactory, UserFactory


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Failed sign-ins, wrong tokens and request rates are counted in the cache: each test starts at zero."""
    from django.core.cache import cache

    cache.clear()


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


class WorkerProcess:
    """A real Celery worker process on the test database and the configured broker."""

    def __init__(self, env: dict, log_path):
        import subprocess
        import sys

        self.env, self.log_path = env, log_path
        self.log = open(log_path, "a")
        ready_before = log_path.read_text().count("ready.")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "annotator", "worker", "-P", "solo", "-l", "info",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self._wait_ready(ready_before)

    def _wait_ready(self, ready_before: int):
        import time

        deadline = time.monotonic() + 90
        while self.log_path.read_text().count("ready.") <= ready_before:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{self.log_path.read_text()}")
            time.sleep(0.2)

    def kill(self):
        """SIGKILL: the worker dies mid-task without acknowledging it, as in a crash or OOM kill."""
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self):
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


@pytest.fixture
def worker_env(transactional_db, settings):
    import os

    from django.db import connection

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "annotator.settings_test",
        "DATABASE_URL": _database_url_for_workers(connection.settings_dict),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }


@pytest.fixture
def start_worker(worker_env, tmp_path):
    """Start real worker processes (a fresh broker queue first); all are stopped after the test."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "celery", "-A", "annotator", "purge", "-f"], env=worker_env, check=True,
                   capture_output=True, timeout=60)
    workers = []

    def start():
        workers.append(WorkerProcess(worker_env, tmp_path / "worker.log"))
        return workers[-1]

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def celery_worker_process(start_worker):
    return start_worker()
