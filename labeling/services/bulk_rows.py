"""Many annotations into the database fast: PostgreSQL COPY, or bulk_create elsewhere.

Building 100,000 Django model instances and letting bulk_create prepare every value costs
about 0.4 ms a row of pure Python (model __init__, get_db_prep_save per field): most of a bulk
request's time. Rows that went through the annotation rules already are plain tuples here, and
on PostgreSQL they are streamed with ``COPY ... FROM STDIN`` (CSV), which also skips the
per-statement parameter limits. Callers run this inside their transaction; it returns nothing
(callers needing ids use ``bulk_create`` themselves). SQLite and the tests' backends get the
same rows through ``bulk_create``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from django.db import connection
from django.utils import timezone

from ..models import Annotation, AnnotationEvent


@dataclass(slots=True)
class AnnotationRowIn:
    """One annotation to insert; every field already checked by labeling.rules."""

    image_id: int
    label_class_id: int
    kind: str
    geometry: dict
    outline: dict | None
    origin: str
    state: str
    score: float | None = None
    model_version_id: int | None = None
    iscrowd: bool = False
    created_by_id: int | None = None
    # COCO's bbox and area from labeling.rules (Checked.coco_bbox / coco_area, or coco_fields).
    coco_bbox: list[float] | None = None
    coco_area: float | None = None


COLUMNS = ("image_id", "label_class_id", "kind", "geometry", "iscrowd", "origin", "state", "score",
           "model_version_id", "outline", "version", "created_by_id", "updated_by_id", "created_at", "updated_at",
           "coco_bbox", "coco_area")
_BATCH = 20_000  # rows per COPY buffer: bounded memory for any count
# After this many rows the planner's statistics are refreshed in the same transaction (ANALYZE counts
# our own uncommitted rows): a table that grew from 500 to 100,000 rows by COPY otherwise still looks
# empty to the planner until autovacuum comes by, and the next list query chose a nested loop over
# all of it (320 s instead of 0.1 s for a page of 10,000 proposals, measured).
ANALYZE_AFTER = 10_000


def _csv_value(value):
    return "" if value is None else value


def _copy(cursor, table: str, columns, lines) -> None:
    """COPY ``lines`` (tuples of CSV values) into ``table`` in buffers of _BATCH rows."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    raw = cursor.cursor  # psycopg2's cursor: copy_expert is not on Django's wrapper
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    pending = 0
    for line in lines:
        writer.writerow(line)
        pending += 1
        if pending == _BATCH:
            buffer.seek(0)
            raw.copy_expert(sql, buffer)
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        buffer.seek(0)
        raw.copy_expert(sql, buffer)


def _json(value) -> str:
    return "" if value is None else orjson.dumps(value).decode()


def annotations_insert(rows: Iterable[AnnotationRowIn], *, return_ids: bool = False) -> list[int] | int:
    """Insert ``rows`` (inside the caller's transaction).

    Returns how many, or with ``return_ids`` their ids in order (PostgreSQL: taken from the
    table's sequence first, then written with the rows, since COPY returns nothing).
    """
    if connection.vendor != "postgresql":
        objects = [Annotation(
            image_id=r.image_id, label_class_id=r.label_class_id, kind=r.kind, geometry=r.geometry, outline=r.outline,
            origin=r.origin, state=r.state, score=r.score, model_version_id=r.model_version_id, iscrowd=r.iscrowd,
            created_by_id=r.created_by_id, updated_by_id=r.created_by_id, coco_bbox=r.coco_bbox,
            coco_area=r.coco_area) for r in rows]
        Annotation.objects.bulk_create(objects, batch_size=2000)
        return [a.pk for a in objects] if return_ids else len(objects)
    now = timezone.now().isoformat()
    table = Annotation._meta.db_table
    with connection.cursor() as cursor:
        ids: list[int] = []
        if return_ids:
            rows = list(rows)
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [table, len(rows)])
            ids = [i for (i,) in cursor.fetchall()]
        count = 0

        def lines():
            nonlocal count
            for r in rows:
                line = (r.image_id, r.label_class_id, r.kind, orjson.dumps(r.geometry).decode(),
                        "t" if r.iscrowd else "f", r.origin, r.state, _csv_value(r.score),
                        _csv_value(r.model_version_id), _json(r.outline), 1, _csv_value(r.created_by_id),
                        _csv_value(r.created_by_id), now, now, _json(r.coco_bbox), _csv_value(r.coco_area))
                yield (ids[count], *line) if return_ids else line
                count += 1

        _copy(cursor, table, (("id",) if return_ids else ()) + COLUMNS, lines())
        if count >= ANALYZE_AFTER:
            cursor.execute(f"ANALYZE {table}")
    return ids if return_ids else count


def events_insert(events: Iterable[tuple[int, int, int, str, int | None, dict]]) -> None:
    """Append AnnotationEvents: (annotation_id, project_id, image_id, action, actor_id, after)."""
    if connection.vendor != "postgresql":
        AnnotationEvent.objects.bulk_create(
            (AnnotationEvent(annotation_id=a, project_id=p, image_id=i, action=act, actor_id=who, after=after)
             for a, p, i, act, who, after in events), batch_size=2000)
        return
    now = timezone.now().isoformat()
    with connection.cursor() as cursor:
        _copy(cursor, AnnotationEvent._meta.db_table,
              ("annotation_id", "project_id", "image_id", "action", "actor_id", "at", "after"),
              ((a, p, i, act, _csv_value(who), now, _json(after)) for a, p, i, act, who, after in events))


def created_events_insert(
    *, ids: list[int], rows: list[AnnotationRowIn], project_id: int, actor_id: int | None, source: str
) -> None:
    """Append the "create" events of ``rows``, just inserted as ``ids`` (annotations_insert's answer).

    On PostgreSQL one INSERT ... SELECT writes them from the stored rows: nothing per row in
    Python (building and encoding a million events' JSON was seconds of an import's time).
    """
    if connection.vendor != "postgresql":
        events_insert(
            (pk, project_id, r.image_id, "create", actor_id,
             {"label_class": r.label_class_id, "kind": r.kind, "geometry": r.geometry, "source": source})
            for pk, r in zip(ids, rows, strict=True)
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {AnnotationEvent._meta.db_table}
                (annotation_id, project_id, image_id, action, actor_id, at, after)
            SELECT a.id, %s, a.image_id, 'create', %s, %s, jsonb_build_object(
                'label_class', a.label_class_id, 'kind', a.kind, 'geometry', a.geometry, 'source', %s::text)
            FROM {Annotation._meta.db_table} a WHERE a.id = ANY(%s) ORDER BY a.id""",
            [project_id, actor_id, timezone.now(), source, ids],
        )
