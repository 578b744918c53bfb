"""The Live page draws the box head's boxes over the video, and Keep stores them as proposals.

A boxes-only project is trained in this process (a real training run) on camera-sized frames with
one bright square; the fake camera plays frames of the same kind. The live parts (backbone file and
head) are built here as the worker's task would build them when the page asks.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from labeling.models import Image
from labeling.services.annotations import annotation_create_many
from labeling.services.images import image_upload
from labeling.services.projects import label_class_create, project_create
from mlassist.models import ModelVersion
from mlassist.services.exports import live_parts_export
from mlassist.services.training import training_request, training_run_execute

from ..factories import MembershipFactory
from ..mlassist.test_live_overlays import RED, square_frame, square_pixels
from .test_camera import camera  # noqa: F401 (the fake-camera fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def boxes_project(transactional_db, manager, annotator):
    # The manager's proposal threshold, low: the test is about drawing what the head finds, on frames
    # that went through the fake camera and the page's JPEG, not about how sure a 24-image head is.
    project = project_create(user=manager, name="Squares", kinds=["box"], retrain_every=1000)
    project.proposal_threshold = 0.05
    project.save(update_fields=["proposal_threshold"])
    MembershipFactory(project=project, user=annotator, role="annotator")
    red = label_class_create(project=project, name="red")
    for i in range(24):
        data, box = square_frame(RED, i)
        [image] = image_upload(project=project, user=manager, files=[SimpleUploadedFile(f"{i}.jpg", data)]).created
        annotation_create_many(image=image, user=manager, items=[
            {"label_class": red.pk, "kind": "box", "geometry": dict(zip("xywh", box))}])
    training_run_execute(run_id=training_request(project=project, user=manager).pk)
    detector = ModelVersion.objects.get(project=project, kind="detector", in_service=True)
    live_parts_export(version_ids=[detector.pk])
    return project, red, detector


def test_live_draws_the_boxes_and_keep_stores_them(camera, live_server, boxes_project, annotator):  # noqa: F811
    project, red, detector = boxes_project
    page = camera(annotator, [square_pixels(RED, 0)[0]] * 10, fps=10)
    page.goto(f"{live_server.url}/projects/{project.pk}/live/")
    expect(page.locator("#live-version")).to_have_text(f"boxes v{detector.number}", timeout=60_000)
    overlay = page.locator("#live-overlay")
    expect(overlay.locator(".live-box").first).to_be_visible(timeout=30_000)
    expect(overlay.locator(".live-box text").first).to_contain_text("red")
    assert int(overlay.get_attribute("data-boxes")) >= 1
    # A boxes-only project: Keep, no Correct (that is for tags).
    expect(page.locator("#live-correct")).to_have_count(0)

    page.keyboard.press("k")
    stored = page.locator("#live-stored")
    expect(stored).to_contain_text("Kept as image")
    expect(stored).to_contain_text("box")
    kept = Image.objects.get(pk=stored.get_attribute("data-image"))
    boxes = list(kept.annotations.values_list("kind", "origin", "state", "model_version", "label_class"))
    assert boxes and set(boxes) == {("box", "model", "proposed", detector.pk, red.pk)}
