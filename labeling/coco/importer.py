"""COCO instances import: a streamed, fully validated parse into plain rows (no ORM inside).

The file is read once with ijson; each image, category and annotation is built and checked
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
"""

from __future__ import annotations

import io
import math
from typing import BinaryIO

import ijson
from ijson.backends import python as ijson_python
from ijson.common import ObjectBuilder

from .rows import CategoryRow, ImageRow, ParsedAnnotation, ParsedCoco
from .shapes import compressed_rle_total, polygons_to_rle, shoelace_area, uncompressed_to_rle

_RESCAN_LIMIT = 64 << 20  # re-read at most this much with the slow lexer to locate a JSON error
_SECTIONS = ("categories", "images", "annotations")


class CocoFormatError(ValueError):
    """A refused COCO file; ``path`` names the element (``$`` is the whole document)."""

    def __init__(self, path: str, detail: str):
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


class _Limited:
    """Counts bytes as ijson reads them and refuses the file past ``max_bytes``."""

    def __init__(self, fp: BinaryIO, max_bytes: int):
        self.fp, self.max_bytes, self.count = fp, max_bytes, 0

    def read(self, n: int = -1) -> bytes:
        data = self.fp.read(n if n is not None and n >= 0 else self.max_bytes + 1)
        if isinstance(data, str):
            raise CocoFormatError("$", "the file must be opened in binary mode")
        self.count += len(data)
        if self.count > self.max_bytes:
            raise CocoFormatError("$", f"the file is larger than the limit of {self.max_bytes} bytes")
        return data


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
        try:
            total, covered = compressed_rle_total(counts)
        except ValueError as exc:
            raise CocoFormatError(f"{path}.counts", f"is not COCO compressed RLE: {exc}") from None
        rle = {"size": [h, w], "counts": counts}
    elif isinstance(counts, list):
        if not all(type(c) is int and c >= 0 for c in counts):
            raise CocoFormatError(f"{path}.counts", "uncompressed counts must be whole numbers >= 0")
        total, covered = sum(counts), sum(counts[1::2])
        rle = None  # compressed once the total is known to be right
    else:
        raise CocoFormatError(f"{path}.counts", "must be a compressed RLE string or a list of run lengths")
    if total != h * w:
        raise CocoFormatError(f"{path}.counts", f"runs cover {total} pixels but size {size} has {h * w}")
    if covered == 0:
        raise CocoFormatError(path, "is an empty mask: it covers no pixel")
    return rle or uncompressed_to_rle(counts, h, w)


def _polygon_parts(seg: list, path: str) -> list[list[float]]:
    parts = []
    for j, part in enumerate(seg):
        where = f"{path}[{j}]"
        flat = _numbers(part, where)
        if len(flat) % 2:
            raise CocoFormatError(where, f"has an odd number of coordinates ({len(flat)})")
        if len(flat) < 6:
            raise CocoFormatError(where, f"needs at least 3 points, got {len(flat) // 2}")
        if shoelace_area(flat) == 0:
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


def _geometry(kind: str, payload, img: ImageRow, path: str) -> tuple[str, dict]:
    """Check a shape against its image and give it the server's geometry shape."""
    w, h = img.width, img.height
    if kind == "box":
        x, y, bw, bh = payload
        if x + bw > w or y + bh > h:
            raise CocoFormatError(f"{path}.bbox", f"{payload} reaches outside the {w}x{h} image")
        return "box", {"x": x, "y": y, "w": bw, "h": bh}
    if kind == "mask":
        if payload["size"] != [h, w]:
            raise CocoFormatError(
                f"{path}.segmentation.size", f"is {payload['size']} but the image is [height, width] = [{h}, {w}]"
            )
        return "mask", {"rle": payload}
    parts = [payload] if kind == "polygon" else payload
    for j, flat in enumerate(parts):
        if min(flat) < 0 or max(flat[0::2]) > w or max(flat[1::2]) > h:
            raise CocoFormatError(f"{path}.segmentation[{j}]", f"has points outside the {w}x{h} image")
    if kind == "polygon":
        return "polygon", {"points": [[payload[i], payload[i + 1]] for i in range(0, len(payload), 2)]}
    return "mask", {"rle": polygons_to_rle(parts, h, w)}


# --- streaming ----------------------------------------------------------------------------

_OPEN = {"start_map", "start_array"}
_CLOSE = {"end_map", "end_array"}


def _value(events, event: str, value, where: list):
    """Build the JSON value whose first event has just been read."""
    if event not in _OPEN:
        return value
    builder = ObjectBuilder()
    builder.event(event, value)
    depth = 1
    prefix = ""
    try:
        for prefix, event, value in events:
            builder.event(event, value)
            if event in _OPEN:
                depth += 1
            elif event in _CLOSE:
                depth -= 1
                if not depth:
                    break
    except ijson.JSONError:
        # Name the key being read when the text broke, e.g. annotations[7].bbox.
        inner = [p for p in prefix.split(".")[2:] if p != "item"]
        where[0] += "".join(f".{p}" for p in inner)
        raise
    return builder.value


def _walk(events, handlers: dict, seen: dict, where: list) -> dict:
    """Dispatch the top-level keys; each list item goes to its handler as it is completed."""
    _, event, _ = next(events)
    if event != "start_map":
        raise CocoFormatError("$", "must be a JSON object with images, annotations and categories")
    info: dict = {}
    for _, event, key in events:
        if event == "end_map":
            break
        _, event, value = next(events)
        where[0] = key
        if key in handlers:
            if event != "start_array":
                raise CocoFormatError(key, "must be a list")
            handle, index = handlers[key], 0
            for _, event, value in events:
                if event == "end_array":
                    break
                where[0] = f"{key}[{index}]"
                handle(_value(events, event, value, where), where[0])
                index += 1
            seen[key] = True
        else:
            value = _value(events, event, value, where)
            if key == "info":
                info = _object(value, "info")
            elif key == "licenses" and not isinstance(value, list):
                raise CocoFormatError("licenses", "must be a list")
    return info


def _json_position(fp: BinaryIO, start: int, read: int) -> str:
    """Locate a JSON error exactly by re-reading (up to a limit) with ijson's pure-Python lexer."""
    try:
        fp.seek(start)
        data = fp.read(min(read, _RESCAN_LIMIT))
        for _ in ijson_python.parse(io.BytesIO(data)):
            pass
    except ijson.IncompleteJSONError:
        return f" at byte {len(data)} (the file ends too early)"
    except ijson.JSONError as exc:
        return f" at byte {str(exc).rsplit(' at ', 1)[-1]}"
    except Exception:  # not seekable or unreadable: the path still names the element
        return ""
    return f" near byte {read}"


def coco_parse(fp: BinaryIO, *, max_bytes: int) -> ParsedCoco:
    """Read and validate a COCO instances file from a binary stream.

    Raises:
        CocoFormatError: the first problem found, with the path of the element.
    """
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

    handlers = {"categories": on_category, "images": on_image, "annotations": on_annotation}
    seen: dict[str, bool] = {}
    where = ["$"]
    start = fp.tell() if fp.seekable() else 0
    reader = _Limited(fp, max_bytes)
    try:
        info = _walk(ijson.parse(reader, use_float=True), handlers, seen, where)
    except ijson.JSONError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "incomplete JSON"
        raise CocoFormatError(where[0], f"invalid JSON{_json_position(fp, start, reader.count)}: {reason}") from None
    except StopIteration:
        raise CocoFormatError("$", "the file is empty") from None
    for key in _SECTIONS:
        if key not in seen:
            raise CocoFormatError(key, "is required")

    names = set(cat_ids.values())
    for i, img in enumerate(images):
        for k, tag in enumerate(img.tags):
            if tag not in names:
                raise CocoFormatError(f"images[{i}].attributes.tags[{k}]", f"{tag!r} is not a category name")

    annotations = []
    for i, (ann_id, image_id, category_id, kind, payload, crowd, score) in enumerate(pending):
        path = f"annotations[{i}]"
        img = image_index.get(image_id)
        if img is None:
            raise CocoFormatError(f"{path}.image_id", f"no image has id {image_id}")
        if category_id not in cat_ids:
            raise CocoFormatError(f"{path}.category_id", f"no category has id {category_id}")
        kind, geometry = _geometry(kind, payload, img, path)
        annotations.append(ParsedAnnotation(ann_id, image_id, category_id, kind, geometry, crowd, score))
    return ParsedCoco(info=info, categories=categories, images=images, annotations=annotations)
