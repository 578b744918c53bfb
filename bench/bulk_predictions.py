"""Benchmark: an external model stores 100,000 proposals and a client fetches them back, through the API.

Targets (issue 15): store 100,000 proposals in <= 10 s and fetch them in <= 10 s, by cursor, with the
model version. 10,000 images, 10 predictions each (70 % boxes, 20 % polygons of 8-20 points, 10 %
tags), pushed in requests of ``--per-request`` predictions, read back in pages of ``--page-size``.
A real gunicorn on a fresh PostgreSQL database (see bench/_server.py); the server's CPU time (its
processes, from /proc) is printed next to the wall time, since the machine may be shared.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_k python -m bench.bulk_predictions
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
import urllib.request
from datetime import date

from bench._server import server

PER_IMAGE = 10
TICKS = os.sysconf("SC_CLK_TCK")


def _server_cpu(port: int) -> float:
    """User + system seconds of the gunicorn processes bound to ``port`` (master and workers)."""
    pids = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pids[pid] = (cmd, int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    masters = {pid for pid, (cmd, _, _) in pids.items() if b"gunicorn" in cmd and f":{port}".encode() in cmd}
    return sum(cpu for pid, (_, ppid, cpu) in pids.items() if pid in masters or str(ppid) in masters)


def _request(method: str, url: str, token: str, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as response:
        return json.loads(response.read())


def _images(project_id: int, n: int) -> list[int]:
    from labeling.models import Image

    Image.objects.bulk_create(
        (Image(project_id=project_id, file=f"images/{i:06d}.jpg", file_name=f"{i:06d}.jpg", width=1280,
               height=960, sha256=f"{i:064x}", size=1000, format="JPEG") for i in range(n)),
        batch_size=5000,
    )
    return list(Image.objects.filter(project_id=project_id).order_by("id").values_list("id", flat=True))


def _predictions(image_ids: list[int], classes: list[int]) -> list[dict]:
    polygons = []
    for t in range(97):
        n = 8 + t % 13
        cx, cy = 200 + 3 * t, 200 + 2 * t
        polygons.append([[round(cx + (20 + 15 * (j % 3)) * math.cos(2 * math.pi * j / n), 2),
                          round(cy + (20 + 15 * (j % 3)) * math.sin(2 * math.pi * j / n), 2)] for j in range(n)])
    out = []
    for i, image_id in enumerate(image_ids):
        for k in range(PER_IMAGE):
            a = i * PER_IMAGE + k
            cls, score = classes[a % len(classes)], round(0.3 + (a % 70) / 100, 2)
            if k < 7:
                out.append({"image": image_id, "label_class": cls, "kind": "box", "score": score,
                            "geometry": {"x": 10 + a % 300, "y": 5 + a % 200, "w": 25.5 + a % 50, "h": 30 + a % 70}})
            elif k < 9:
                out.append({"image": image_id, "label_class": cls, "kind": "polygon", "score": score,
                            "geometry": {"points": polygons[a % 97]}})
            else:
                out.append({"image": image_id, "label_class": classes[i % len(classes)], "kind": "tag", "score": score})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--per-request", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=10_000)
    args = parser.parse_args()
    with server(workers=2) as (base, token, project_id, _env):
        from labeling.models import LabelClass

        port = int(base.rsplit(":", 1)[1])
        classes = list(LabelClass.objects.filter(project_id=project_id).values_list("id", flat=True))
        items = _predictions(_images(project_id, max(1, args.count // PER_IMAGE)), classes)[: args.count]
        url = f"{base}/api/projects/{project_id}/predictions/"
        model = {"name": "bench-external", "version": "1"}
        print(f"Bulk predictions — {date.today()}: {len(items):,} predictions on {len(items) // PER_IMAGE:,} images")
        cpu0, start = _server_cpu(port), time.perf_counter()
        stored = 0
        for at in range(0, len(items), args.per_request):
            stored += _request("POST", url, token, {"model": model, "predictions": items[at : at + args.per_request]})["stored"]
        post_s, post_cpu = time.perf_counter() - start, _server_cpu(port) - cpu0
        assert stored == len(items), stored
        print(f"store  {stored:>9,} in requests of {args.per_request:,}: {post_s:6.2f} s wall, "
              f"server CPU {post_cpu:5.2f} s   (target <= 10 s)", flush=True)
        cpu0, start = _server_cpu(port), time.perf_counter()
        fetched, pages, nxt = 0, 0, f"{url}?page_size={args.page_size}"
        while nxt:
            page = _request("GET", nxt, token)
            fetched, pages, nxt = fetched + len(page["results"]), pages + 1, page["next"]
        get_s, get_cpu = time.perf_counter() - start, _server_cpu(port) - cpu0
        assert fetched == len(items), fetched
        print(f"fetch  {fetched:>9,} in {pages} pages of {args.page_size:,}: {get_s:6.2f} s wall, "
              f"server CPU {get_cpu:5.2f} s   (target <= 10 s)", flush=True)
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
