"""Plain rows exchanged between the server and the COCO core (no Django here).

The server fills these from the database; the exporter reads them and the importer
returns them. Geometry is in image pixels with the origin at the top-left corner:

- box:     ``{"x": 10, "y": 20, "w": 30, "h": 40}``
- polygon: ``{"points": [[x, y], [x, y], ...]}`` (one ring, at least 3 points)
- mask:    ``{"rle": {"size": [height, width], "counts": "<COCO compressed RLE>"}}``
  (one instance; it may have several parts and holes)
- tag:     ``{}`` (image-level; COCO has no place for it, see ``ImageRow.tags``)

Category ids: the server passes stable ids, numbered from 1 in LabelClass order
(COCO reserves 0 for background; datumaro warns about a category with id 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["box", "polygon", "mask", "tag"]
KINDS: tuple[str, ...] = ("box", "polygon", "mask", "tag")


@dataclass(frozen=True, slots=True)
class CategoryRow:
    """A label class as a COCO category; ``id`` is stable and starts at 1."""

    id: int
    name: str
    supercategory: str = ""


@dataclass(frozen=True, slots=True)
class ImageRow:
    """An image with its stored size; ``tags`` are the names of its image-level label classes."""

    id: int
    file_name: str
    width: int
    height: int
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AnnotationRow:
    """One annotation; ``kind == "tag"`` rows are not written as COCO annotations."""

    id: int
    image_id: int
    category_id: int
    kind: Kind
    geometry: dict
    iscrowd: bool = False
    score: float | None = None
    state: str = "accepted"


@dataclass(frozen=True, slots=True)
class ParsedAnnotation:
    """An annotation read from a COCO file: COCO ids, and geometry in the shapes above."""

    id: int
    image_id: int
    category_id: int
    kind: Kind
    geometry: dict
    iscrowd: bool = False
    score: float | None = None
    outline: dict | None = None  # masks: what previews draw, traced once (labeling.geometry.mask_outline)


@dataclass(frozen=True, slots=True)
class ParsedCoco:
    """A validated COCO instances file; every id is the file's own."""

    info: dict
    categories: list[CategoryRow]
    images: list[ImageRow]
    annotations: list[ParsedAnnotation]
