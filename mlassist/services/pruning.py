"""The retention policy for files the product writes: exports, failed imports' uploads, partial
files of killed workers, and model versions nobody serves.

Run by every worker's sweeper every PRUNE_EVERY_MINUTES and by ``manage.py prune_files``. Rows
are kept (the history of jobs and versions stays); only their files go, and the row says so.
"""

import logging
import os
import time
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from labeling.models import Job
from labeling.services.jobs import UPLOAD_PARAMS

from ..models import ModelVersion
from .exports import live_head_delete

log = logging.getLogger(__name__)


def files_prune(*, now=None) -> dict:
    now = now or timezone.now()
    return {
        "exports": exports_prune(),
        "uploads": failed_uploads_prune(now=now),
        "part_files": part_files_prune(),
        "model_versions": model_files_prune(),
    }


def exports_prune() -> int:
    """Keep the files of each project's newest KEEP_EXPORTS succeeded exports."""
    keep = settings.KEEP_EXPORTS
    ranked = (
        Job.objects.filter(kind="coco_export", state=Job.State.SUCCEEDED).exclude(result_file="")
        .annotate(rank=Window(RowNumber(), partition_by="project_id", order_by="-created_at"))
        .values_list("pk", "rank", "result_file")
    )
    old = [(pk, name) for pk, rank, name in ranked if rank > keep]
    for pk, name in old:
        default_storage.delete(name)
        Job.objects.filter(pk=pk, result_file=name).update(
            result_file="", detail=f"File removed: only the newest {keep} exports of a project are kept."
        )
    return len(old)


def failed_uploads_prune(*, now) -> int:
    """Uploads of imports that failed more than FAILED_UPLOAD_KEEP_HOURS ago (kept that long for a retry)."""
    before = now - timedelta(hours=settings.FAILED_UPLOAD_KEEP_HOURS)
    removed = 0
    for job in Job.objects.filter(kind__in=UPLOAD_PARAMS.keys(), state=Job.State.FAILED, finished_at__lt=before):
        for key in UPLOAD_PARAMS[job.kind]:
            name = job.params.get(key)
            if name and default_storage.exists(name):
                default_storage.delete(name)
                removed += 1
    return removed


def part_files_prune() -> int:
    """``*.part`` files no one has written to for PART_FILE_MAX_AGE_MINUTES: left by killed workers.

    A live export writes its part file continuously, so its modification time stays recent.
    """
    folder = settings.VAR_DIR / "tmp"
    before = time.time() - settings.PART_FILE_MAX_AGE_MINUTES * 60
    removed = 0
    if not folder.is_dir():
        return 0
    for entry in os.scandir(folder):
        if entry.name.endswith(".part") and entry.is_file() and entry.stat().st_mtime < before:
            try:
                os.unlink(entry.path)
                removed += 1
            except FileNotFoundError:
                pass
    return removed


def model_files_prune() -> int:
    """Files of versions that are not in service and older than the newest KEEP_MODEL_VERSIONS of their kind."""
    keep = settings.KEEP_MODEL_VERSIONS
    ranked = (
        ModelVersion.objects.filter(in_service=False)
        .annotate(rank=Window(RowNumber(), partition_by=["project_id", "kind"], order_by="-number"))
        .values_list("pk", "rank", "artifact", "tflite")
    )
    # The rank counts versions not in service; the one in service is never among the pruned.
    old = [pk for pk, rank, artifact, tflite in ranked if rank > keep and (artifact or tflite)]
    for version in ModelVersion.objects.filter(pk__in=old):
        for field in (version.artifact, version.tflite):
            if field:
                default_storage.delete(field.name)
        live_head_delete(version=version)
        # Said in the metrics too, so that promoting it again is refused with the reason.
        ModelVersion.objects.filter(pk=version.pk, in_service=False).update(
            artifact="", tflite="", tflite_labels="", metrics={**version.metrics, "files_removed": True}
        )
    return len(old)
