"""A COCO export's annotations written by PostgreSQL: each row's JSON text made in SQL, streamed.

Serialising a million annotations in Python (a row object, a dict decoded from the geometry,
float formatting) cost about 17 s of CPU; PostgreSQL writes the same JSON from the stored
geometry and the COCO bbox and area that every write path stores with it
(labeling.rules.coco_fields), and Python only joins the texts it receives.

The text is the same document as labeling.coco.export writes, up to formatting: numbers are
written by PostgreSQL (``30`` where Python writes ``30.0``, the same value), a polygon's
points are the stored ones, a mask's RLE is the stored compressed string (escaped by jsonb's
own JSON output). Rows without stored fields (written before they existed, or by a writer
that does not know them; a PostgreSQL trigger clears stale ones) come back as plain rows and
are written by labeling.coco.export, in their place in the order.

Read in a transaction with a server-side cursor (no WITH HOLD): the first rows leave before
the last are read, and the result is never materialised on the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from operator import itemgetter

import orjson
from django.db import connection, transaction

from .coco.export import annotations_json
from .coco.rows import AnnotationRow

FETCH = 5000  # rows per round trip: about 1.5 MB of JSON
# Never in the JSON we write (no number, no key and no RLE character is "!"): marks a row that the
# database could not write, sent as a JSON array of its fields instead.
_RAW = "!"

# jsonb's own text, spaces and all (JSON allows them): translate() to drop them walked every
# character and was half of the database's time. A polygon's [[x, y], ...] loses its inner brackets.
_SEGMENTATION = """CASE a.kind
    WHEN 'box' THEN '[]'
    WHEN 'polygon' THEN '[[' || replace(replace((a.geometry -> 'points')::text, '[', ''), ']', '') || ']]'
    ELSE (a.geometry -> 'rle')::text END"""


def supported() -> bool:
    """Whether this database writes the JSON itself (PostgreSQL); elsewhere the Python path does."""
    return connection.vendor == "postgresql"


def _sql(*, include_scores: bool, image_filter: bool) -> str:
    score = "|| CASE WHEN a.score IS NULL THEN '' ELSE ',\"score\":' || a.score END" if include_scores else ""
    only = "AND a.image_id = ANY(%(images)s)" if image_filter else ""
    return f"""
SELECT CASE WHEN a.coco_area IS NULL OR a.coco_bbox IS NULL THEN
    '{_RAW}' || json_build_array(a.id, a.image_id, c.n, a.kind, a.geometry, a.iscrowd, a.score)::text
ELSE
    '{{"id":' || a.id || ',"image_id":' || a.image_id || ',"category_id":' || c.n
    || ',"bbox":' || a.coco_bbox::text
    || ',"segmentation":' || {_SEGMENTATION}
    || ',"area":' || a.coco_area
    || CASE WHEN a.iscrowd THEN ',"iscrowd":1' ELSE ',"iscrowd":0' END
    {score} || '}}'
END
FROM labeling_annotation a
JOIN labeling_image i ON i.id = a.image_id
JOIN (SELECT id, row_number() OVER (ORDER BY "order", id) AS n
      FROM labeling_labelclass WHERE project_id = %(project)s) c ON c.id = a.label_class_id
WHERE i.project_id = %(project)s AND a.state = ANY(%(states)s) AND a.kind <> 'tag' {only}
ORDER BY a.id
"""


def _raw_rows(texts: list[str]) -> list[AnnotationRow]:
    rows = []
    for text in texts:
        pk, image_id, category_id, kind, geometry, iscrowd, score = orjson.loads(text[len(_RAW):])
        rows.append(AnnotationRow(id=pk, image_id=image_id, category_id=category_id, kind=kind, geometry=geometry,
                                  iscrowd=iscrowd, score=score))
    return rows


def _mixed(texts: list[str], include_scores: bool) -> str:
    """A batch holding rows the database did not write: those through labeling.coco.export, in place."""
    out, raw = [], []

    def flush_raw():
        if raw:
            out.append(annotations_json(_raw_rows(raw), "rle", include_scores))
            raw.clear()

    for text in texts:
        if text.startswith(_RAW):
            raw.append(text)
        else:
            flush_raw()
            out.append(text)
    flush_raw()
    return ",".join(piece for piece in out if piece)


def annotation_json_pieces(
    *, project_id: int, states, include_scores: bool, image_ids=None, stream: bool = True
) -> Iterator[str]:
    """Comma-joined JSON texts of the project's annotations (tags left out), in id order, a batch at a time.

    Category ids are the export's: 1, 2, 3... in the classes' order. ``image_ids``: only
    those images' annotations. ``stream``: in a transaction of its own, so the cursor needs no
    WITH HOLD and rows leave as the database writes them; False (a job) lets the caller's other
    writes, such as progress, commit meanwhile (the result is then kept by the server until read).
    """
    sql = _sql(include_scores=include_scores, image_filter=image_ids is not None)
    params = {"project": project_id, "states": list(states), "images": list(image_ids or [])}
    first = itemgetter(0)
    with transaction.atomic() if stream else nullcontext(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(FETCH):
            joined = ",".join(map(first, rows))
            if _RAW in joined:
                joined = _mixed(list(map(first, rows)), include_scores)
            if joined:
                yield joined
