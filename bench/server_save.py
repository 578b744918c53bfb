"""Save annotations with 16 concurrent clients against gunicorn and PostgreSQL.

Each client owns one annotation and saves it over and over as the workspace's autosave does:
a PATCH carrying the version it was based on. Target: p95 under 30 ms on a 2-core machine.

Two runs in one process: paced clients (each saves every --interval seconds, as people do:
the workspace batches edits and saves at most a few times a second), which the latency target is
about; then unpaced clients (the next save the moment the last one answers), which gives the
capacity in requests/s. With unpaced clients latency is simply clients / capacity.

    python -m bench.server_save [--clients 16] [--seconds 20] [--interval 0.25]
"""

import argparse
import threading
import time

import requests

from ._server import percentile, server

TARGET_P95_MS = 30


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between one client's saves")
    args = parser.parse_args()
    with server(workers=args.workers) as (base, token, project_id, _env):
        from django.core.files.base import ContentFile

        from labeling.models import Image, LabelClass

        label_class = LabelClass.objects.filter(project_id=project_id).first()
        images = []
        for i in range(args.clients):
            image = Image(project_id=project_id, file_name=f"{i}.png", width=1024, height=768, sha256=f"{i:064x}",
                          size=1, format="PNG")
            image.file.save("x.png", ContentFile(b"x"), save=False)
            image.save()
            images.append(image)
        for interval in (args.interval, 0):
            run(base, token, images, label_class, args, interval)


def run(base, token, images, label_class, args, interval):
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + args.seconds

    def client(image):
        session = requests.Session()
        session.headers.update({"Authorization": f"Token {token}"})
        created = session.post(
            f"{base}/api/images/{image.pk}/annotations/",
            json={"label_class": label_class.pk, "kind": "box", "geometry": {"x": 1, "y": 1, "w": 10, "h": 10}},
        ).json()
        annotation, version, mine, step = created["id"], created["version"], [], 0
        while time.perf_counter() < stop:
            step += 1
            body = {"version": version, "geometry": {"x": 1 + step % 500, "y": 1, "w": 10, "h": 10}}
            t0 = time.perf_counter()
            response = session.patch(f"{base}/api/annotations/{annotation}/", json=body)
            mine.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text[:200]}")
                break
            version = response.json()["version"]
            if interval:
                time.sleep(max(0.0, interval - (time.perf_counter() - t0)))
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(image,)) for image in images]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    pace = f"each every {interval * 1000:.0f} ms" if interval else "unpaced"
    p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
    print(f"save ({pace}): {len(latencies)} saves by {args.clients} clients in {elapsed:.1f} s = "
          f"{len(latencies) / elapsed:.0f} req/s; p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms "
          f"(target p95 < {TARGET_P95_MS} ms: {'met' if p95 < TARGET_P95_MS else 'NOT met'}); errors: {len(errors)}")
    for error in errors[:3]:
        print("  error:", error)


if __name__ == "__main__":
    main()
