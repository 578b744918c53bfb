"""Background work done by a real Celery worker process (on Redis in CI)."""

import io
import time

import PIL.Image
import pytest

from labeling.models import Image

from ..factories import upload

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_worker_makes_thumbnails_of_uploads(celery_worker_process, project, manager, client_for):
    api = client_for(manager)
    response = api.post(f"/api/projects/{project.pk}/images/", {"files": [upload("big.png", width=1024, height=512)]})
    assert response.status_code == 201
    image_id = response.json()["created"][0]["id"]
    made = wait_for(lambda: bool(Image.objects.get(pk=image_id).thumbnail))
    assert made, celery_worker_process.log_path.read_text()
    thumbnail = api.get(f"/api/images/{image_id}/thumbnail/")
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"
    picture = PIL.Image.open(io.BytesIO(b"".join(thumbnail.streaming_content)))
    assert picture.size == (256, 128)
