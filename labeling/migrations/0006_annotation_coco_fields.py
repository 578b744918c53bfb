"""COCO's bbox and area stored with every shape (labeling.rules.coco_fields), for existing rows too.

A COCO export of a million annotations spent most of its time in Python, rasterising each
polygon and mask again for its area and box; with both stored, PostgreSQL writes each
annotation's JSON itself (labeling/services/coco_sql.py).

Existing rows are filled here in batches, through the one function every write path uses.
On PostgreSQL a trigger makes a stale value impossible: an UPDATE that changes the geometry
but leaves both fields as they were (a writer that does not know them) clears them, and the
export computes such rows itself, as it does for any row whose fields are empty.
"""

from django.db import migrations, models

BATCH = 2000

POSTGRESQL = [
    """
    CREATE OR REPLACE FUNCTION labeling_annotation_coco_stale() RETURNS trigger AS $$
    BEGIN
        NEW.coco_bbox := NULL;
        NEW.coco_area := NULL;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER labeling_annotation_coco_stale
    BEFORE UPDATE ON labeling_annotation
    FOR EACH ROW
    WHEN (NEW.geometry IS DISTINCT FROM OLD.geometry
          AND NEW.coco_area IS NOT DISTINCT FROM OLD.coco_area
          AND NEW.coco_bbox IS NOT DISTINCT FROM OLD.coco_bbox)
    EXECUTE FUNCTION labeling_annotation_coco_stale()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS labeling_annotation_coco_stale ON labeling_annotation",
    "DROP FUNCTION IF EXISTS labeling_annotation_coco_stale()",
]


def _trigger(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql, params=None)

    return run


def fill(apps, schema_editor):
    from labeling.rules import coco_fields

    Annotation = apps.get_model("labeling", "Annotation")
    todo = Annotation.objects.filter(coco_area__isnull=True).exclude(kind="tag").order_by("id")
    last = 0
    while True:
        rows = list(todo.filter(id__gt=last).only("id", "kind", "geometry")[:BATCH])
        if not rows:
            return
        for row in rows:
            try:
                row.coco_bbox, row.coco_area = coco_fields(row.kind, row.geometry)
            except (KeyError, TypeError, ValueError):  # a row the rules would refuse: the export computes it
                row.coco_bbox, row.coco_area = None, None
        Annotation.objects.bulk_update(rows, ["coco_bbox", "coco_area"])
        last = rows[-1].id


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0005_image_review_note"),
    ]

    operations = [
        migrations.AddField(
            model_name="annotation",
            name="coco_bbox",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="annotation",
            name="coco_area",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(_trigger(POSTGRESQL), _trigger(POSTGRESQL_REVERSE)),
    ]
