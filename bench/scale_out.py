"""Feature extraction on S3 storage with 1, 2 and 3 Celery workers: does throughput grow with workers?

    python -m bench.scale_out [--images 150] [--projects 3] [--workers 1,2,3]

The deployment of tests/test_scale_out.py (bench/_stack.py): moto's S3 server, two gunicorn
instances, N worker processes (one task at a time each), PostgreSQL (BENCH_DATABASE_URL, recreated)
and Redis (BENCH_BROKER_URL, else CELERY_BROKER_URL; the workers are paused and resumed through
Celery's remote control, which needs it). Per round: N fresh workers, warmed by one small features
job each; consumption paused; ``--images`` JPEGs of 640x480 uploaded through the API into
``--projects`` new projects; then resumed, and timed until every features job has succeeded.

One project's new images are one features job, run by one worker: workers share the work of
several projects (or uploads), not of one. Hence several projects here; ``--projects 1`` shows the
other case. The workers also make the uploads' thumbnails (one task per image, queued first), so
the wall-clock figure is the upload's whole after-work; the features figure is the features jobs'
own window (first started to last finished). MobileNetV2 at 224 px with random weights (the speed
does not depend on their values).
"""

import argparse
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests

from bench._server import _fresh_postgres, machine
from bench._stack import Stack
from bench.ml_features import make_jpegs

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_scaleout")


def setup_database(var: Path, broker: str) -> str:
    """Migrate the fresh database in this process; returns a token of a user who may create projects."""
    os.environ.update({"ANNOTATOR_VAR_DIR": str(var), "DATABASE_URL": DATABASE_URL,
                       "DJANGO_SETTINGS_MODULE": "annotator.settings", "CELERY_BROKER_URL": broker,
                       "LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench")
    user.user_permissions.add(Permission.objects.get(codename="add_project", content_type__app_label="labeling"))
    return Token.objects.create(user=user).key


class Api:
    def __init__(self, bases, token):
        self.bases, self.n = bases, 0
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def call(self, method, path, **kw):
        """Each call to the next web instance in turn."""
        self.n += 1
        response = self.session.request(method, self.bases[self.n % len(self.bases)] + path, timeout=300, **kw)
        assert response.status_code < 400, (response.status_code, response.text[:500])
        return response.json() if response.content else None


def new_projects(api, count, files_per_project, jpegs, tag):
    """``count`` projects, each given its share of ``jpegs`` through the API (25 files a request)."""
    projects = []
    for p in range(count):
        project = api.call("POST", "/api/projects/", json={"name": f"{tag} {p}", "kinds": ["tag"]})["id"]
        mine = jpegs[p * files_per_project : (p + 1) * files_per_project]
        for start in range(0, len(mine), 25):
            files = [("files", (Path(path).name, Path(path).read_bytes(), "image/jpeg"))
                     for path in mine[start : start + 25]]
            api.call("POST", f"/api/projects/{project}/images/", files=files)
        projects.append(project)
    return projects


def features_jobs_done(api, projects, timeout=1800):
    deadline = time.monotonic() + timeout
    while True:
        jobs = [job for p in projects for job in api.call("GET", f"/api/projects/{p}/jobs/?kind=features")["results"]]
        failed = [job for job in jobs if job["state"] == "failed"]
        assert not failed, failed
        if jobs and all(job["state"] == "succeeded" for job in jobs) and {j["project"] for j in jobs} == set(projects):
            return jobs
        assert time.monotonic() < deadline, "features jobs did not finish"
        time.sleep(0.1)


def warm(api, logs, n):
    """One small features job per worker, so that each has TensorFlow loaded before the timed work."""
    jpegs = make_jpegs(tempfile.mkdtemp(), 2 * n, seed=99)
    for attempt in range(3):
        features_jobs_done(api, new_projects(api, n, 2, jpegs, f"warm-up {attempt}"))
        if all("mlassist.features_compute" in log.read_text() for log in logs):
            return True
    return False


def round_with(stack, api, workers, args, jpegs):
    from annotator.celery import app

    stack.purge_queue()
    processes = stack.workers(workers)
    logs = sorted(stack.folder.glob("worker-*.log"))[-workers:]
    all_warm = warm(api, logs, workers)
    replies = app.control.cancel_consumer("celery", reply=True, timeout=10)
    assert len(replies) == workers, f"paused {len(replies)} of {workers} workers"
    per_project = args.images // args.projects
    projects = new_projects(api, args.projects, per_project, jpegs, f"{workers} workers")
    began = time.monotonic()
    app.control.add_consumer("celery", reply=True, timeout=10)
    jobs = features_jobs_done(api, projects)
    wall = time.monotonic() - began
    started = min(datetime.fromisoformat(j["started_at"]) for j in jobs)
    finished = max(datetime.fromisoformat(j["finished_at"]) for j in jobs)
    window = (finished - started).total_seconds()
    stack.stop(processes)
    images = per_project * args.projects
    return images / window, images / wall, window, wall, all_warm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=150)
    ap.add_argument("--projects", type=int, default=3)
    ap.add_argument("--workers", default="1,2,3")
    args = ap.parse_args()
    broker = os.environ.get("BENCH_BROKER_URL") or os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        raise SystemExit("Set BENCH_BROKER_URL (or CELERY_BROKER_URL) to a Redis database: the workers are paused "
                         "and resumed through Celery's remote control.")
    if not _fresh_postgres(DATABASE_URL):
        raise SystemExit("PostgreSQL is needed (BENCH_DATABASE_URL): several processes share the database.")
    folder = Path(tempfile.mkdtemp(prefix="annotator-scale-out-"))
    token = setup_database(folder / "var", broker)
    jpegs = make_jpegs(tempfile.mkdtemp(), args.images)
    env = {**os.environ, "MLASSIST_BACKBONE_WEIGHTS": "none", "LOG_LEVEL": "INFO"}
    results = {}
    with Stack(folder / "stack", env) as stack:
        stack.s3()
        api = Api(stack.webs(2), token)
        for n in (int(w) for w in args.workers.split(",")):
            results[n] = round_with(stack, api, n, args, jpegs)
            print(f"{n} worker(s): features {results[n][0]:.1f} images/s ({results[n][2]:.1f} s); upload's whole "
                  f"after-work (thumbnails + features) {results[n][1]:.1f} images/s ({results[n][3]:.1f} s)"
                  + ("" if results[n][4] else "; not every worker was warm"), flush=True)
        assert not stack.media_root.exists(), "something was written to the local media folder"
    load = os.getloadavg()
    print(f"# {args.images} JPEGs 640x480 in {args.projects} project(s), S3 (moto server), PostgreSQL, Redis; "
          f"2 gunicorn instances; machine: {machine()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    base = results[min(results)][0]
    growth = ", ".join(f"{n}: x{results[n][0] / base:.2f}" for n in sorted(results))
    print(f"features throughput relative to {min(results)} worker(s): {growth} "
          f"(expected to grow with workers while cores are free; {os.cpu_count()} cores here)")


if __name__ == "__main__":
    main()
