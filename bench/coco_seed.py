"""Seed a project on PostgreSQL with the export benchmark's rows (images and annotations by COPY).

Used by ``bench.coco_export --api``: 100,000 images and 1,000,000 annotations (40 % boxes, 35 %
polygons, 25 % masks, 10 per image) in about a minute, through the same COPY path as bulk predictions.
"""

from __future__ import annotations

import csv
import io

from django.db import connection, transaction


def seed(*, project_id: int, n_annotations: int, n_images: int | None = None) -> None:
    """``n_images`` (default: one per 10 annotations) images, then the annotations on them."""
    from labeling.geometry import checked_geometry
    from labeling.models import Image, LabelClass
    from labeling.rules import coco_fields
    from labeling.services.bulk_rows import AnnotationRowIn, annotations_insert

    from .coco_export import H, W, rows

    categories, images, annotations = rows(n_annotations)
    if n_images is not None:
        images = rows(n_images * 10)[1]
    for c in categories:
        LabelClass.objects.get_or_create(project_id=project_id, name=c.name, defaults={"order": c.id})
    class_ids = dict(LabelClass.objects.filter(project_id=project_id).values_list("name", "id"))
    by_category = {c.id: class_ids[c.name] for c in categories}
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)  # quoted "" is an empty string, not NULL
    cols = "project_id, file, thumbnail, file_name, width, height, sha256, size, format, status, created_at, updated_at"
    first = None
    with transaction.atomic(), connection.cursor() as cursor:
        for img in images:
            writer.writerow((project_id, f"images/{img.id:07d}.jpg", "", img.file_name, W, H, f"{img.id:064x}", 1000,
                             "JPEG", "new", "2026-11-25T00:00:00Z", "2026-11-25T00:00:00Z"))
        buffer.seek(0)
        cursor.cursor.copy_expert(f"COPY {Image._meta.db_table} ({cols}) FROM STDIN WITH (FORMAT csv)", buffer)
        first = Image.objects.filter(project_id=project_id).order_by("id").values_list("id", flat=True).first()
        outlines, fields = {}, {}

        def rows_in():
            for a in annotations:
                outline = None
                if a.kind == "mask":
                    key = a.geometry["rle"]["counts"]
                    if key not in outlines:
                        outlines[key] = checked_geometry("mask", a.geometry, width=W, height=H, path="geometry")[1]
                    outline = outlines[key]
                if a.kind == "box":
                    bbox, area = coco_fields(a.kind, a.geometry)
                else:  # the rows reuse a few polygons and masks: their fields once each
                    if id(a.geometry) not in fields:
                        fields[id(a.geometry)] = coco_fields(a.kind, a.geometry)
                    bbox, area = fields[id(a.geometry)]
                yield AnnotationRowIn(image_id=first + a.image_id - 1, label_class_id=by_category[a.category_id],
                                      kind=a.kind, geometry=a.geometry, outline=outline, origin="human",
                                      state="accepted", coco_bbox=bbox, coco_area=area)

        annotations_insert(rows_in())
        cursor.execute(f"ANALYZE {Image._meta.db_table}")
