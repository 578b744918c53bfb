"""What the product shows about its model: time saved on the project page, why the queue chose an
image, thresholds and validation on the model page, and pages that follow the model's events."""

import re

import pytest
from playwright.sync_api import expect

from labeling.models import Membership
from labeling.services.annotations import annotation_update
from labeling.services.projects import project_create

from ..factories import AnnotationFactory, ImageFactory, LabelClassFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.browser
BOX = {"x": 10, "y": 10, "w": 20, "h": 20}


def _sign_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "pw-secret-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


@pytest.fixture
def world(transactional_db):
    boss = UserFactory(username="boss")
    project = project_create(user=boss, name="Birds", kinds=["tag", "box"])
    annotator = UserFactory(username="ann")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    cat, dog = LabelClassFactory(project=project, name="cat"), LabelClassFactory(project=project, name="dog")
    images = [ImageFactory(project=project, file_name=f"bird{i}.png") for i in range(3)]
    return {"project": project, "boss": boss, "annotator": annotator, "classes": [cat, dog], "images": images}


def _judge(annotation, user, state):
    annotation_update(annotation=annotation, user=user, version=annotation.version, changes={"state": state})


@pytest.mark.parametrize("role", ["annotator", "boss"])
def test_the_project_page_shows_the_time_saved_and_how_it_is_computed(page, live_server, world, role):
    cat, dog = world["classes"]
    user = world[role]
    for image in world["images"][:2]:
        _judge(AnnotationFactory(image=image, label_class=cat, geometry=BOX, origin="model", state="proposed",
                                 score=0.9), world["annotator"], "accepted")
    _judge(AnnotationFactory(image=world["images"][2], label_class=dog, kind="tag", geometry={}, origin="model",
                             state="proposed", score=0.6), world["annotator"], "rejected")
    _sign_in(page, live_server, user)
    page.goto(f"{live_server.url}/projects/{world['project'].pk}/")
    card = page.locator("#assistance")
    # Two boxes accepted: 2 x (7 s to draw - 1.6 s to check); one tag rejected: - 1 s.
    expect(card.locator("#time-saved-value")).to_have_text("10 s")
    expect(card.locator("#time-saved-detail")).to_contain_text("2 proposals accepted, 0 edited, 1 rejected")
    expect(card.locator("#time-saved-help")).to_have_attribute("title", re.compile(r"check \(1\.6 s\)"))
    card.get_by_text("How it is computed").click()
    expect(card.locator("#time-saved-method")).to_be_visible()
    expect(card.locator("#time-saved-method")).to_contain_text("draw a box 7 s by extreme clicking")
    expect(card.locator("#model-serving")).to_have_text("No model in service yet.")


@pytest.mark.parametrize("role", ["annotator", "boss"])
def test_the_workspace_says_why_the_queue_chose_the_image(page, live_server, world, role):
    from mlassist.models import ImageUncertainty, ModelVersion

    project, images = world["project"], world["images"]
    project.queue_order = "uncertainty"
    project.save()
    version = ModelVersion.objects.create(project=project, kind="classifier", number=3, in_service=True)
    for image, margin in zip(images, [0.9, 0.07, 0.4], strict=True):
        ImageUncertainty.objects.create(image=image, margin=margin, model_version=version)
    _sign_in(page, live_server, world[role])
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("#start-labelling")
    expect(page.locator("body")).to_have_attribute("data-image-id", str(images[1].pk))
    note = page.locator("#ws-queue-reason")
    expect(note).to_have_text("Chosen because the model is unsure: margin 0.07 (tags v3).")
    page.click("button[data-action=skip]")  # the next one from the queue, without a page load
    expect(page.locator("body")).to_have_attribute("data-image-id", str(images[2].pk))
    expect(note).to_have_text("Chosen because the model is unsure: margin 0.40 (tags v3).")
    page.click("button[data-action=prev]")  # not from the queue: no reason to give
    expect(page.locator("body")).to_have_attribute("data-image-id", str(images[1].pk))
    expect(note).to_be_hidden()
