"""The workspace's autosave path: POST /api/images/{id}/annotations/batch/ against gunicorn and PostgreSQL.

Each client works on its own image as a person in the workspace does: every autosave (one per
pause) moves the client's polygon (an update based on its version) and draws a new one (a
create), so one request carries two saves. Clients send back to back (the next batch the moment
the last one answers), which gives the capacity in saves/s and batches/s. Then the same batches
run in this process under cProfile (no HTTP), to say where a batch's time goes: the figures
for the whole request are the gunicorn ones; the profile splits the service's share.

    python -m bench.save_batch [--clients 16] [--seconds 15] [--workers 4] [--profile 300]
"""

import argparse
import cProfile
import io
import os
import pstats
import threading
import time

import requests

from ._server import percentile, server


def _polygon(step: int, dx: int = 0) -> dict:
    x = 10 + (step * 7) % 800 + dx
    return {"points": [[x, 10], [x + 40, 12], [x + 44, 50], [x + 20, 70], [x - 2, 48]]}


def _images(project_id: int, count: int, first: int = 0):
    from django.core.files.base import ContentFile

    from labeling.models import Image

    images = []
    for i in range(first, first + count):
        image = Image(project_id=project_id, file_name=f"{i}.png", width=1024, height=768, sha256=f"{i:064x}",
                      size=1, format="PNG")
        image.file.save("x.png", ContentFile(b"x"), save=False)
        image.save()
        images.append(image)
    return images


def run(base, token, images, label_class, seconds):
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(image):
        session = requests.Session()
        session.headers.update({"Authorization": f"Token {token}"})
        url = f"{base}/api/images/{image.pk}/annotations/batch/"
        first = session.post(url, json={"create": [{"label_class": label_class, "kind": "polygon", "geometry": _polygon(0)}]})
        row = first.json()["created"][0]
        annotation, version, mine, step = row["id"], row["version"], [], 0
        while time.perf_counter() < stop:
            step += 1
            body = {
                "update": [{"id": annotation, "version": version, "geometry": _polygon(step)}],
                "create": [{"label_class": label_class, "kind": "polygon", "geometry": _polygon(step, 100)}],
            }
            t0 = time.perf_counter()
            response = session.post(url, json=body)
            mine.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text[:200]}")
                break
            version = response.json()["updated"][0]["version"]
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(image,)) for image in images]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(f"batch autosave (unpaced, {len(images)} clients): {len(latencies)} batches in {elapsed:.1f} s = "
          f"{len(latencies) / elapsed:.0f} batches/s = {2 * len(latencies) / elapsed:.0f} saves/s "
          f"(1 update + 1 create each); p50 {p50:.1f} ms, p95 {p95:.1f} ms; errors: {len(errors)}")
    for error in errors[:3]:
        print("  error:", error)


def profile(project_id: int, label_class: int, count: int) -> None:
    """The same batches through the service in this process, profiled: where the time goes."""
    from django.contrib.auth import get_user_model

    from labeling.services.annotation_batch import annotation_batch

    user = get_user_model().objects.get(username="bench")
    image = _images(project_id, 1, first=10_000)[0]
    first = annotation_batch(image=image, user=user, delete=[], update=[], create=[
        {"label_class": label_class, "kind": "polygon", "geometry": _polygon(0)}]).created[0]
    version = first.version
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for step in range(1, count + 1):
        result = annotation_batch(
            image=image, user=user, delete=[],
            update=[{"id": first.pk, "version": version, "geometry": _polygon(step)}],
            create=[{"label_class": label_class, "kind": "polygon", "geometry": _polygon(step, 100)}],
        )
        version = result.updated[0].version
    profiler.disable()
    per = (time.perf_counter() - started) * 1000 / count
    print(f"# in-process service only (no HTTP, no auth, no serializer), one client: {per:.2f} ms per batch, profiled")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(12)  # where the time is spent
    stats.sort_stats("cumulative").print_stats(r"labeling/", 12)  # which of our steps spend it
    for line in out.getvalue().splitlines():
        if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced", "function calls")):
            print("#   " + line[:160])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--profile", type=int, default=300, help="batches to profile in-process")
    args = parser.parse_args()
    with server(workers=args.workers) as (base, token, project_id, _env):
        from labeling.models import LabelClass

        label_class = LabelClass.objects.filter(project_id=project_id).first().pk
        images = _images(project_id, args.clients)
        run(base, token, images, label_class, args.seconds)
        print(f"# load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    profile(project_id, label_class, args.profile)


if __name__ == "__main__":
    main()
