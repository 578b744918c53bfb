"""The classifier's TFLite file (backbone + head, for phones and the live page), built on demand.

Building it takes about 12 s (the whole backbone is traced and converted) against 0.14 s for
training the tag head, so it is never on the way to new proposals. It is built when asked for
(the download endpoint, when the version in service has none) and, once a project has used it,
for each new serving classifier after its proposals are stored, in its own task. Projects that
never use it never pay for it: the worker stays free for the next retrain. A request is queued
once per version and 10 minutes.
"""

import logging
from datetime import datetime, timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import ModelVersion

log = logging.getLogger(__name__)
REQUEST_AGAIN_AFTER = timedelta(minutes=10)


def tflite_export_request(*, version: ModelVersion) -> bool:
    """Queue the build unless the file exists or a build was asked for recently; True when queued."""
    from ..tasks import tflite_export_task

    now = timezone.now()
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().only("id", "metrics", "tflite").get(pk=version.pk)
        if locked.tflite:
            return False
        asked = (locked.metrics or {}).get("tflite_requested_at")
        if asked and now - datetime.fromisoformat(asked) < REQUEST_AGAIN_AFTER:
            return False
        ModelVersion.objects.filter(pk=version.pk).update(
            metrics={**(locked.metrics or {}), "tflite_requested_at": now.isoformat()}
        )
        tflite_export_task.delay_on_commit(version.pk)
    return True


def tflite_export(*, version_id: int) -> None:
    """Build and store the file (idempotent: a version that has one is left alone)."""
    from ..ml.export import classifier_to_tflite
    from .features import backbone_config
    from .proposals import load_version_head

    version = ModelVersion.objects.select_related("project").filter(pk=version_id, kind="classifier").first()
    if version is None or version.tflite or version.metrics.get("files_removed"):
        return
    cfg = backbone_config()
    if version.backbone_key != cfg.key():
        log.warning("TFLite for version %s not built: trained on backbone %s, configured %s",
                    version.pk, version.backbone_key, cfg.key())
        return
    names = dict(version.project.label_classes.values_list("id", "name"))
    exported = classifier_to_tflite(cfg, load_version_head(version), [names[i] for i in version.class_ids])
    version.tflite.save(f"{version.project_id}/classifier-v{version.number}.tflite", ContentFile(exported.model),
                        save=False)
    version.tflite_labels = exported.labels
    version.save(update_fields=["tflite", "tflite_labels"])


def tflite_export_wanted(*, project) -> bool:
    """After proposing: queue the serving classifier's file if this project has used TFLite before."""
    serving = ModelVersion.objects.filter(project=project, kind="classifier", in_service=True).first()
    if serving is None or serving.tflite:
        return False
    used = (ModelVersion.objects.filter(project=project, kind="classifier").exclude(pk=serving.pk)
            .filter(Q(metrics__has_key="tflite_requested_at") | ~Q(tflite="")).exists())
    return used and tflite_export_request(version=serving)


# --- live parts: the backbone once per configuration, and each version's head on its own -----
# (mlassist/ml/export.py says why). Named by convention, not stored in a field: the backbone file
# belongs to no version, and a classifier's `tflite` is its phone download (backbone + head).

def live_features_name(cfg) -> str:
    return f"models/live/features-{cfg.key()}.tflite"


def live_head_name(version: ModelVersion) -> str:
    return f"models/{version.project_id}/live/{version.kind}-v{version.number}-{version.pk}.tflite"


def live_parts_request(*, versions: list[ModelVersion]) -> bool:
    """Queue the build of the versions' live heads (and the backbone file) unless each was asked for
    in the last 10 minutes; True when queued. Each version carries the date it was last asked for."""
    from ..tasks import live_parts_export_task

    now = timezone.now()
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().only("id", "metrics").filter(pk__in=[v.pk for v in versions])
        fresh = [v for v in locked if not (asked := (v.metrics or {}).get("live_requested_at"))
                 or now - datetime.fromisoformat(asked) >= REQUEST_AGAIN_AFTER]
        if not fresh:
            return False
        for v in fresh:
            ModelVersion.objects.filter(pk=v.pk).update(
                metrics={**(v.metrics or {}), "live_requested_at": now.isoformat()})
        live_parts_export_task.delay_on_commit([v.pk for v in versions])
    return True


def live_parts_export(*, version_ids: list[int]) -> None:
    """Build what is missing of the backbone file and the versions' heads (idempotent). Versions
    trained on another backbone than the one configured, or whose files were removed, are left out."""
    from django.core.files.storage import default_storage

    from ..ml.export import features_to_tflite, head_to_tflite
    from .features import backbone_config
    from .proposals import load_version_head

    cfg = backbone_config()
    versions = [v for v in ModelVersion.objects.filter(pk__in=version_ids)
                if v.backbone_key == cfg.key() and not v.metrics.get("files_removed") and v.artifact]
    if not versions:
        return
    if not default_storage.exists(live_features_name(cfg)):
        default_storage.save(live_features_name(cfg), ContentFile(features_to_tflite(cfg)))
    for version in versions:
        if not default_storage.exists(live_head_name(version)):
            default_storage.save(live_head_name(version), ContentFile(head_to_tflite(load_version_head(version))))


def live_head_delete(*, version: ModelVersion) -> None:
    """With the version's other files (retention policy)."""
    from django.core.files.storage import default_storage

    default_storage.delete(live_head_name(version))
