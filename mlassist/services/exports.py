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
