"""Reading the model's proposals in bulk: keyset pages by annotation id (no OFFSET, no COUNT)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from labeling.models import Annotation, Project

from .models import ModelVersion
from .services.predictions import MAX_ID, MAX_PAGE_SIZE, PAGE_SIZE, cursor_decode, cursor_encode, version_summary

FIELDS = ("id", "image_id", "label_class_id", "kind", "geometry", "score", "state", "model_version_id")


def _ints(raw: str, field: str) -> list[int]:
    try:
        values = [int(v) for v in raw.split(",") if v.strip()]
    except ValueError:
        raise ValidationError({field: f"{raw!r}: give ids separated by commas."}) from None
    if not values:
        raise ValidationError({field: "Give one or more ids separated by commas."})
    # An id past 64 bits exists nowhere: it matches nothing, like any other missing id.
    return [v for v in values if 0 < v <= MAX_ID]


def _choices(raw: str, field: str, allowed) -> list[str]:
    values = [v.strip() for v in raw.split(",") if v.strip()]
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise ValidationError({field: f"Unknown {field} {unknown[0]!r}; use {', '.join(allowed)}." if unknown
                               else f"Give one or more of {', '.join(allowed)}, separated by commas."})
    return values


def prediction_page(*, project: Project, params) -> dict:
    """One page of the model's annotations of ``project`` (every state unless ``state`` says which).

    ``params``: cursor, page_size (at most MAX_PAGE_SIZE), model_version, state, kind, image.
    Another project's ids in a filter give an empty page, exactly like ids that do not exist.
    """
    rows = Annotation.objects.filter(image__project=project, origin=Annotation.Origin.MODEL)
    if params.get("model_version"):
        rows = rows.filter(model_version_id__in=_ints(params["model_version"], "model_version"))
    if params.get("image"):
        rows = rows.filter(image_id__in=_ints(params["image"], "image"))
    if params.get("state"):
        rows = rows.filter(state__in=_choices(params["state"], "state", Annotation.State.values))
    if params.get("kind"):
        rows = rows.filter(kind__in=_choices(params["kind"], "kind", Annotation.Kind.values))
    if params.get("cursor"):
        rows = rows.filter(id__gt=cursor_decode(params["cursor"]))
    size = PAGE_SIZE
    if params.get("page_size"):
        raw = params["page_size"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
            raise ValidationError({"page_size": f"A number from 1 to {MAX_PAGE_SIZE}, not {raw!r}."})
        size = int(raw)
    found = list(rows.order_by("id").values_list(*FIELDS)[: size + 1])
    more = len(found) > size
    found = found[:size]
    results = [dict(zip(("id", "image", "label_class", "kind", "geometry", "score", "state", "model_version"), r,
                        strict=True)) for r in found]
    version_ids = {r["model_version"] for r in results if r["model_version"] is not None}
    versions = {str(v.pk): version_summary(v) for v in ModelVersion.objects.filter(pk__in=version_ids)}
    return {
        "next_cursor": cursor_encode(found[-1][0]) if more else None,
        "results": results,
        "model_versions": versions,
    }
