"""Suspicious boxes on the model screen, for every role: why each is listed, and a click opens it."""

import pytest
from playwright.sync_api import expect

from labeling.models import Membership
from labeling.services.projects import project_create
from mlassist.models import ModelVersion, SuspiciousLabel

from ..factories import AnnotationFactory, ImageFactory, LabelClassFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def boxes(transactional_db):
    boss = UserFactory(username="boss")
    project = project_create(user=boss, name="Parking", kinds=["box"])
    car, van = LabelClassFactory(project=project, name="car"), LabelClassFactory(project=project, name="van")
    ModelVersion.objects.create(project=project, kind="detector", number=1, labels_used=30, in_service=True,
                                metrics={"map50": 0.6, "n_val": 6})
    street = ImageFactory(project=project, file_name="street.png")
    yard = ImageFactory(project=project, file_name="yard.png")
    geometry = {"x": 10, "y": 10, "w": 30, "h": 20}
    wrong_class = AnnotationFactory(image=street, label_class=car, kind="box", geometry=geometry, created_by=boss)
    on_nothing = AnnotationFactory(image=yard, label_class=van, kind="box", geometry=geometry, created_by=boss)
    SuspiciousLabel.objects.create(annotation=wrong_class, predicted_class=van, confidence=0.91)
    SuspiciousLabel.objects.create(annotation=on_nothing, predicted_class=van, confidence=0.97)
    return {"project": project, "boss": boss, "wrong_class": wrong_class, "on_nothing": on_nothing, "street": street}


@pytest.mark.parametrize("role", ["manager", "reviewer", "annotator"])
def test_each_role_sees_suspicious_boxes_with_the_reason_and_opens_one(page, live_server, boxes, role):
    project = boxes["project"]
    user = boxes["boss"]
    if role != "manager":
        user = UserFactory(username=role)
        MembershipFactory(project=project, user=user, role=getattr(Membership.Role, role.upper()))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "pw-secret-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.click("nav.tabs >> text=Model")

    rows = page.locator("#suspicious-labels tbody tr")
    expect(rows).to_have_count(2)
    nothing = rows.nth(0)  # the most confident doubt first
    expect(nothing).to_contain_text("yard.png")
    expect(nothing).to_contain_text("box")
    expect(nothing).to_contain_text("no van here")
    expect(nothing).to_contain_text("0.97")
    wrong = rows.nth(1)
    expect(wrong).to_have_attribute("data-reason", "disputed")
    expect(wrong).to_contain_text("car")
    expect(wrong).to_contain_text("van")
    wrong.get_by_role("link").click()
    page.wait_for_url(f"**/projects/{project.pk}/images/{boxes['street'].pk}/annotate/"
                      f"?annotation={boxes['wrong_class'].pk}")
