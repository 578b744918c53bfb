"""The model screen as each role sees it: honest scores with n, the curve, rollback, TFLite download,
why the next image, suspicious labels, and failures of the model's background work."""

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import expect

from labeling.models import Job, Membership
from labeling.services.projects import project_create
from mlassist.models import ImageUncertainty, ModelVersion, SuspiciousLabel, TrainingRun

from ..factories import AnnotationFactory, ImageFactory, LabelClassFactory, MembershipFactory, UserFactory

from .accounts import sign_in

pytestmark = pytest.mark.browser

WEIGHTS_ERROR = ("Could not download the ImageNet weights for MobileNetV2 (alpha 1.0): URL fetch failure. "
                 "Without network access install a weights file: python manage.py mlassist_install_weights FILE")


def _sign_in(page, live_server, user):
    sign_in(page, live_server, user.username)


@pytest.fixture
def world(transactional_db):
    boss = UserFactory(username="boss")
    project = project_create(user=boss, name="Birds", kinds=["tag", "box"])
    project.multilabel = True
    project.save()
    cat, dog = LabelClassFactory(project=project, name="cat"), LabelClassFactory(project=project, name="dog")
    v1 = ModelVersion.objects.create(project=project, kind="classifier", number=1, labels_used=20,
                                     metrics={"accuracy": 0.733, "f1_macro": 0.0, "exact_match": 0.0, "n_val": 3})
    v2 = ModelVersion.objects.create(project=project, kind="classifier", number=2, labels_used=40, in_service=True,
                                     metrics={"accuracy": 0.6, "f1_macro": 0.61, "n_val": 8},
                                     tflite_labels="cat\ndog\n")
    v2.tflite.save(f"{project.pk}/classifier-v2.tflite", ContentFile(b"TFL3 model bytes"), save=True)
    ModelVersion.objects.create(project=project, kind="detector", number=1, labels_used=30, in_service=True,
                                metrics={"map50": 0.42, "map50_95": 0.2, "n_val": 5})
    images = [ImageFactory(project=project, file_name=f"bird{i}.png") for i in range(3)]
    for image, margin in zip(images, [0.9, 0.05, 0.4], strict=True):
        ImageUncertainty.objects.create(image=image, margin=margin, model_version=v2)
    tag = AnnotationFactory(image=images[0], label_class=cat, kind="tag", geometry={}, created_by=boss)
    SuspiciousLabel.objects.create(annotation=tag, predicted_class=dog, confidence=0.93)
    return {"project": project, "boss": boss, "v1": v1, "v2": v2, "images": images, "tag": tag}


def test_manager_sees_honest_scores_curve_rolls_back_and_downloads(page, live_server, world):
    project = world["project"]
    _sign_in(page, live_server, world["boss"])
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("nav.tabs >> text=Model")
    rows = page.locator("#versions tbody tr")
    expect(rows).to_have_count(3)
    v1 = page.locator("#versions tr[data-kind=classifier][data-version='1']")
    expect(v1).to_contain_text("macro F1 0.000 (n=3)")  # not "accuracy 0.733"
    expect(v1).not_to_contain_text("0.733")
    expect(page.locator("#versions tr[data-kind=detector]")).to_contain_text("mAP@0.5 0.420 (n=5)")

    # The curve: axes with ticks, a legend naming each metric, a point and a value per version
    # (the detector's one-version series is a visible point).
    curve = page.locator("#curve")
    expect(curve.locator("text[data-tick=y]")).to_have_count(5)
    expect(curve.locator("text[data-tick=x]").first).to_have_text("0")
    expect(curve.locator(".legend")).to_contain_text("tags: macro F1")
    expect(curve.locator(".legend")).to_contain_text("boxes: mAP@0.5")
    expect(curve.locator("g[data-kind=detector] circle")).to_have_count(1)
    expect(curve.locator("g[data-kind=classifier] circle")).to_have_count(2)
    expect(curve.locator("g[data-kind=detector] text.value")).to_have_text("0.42")

    # Downloads of the serving classifier.
    with page.expect_download() as info:
        page.click("#download-tflite")
    assert info.value.suggested_filename == f"project-{project.pk}-classifier-v2.tflite"
    assert open(info.value.path(), "rb").read() == b"TFL3 model bytes"
    with page.expect_download() as info:
        page.click("#download-labels")
    assert open(info.value.path()).read() == "cat\ndog\n"

    # Roll back to v1.
    serving = page.locator("#versions tr[data-kind=classifier][data-version='2']")
    expect(serving.get_by_role("button", name="Put in service")).to_have_count(0)
    v1.get_by_role("button", name="Put in service").click()
    expect(v1).to_contain_text("✓ in service")
    expect(page.locator("#versions tr[data-kind=classifier][data-version='2']")).to_contain_text("Put in service")
    assert ModelVersion.objects.get(pk=world["v1"].pk).in_service
    # v1 has no TFLite file yet: the page says so instead of offering v2's.
    expect(page.locator("#tflite-downloads")).to_contain_text("v1 is not built yet")


def test_a_removed_version_cannot_serve_and_says_so_in_its_row(page, live_server, world):
    ModelVersion.objects.filter(pk=world["v1"].pk).update(metrics={"f1_macro": 0.5, "n_val": 3})
    _sign_in(page, live_server, world["boss"])
    page.goto(f"{live_server.url}/projects/{world['project'].pk}/model/")
    v1 = page.locator("#versions tr[data-kind=classifier][data-version='1']")
    expect(v1.get_by_role("button", name="Put in service")).to_be_visible()
    ModelVersion.objects.filter(pk=world["v1"].pk).update(metrics={"f1_macro": 0.5, "files_removed": True})
    v1.get_by_role("button", name="Put in service").click()
    expect(v1.locator(".field-error")).to_contain_text("removed by the retention policy")
    assert ModelVersion.objects.get(pk=world["v2"].pk).in_service


def test_why_this_image_and_suspicious_labels_open_the_workspace(page, live_server, world):
    project, images = world["project"], world["images"]
    _sign_in(page, live_server, world["boss"])
    page.goto(f"{live_server.url}/projects/{project.pk}/model/")
    head = page.locator("#queue-head tbody tr")
    expect(head).to_have_count(3)
    expect(head.nth(0)).to_contain_text("bird1.png")  # the smallest margin first
    expect(head.nth(0)).to_contain_text("0.050")
    expect(head.nth(0)).to_contain_text("New")
    row = page.locator(f"#suspicious-labels tr[data-annotation='{world['tag'].pk}']")
    expect(row).to_contain_text("bird0.png")
    expect(row).to_contain_text("cat")
    expect(row).to_contain_text("dog")
    expect(row).to_contain_text("0.93")
    row.get_by_role("link").click()
    page.wait_for_url(f"**/projects/{project.pk}/images/{images[0].pk}/annotate/?annotation={world['tag'].pk}")


def test_failed_features_job_and_training_show_with_their_fix(page, live_server, world):
    project = world["project"]
    Job.objects.create(project=project, kind="features", state="failed", error=WEIGHTS_ERROR,
                       finished_at=timezone.now(), attempts=1)
    reviewer = UserFactory(username="rev")
    MembershipFactory(project=project, user=reviewer, role=Membership.Role.REVIEWER)
    _sign_in(page, live_server, reviewer)
    page.goto(f"{live_server.url}/projects/{project.pk}/model/")
    problem = page.locator("#model-problems li[data-kind=features]")
    expect(problem).to_contain_text("Reading images with the model failed")
    expect(problem).to_contain_text("mlassist_install_weights FILE")
    expect(page.locator("#train-status")).to_contain_text("background work failed")
    expect(problem.get_by_role("button", name="Retry")).to_be_visible()  # reviewers retry the model's jobs
    # A reviewer trains but does not roll back.
    expect(page.locator("#train-now")).to_be_visible()
    expect(page.locator("#versions tbody tr")).to_have_count(3)
    expect(page.get_by_role("button", name="Put in service")).to_have_count(0)

    TrainingRun.objects.create(project=project, state="failed", error="Out of memory while training the box head.",
                               finished_at=timezone.now())
    page.reload()
    training = page.locator("#model-problems li[data-kind=training]")
    expect(training).to_contain_text("Out of memory while training the box head.")
    expect(training).to_contain_text("Train now")
    expect(page.locator("#train-status")).to_have_attribute("data-state", "failed")


def test_annotator_sees_the_model_but_neither_trains_nor_rolls_back(page, live_server, world):
    annotator = UserFactory(username="ann2")
    MembershipFactory(project=world["project"], user=annotator, role=Membership.Role.ANNOTATOR)
    _sign_in(page, live_server, annotator)
    page.goto(f"{live_server.url}/projects/{world['project'].pk}/model/")
    expect(page.locator("#versions tbody tr")).to_have_count(3)
    expect(page.locator("#train-now")).to_have_count(0)
    expect(page.get_by_role("button", name="Put in service")).to_have_count(0)
    # The API refuses the rollback too.
    status = page.evaluate("""async (url) => {
        const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
        return (await fetch(url, {method: 'POST', headers: {'X-CSRFToken': token}})).status;
    }""", f"/api/projects/{world['project'].pk}/model-versions/{world['v1'].pk}/promote/")
    assert status == 403
    assert not ModelVersion.objects.get(pk=world["v1"].pk).in_service
