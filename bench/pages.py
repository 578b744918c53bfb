"""Server time of every screen's page load with 10,000 images and 100,000 annotations.

    python -m bench.pages [--images 10000] [--annotations 100000] [--runs 30]

The data is written with bulk_create into a fresh database: PostgreSQL at BENCH_PAGES_DATABASE_URL
(default postgres://postgres@127.0.0.1:5432/bench_pages, dropped and created again) when it is
reachable, otherwise SQLite, and the report says which. Each page is requested in-process through
Django's test client as a signed-in manager (the whole middleware stack, sessions, templates),
after one warm-up request; the figure is the time until the response is complete, so it is the
server's time without the network. Screens append their pages to PAGES: (label, URL template over
{p} the project and {i} an image, {a} an annotation). Limit: 300 ms at p95.
"""

import argparse
import contextlib
import os
import tempfile
import time
from pathlib import Path

PG_URL = os.environ.get("BENCH_PAGES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_pages")
LIMIT_MS = 300

PAGES = [
    ("project page (images grid)", "/projects/{p}/"),
    ("project page, status filter", "/projects/{p}/?status=done&page=3"),
    ("classes", "/projects/{p}/classes/"),
    ("export", "/projects/{p}/export/"),
    ("import", "/projects/{p}/import/"),
    ("settings (with delete counts)", "/projects/{p}/settings/"),
    ("API: stats (project page refresh)", "/api/projects/{p}/stats/"),
    ("review grid page", "/projects/{p}/review/"),
    ("API: delete summary of 'done'", "/api/projects/{p}/images/delete/?status=done"),
    ("API: last exports list", "/api/projects/{p}/jobs/?kind=coco_export&page_size=10"),
]

# The model, team and statistics screens, with the data they show (bench/pages_model_team.py).
from ._server import _fresh_postgres  # noqa: E402
from .pages_model_team import PAGES as _MODEL_TEAM_PAGES  # noqa: E402
from .pages_model_team import fill as _fill_model_team  # noqa: E402

PAGES += _MODEL_TEAM_PAGES


def _database(var: Path) -> str:
    return _fresh_postgres(PG_URL) or f"sqlite:///{var / 'pages.sqlite3'}"


def _fill(n_images: int, n_annotations: int):
    """A manager, a project with 3 classes, images in every status, boxes with their audit events."""
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.db import connection
    from django.utils import timezone

    from labeling.models import Annotation, AnnotationEvent, Image, Job
    from labeling.services.projects import label_class_create, project_create

    user = get_user_model().objects.create_user("bench", password="bench-password", is_staff=True)
    project = project_create(user=user, name="Bench pages", kinds=["tag", "box", "polygon", "mask"])
    classes = [label_class_create(project=project, name=n) for n in ("car", "person", "bike")]
    first = Image(project=project, file_name="0.png", width=2000, height=1500, sha256="0" * 64, size=1, format="PNG")
    first.file.save("x.png", ContentFile(b"x"), save=False)
    first.save()
    statuses = ["new", "in_progress", "done", "reviewed"]
    Image.objects.bulk_create(
        (Image(project=project, file=first.file.name, file_name=f"{i}.png", width=2000, height=1500,
               sha256=f"{i:064x}", size=1, format="PNG", status=statuses[i % 4]) for i in range(1, n_images)),
        batch_size=2000,
    )
    image_ids = list(project.images.values_list("pk", flat=True))
    per_image = max(1, n_annotations // len(image_ids))
    for start in range(0, len(image_ids), 500):
        made = Annotation.objects.bulk_create(
            Annotation(image_id=image_id, label_class=classes[j % 3], kind="box",
                       geometry={"x": 10 + j, "y": 10, "w": 50, "h": 40}, created_by=user)
            for image_id in image_ids[start:start + 500] for j in range(per_image)
        )
        AnnotationEvent.objects.bulk_create(
            AnnotationEvent(annotation_id=a.pk, project_id=project.pk, image_id=a.image_id, action="create",
                            actor=user, after={"label_class": a.label_class_id, "kind": "box"})
            for a in made
        )
    for k in range(5):  # the last exports, with files whose sizes the export page reads
        job = Job.objects.create(project=project, kind="coco_export", state="succeeded", progress=1,
                                 params={"output": "json", "states": ["accepted"], "mask_format": "rle"},
                                 finished_at=timezone.now(), created_by=user)
        job.result_file.save(f"export-{k}.json", ContentFile(b"{}" * 1000))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    some_annotation = Annotation.objects.filter(image__project=project).order_by("pk").values_list("pk", flat=True)[0]
    return user, project, image_ids[len(image_ids) // 2], some_annotation


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--annotations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="annotator-bench-pages-"))
    database = _database(var)
    os.environ.update({"ANNOTATOR_VAR_DIR": str(var), "DATABASE_URL": database,
                       "DJANGO_SETTINGS_MODULE": "annotator.settings", "CELERY_BROKER_URL": "filesystem://",
                       "LOG_LEVEL": "ERROR", "API_THROTTLE_USER_RATE": "1000000/minute"})
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from ._server import machine, percentile

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    user, project, image_id, annotation_id = _fill(args.images, args.annotations)
    _fill_model_team(project, user)
    from labeling.models import Annotation

    print(f"# {project.images.count()} images, {Annotation.objects.filter(image__project=project).count()} annotations "
          f"written in {time.perf_counter() - t0:.0f} s; database: "
          f"{'PostgreSQL' if database.startswith('postgres') else 'SQLite'}; machine: {machine()}")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    failures = []
    print(f"{'page':45} {'p50 ms':>8} {'p95 ms':>8}  status")
    for label, template in PAGES:
        url = template.format(p=project.pk, i=image_id, a=annotation_id)
        times = []
        status = None
        for run in range(args.runs + 1):
            started = time.perf_counter()
            response = client.get(url)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
            elapsed = (time.perf_counter() - started) * 1000
            status = response.status_code
            if run:  # the first is a warm-up (template loading, connection)
                times.append(elapsed)
        p50, p95 = percentile(times, 50), percentile(times, 95)
        ok = status == 200 and p95 <= LIMIT_MS
        if not ok:
            failures.append(label)
        print(f"{label:45} {p50:8.1f} {p95:8.1f}  {status}{'' if ok else '  OVER LIMIT or not 200'}")
    print(f"# limit: p95 <= {LIMIT_MS} ms and 200 for every page; {'all within' if not failures else 'FAILED: ' + ', '.join(failures)}")
    with contextlib.suppress(Exception):
        from django.db import connections

        connections.close_all()
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
