"""Benchmark: stream a COCO export of 100,000 images with 1,000,000 annotations.

Targets (issue 5): under 30 s and under 300 MB peak, memory flat as the count grows.
(This mode measures the pure Python writer, the path SQLite and polygon-mask exports take.)
Each size runs in a fresh subprocess so its peak RSS (ru_maxrss) is its own.

    python -m bench.coco_export                    # 100k, 300k and 1M annotations
    python -m bench.coco_export --counts 1000000
    python -m bench.coco_export --api --counts 1000000   # issue 15: through the API on PostgreSQL
    python -m bench.coco_export --api --compare --counts 100000   # also the SQL and Python writers side by side
    python -m bench.coco_export --zip 50 --counts 100000  # the zip with 10,000 images of 50 KB: time per GB

With ``--api``: a fresh PostgreSQL database (BENCH_DATABASE_URL) seeded by COPY, a real gunicorn,
``GET /api/projects/{id}/export/coco/`` streamed to a file: time to the first byte, total time,
the CPU seconds of the server and of its PostgreSQL backend (which writes the annotations' JSON,
labeling/selectors_coco.py) and the worker's peak memory (VmHWM), against issue 15's targets
(<= 5 s, <= 300 MB, first bytes before the last rows are read).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date

PER_IMAGE = 10
W, H = 640, 480


def _mask_rles() -> list[dict]:
    """A few realistic compressed RLEs (blob, ring with a hole, two parts), reused by every mask row."""
    import numpy as np
    from pycocotools import mask as mask_api

    yy, xx = np.mgrid[:H, :W]
    shapes = [
        (xx - 200) ** 2 + (yy - 150) ** 2 < 80**2,
        ((xx - 400) ** 2 + (yy - 300) ** 2 < 120**2) & ((xx - 400) ** 2 + (yy - 300) ** 2 > 50**2),
        ((xx > 20) & (xx < 120) & (yy > 30) & (yy < 90)) | ((xx - 500) ** 2 + (yy - 100) ** 2 < 40**2),
        (abs(xx - 320) + abs(yy - 240) < 60),
    ]
    out = []
    for m in shapes:
        rle = mask_api.encode(np.asfortranarray(m.astype(np.uint8)))
        out.append({"rle": {"size": [H, W], "counts": rle["counts"].decode("ascii")}})
    return out


def rows(n_annotations: int):
    """Lazy rows: images, then annotations (40 % boxes, 35 % polygons of 8-20 points, 25 % masks)."""
    from labeling.coco.rows import AnnotationRow, CategoryRow, ImageRow

    n_images = max(1, n_annotations // PER_IMAGE)
    categories = [CategoryRow(i, f"class-{i}") for i in range(1, 11)]
    masks = _mask_rles()
    # 97 distinct polygons of 8 to 20 points (like the masks, precomputed and reused) so that the
    # figures measure the exporter, not this generator.
    polygons = []
    for t in range(97):
        n = 8 + t % 13
        cx, cy = 100 + 3 * t, 100 + 2 * t
        # Star-shaped (simple) rings: vertices by angle, radius varying.
        pts = [
            [round(cx + (20 + 15 * (j % 3)) * math.cos(2 * math.pi * j / n), 2),
             round(cy + (20 + 15 * (j % 3)) * math.sin(2 * math.pi * j / n), 2)]
            for j in range(n)
        ]
        polygons.append({"points": pts})

    def images():
        for i in range(1, n_images + 1):
            yield ImageRow(i, f"images/{i:07d}.jpg", W, H, tags=("class-1",) if i % 7 == 0 else ())

    def annotations():
        for a in range(n_annotations):
            image_id, cat = a // PER_IMAGE + 1, a % 10 + 1
            k = a % 20
            if k < 8:
                geometry = {"x": 10 + a % 300, "y": 5 + a % 200, "w": 25.5 + a % 50, "h": 30 + a % 70}
                yield AnnotationRow(a + 1, image_id, cat, "box", geometry)
            elif k < 15:
                yield AnnotationRow(a + 1, image_id, cat, "polygon", polygons[a % 97])
            else:
                yield AnnotationRow(a + 1, image_id, cat, "mask", masks[a % len(masks)])

    return categories, images(), annotations()


def child(n_annotations: int) -> dict:
    from labeling.coco.export import coco_export_stream

    categories, images, annotations = rows(n_annotations)
    start = time.perf_counter()
    size = 0
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        for chunk in coco_export_stream(
            info={"description": "bench"}, categories=categories, images=images, annotations=annotations
        ):
            out.write(chunk)
            size += len(chunk)
        out.flush()
        seconds = time.perf_counter() - start
    return {
        "annotations": n_annotations,
        "images": max(1, n_annotations // PER_IMAGE),
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "file_mb": round(size / 1e6, 1),
    }


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def _gunicorn(port: int) -> list[int]:
    """Pids of the gunicorn processes bound to ``port`` (master first)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
                if b"gunicorn" in cmd and f"127.0.0.1:{port}".encode() in cmd:
                    found.append(int(pid))
        except OSError:
            continue
    return found


def _proc(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS MB) of one process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    return cpu, hwm / 1024


def _backends() -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends serving this database, other than our own connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    out = {}
    for pid in pids:
        try:
            out[pid] = _proc(pid)[0]
        except (OSError, StopIteration):
            continue
    return out


def _compare(project_id: int) -> None:
    """Both writers in this process on the rows just seeded: the SQL one and the Python one, side by side."""
    from django.db import connection

    from labeling.coco.export import coco_export_stream
    from labeling.models import Project
    from labeling.services import coco as service

    project = Project.objects.get(pk=project_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def python_writer():  # what every export took before the database wrote the JSON (SQLite still does)
        ids = service._category_ids(project)
        names = dict(project.label_classes.values_list("id", "name"))
        return coco_export_stream(info={}, categories=[], images=service._images(project, None, ["accepted"], names),
                                  annotations=service._annotations(project, None, ["accepted"], ids))

    for name, chunks in (("SQL", lambda: service.coco_export_chunks(project=project)), ("Python", python_writer)):
        start, cpu, db = time.perf_counter(), time.process_time(), _proc(backend)[0]
        size = sum(len(chunk) for chunk in chunks())
        wall, cpu, db = time.perf_counter() - start, time.process_time() - cpu, _proc(backend)[0] - db
        print(f"  {name:>6} writer in one process: {wall:6.2f} s wall, CPU {cpu:5.2f} s + PostgreSQL {db:5.2f} s, "
              f"{size / 1e6:.0f} MB, load {os.getloadavg()[0]:.1f}", flush=True)


def api(counts: list[int], compare: bool = False) -> None:
    import urllib.request

    from bench._server import server

    # Stream the whole export in the request (no job) and let a slow, shared machine finish it.
    os.environ["COCO_EXPORT_SYNC_MAX_ANNOTATIONS"] = str(10 * max(counts))
    os.environ["GUNICORN_CMD_ARGS"] = "--timeout 600"
    print(f"COCO export through the API — {date.today()}, nproc {os.cpu_count()}, {cpu_model()}")
    print("target (issue 15): 1,000,000 annotations on 100,000 images in <= 5 s, peak <= 300 MB, streamed")
    for n in counts:
        with server(workers=1) as (base, token, project_id, _env):
            from bench.coco_seed import seed

            start = time.perf_counter()
            seed(project_id=project_id, n_annotations=n)
            print(f"  seeded {n:,} annotations by COPY in {time.perf_counter() - start:.1f} s", flush=True)
            pids = _gunicorn(int(base.rsplit(":", 1)[1]))
            before = {p: _proc(p)[0] for p in pids}
            db_before = _backends()
            req = urllib.request.Request(f"{base}/api/projects/{project_id}/export/coco/",
                                         headers={"Authorization": f"Token {token}"})
            start = time.perf_counter()
            size, first = 0, None
            with urllib.request.urlopen(req, timeout=900) as response, tempfile.TemporaryFile() as out:
                assert response.status == 200, response.status
                while chunk := response.read(1 << 20):
                    if first is None:
                        first = time.perf_counter() - start
                    size += len(chunk)
                    out.write(chunk)
            seconds = time.perf_counter() - start
            db_cpu = sum(c - db_before.get(p, 0) for p, c in _backends().items())
            usage = {p: _proc(p) for p in pids if os.path.exists(f"/proc/{p}")}
            cpu = sum(c - before.get(p, 0) for p, (c, _) in usage.items())
            peak = max(m for _, m in usage.values())
            print(f"{n:>12,} annotations: first byte {first:5.2f} s, complete {seconds:6.2f} s (target <= 5 s), "
                  f"server CPU {cpu:5.2f} s + PostgreSQL {db_cpu:5.2f} s, peak worker RSS {peak:5.0f} MB "
                  f"(target <= 300), {size / 1e6:.0f} MB, load {os.getloadavg()[0]:.1f}", flush=True)
            from django.db import connections

            if compare:
                _compare(project_id)
            connections.close_all()  # the next size drops and recreates the database


def zip_export(n: int, image_kb: int) -> None:
    """The zip with images, as the export job writes it (in this process): time per GB of images."""
    from bench._server import server

    print(f"COCO zip export with images — {date.today()}, nproc {os.cpu_count()}, {cpu_model()}")
    print("issue 15: report the zip's time per GB of images (the JSON inside as for --api)")
    with server(workers=1) as (_base, _token, project_id, _env):
        from django.conf import settings

        from bench.coco_seed import seed
        from labeling.models import Image, Project
        from labeling.services.coco import coco_export_to_storage

        seed(project_id=project_id, n_annotations=n)
        block = os.urandom(image_kb << 10)  # stored, not compressed: the bytes' content does not matter
        names = Image.objects.filter(project_id=project_id).values_list("file", flat=True)
        for name in names:
            path = settings.MEDIA_ROOT / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(block)
        gb = len(names) * len(block) / 1e9
        project = Project.objects.get(pk=project_id)
        for output in ("json", "zip"):
            start, cpu = time.perf_counter(), time.process_time()
            name = coco_export_to_storage(project=project, job_id=None, options={"output": output})
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            size = (settings.MEDIA_ROOT / name).stat().st_size
            per_gb = f", {wall / gb:.1f} s per GB of images" if output == "zip" else ""
            print(f"{n:>10,} annotations, {len(names):,} images ({gb:.2f} GB) as {output}: {wall:6.2f} s wall, "
                  f"{cpu:5.2f} s CPU (this process), {size / 1e6:.0f} MB{per_gb}; load {os.getloadavg()[0]:.1f}",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api", action="store_true", help="through the API on PostgreSQL (issue 15)")
    parser.add_argument("--compare", action="store_true", help="with --api: also both writers side by side in-process")
    parser.add_argument("--zip", type=int, metavar="KB", help="the zip with images of KB each, as the job writes it")
    args = parser.parse_args()
    if args.zip:
        for n in args.counts:
            zip_export(n, args.zip)
        return
    if args.api:
        api(args.counts, args.compare)
        return
    if args.child:
        print(json.dumps(child(args.child)))
        return
    env = f"{date.today()}, nproc {os.cpu_count()}, {cpu_model()}, Python {platform.python_version()}"
    print(f"COCO export benchmark — {env}")
    print("target: 1,000,000 annotations in < 30 s and < 300 MB peak RSS, flat as the count grows")
    print(f"{'annotations':>12} {'images':>8} {'seconds':>8} {'ann/s':>10} {'peak RSS MB':>12} {'file MB':>8}")
    for n in args.counts:
        out = subprocess.run(
            [sys.executable, "-m", "bench.coco_export", "--child", str(n)], check=True, capture_output=True, text=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rate = r["annotations"] / r["seconds"]
        print(
            f"{r['annotations']:>12,} {r['images']:>8,} {r['seconds']:>8.2f} {rate:>10,.0f} "
            f"{r['peak_rss_mb']:>12.1f} {r['file_mb']:>8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
