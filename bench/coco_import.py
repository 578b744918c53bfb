"""Benchmark: parse and validate a COCO file of 100,000 annotations (target: under 30 s).

The file is written by our exporter from the export benchmark's rows (boxes, polygons and
masks mixed, 10 per image), then read back with ``coco_parse`` in a fresh subprocess.

    python -m bench.coco_import
    python -m bench.coco_import --counts 100000 300000
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100_000])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
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
