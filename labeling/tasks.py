"""Thin Celery tasks: take ids, re-fetch rows, make one service call."""

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
