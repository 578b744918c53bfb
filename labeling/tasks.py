"""Thin Celery tasks: take ids, re-fetch rows, make one service call.

The job tasks run under a lease (services/leases.py): a second delivery of a message whose job
is running elsewhere does nothing, and a dead worker's job is sent again by the sweeper
(annotator/worker.py) under the same task name, from services.jobs.JOB_TASKS.
"""

import logging

from celery import shared_task

from .models import Image
from .services.images import image_thumbnail_make

log = logging.getLogger(__name__)


# Idempotent (a made thumbnail is left alone), so late acknowledgement is safe: a worker killed
# half-way means the task runs again on another worker.
@shared_task(name="labeling.image_thumbnail_make", acks_late=True, autoretry_for=(OSError,), max_retries=3)
def image_thumbnail_make_task(image_id: int) -> None:
    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        log.info("image %s is gone; no thumbnail to make", image_id)
        return
    image_thumbnail_make(image=image)


# Re-running writes a new *.part file and moves it into place whole: safe to run again after a
# dead worker (its part file is removed by prune_files).
@shared_task(name="labeling.coco_export", acks_late=True)
def coco_export_task(job_id: str) -> None:
    from .services.coco import coco_export_job

    coco_export_job(job_id=job_id)


# The import and the job's "succeeded" commit together (the latter only under this worker's
# lease), so a job run again after a dead worker imports once.
@shared_task(name="labeling.coco_import", acks_late=True)
def coco_import_task(job_id: str) -> None:
    from .services.coco import coco_import_job

    coco_import_job(job_id=job_id)


# De-duplication by sha256 makes a rerun store nothing twice, and the job keeps its report after
# each URL, so a redelivered task goes on from there.
@shared_task(name="labeling.url_import", acks_late=True)
def url_import_task(job_id: str) -> None:
    from .services.url_import import url_import_job

    url_import_job(job_id=job_id)
