"""The annotation rules, written once: every path that stores or changes an annotation calls them.

The API (one or many), PATCH, the review grid's bulk edits, COCO import, URL import and the
model's proposals all go through here, so a label refused on one path is refused on all of
them with the same words. Pure functions: no ORM, no request (mlassist calls them too).
Errors are ``RuleError(path, detail)``; the path names the element as the caller knows it
(``geometry.points[3][1]``, ``[12].geometry.w``, ``annotations[4].segmentation``).

- Geometry: ``labeling.geometry`` (inside the image, point limit, simple polygons, masks whose
  runs cover exactly the image), plus the outline stored for masks.
- Origin, state, score: only the model proposes; only proposals carry a score (a person's
  label has none); a score is a finite number in 0..1.
- Editing a proposal (its class or geometry) accepts it: ``state_after_change``.
- Tags: one accepted tag per class and image; in a single-label project one accepted tag per
  image: ``tags_check``.
- COCO's ``bbox`` and ``area`` of every shape, stored with it (``coco_fields``): an export of
  a million annotations then reads them instead of rasterising each polygon and mask again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pycocotools import mask as mask_api

from .geometry import RuleError, checked_geometry

__all__ = [
    "Checked",
    "RuleError",
    "TagItem",
    "annotation_check",
    "coco_fields",
    "origin_check",
    "state_after_change",
    "tags_check",
]

KINDS = ("tag", "box", "polygon", "mask")
ORIGINS = ("human", "model")
STATES = ("proposed", "accepted", "rejected")


@dataclass(frozen=True, slots=True)
class Checked:
    """An annotation's fields after the rules: normalised, with the outline, COCO bbox and area to store."""

    kind: str
    geometry: dict
    outline: dict | None
    origin: str
    state: str
    score: float | None
    coco_bbox: list[float] | None = None
    coco_area: float | None = None


def _at(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


def annotation_check(
    *,
    kind,
    geometry,
    width: int,
    height: int,
    kinds: Iterable[str] = KINDS,
    origin: str = "human",
    state: str | None = None,
    score=None,
    max_points: int | None = None,
    prefix: str = "",
) -> Checked:
    """Every rule about one new annotation that does not need the database.

    ``kinds`` are the kinds the project uses; ``prefix`` is put before every path
    (``[3]`` gives ``[3].geometry.w``). ``state`` defaults to proposed for the model's
    annotations and accepted for people's.
    """
    if kind not in KINDS:
        raise RuleError(_at(prefix, "kind"), f"Unknown kind {kind!r}; one of {', '.join(KINDS)}.")
    kinds = list(kinds)
    if kind not in kinds:
        raise RuleError(_at(prefix, "kind"), f"This project does not use {kind} annotations ({', '.join(kinds)}).")
    origin, state, score = origin_check(origin=origin, state=state, score=score, prefix=prefix)
    clean, outline = checked_geometry(
        kind, {} if geometry is None and kind == "tag" else geometry, width=width, height=height,
        path=_at(prefix, "geometry"), max_points=max_points,
    )
    bbox, area = coco_fields(kind, clean)
    return Checked(kind=kind, geometry=clean, outline=outline, origin=origin, state=state, score=score,
                   coco_bbox=bbox, coco_area=area)


def coco_fields(kind: str, geometry: dict) -> tuple[list[float] | None, float | None]:
    """(bbox, area) that a COCO export writes for a checked shape; (None, None) for a tag.

    Exactly what labeling.coco.export computes (pycocotools is the judge): a box's own
    [x, y, w, h] and w * h; a polygon's tight box and the pixels pycocotools rasterises from
    its ring; a mask's pixel count and pycocotools' tight box. Every write path stores them
    with the geometry (Annotation.coco_bbox / coco_area), so the export on PostgreSQL can write
    each annotation's JSON in SQL.
    """
    if kind == "box":
        x, y, w, h = float(geometry["x"]), float(geometry["y"]), float(geometry["w"]), float(geometry["h"])
        return [x, y, w, h], w * h
    if kind == "polygon":
        flat = [float(v) for point in geometry["points"] for v in point]
        xs, ys = flat[0::2], flat[1::2]
        x0, y0 = min(xs), min(ys)
        # The canvas only needs to hold the points: a ring's pixels do not depend on it.
        height, width = int(math.ceil(max(ys))) + 1, int(math.ceil(max(xs))) + 1
        area = int(mask_api.area(mask_api.frPyObjects([flat], height, width)[0]))
        return [x0, y0, max(xs) - x0, max(ys) - y0], float(area)
    if kind == "mask":
        rle = geometry["rle"]
        height, width = rle["size"]
        counts = rle["counts"]
        coded = ({"size": [height, width], "counts": counts.encode("ascii")} if isinstance(counts, str)
                 else mask_api.frPyObjects({"size": [height, width], "counts": counts}, height, width))
        return [float(v) for v in mask_api.toBbox(coded)], float(mask_api.area(coded))
    return None, None


def origin_check(*, origin: str, state: str | None, score, prefix: str = "") -> tuple[str, str, float | None]:
    """(origin, state, score) of a new annotation, or RuleError naming the field."""
    if origin not in ORIGINS:
        raise RuleError(_at(prefix, "origin"), f"Unknown origin {origin!r}; one of {', '.join(ORIGINS)}.")
    if state is None:
        state = "proposed" if origin == "model" else "accepted"
    if state not in STATES:
        raise RuleError(_at(prefix, "state"), f"Unknown state {state!r}; one of {', '.join(STATES)}.")
    if origin == "human":
        if state == "proposed":
            raise RuleError(_at(prefix, "state"), "Only the model proposes; a human label is accepted or rejected.")
        if score is not None:
            raise RuleError(
                _at(prefix, "score"),
                "A label made by a person has no score: only the model's proposals carry one. Leave score out.",
            )
        return origin, state, None
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
            raise RuleError(_at(prefix, "score"), f"must be a number from 0 to 1, not {score!r}.")
        if not 0 <= score <= 1:
            raise RuleError(_at(prefix, "score"), f"must be from 0 to 1, not {score:g}.")
        score = float(score)
    return origin, state, score


def state_after_change(*, origin: str, state: str, requested: str | None = None, edited: bool = False) -> str:
    """The state an annotation ends in after a change: the one place for this transition.

    ``requested`` is the state asked for (None: none asked); ``edited`` says the class or the
    geometry changed. Editing a proposal without asking for a state accepts it: the person
    has vouched for it. A person's label is never proposed; the model's may be put back.
    """
    if requested is None:
        return "accepted" if edited and state == "proposed" else state
    if requested not in STATES:
        raise RuleError("state", f"Unknown state {requested!r}; one of {', '.join(STATES)}.")
    if requested == "proposed" and origin == "human":
        raise RuleError("state", "Only the model proposes; a human label is accepted or rejected.")
    return requested


@dataclass(frozen=True, slots=True)
class TagItem:
    """A tag that will be accepted: ``path`` names it in the caller's input, ``image`` is any key."""

    path: str
    image: object
    class_id: object
    class_name: str
    image_label: str = "The image"


def tags_check(*, multilabel: bool, existing: Mapping[object, Mapping[object, str]], new: Iterable[TagItem]) -> None:
    """One accepted tag per class and image; one per image at all when the project is single-label.

    ``existing`` maps an image to its accepted tags (class -> name) other than those in
    ``new``; ``new`` are checked in order, against those and each other, and the first
    that breaks a rule is refused with its path.
    """
    names: dict[object, dict[object, str]] = {}
    for tag in new:
        on_image = names.get(tag.image)
        if on_image is None:
            on_image = names[tag.image] = dict(existing.get(tag.image, {}))
        if tag.class_id in on_image:
            raise RuleError(tag.path, f"{tag.image_label} is already tagged {on_image[tag.class_id]!r}.")
        if not multilabel and on_image:
            raise RuleError(
                tag.path,
                f"This project is single-label and {tag.image_label[0].lower()}{tag.image_label[1:]} "
                f"is already tagged {next(iter(on_image.values()))!r}.",
            )
        on_image[tag.class_id] = tag.class_name
