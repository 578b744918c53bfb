"""What the product shows about its model: time saved on the project page, why the queue chose an
image, thresholds and validation on the model page, and pages that follow the model's events."""

import re

import pytest
from playwright.sync_api import expect

from labeling.models import Membership
from labeling.services.annotations import annotation_update
from labeling.services.projects import project_create

from ..factories import AnnotationFactory, ImageFactory, LabelClassFactory, MembershipFactory, UserFactory

from .accounts import sign_in

pytestmark = pytest.mark.browser
BOX = {"x": 10, "y": 10, "w": 20, "h": 20}


def _sign_in(page, live_server, user):
    sign_in(page, live_server, user.username)


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


def _versions_with_validation(project):
    from mlassist.models import ModelVersion

    ModelVersion.objects.create(project=project, kind="detector", number=1, labels_used=20,
                                metrics={"map50": 0.3, "n_val": 4, "threshold": 0.5})
    return ModelVersion.objects.create(
        project=project, kind="detector", number=2, labels_used=45, in_service=True,
        metrics={"map50": 0.41, "n_val": 9, "threshold": 0.42, "precision_at_threshold": 0.8,
                 "recall_at_threshold": 0.7,
                 "compared_with": {"n": 4, "new": 0.81, "old": 0.77, "differing": 3, "old_wins": 1,
                                   "p_old_better": 0.875, "version": 1, "map50": 0.28}})


def test_a_manager_sees_readiness_validation_and_overrides_a_threshold(page, live_server, world):
    from mlassist.models import ModelVersion

    project, (cat, _dog) = world["project"], world["classes"]
    for image in world["images"]:
        AnnotationFactory(image=image, label_class=cat, geometry=BOX, created_by=world["boss"])
    v2 = _versions_with_validation(project)
    _sign_in(page, live_server, world["boss"])
    page.goto(f"{live_server.url}/projects/{project.pk}/model/")
    boxes = page.locator("#readiness tr[data-head=detector]")
    expect(boxes).to_contain_text("3 of 4")
    expect(boxes).to_contain_text("3 images have accepted box labels; training needs 4.")
    expect(page.locator("#readiness tr[data-head=classifier]")).to_contain_text("0 of 4")

    row = page.locator("#versions tr[data-kind=detector][data-version='2']")
    expect(row.locator("[data-role=validation]")).to_contain_text("scored on 9 held-out images")
    expect(row.locator("[data-role=validation]")).to_contain_text(
        "compared with v1 on the 4 both held out: 0.81 vs 0.77 per image, sign test p = 0.875 → put in service")
    threshold = row.locator("[data-role=threshold]")
    expect(threshold).to_contain_text("0.42 automatic; at 0.42 on validation: precision 0.80, recall 0.70")
    threshold.locator("input[name=threshold]").fill("0.3")
    threshold.get_by_role("button", name="Set").click()
    expect(threshold.locator(".threshold-text")).to_contain_text("0.30 set by a manager (automatic 0.42)")
    assert ModelVersion.objects.get(pk=v2.pk).metrics["threshold_override"] == 0.3
    threshold.locator("input[name=threshold]").fill("2")
    threshold.get_by_role("button", name="Set").click()
    expect(threshold.locator(".threshold-error")).to_contain_text("0.99")
    threshold.get_by_role("button", name="Automatic").click()
    expect(threshold.locator(".threshold-text")).to_contain_text("0.42 automatic")
    assert "threshold_override" not in ModelVersion.objects.get(pk=v2.pk).metrics


def test_others_see_thresholds_and_validation_but_cannot_change_them(page, live_server, world):
    project = world["project"]
    _versions_with_validation(project)
    _sign_in(page, live_server, world["annotator"])
    page.goto(f"{live_server.url}/projects/{project.pk}/model/")
    row = page.locator("#versions tr[data-kind=detector][data-version='2']")
    expect(row.locator("[data-role=threshold]")).to_contain_text("0.42 automatic")
    expect(row.locator("[data-role=validation]")).to_contain_text("sign test p = 0.875")
    expect(page.locator("#versions input[name=threshold]")).to_have_count(0)
    expect(page.locator("#readiness tr[data-head=detector]")).to_contain_text("0 of 4")


def test_open_pages_follow_a_training_started_through_the_api(page, live_server, world, client_for,
                                                             celery_worker_process, monkeypatch):
    """The workspace, the model page and the project page each hold a model-event stream; a training
    run started through the API (a real worker trains) shows on all three without a reload."""
    import threading

    from mlassist import events

    from ..mlassist.synthetic import feature_images, tag

    # Three pages stream at once here; a production process lets two wait (the others retry later).
    monkeypatch.setattr(events, "_waiters", threading.BoundedSemaphore(3))
    boss = world["boss"]
    project = project_create(user=boss, name="Cats", kinds=["tag"])
    project.proposal_threshold = 0.05  # every top answer is stored: the workspace must get one
    project.save()
    classes = [LabelClassFactory(project=project, name="cat"), LabelClassFactory(project=project, name="dog")]
    truth = [0, 1, 0, 1, 0, 1, 0, 1]
    images = feature_images(project, truth)
    for image, cls in list(zip(images, truth, strict=True))[:6]:
        tag(image, classes[cls], boss)

    _sign_in(page, live_server, boss)
    workspace = page
    workspace.goto(f"{live_server.url}/projects/{project.pk}/images/{images[6].pk}/annotate/")
    expect(workspace.locator("body")).to_have_attribute("data-ready", "1")
    expect(workspace.locator("#ws-proposal-count")).to_have_text("0 waiting")
    model = page.context.new_page()
    model.goto(f"{live_server.url}/projects/{project.pk}/model/")
    expect(model.locator("#readiness tr[data-head=classifier]")).to_contain_text("ready to train")
    overview = page.context.new_page()
    overview.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(overview.locator("#model-serving")).to_have_text("No model in service yet.")
    for open_page in (workspace, model, overview):
        expect(open_page.locator("body")).to_have_attribute("data-model-token", re.compile(".+"))
        open_page.evaluate("() => { window.__sameDocument = true; }")

    assert client_for(boss).post(f"/api/projects/{project.pk}/train/").status_code == 202

    expect(model.locator("#versions tr[data-kind=classifier][data-version='1']")).to_contain_text(
        "✓ in service", timeout=180_000)
    expect(overview.locator("#model-serving")).to_have_text("In service: tags v1.", timeout=60_000)
    expect(workspace.locator("#ws-proposal-count")).to_have_text("1 waiting", timeout=60_000)
    expect(workspace.locator("#ws-tags")).to_contain_text("proposed")
    for open_page in (workspace, model, overview):
        assert open_page.evaluate("() => window.__sameDocument") is True  # no reload
