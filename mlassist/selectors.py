"""Reads of model assistance for pages."""

from labeling.models import Project

from .models import ModelVersion, SuspiciousLabel


def backbone_mismatch(version: ModelVersion, key: str | None = None) -> str:
    """Why ``version`` cannot serve with the backbone configured now ("" when it can): its heads
    read the features of the backbone they were trained on."""
    from .services.features import backbone_config

    key = key or backbone_config().key()
    if not version.backbone_key or version.backbone_key == key or version.metrics.get("source") == "external":
        return ""
    return (f"Version {version.number} was trained on the features of backbone {version.backbone_key}, but the "
            f"configured backbone is {key}: it cannot propose. Train again to get a version for this backbone.")


def suspicious_label_rows(*, project: Project, limit: int = 100) -> list[dict]:
    """Accepted tags the cross-validated classifier disputes, most confident dispute first, with the
    image's file name and both class names (one query)."""
    rows = (
        SuspiciousLabel.objects.filter(annotation__image__project=project)
        .order_by("-confidence", "pk")
        .values("confidence", "annotation_id", "annotation__image_id", "annotation__image__file_name",
                "annotation__label_class__name", "predicted_class__name", "annotation__created_by__username")[:limit]
    )
    return [
        {"annotation": r["annotation_id"], "image": r["annotation__image_id"],
         "file_name": r["annotation__image__file_name"], "labelled": r["annotation__label_class__name"],
         "predicted": r["predicted_class__name"], "confidence": r["confidence"],
         "by": r["annotation__created_by__username"] or ""}
        for r in rows
    ]
