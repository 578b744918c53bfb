"""Benchmark: parse and validate a COCO file of 100,000 annotations (target: under 30 s).

The file is written by our exporter from the export benchmark's rows (boxes, polygons and
masks mixed, 10 per image), then read back with ``coco_parse`` in a fresh subprocess.

    python -m bench.coco_import
    python -m bench.coco_import --counts 100000 300000
    python -m bench.coco_import --db --counts 100000   # issue 15: parse + store on PostgreSQL

With ``--db``: a fresh PostgreSQL database (BENCH_DATABASE_URL) whose project holds the file's
images (seeded by COPY); ``coco_import`` (the service the API and the import job call) reads,
validates and stores the file in one transaction: wall and CPU seconds, split into parse and store
(issue 15's target: 1,000,000 annotations in <= 30 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date

from bench.coco_export import cpu_model, rows


def child(path: str) -> dict:
    from labeling.coco.importer import coco_parse

    start = time.perf_counter()
    with open(path, "rb") as fp:
        parsed = coco_parse(fp, max_bytes=4 << 30)
    seconds = time.perf_counter() - start
    kinds: dict[str, int] = {}
    for a in parsed.annotations:
        kinds[a.kind] = kinds.get(a.kind, 0) + 1
    return {
        "annotations": len(parsed.annotations),
        "images": len(parsed.images),
        "kinds": kinds,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def write_file(n: int, path: str) -> int:
    from labeling.coco.export import coco_export_stream

    categories, images, annotations = rows(n)
    size = 0
    with open(path, "wb") as out:
        for chunk in coco_export_stream(info={}, categories=categories, images=images, annotations=annotations):
            out.write(chunk)
            size += len(chunk)
    return size


def db(counts: list[int]) -> None:
    from bench._server import _fresh_postgres

    print(f"COCO import into PostgreSQL — {date.today()}, nproc {os.cpu_count()}, {cpu_model()}")
    print("target (issue 15): 1,000,000 annotations validated and stored in <= 30 s, in one transaction")
    for n in counts:
        url = _fresh_postgres()
        assert url, "PostgreSQL is needed for --db"
        os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="annotator.settings", LOG_LEVEL="WARNING")
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connections

        from bench.coco_seed import seed
        from labeling.coco import importer
        from labeling.models import Annotation
        from labeling.services.coco import coco_import
        from labeling.services.projects import project_create

        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create_user("bench-import")
        project = project_create(user=user, name="Import", kinds=["tag", "box", "polygon", "mask"])
        seed(project_id=project.pk, n_annotations=0, n_images=max(1, n // 10))
        parse_time = {}
        original = importer.coco_parse

        def timed(*a, **k):  # split the figure: reading and validating the file, then storing it
            t, c = time.perf_counter(), time.process_time()
            try:
                return original(*a, **k)
            finally:
                parse_time.update(wall=time.perf_counter() - t, cpu=time.process_time() - c)

        import labeling.services.coco as service

        service.coco_parse = timed
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "instances.json")
            size = write_file(n, path)
            start, cpu = time.perf_counter(), time.process_time()
            with open(path, "rb") as fp:
                result = coco_import(project=project, user=user, coco_file=fp)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert Annotation.objects.filter(image__project=project).count() == result["annotations"]
        print(f"{result['annotations']:>10,} annotations ({size / 1e6:.0f} MB): {wall:6.2f} s wall "
              f"(parse {parse_time['wall']:.2f}, store {wall - parse_time['wall']:.2f}), this process's CPU "
              f"{cpu:.2f} s (parse {parse_time['cpu']:.2f}); peak RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; load {os.getloadavg()[0]:.1f}",
              flush=True)
        service.coco_parse = original
        connections.close_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100_000])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--db", action="store_true", help="parse and store on PostgreSQL (issue 15)")
    args = parser.parse_args()
    if args.db:
        db(args.counts)
        return
    if args.child:
        print(json.dumps(child(args.child)))
        return
    env = f"{date.today()}, nproc {os.cpu_count()}, {cpu_model()}, Python {platform.python_version()}"
    print(f"COCO import benchmark — {env}")
    print("target: 100,000 annotations parsed and validated in < 30 s")
    print(f"{'annotations':>12} {'images':>8} {'file MB':>8} {'seconds':>8} {'ann/s':>10} {'peak RSS MB':>12}  kinds")
    for n in args.counts:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "instances.json")
            size = write_file(n, path)
            out = subprocess.run(
                [sys.executable, "-m", "bench.coco_import", "--child", path], check=True, capture_output=True, text=True
            )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['annotations']:>12,} {r['images']:>8,} {size / 1e6:>8.1f} {r['seconds']:>8.2f} "
            f"{r['annotations'] / r['seconds']:>10,.0f} {r['peak_rss_mb']:>12.1f}  {r['kinds']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
