"""COCO instances import: a streamed, fully validated parse into plain rows (no ORM inside).

The file is read once, as a stream; each image, category and annotation is built and checked
on its own, so memory follows the number of rows, not the file's text. References (image,
category, RLE size against the image) are checked after the whole file is read, because a
COCO file may list annotations before images. Every refusal is a ``CocoFormatError`` whose
``path`` names the element, e.g. ``annotations[1234].segmentation`` or ``images[3].width``.

Choices:

- An annotation with a bbox and no segmentation (missing, ``[]`` or ``[[]]``) is a box.
- A polygon segmentation with one part is a polygon. With several parts it becomes one
  mask whose RLE is the union of the parts rasterised by pycocotools, exactly the region
  COCOeval and datumaro read; one COCO instance stays one annotation.
- Compressed (string) and uncompressed (list) RLE are both accepted; the result is always
  compressed RLE. Empty masks, zero-area polygons and shapes outside the image are refused,
  as the server refuses them.
- Image-level tags are read back from ``images[i].attributes.tags`` (our export's field).
- Every shape then goes through the server's geometry rules (labeling.geometry: point limit,
  simple polygons, masks covering exactly the image), named in COCO terms
  (``annotations[4].segmentation[0]``), and masks get the outline the server stores.
- ``score`` is read (and must be a number) but not kept: imported labels are the importer's,
  and a label made by a person carries no score.
- The JSON is read by ``labeling.coco.reader``: size and nesting depth capped while reading,
  memory flat whatever the nesting.
"""

from __future__ import annotations

import gc
import math
from typing import BinaryIO

from ..geometry import RuleError, checked_geometry
from .reader import CocoFormatError, read_document
from .rows import CategoryRow, ImageRow, ParsedAnnotation, ParsedCoco
from .shapes import polygons_to_rle, uncompressed_to_rle

_SECTIONS = ("categories", "images", "annotations")
MAX_PROBLEMS = 50  # refused elements named in one answer; past that the file is refused at once


# --- small typed readers: each raises with the path of the value it was given -------------


def _int(obj: dict, key: str, path: str, *, positive: bool = False) -> int:
    if key not in obj:
        raise CocoFormatError(f"{path}.{key}", "is required")
    v = obj[key]
    if type(v) is not int or (positive and v <= 0):
        raise CocoFormatError(f"{path}.{key}", f"must be a {'positive ' if positive else ''}whole number, not {v!r}")
    return v


def _str(obj: dict, key: str, path: str) -> str:
    if key not in obj:
        raise CocoFormatError(f"{path}.{key}", "is required")
    v = obj[key]
    if not isinstance(v, str) or not v.strip():
        raise CocoFormatError(f"{path}.{key}", f"must be a non-empty string, not {v!r}")
    return v


def _numbers(values, path: str) -> list[float]:
    if not isinstance(values, list):
        raise CocoFormatError(path, "must be a list of numbers")
    out = []
    for i, v in enumerate(values):
        if type(v) not in (int, float) or not math.isfinite(v):
            raise CocoFormatError(f"{path}[{i}]", f"must be a finite number, not {v!r}")
        out.append(float(v))
    return out


def _object(v, path: str) -> dict:
    if not isinstance(v, dict):
        raise CocoFormatError(path, "must be an object")
    return v


# --- elements -----------------------------------------------------------------------------


def _category(obj, path: str) -> CategoryRow:
    obj = _object(obj, path)
    sup = obj.get("supercategory") or ""
    if not isinstance(sup, str):
        raise CocoFormatError(f"{path}.supercategory", "must be a string")
    return CategoryRow(id=_int(obj, "id", path), name=_str(obj, "name", path), supercategory=sup)


def _image(obj, path: str) -> ImageRow:
    obj = _object(obj, path)
    tags: list = []
    attributes = obj.get("attributes")
    if attributes is not None:
        tags = _object(attributes, f"{path}.attributes").get("tags", [])
        if not isinstance(tags, list):
            raise CocoFormatError(f"{path}.attributes.tags", "must be a list of category names")
        for k, t in enumerate(tags):
            if not isinstance(t, str):
                raise CocoFormatError(f"{path}.attributes.tags[{k}]", "must be a category name")
    return ImageRow(
        id=_int(obj, "id", path),
        file_name=_str(obj, "file_name", path),
        width=_int(obj, "width", path, positive=True),
        height=_int(obj, "height", path, positive=True),
        tags=tuple(tags),
    )


def _rle(seg: dict, path: str) -> dict:
    """Check an RLE on its own (its size against the image comes later)."""
    size = seg.get("size")
    if not (isinstance(size, list) and len(size) == 2 and all(type(v) is int and v > 0 for v in size)):
        raise CocoFormatError(f"{path}.size", "must be [height, width] in whole pixels")
    h, w = size
    counts = seg.get("counts")
    if isinstance(counts, str):
        # Decoded and checked once, by the server's mask rule in the reference pass (_geometry names
        # the same paths: .counts for bad runs, the segmentation for an empty mask): decoding every
        # string twice was a fifth of a mask-heavy file's parse.
        return {"size": [h, w], "counts": counts}
    if isinstance(counts, list):
        if not all(type(c) is int and c >= 0 for c in counts):
            raise CocoFormatError(f"{path}.counts", "uncompressed counts must be whole numbers >= 0")
        total, covered = sum(counts), sum(counts[1::2])
    else:
        raise CocoFormatError(f"{path}.counts", "must be a compressed RLE string or a list of run lengths")
    if total != h * w:
        raise CocoFormatError(f"{path}.counts", f"runs cover {total} pixels but size {size} has {h * w}")
    if covered == 0:
        raise CocoFormatError(path, "is an empty mask: it covers no pixel")
    return uncompressed_to_rle(counts, h, w)  # compressed once the total is known to be right


def _on_one_line(flat: list[float]) -> bool:
    """Whether every point lies on one line (or all are the same point)."""
    x, y = flat[0::2], flat[1::2]
    other = next((j for j in range(1, len(x)) if (x[j], y[j]) != (x[0], y[0])), None)
    if other is None:
        return True
    dx, dy = x[other] - x[0], y[other] - y[0]
    return all((x[j] - x[0]) * dy == (y[j] - y[0]) * dx for j in range(len(x)))


def _polygon_parts(seg: list, path: str) -> list[list[float]]:
    parts = []
    for j, part in enumerate(seg):
        where = f"{path}[{j}]"
        flat = _numbers(part, where)
        if len(flat) % 2:
            raise CocoFormatError(where, f"has an odd number of coordinates ({len(flat)})")
        if len(flat) < 6:
            raise CocoFormatError(where, f"needs at least 3 points, got {len(flat) // 2}")
        if _on_one_line(flat):  # not the shoelace area: a symmetric bow-tie's is 0 too (the rules name that)
            raise CocoFormatError(where, "encloses no area (all points on one line)")
        parts.append(flat)
    return parts


def _annotation(obj, path: str) -> tuple:
    """Validate one annotation alone; return what the reference pass needs."""
    obj = _object(obj, path)
    ann_id = _int(obj, "id", path)
    image_id = _int(obj, "image_id", path)
    category_id = _int(obj, "category_id", path)
    crowd = obj.get("iscrowd", 0)
    if crowd not in (0, 1) or type(crowd) is float:
        raise CocoFormatError(f"{path}.iscrowd", f"must be 0 or 1, not {crowd!r}")
    score = obj.get("score")
    if score is not None:
        score = _numbers([score], f"{path}.score")[0]
    bbox = obj.get("bbox")
    if bbox is not None:
        bbox = _numbers(bbox, f"{path}.bbox")
        if len(bbox) != 4:
            raise CocoFormatError(f"{path}.bbox", f"must be [x, y, width, height], got {len(bbox)} numbers")
        if min(bbox) < 0:
            raise CocoFormatError(f"{path}.bbox", f"must not be negative: {bbox}")
    seg = obj.get("segmentation")
    spath = f"{path}.segmentation"
    if seg is None or seg == [] or seg == [[]]:
        if bbox is None:
            raise CocoFormatError(f"{path}.bbox", "is required when there is no segmentation")
        if bbox[2] <= 0 or bbox[3] <= 0:
            raise CocoFormatError(f"{path}.bbox", f"has zero size: {bbox}")
        kind, payload = "box", bbox
    elif isinstance(seg, dict):
        kind, payload = "mask", _rle(seg, spath)
    elif isinstance(seg, list):
        parts = _polygon_parts(seg, spath)
        kind, payload = ("polygon", parts[0]) if len(parts) == 1 else ("parts", parts)
    else:
        raise CocoFormatError(spath, "must be a list of polygons or an RLE object")
    return ann_id, image_id, category_id, kind, payload, bool(crowd), score


def _geometry(kind: str, payload, img: ImageRow, path: str, max_points: int) -> tuple[str, dict, dict | None]:
    """Check a shape against its image with the server's rules; return (kind, geometry, outline)."""
    w, h = img.width, img.height
    if kind == "box":
        x, y, bw, bh = payload
        if x + bw > w or y + bh > h:
            raise CocoFormatError(f"{path}.bbox", f"{payload} reaches outside the {w}x{h} image")
        kind, geometry = "box", {"x": x, "y": y, "w": bw, "h": bh}
    elif kind == "mask":
        if payload["size"] != [h, w]:
            raise CocoFormatError(
                f"{path}.segmentation.size", f"is {payload['size']} but the image is [height, width] = [{h}, {w}]"
            )
        geometry = {"rle": payload}
    else:
        parts = [payload] if kind == "polygon" else payload
        for j, flat in enumerate(parts):
            if min(flat) < 0 or max(flat[0::2]) > w or max(flat[1::2]) > h:
                raise CocoFormatError(f"{path}.segmentation[{j}]", f"has points outside the {w}x{h} image")
        if kind == "polygon":
            geometry = {"points": [[payload[i], payload[i + 1]] for i in range(0, len(payload), 2)]}
        else:
            points = sum(len(flat) for flat in parts) // 2
            if points > max_points:
                raise CocoFormatError(f"{path}.segmentation", f"has {points} points; at most {max_points} are allowed.")
            kind, geometry = "mask", {"rle": polygons_to_rle(parts, h, w)}
    try:
        clean, outline = checked_geometry(kind, geometry, width=w, height=h, path="", max_points=max_points)
    except RuleError as exc:
        raise CocoFormatError(path + _coco_location(kind, exc.loc), exc.detail) from None
    return kind, clean, outline


_BOX_FIELDS = {"x": 0, "y": 1, "w": 2, "h": 3}


def _coco_location(kind: str, loc: tuple) -> str:
    """Where in the COCO annotation a rule's location (relative to our geometry) is."""
    if kind == "box":
        return f".bbox[{_BOX_FIELDS[loc[0]]}]" if loc and loc[0] in _BOX_FIELDS else ".bbox"
    if kind == "polygon":
        if len(loc) >= 2 and loc[0] == "points":
            return f".segmentation[0][{2 * loc[1] + (loc[2] if len(loc) > 2 else 0)}]"
        return ".segmentation[0]"
    return ".segmentation" + "".join(f".{part}" for part in loc[1:2])  # mask: ("rle", "counts") -> .counts


def coco_parse(fp: BinaryIO, *, max_bytes: int, max_depth: int = 64, max_points: int = 10_000) -> ParsedCoco:
    """Read and validate a COCO instances file from a binary stream (see _parse).

    The cyclic garbage collector is paused meanwhile: parsing builds millions of small lists
    and dicts with no cycles among them, and collections that walk them all over and over
    took about as long as the parse itself at 100,000 annotations.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return _parse(fp, max_bytes=max_bytes, max_depth=max_depth, max_points=max_points)
    finally:
        if paused:
            gc.enable()


def _parse(fp: BinaryIO, *, max_bytes: int, max_depth: int, max_points: int) -> ParsedCoco:
    """Read and validate a COCO instances file from a binary stream.

    ``max_depth`` caps the nesting of arrays and objects (the document is level 1), checked
    while reading; ``max_points`` is the polygon point limit (POLYGON_MAX_POINTS).

    Raises:
        CocoFormatError: the first problem found, with the path of the element.
    """
    # Every refused element is named (up to MAX_PROBLEMS), not only the first: the file is still
    # refused whole, but one round of fixes can then cover them all.
    problems: list[tuple[str, str]] = []

    def refused(exc: CocoFormatError) -> None:
        problems.extend(exc.problems)
        if len(problems) >= MAX_PROBLEMS:
            raise CocoFormatError.of(problems[:MAX_PROBLEMS])

    def guarded(handler):
        def run(obj, path):
            try:
                handler(obj, path)
            except CocoFormatError as exc:
                refused(exc)
        return run

    categories: list[CategoryRow] = []
    images: list[ImageRow] = []
    pending: list[tuple] = []
    cat_ids: dict[int, str] = {}
    image_index: dict[int, ImageRow] = {}
    file_names: set[str] = set()

    def on_category(obj, path):
        c = _category(obj, path)
        if c.id in cat_ids:
            raise CocoFormatError(f"{path}.id", f"duplicate category id {c.id}")
        if c.name in cat_ids.values():
            raise CocoFormatError(f"{path}.name", f"duplicate category name {c.name!r}")
        cat_ids[c.id] = c.name
        categories.append(c)

    def on_image(obj, path):
        img = _image(obj, path)
        if img.id in image_index:
            raise CocoFormatError(f"{path}.id", f"duplicate image id {img.id}")
        if img.file_name in file_names:
            raise CocoFormatError(f"{path}.file_name", f"duplicate file_name {img.file_name!r}")
        image_index[img.id] = img
        file_names.add(img.file_name)
        images.append(img)

    ann_ids: set[int] = set()

    def on_annotation(obj, path):
        ann = _annotation(obj, path)
        if ann[0] in ann_ids:
            raise CocoFormatError(f"{path}.id", f"duplicate annotation id {ann[0]}")
        ann_ids.add(ann[0])
        pending.append(ann)

    handlers = {"categories": guarded(on_category), "images": guarded(on_image), "annotations": guarded(on_annotation)}
    seen: dict[str, bool] = {}
    info = read_document(fp, handlers=handlers, seen=seen, max_bytes=max_bytes, max_depth=max_depth)
    for key in _SECTIONS:
        if key not in seen:
            refused(CocoFormatError(key, "is required"))

    names = set(cat_ids.values())
    for i, img in enumerate(images):
        for k, tag in enumerate(img.tags):
            if tag not in names:
                refused(CocoFormatError(f"images[{i}].attributes.tags[{k}]", f"{tag!r} is not a category name"))

    annotations = []
    for i, (ann_id, image_id, category_id, kind, payload, crowd, score) in enumerate(pending):
        path = f"annotations[{i}]"
        img = image_index.get(image_id)
        try:
            if img is None:
                raise CocoFormatError(f"{path}.image_id", f"no image has id {image_id}")
            if category_id not in cat_ids:
                raise CocoFormatError(f"{path}.category_id", f"no category has id {category_id}")
            kind, geometry, outline = _geometry(kind, payload, img, path, max_points)
        except CocoFormatError as exc:
            refused(exc)
            continue
        annotations.append(ParsedAnnotation(ann_id, image_id, category_id, kind, geometry, crowd, score, outline))
    if problems:
        raise CocoFormatError.of(problems)
    return ParsedCoco(info=info, categories=categories, images=images, annotations=annotations)
