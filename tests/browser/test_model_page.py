"""The model page shows versions, metrics and a learning curve, and starts training."""

import pytest
from playwright.sync_api import expect

from labeling.services.projects import project_create
from mlassist.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.browser


def test_versions_curve_and_train_now(signed_in, live_server):
    page, user = signed_in
    project = project_create(user=user, name="Birds", kinds=["tag", "box"])
    for number, labels, accuracy in [(1, 20, 0.61), (2, 40, 0.78), (3, 80, 0.9)]:
        ModelVersion.objects.create(project=project, kind="classifier", number=number, labels_used=labels,
                                    metrics={"f1_macro": accuracy, "n_val": 10}, in_service=number == 3)
    ModelVersion.objects.create(project=project, kind="detector", number=1, labels_used=30, metrics={"map50": 0.42})
    page.goto(f"{live_server.url}/projects/{project.pk}/model/")
    expect(page.locator("#weights-warning")).to_contain_text("random weights")
    rows = page.locator("#versions tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("0.900")
    expect(page.locator("#curve polyline[data-kind=classifier]")).to_have_count(1)
    points = page.locator("#curve polyline[data-kind=classifier]").get_attribute("points").split()
    assert len(points) == 3
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[0] > ys[1] > ys[2]  # the metric rises as labels grow (higher on screen = smaller y)
    page.click("#train-now")
    expect(page.locator("#train-status")).to_have_attribute("data-state", "queued")
    assert TrainingRun.objects.filter(project=project, state="queued").count() == 1


def test_a_version_of_another_backbone_says_it_cannot_serve(signed_in, live_server):
    page, user = signed_in
    project = project_create(user=user, name="Moved backbone", kinds=["tag"])
    ModelVersion.objects.create(project=project, kind="classifier", number=1, labels_used=20,
                                backbone_key="mobilenet-old-backbone", metrics={"f1_macro": 0.8, "n_val": 4})
    page.goto(f"{live_server.url}/projects/{project.pk}/model/")
    row = page.locator("#versions tbody tr[data-version='1']")
    expect(row.locator("[data-role=serving-problem]")).to_contain_text("Train again")
    # No "Put in service" for it: the server would refuse, the page does not offer it.
    expect(row.get_by_role("button", name="Put in service")).to_have_count(0)
