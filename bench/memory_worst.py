"""Peak memory of one request or task for the worst inputs of the resource-exhaustion issue.

    python -m bench.memory_worst [--case NAME] [--urls 2000]

Each case runs in a fresh process and reports the growth of ru_maxrss (the process's peak
resident size, KiB from the kernel) across the work, after imports and set-up: that counts
Pillow's and zlib's C buffers, which tracemalloc cannot see. Each figure is printed next to
its bound. Worst inputs:

- json_deep: a 5,000-deep JSON body through the API's JSON parser (was a RecursionError, a 500).
- json_20mb: a 20 MB body of polygons (DATA_UPLOAD_MAX_MEMORY_SIZE) through the same parser.
- coco_nested: a 400 KB COCO file nested 200,000 deep through the COCO importer's parser.
- zip_zeros: a 2 MB zip of twenty 100 MB zero-filled members (within every limit), as an upload
  reads it (zip_members + check_image). Before: 7.3 s and 713 MB in a web worker.
- zip_padded: the same with a real PNG at the start of each member, so that each is inflated
  whole (into a spooled temporary file) and decoded.
- png_check / png_thumbnail / png_features: a 100-MP PNG (about 300 KB) through the upload check,
  the thumbnail task and the feature decoding (RGB and RGBA). Before: 2.6 GB in the features task.
- url_import: a list of N URLs served locally (distinct small PNGs): rows written, writes per
  line, the job list's and the job's response sizes, and what the old whole-result rewrite
  after every URL would have written.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

from ._server import machine

ROOT = Path(__file__).resolve().parent.parent
MB = 1024  # ru_maxrss is in KiB
CASES = ["json_deep", "json_20mb", "coco_nested", "zip_zeros", "zip_padded", "png_check", "png_thumbnail",
         "png_features", "png_features_rgba", "url_import"]


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _django(var: Path):
    os.environ.update({
        "ANNOTATOR_VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'bench.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
        "CELERY_BROKER_URL": "filesystem://",  # nobody consumes: the thumbnails are measured apart
        "LOG_LEVEL": "WARNING",
    })
    import django

    django.setup()


def blank_png(path: Path, width: int, height: int, channels: int = 3) -> int:
    """A black PNG written row by row: a 100-MP one is ~300 KB and never a bitmap here."""
    colour = {1: 0, 3: 2, 4: 6}[channels]

    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    packer, row = zlib.compressobj(9), b"\0" * (1 + channels * width)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, colour, 0, 0, 0])
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path.stat().st_size


# --- The cases (each runs alone in its own process) ------------------------------------------


def case_json_deep(var):
    _django(var)
    import io

    from rest_framework.exceptions import ParseError

    from annotator.parsers import JSONParser

    body = b"[" * 5000 + b"]" * 5000
    before, started = _peak_kib(), time.perf_counter()
    try:
        JSONParser().parse(io.BytesIO(body), "application/json", {})
        outcome = "parsed?!"
    except ParseError as exc:
        outcome = f"400: {exc.detail['detail']}"
    return before, started, {"outcome": outcome, "bound_mib": 5, "before": "RecursionError: a 500"}


def case_json_20mb(var):
    _django(var)
    import io

    from django.conf import settings

    from annotator.parsers import JSONParser

    ring = [[float(i % 1000), float(i % 777)] for i in range(1000)]
    items, size = [], 0
    while size < settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 40_000:
        items.append({"label_class": 1, "kind": "polygon", "geometry": {"points": ring}})
        size += 20_000
    body = json.dumps(items).encode()[: settings.DATA_UPLOAD_MAX_MEMORY_SIZE]
    body = body[: body.rindex(b"},") + 1] + b"]"
    before, started = _peak_kib(), time.perf_counter()
    data = JSONParser().parse(io.BytesIO(body), "application/json", {})
    # Python objects for 20 MB of numbers are what the bulk endpoint then validates: the bound is theirs.
    return before, started, {"outcome": f"{len(body) / 1e6:.1f} MB, {len(data)} polygons parsed", "bound_mib": 500}


def case_coco_nested(var):
    _django(var)
    import io

    try:
        from labeling.coco.importer import coco_parse
    except ImportError:
        missing = {"outcome": "helper B's streaming COCO parser has not landed", "bound_mib": 0}
        return _peak_kib(), time.perf_counter(), missing
    depth = 200_000
    body = b'{"images": [], "annotations": [], "categories": [], "info": ' + b"[" * depth + b"]" * depth + b"}"
    before, started = _peak_kib(), time.perf_counter()
    try:
        coco_parse(io.BytesIO(body), max_bytes=len(body) + 1)
        outcome = "parsed?!"
    except Exception as exc:  # the importer's error names the path
        outcome = f"refused: {str(exc)[-90:]}"
    return before, started, {"outcome": f"{len(body) / 1024:.0f} KB: {outcome}", "bound_mib": 50}


def _zip_case(var, head: bytes, label: str):
    _django(var)
    from django.conf import settings

    from labeling.services.uploads import UploadRefused, check_image, zip_members

    path = var / "zeros.zip"
    member, count = 100_000_000, 20
    zero = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for i in range(count):
            info = zipfile.ZipInfo(f"zeros{i:02}.png")
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as out:
                out.write(head)
                left = member - len(head)
                while left:
                    out.write(zero[: min(left, len(zero))])
                    left -= min(left, len(zero))
    assert count * member <= settings.ZIP_MAX_TOTAL_BYTES and member <= settings.UPLOAD_MAX_FILE_BYTES
    refused = accepted = 0
    before, started = _peak_kib(), time.perf_counter()
    with open(path, "rb") as fh:
        for name, item in zip_members("zeros.zip", fh):
            if isinstance(item, UploadRefused):
                refused += 1
                continue
            try:
                check_image(name, item)
                accepted += 1
            except UploadRefused:
                refused += 1
    outcome = (f"{path.stat().st_size / 1e6:.1f} MB zip of {count}×{member / 1e6:.0f} MB {label}: "
               f"{refused} refused, {accepted} accepted")
    return before, started, {"outcome": outcome, "bound_mib": 50, "before": "7.3 s, 713 MB"}


def case_zip_zeros(var):
    return _zip_case(var, b"", "zero-filled")


def case_zip_padded(var):
    """The same, each member a real 16×16 PNG padded with zeros: every byte is inflated (to disk)."""
    import io

    import PIL.Image

    buf = io.BytesIO()
    PIL.Image.new("RGB", (16, 16)).save(buf, "PNG")
    return _zip_case(var, buf.getvalue(), "PNG + zero padding")


def _png(var, channels=3):
    path = var / "huge.png"
    size = blank_png(path, 10_000, 10_000, channels)
    return path, size


def case_png_check(var):
    _django(var)
    from labeling.services.uploads import check_image

    path, size = _png(var)
    before, started = _peak_kib(), time.perf_counter()
    with open(path, "rb") as fh:
        checked = check_image("huge.png", fh)
    outcome = f"{size / 1024:.0f} KB, {checked.width}×{checked.height} accepted"
    return before, started, {"outcome": outcome, "bound_mib": 50, "before": "400 MB (decoded whole)"}


def case_png_thumbnail(var):
    _django(var)
    from labeling.services.images import thumbnail_of

    path, size = _png(var)
    before, started = _peak_kib(), time.perf_counter()
    with open(path, "rb") as fh:
        thumb = thumbnail_of(fh, 256)
    return before, started, {"outcome": f"{size / 1024:.0f} KB -> {thumb.size}", "bound_mib": 50,
                             "before": "400 MB (one full bitmap, RGB kept as 4 bytes a pixel)"}


def _features(var, channels):
    from mlassist.ml.features import load_image

    path, size = _png(var, channels)
    before, started = _peak_kib(), time.perf_counter()
    pixels, (w, h) = load_image(str(path), 224)
    return before, started, {"outcome": f"{size / 1024:.0f} KB {w}×{h} -> {pixels.shape}", "bound_mib": 50,
                             "before": "2.6 GB (whole features task)"}


def case_png_features(var):
    return _features(var, 3)


def case_png_features_rgba(var):
    return _features(var, 4)


def case_url_import(var, n=2000):
    _django(var)
    import http.server
    import io
    import threading

    import PIL.Image
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from labeling.models import UrlImportLine
    from labeling.services import url_import as svc
    from labeling.services.projects import project_create

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            i = int(self.path.strip("/").split(".")[0])
            buf = io.BytesIO()
            PIL.Image.new("RGB", (16, 16), (i % 256, i // 256 % 256, 7)).save(buf, "PNG")
            body = buf.getvalue() if i % 10 else b"not an image"  # every tenth line is refused
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    settings.URL_IMPORT_ALLOW_NETWORKS = ["127.0.0.1/32"]
    user = get_user_model().objects.create_user("bench", password="bench-password")
    project = project_create(user=user, name="bench", kinds=["box"])
    listing = "\n".join(f"http://127.0.0.1:{httpd.server_address[1]}/{i}.png" for i in range(1, n + 1)).encode()
    url_list = svc.url_list_parse(name="urls.txt", data=listing)
    writes = []

    def count_writes(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            writes.append(len(sql) + len(str(params)))
        return execute(sql, params, many, context)

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    api = APIClient()
    api.force_authenticate(user)
    # Warm up (imports, the URL configuration, a connection): the figure is the import's, not start-up's.
    warm = svc.url_list_parse(name="urls.txt", data=f"http://127.0.0.1:{httpd.server_address[1]}/0.png".encode())
    svc.url_import_job(job_id=svc.url_import_start(project=project, user=user, url_list=warm).pk)
    api.get(f"/api/projects/{project.pk}/jobs/")
    before, started = _peak_kib(), time.perf_counter()
    with connection.execute_wrapper(count_writes):
        job = svc.url_import_start(project=project, user=user, url_list=url_list)
        svc.url_import_job(job_id=job.pk)
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    rows = list(
        UrlImportLine.objects.filter(job=job).order_by("line").values("line", "url", "detail", "outcome", "image")
    )
    # What the old code wrote: the whole growing result after every URL (quadratic).
    old_bytes, acc = 0, 0
    for row in rows:
        acc += len(json.dumps(row)) + 2
        old_bytes += acc
    responses = [
        api.get(f"/api/projects/{project.pk}/jobs/"), api.get(f"/api/jobs/{job.pk}/"),
        api.get(f"/api/jobs/{job.pk}/url-lines/", {"outcome": "refused"}),
    ]
    for response in responses:
        assert response.status_code == 200, response.content[:300]
    list_bytes, job_bytes, page_bytes = (len(r.content) for r in responses)
    httpd.shutdown()
    outcome = (
        f"{n} URLs in {seconds:.1f} s: {len(rows)} rows, result {job.result}; {len(writes)} writes "
        f"({len(writes) / n:.1f} a line, {sum(writes) / 1e6:.1f} MB of SQL; "
        f"the old rewrite: {old_bytes / 1e6:.0f} MB); "
        f"job list {list_bytes} B, job {job_bytes} B, refused page {page_bytes} B"
    )
    return before, started, {"outcome": outcome, "bound_mib": 100, "seconds": seconds}


# --- The driver ------------------------------------------------------------------------------


def run_case(name: str, urls: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="annotator-mem-") as tmp:
        func = globals()[f"case_{name}"]
        before, started, info = func(Path(tmp), urls) if name == "url_import" else func(Path(tmp))
        info.setdefault("seconds", time.perf_counter() - started)
        info["grown_mib"] = (_peak_kib() - before) / MB
        return info


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=CASES)
    parser.add_argument("--urls", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one case, as JSON (internal)
    args = parser.parse_args()
    if args.json:
        print(json.dumps(run_case(args.case, args.urls)))
        return 0
    print(f"# {machine()}; peak memory = growth of ru_maxrss in a fresh process, across the work")
    failed = False
    for name in [args.case] if args.case else CASES:
        out = subprocess.run(
            [sys.executable, "-m", "bench.memory_worst", "--case", name, "--urls", str(args.urls), "--json"],
            cwd=ROOT, capture_output=True, text=True,
        )
        if out.returncode != 0:
            print(f"{name}: FAILED\n{out.stderr[-2000:]}")
            failed = True
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        within = "ok" if not r["bound_mib"] or r["grown_mib"] <= r["bound_mib"] else "OVER"
        before = f" (before: {r['before']})" if r.get("before") else ""
        print(f"{name:18} peak +{r['grown_mib']:7.1f} MiB  bound {r['bound_mib']:4} MiB  {within:4} "
              f"{r['seconds']:6.2f} s  {r['outcome']}{before}")
        failed |= within == "OVER"
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
