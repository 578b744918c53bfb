"""The Live page draws the box head's boxes (or the mask head's masks) over the video, and Keep stores
them as proposals.

A boxes-only (masks-only) project is trained in this process (a real training run) on camera-sized frames with
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
from ..mlassist.test_live_overlays import RED, square_frame, square_pixels, square_rle
from .test_camera import camera  # noqa: F401 (the fake-camera fixture)

pytestmark = pytest.mark.browser


HEAD = {"box": "detector", "mask": "segmenter"}
SHOWN = {"box": "boxes", "mask": "masks"}


@pytest.fixture(params=["box", "mask"])
def shapes_project(request, transactional_db, manager, annotator):
    kind = request.param
    # The manager's proposal threshold, low: the test is about drawing what the head finds, on frames
    # that went through the fake camera and the page's JPEG, not about how sure a 24-image head is.
    project = project_create(user=manager, name="Squares", kinds=[kind], retrain_every=1000)
    project.proposal_threshold = 0.05
    project.save(update_fields=["proposal_threshold"])
    MembershipFactory(project=project, user=annotator, role="annotator")
    red = label_class_create(project=project, name="red")
    for i in range(24):
        data, box = square_frame(RED, i)
        [image] = image_upload(project=project, user=manager, files=[SimpleUploadedFile(f"{i}.jpg", data)]).created
        geometry = dict(zip("xywh", box)) if kind == "box" else {"rle": square_rle(box)}
        annotation_create_many(image=image, user=manager, items=[
            {"label_class": red.pk, "kind": kind, "geometry": geometry}])
    training_run_execute(run_id=training_request(project=project, user=manager).pk)
    head = ModelVersion.objects.get(project=project, kind=HEAD[kind], in_service=True)
    live_parts_export(version_ids=[head.pk])
    return project, red, head, kind


def test_live_draws_the_shapes_and_keep_stores_them(camera, live_server, shapes_project, annotator):  # noqa: F811
    project, red, head, kind = shapes_project
    page = camera(annotator, [square_pixels(RED, 0)[0]] * 10, fps=10)
    page.goto(f"{live_server.url}/projects/{project.pk}/live/")
    expect(page.locator("#live-version")).to_have_text(f"{SHOWN[kind]} v{head.number}", timeout=60_000)
    overlay = page.locator("#live-overlay")
    expect(overlay.locator(f".live-{kind}").first).to_be_visible(timeout=30_000)
    if kind == "box":
        expect(overlay.locator(".live-box text").first).to_contain_text("red")
    assert int(overlay.get_attribute(f"data-{SHOWN[kind]}")) >= 1
    # A boxes-only or masks-only project: Keep, no Correct (that is for tags).
    expect(page.locator("#live-correct")).to_have_count(0)

    page.keyboard.press("k")
    stored = page.locator("#live-stored")
    expect(stored).to_contain_text("Kept as image")
    expect(stored).to_contain_text(kind)
    kept = Image.objects.get(pk=stored.get_attribute("data-image"))
    shapes = list(kept.annotations.values_list("kind", "origin", "state", "model_version", "label_class"))
    assert shapes and set(shapes) == {(kind, "model", "proposed", head.pk, red.pk)}
