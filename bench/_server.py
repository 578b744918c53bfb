"""A real server for the HTTP benchmarks: a fresh database, gunicorn, a user with a token.

PostgreSQL is used when reachable (BENCH_DATABASE_URL, default the local server's
`bench_annotator` database, recreated), otherwise SQLite, and the report says which.
"""

import contextlib
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_annotator")


def machine() -> str:
    cpu = "unknown cpu"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def _fresh_postgres(url: str = PG_URL) -> str | None:
    """Drop and create the benchmark database at ``url``; None (after saying so) when no server answers."""
    try:
        import psycopg2

        name = url.rsplit("/", 1)[1]
        conn = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return url
    except Exception as exc:  # no server here: fall back to SQLite and say so
        print(f"# PostgreSQL unavailable ({exc.__class__.__name__}); using SQLite")
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(workers: int = 4):
    """Yield (base_url, token, project_id, env) for a running gunicorn on a fresh database."""
    var = Path(tempfile.mkdtemp(prefix="annotator-bench-"))
    database = _fresh_postgres() or f"sqlite:///{var / 'bench.sqlite3'}"
    env = {
        **os.environ,
        "ANNOTATOR_VAR_DIR": str(var),
        "DATABASE_URL": database,
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
        "CELERY_BROKER_URL": "filesystem://",  # nobody consumes: thumbnails are not part of the figures
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update({k: env[k] for k in ("ANNOTATOR_VAR_DIR", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL", "LOG_LEVEL")})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from labeling.services.projects import label_class_create, project_create

    user = get_user_model().objects.create_user("bench", password="bench-password")
    token = Token.objects.create(user=user).key
    project = project_create(user=user, name="Bench", kinds=["tag", "box", "polygon", "mask"])
    for name in ("a", "b", "c"):
        label_class_create(project=project, name=name)
    port = _free_port()
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "annotator.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=1)
                break
            time.sleep(0.2)
        print(f"# database: {'PostgreSQL' if database.startswith('postgres') else 'SQLite'}; "
              f"gunicorn workers: {workers}; machine: {machine()}")
        yield base, token, project.pk, env
    finally:
        process.terminate()
        process.wait(timeout=30)


def percentile(values, p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def python_main(module: str) -> list[str]:
    return [sys.executable, "-m", module]


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def signed_in_page(pw, base: str):
    """Debian's Chromium, one page signed in as the benchmarks' user ``bench``: (browser, page)."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", "bench")
    page.fill("input[name=password]", "bench-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return browser, page
