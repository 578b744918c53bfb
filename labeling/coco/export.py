"""COCO instances export as a stream of bytes, from plain rows (no ORM inside).

The document is written piece by piece: categories, then images, then annotations, each
consumed lazily and in order, so memory stays flat however many rows there are.

Choices:

- Category ids are the server's stable ids, numbered from 1 in LabelClass order.
- Image-level tags go into ``images[i].attributes.tags`` (a list of class names), written
  only when an image has tags; pycocotools and datumaro ignore unknown image keys. They are
  also offered as CSV by ``tags_csv_stream``. Tag annotations are never COCO annotations.
- Boxes: ``bbox`` with ``"segmentation": []`` (datumaro warns when the key is missing, and an
  empty list means "no shape" to it and to pycocotools), ``area = w * h``.
- Polygons: one ring ``[[x1, y1, ...]]``, tight bbox, ``area`` = the pixels pycocotools
  rasterises from that segmentation (what COCOeval's annToRLE + area() give), so ``area``
  means the same thing for every shape. Rings are simple (labeling.geometry refuses crossing
  ones), so the pixels are the shape the annotator drew.
- Masks (``mask_format="rle"``): one annotation per instance with every part and hole, the
  stored compressed RLE, ``area`` = pixel count and ``bbox`` = pycocotools' tight box.
- Masks (``mask_format="polygon"``): outer contours traced, every part in the one annotation;
  holes cannot be expressed by COCO polygons (parts are a union) and are filled; ``area`` is
  that union's pixels. A mask with no traceable contour (e.g. a single pixel) falls back to
  RLE rather than being lost.
- File names are the database's, except in a zip with the images, where the service gives
  ``safe_entry_names``: each image's entry under ``images/`` and its ``file_name`` agree.
- CSV cells starting with ``= + - @``, a tab or a carriage return get a leading ``'``
  (OWASP's advice against formula injection when the file is opened in a spreadsheet).
- ``iscrowd`` is 0 unless the row says crowd; ``score`` is written only with
  ``include_scores`` and only for rows that have one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from itertools import islice

from .rows import AnnotationRow, CategoryRow, ImageRow
from .shapes import RLE_BATCH, flat_bbox, polygons_pixel_area, ring_pixel_areas, rle_areas_bboxes, trace_rle

# C-accelerated JSON string quoting; the only escaping a file name or RLE string needs
# (COCO RLE's alphabet includes the backslash).
_quote = json.encoder.encode_basestring_ascii
_FLUSH_BYTES = 1 << 16
MASK_FORMATS = ("rle", "polygon")


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _finite(total: float, row: AnnotationRow) -> None:
    # One check on a sum: NaN and infinity propagate through addition.
    if not math.isfinite(total):
        raise ValueError(f"annotation {row.id}: geometry has a non-finite number")


def _category_json(c: CategoryRow) -> str:
    return _dumps({"id": int(c.id), "name": c.name, "supercategory": c.supercategory})


def _image_json(img: ImageRow, license_id: int | None) -> str:
    s = f'{{"id":{int(img.id)},"file_name":{_quote(img.file_name)},"width":{int(img.width)},"height":{int(img.height)}'
    if license_id is not None:
        s += f',"license":{license_id}'
    if img.tags:
        s += ',"attributes":{"tags":' + _dumps(list(img.tags)) + "}"
    return s + "}"


# Numbers are written with float.__repr__, exactly what json.dumps writes for floats: the
# shortest form that reads back to the same value. The f-strings below inline it (!r) because
# a helper call per number costs a third of the export time.


def _tail(row: AnnotationRow, include_scores: bool) -> str:
    if include_scores and row.score is not None:
        score = float(row.score)
        _finite(score, row)
        return f',"iscrowd":{1 if row.iscrowd else 0},"score":{score!r}}}'
    return ',"iscrowd":1}' if row.iscrowd else ',"iscrowd":0}'


def _box_json(row: AnnotationRow, include_scores: bool) -> str:
    g = row.geometry
    x, y, w, h = float(g["x"]), float(g["y"]), float(g["w"]), float(g["h"])
    _finite(x + y + w + h, row)
    return (
        f'{{"id":{int(row.id)},"image_id":{int(row.image_id)},"category_id":{int(row.category_id)},'
        f'"bbox":[{x!r},{y!r},{w!r},{h!r}],"segmentation":[],"area":{w * h!r}'
    ) + _tail(row, include_scores)


def _polygons_json(row: AnnotationRow, parts: list[list[float]], include_scores: bool, area: int | None = None) -> str:
    """Flat float rings (one for a polygon row, several for a traced mask) as one annotation."""
    flat_all = parts[0] if len(parts) == 1 else [v for part in parts for v in part]
    _finite(sum(flat_all), row)
    x, y, w, h = flat_bbox(flat_all)
    if area is None:
        area = polygons_pixel_area(parts)
    seg = "],[".join(",".join(map(repr, p)) for p in parts)
    return (
        f'{{"id":{int(row.id)},"image_id":{int(row.image_id)},"category_id":{int(row.category_id)},'
        f'"bbox":[{x!r},{y!r},{w!r},{h!r}],"segmentation":[[{seg}]],"area":{area!r}'
    ) + _tail(row, include_scores)


def _polygon_json(row: AnnotationRow, flat: list[float], area: int, include_scores: bool) -> str:
    return _polygons_json(row, [flat], include_scores, area)


def _mask_json(row: AnnotationRow, area: int, box: list[float], include_scores: bool) -> str:
    rle = row.geometry["rle"]
    h, w = rle["size"]
    x, y, bw, bh = box
    return (
        f'{{"id":{int(row.id)},"image_id":{int(row.image_id)},"category_id":{int(row.category_id)},'
        f'"bbox":[{x!r},{y!r},{bw!r},{bh!r}],'
        f'"segmentation":{{"size":[{int(h)},{int(w)}],"counts":{_quote(rle["counts"])}}},"area":{area}'
    ) + _tail(row, include_scores)


def annotations_json(rows: list[AnnotationRow], mask_format: str, include_scores: bool) -> str:
    """Comma-joined JSON of any number of rows (tags left out): the pieces a caller mixes with its own."""
    return ",".join(piece for piece in _annotation_chunks(rows, mask_format, include_scores) if piece)


def _annotations_json(chunk: list[AnnotationRow], mask_format: str, include_scores: bool) -> str:
    """Serialise a chunk (at most RLE_BATCH rows) to comma-joined JSON, batching pycocotools calls."""
    masks = [r for r in chunk if r.kind == "mask"]
    traced: dict[int, list[list[float]]] = {}
    if masks and mask_format == "polygon":
        traced = {id(r): trace_rle(r.geometry["rle"]) for r in masks}
        masks = [r for r in masks if not traced[id(r)]]  # untraceable: fall back to RLE
    areas, boxes = rle_areas_bboxes([r.geometry["rle"] for r in masks]) if masks else ([], [])
    stats = {id(r): (a, b) for r, a, b in zip(masks, areas, boxes)}
    polygons = [r for r in chunk if r.kind == "polygon"]
    flats = [[float(v) for point in r.geometry["points"] for v in point] for r in polygons]
    polygon_areas = {id(r): (f, a) for r, f, a in zip(polygons, flats, ring_pixel_areas(flats))}
    out = []
    for row in chunk:
        kind = row.kind
        if kind == "box":
            out.append(_box_json(row, include_scores))
        elif kind == "polygon":
            out.append(_polygon_json(row, *polygon_areas[id(row)], include_scores))
        elif kind == "mask":
            parts = traced.get(id(row))
            if parts:
                out.append(_polygons_json(row, parts, include_scores))
            else:
                out.append(_mask_json(row, *stats[id(row)], include_scores))
        elif kind != "tag":
            raise ValueError(f"annotation {row.id}: unknown kind {kind!r}")
    return ",".join(out)


def _joined(pieces: Iterable[str]) -> Iterator[bytes]:
    """Comma-join JSON pieces (skipping empty ones) into chunks of about 64 KiB."""
    buf: list[str] = []
    size = 0
    for piece in pieces:
        if not piece:
            continue
        if buf:
            buf.append(",")
        buf.append(piece)
        size += len(piece)
        if size >= _FLUSH_BYTES:
            yield "".join(buf).encode("ascii")
            buf, size = [], 0
            buf.append("")  # later pieces need their leading comma
    if any(buf):
        yield "".join(buf).encode("ascii")


def _annotation_chunks(annotations: Iterable[AnnotationRow], mask_format: str, include_scores: bool) -> Iterator[str]:
    it = iter(annotations)
    while chunk := list(islice(it, RLE_BATCH)):
        yield _annotations_json(chunk, mask_format, include_scores)


def coco_export_stream(
    *,
    info: dict,
    categories: Iterable[CategoryRow],
    images: Iterable[ImageRow],
    annotations: Iterable[AnnotationRow] = (),
    mask_format: str = "rle",
    include_scores: bool = False,
    license: dict | None = None,
    annotations_text: Iterable[str] | None = None,
) -> Iterator[bytes]:
    """Yield a COCO instances document as ASCII JSON chunks.

    Args:
        annotations: consumed lazily once, in order; tag rows are skipped.
        annotations_text: instead of ``annotations``, their JSON already written (comma-joined
            pieces, e.g. by the database: labeling.selectors_coco), passed through as they come.
        license: an optional ``{"id", "name", "url"}``; when given, ``licenses`` holds it and
            every image refers to it, otherwise ``licenses`` is empty.
    """
    if mask_format not in MASK_FORMATS:
        raise ValueError(f"mask_format must be one of {MASK_FORMATS}, not {mask_format!r}")
    licenses = [license] if license else []
    license_id = int(license["id"]) if license else None
    yield f'{{"info":{_dumps(info)},"licenses":{_dumps(licenses)},"categories":['.encode("ascii")
    yield from _joined(_category_json(c) for c in categories)
    yield b'],"images":['
    yield from _joined(_image_json(i, license_id) for i in images)
    yield b'],"annotations":['
    if annotations_text is not None:
        yield from _joined(annotations_text)
    else:
        yield from _joined(_annotation_chunks(annotations, mask_format, include_scores))
    yield b"]}\n"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading ' before = + - @ tab or CR (OWASP)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def tags_csv_stream(images: Iterable[ImageRow]) -> Iterator[bytes]:
    """Yield a UTF-8 CSV of image-level tags: header ``file_name,labels``, labels joined with ';'."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["file_name", "labels"])
    for n, img in enumerate(images, 1):
        writer.writerow([csv_cell(img.file_name), csv_cell(";".join(img.tags))])
        if n % 4096 == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_MAX_NAME = 200


def safe_entry_names(images: Iterable[tuple[int, str]]) -> dict[int, str]:
    """Image id -> a file name safe and unique as an archive entry under one folder.

    The base name only (no folders, ``..`` or absolute paths, whatever the separator), no
    control or reserved characters, no leading dots; empty names become ``image-<id>``.
    Names are unique ignoring case (archives are unpacked on case-insensitive file systems
    too): the second ``a.png`` is ``a-2.png``, in the order given.
    """
    out: dict[int, str] = {}
    taken: set[str] = set()
    for image_id, name in images:
        base = re.split(r"[\\/]", name)[-1]
        base = _UNSAFE_NAME.sub("_", base).strip(" .")  # Windows drops trailing dots and spaces
        if not base:
            base = f"image-{image_id}"
        stem, dot, ext = base.rpartition(".")
        if not dot or not stem:
            stem, ext = base, ""
        ext = f".{ext}" if ext else ""
        stem = stem[: _MAX_NAME - len(ext)]
        candidate, n = stem + ext, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{stem}-{n}{ext}"
        taken.add(candidate.lower())
        out[image_id] = candidate
    return out
