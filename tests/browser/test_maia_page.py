"""MAIA in the browser: the stages page, picking training proposals in the grid, training the
detector on the selection, and reviewing its candidates."""

import pytest
from playwright.sync_api import expect

from labeling.models import Annotation
from labeling.services.annotations import annotation_create
from labeling.services.projects import label_class_create, project_create
from mlassist.models import TrainingRun
from mlassist.services.training import training_run_execute

from ..mlassist.synthetic import maia_project

pytestmark = pytest.mark.browser


def test_pick_train_and_review_candidates(signed_in, live_server):
    page, user = signed_in
    project = project_create(user=user, name="Seafloor", kinds=["box"], retrain_every=1000)
    images = maia_project(project)
    # A class listed before MAIA's, with a proposal: the grid would open on it but for the link's ?class=.
    coral = label_class_create(project=project, name="anemone")
    annotation_create(image=images[0], user=None, data={"label_class": coral.pk, "kind": "box", "origin": "model",
                                                       "score": 0.5, "geometry": {"x": 1, "y": 1, "w": 9, "h": 9}})

    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("#nav-maia")
    stages = page.locator("#maia-stages")
    expect(stages.locator("li[data-stage=novelty]")).to_have_attribute("data-state", "succeeded")
    expect(stages.locator("li[data-stage=selection]")).to_have_attribute("data-state", "open")
    expect(stages.locator("li[data-stage=selection]")).to_contain_text("24 to review")

    # Stage 2 in the review grid, opened on MAIA's class: the best 6 proposals are picked.
    page.click("#maia-pick")
    expect(page.locator("#review-class option:checked")).to_contain_text("object")
    tiles = page.locator("#review-grid .review-tile")
    expect(tiles).to_have_count(24)
    tiles.nth(0).click()
    tiles.nth(5).click(modifiers=["Shift"])
    page.keyboard.press("a")
    expect(page.locator("#review-count")).to_have_attribute("data-count", "18")

    # Stage 3: the rest become negatives and the detector trains.
    page.go_back()
    page.reload()
    page.click("#maia-train")
    expect(stages.locator("li[data-stage=detector]")).to_have_attribute("data-state", "queued")
    picked = Annotation.objects.filter(image__project=project, state="accepted")
    assert picked.count() == 6 and {a.geometry["x"] for a in picked} == {25}
    assert Annotation.objects.filter(image__project=project, state="rejected").count() == 18
    assert Annotation.objects.filter(label_class=coral, state="proposed").count() == 1  # not MAIA's: untouched
    training_run_execute(run_id=TrainingRun.objects.get(project=project).pk)  # the worker's code path

    # Stage 4: the page notices the finished run and links the candidates.
    expect(stages.locator("li[data-stage=detector]")).to_have_attribute("data-state", "succeeded", timeout=15_000)
    expect(stages.locator("li[data-stage=candidates]")).to_have_attribute("data-state", "open")
    candidates = Annotation.objects.filter(image__project=project, state="proposed", model_version__isnull=False)
    on = set(candidates.values_list("image_id", flat=True))
    assert on and not on & set(picked.values_list("image_id", flat=True))  # the images nobody picked on
    page.click("#maia-review")
    expect(page.locator("#review-count")).to_have_attribute("data-count", str(candidates.count()))


def test_an_annotator_sees_the_stages_but_cannot_run_them(signed_in, live_server):
    page, user = signed_in
    project = project_create(user=user, name="Seafloor", kinds=["box"])
    project.memberships.filter(user=user).update(role="annotator")
    page.goto(f"{live_server.url}/projects/{project.pk}/maia/")
    expect(page.locator("#maia-stages li[data-stage=novelty]")).to_have_attribute("data-state", "not started")
    expect(page.locator("#maia-start")).to_have_count(0)
    expect(page.locator("#maia-train")).to_have_count(0)
