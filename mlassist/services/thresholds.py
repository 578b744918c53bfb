"""A manager's proposal threshold for one head, instead of the one chosen from its validation.

Stored with the version (``metrics["threshold_override"]``, beside the automatic ``threshold``), so
the model page shows both; ``null`` goes back to automatic. The head's next versions keep it
(services/training.py), so a retrain does not silently undo a manager's choice. When the version is
in service its proposals are made again at once with the new threshold (a propose job).
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import ModelVersion
from .proposals import KIND_OF_HEAD, proposals_start


def model_version_threshold_set(*, version: ModelVersion, threshold: float | None, user) -> ModelVersion:
    """Override (a number in 0.01..0.99) or clear (None) ``version``'s proposal threshold."""
    if version.metrics.get("source") == "external":
        raise ValidationError({"threshold": (
            f"Version {version.number} holds an external model's predictions; it proposes nothing by itself.")})
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().get(pk=version.pk)
        metrics = dict(current.metrics)
        if threshold is None:
            metrics.pop("threshold_override", None)
        else:
            metrics["threshold_override"] = round(float(threshold), 4)
        current.metrics = metrics
        current.save(update_fields=["metrics"])
        if current.in_service and KIND_OF_HEAD[current.kind] in current.project.kinds:
            # The open images' proposals at the new threshold (on commit: never against a rolled-back change).
            proposals_start(project=current.project, user=user)
    return current
