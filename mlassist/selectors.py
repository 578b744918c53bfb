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


# Why a label is listed (ml/audit.py), read off the stored row: the model's class equal to the
# labelled one means it sees nothing of that class there.
REASONS = {
    "disputed": "The model says another class",
    "not_found": "The model sees nothing of this class here",
    "missing": "The model also sees this class on the image: a tag may be missing",
}


def suspicion_reason(*, kind: str, multilabel: bool, labelled_class_id: int, predicted_class_id: int) -> str:
    """"disputed", "not_found" or "missing" (a multi-label tag the model sees that nobody gave)."""
    if labelled_class_id == predicted_class_id:
        return "not_found"
    return "missing" if kind == "tag" and multilabel else "disputed"


def suspicious_label_rows(*, project: Project, limit: int = 100) -> list[dict]:
    """Accepted tags, boxes and masks the model doubts, most confident first, with the image's file
    name, both class names and why (one query)."""
    rows = (
        SuspiciousLabel.objects.filter(annotation__image__project=project)
        .order_by("-confidence", "pk")
        .values("confidence", "annotation_id", "annotation__image_id", "annotation__image__file_name",
                "annotation__kind", "annotation__label_class_id", "predicted_class_id",
                "annotation__label_class__name", "predicted_class__name", "annotation__created_by__username")[:limit]
    )
    out = []
    for r in rows:
        reason = suspicion_reason(kind=r["annotation__kind"], multilabel=project.multilabel,
                                  labelled_class_id=r["annotation__label_class_id"],
                                  predicted_class_id=r["predicted_class_id"])
        out.append({"annotation": r["annotation_id"], "image": r["annotation__image_id"],
                    "file_name": r["annotation__image__file_name"], "kind": r["annotation__kind"],
                    "labelled": r["annotation__label_class__name"], "predicted": r["predicted_class__name"],
                    "reason": reason, "reason_text": REASONS[reason], "confidence": r["confidence"],
                    "by": r["annotation__created_by__username"] or ""})
    return out
