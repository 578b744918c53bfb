"""List a project with 100,000 annotations page by page through the API (cursor pages by id).

    python -m bench.server_list [--count 100000] [--page-size 1000]
"""

import argparse
import time

import requests

from ._server import percentile, server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--images", type=int, default=1000)
    args = parser.parse_args()
    with server() as (base, token, project_id, _env):
        from django.core.files.base import ContentFile

        from labeling.models import Annotation, Image, LabelClass

        classes = list(LabelClass.objects.filter(project_id=project_id))
        image = Image(project_id=project_id, file_name="0.png", width=2000, height=2000, sha256="0" * 64, size=1, format="PNG")
        image.file.save("x.png", ContentFile(b"x"), save=False)
        image.save()
        images = [image] + Image.objects.bulk_create(
            Image(project_id=project_id, file=image.file.name, file_name=f"{i}.png", width=2000, height=2000,
                  sha256=f"{i:064x}", size=1, format="PNG")
            for i in range(1, args.images)
        )
        t0 = time.perf_counter()
        per_image = args.count // len(images)
        for start in range(0, len(images), 100):
            Annotation.objects.bulk_create(
                Annotation(
                    image=img, label_class=classes[j % 3], kind="polygon",
                    geometry={"points": [[10 + j, 10], [60 + j, 10], [60 + j, 70], [30 + j, 90]]},
                )
                for img in images[start : start + 100]
                for j in range(per_image)
            )
        total = Annotation.objects.count()
        from django.db import connection

        if connection.vendor == "postgresql":
            # Autovacuum analyses a table this size within a minute; without fresh statistics the
            # planner believes the project has one image and picks a plan 3,000 times slower.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(f"# inserted {total} annotations in {time.perf_counter() - t0:.1f} s")
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        url = f"{base}/api/projects/{project_id}/annotations/?page_size={args.page_size}"
        page_times, seen = [], 0
        started = time.perf_counter()
        while url:
            t = time.perf_counter()
            body = session.get(url).json()
            page_times.append((time.perf_counter() - t) * 1000)
            seen += len(body["results"])
            url = body["next"]
        elapsed = time.perf_counter() - started
    print(f"list: {seen} annotations in {len(page_times)} pages of {args.page_size} in {elapsed:.1f} s = "
          f"{seen / elapsed:.0f} annotations/s; page p50 {percentile(page_times, 50):.0f} ms, "
          f"p95 {percentile(page_times, 95):.0f} ms; first page {page_times[0]:.0f} ms, last full page "
          f"{page_times[-2] if len(page_times) > 1 else page_times[0]:.0f} ms")
    assert seen == total


if __name__ == "__main__":
    main()
