"""Review at image level and history, clicked through in Chromium by each role: a reviewer sends an
image back with a comment the annotator then reads in the workspace, marks it reviewed (the project's
reviewed count moves); an annotator has no verdict buttons; review tiles say whose object it is and
open it in the workspace; the object panel shows who changed what."""

import pytest
from playwright.sync_api import expect

from labeling.models import Image, ImageReviewNote, Membership
from labeling.services.annotations import annotation_create
from labeling.services.projects import label_class_create, project_create

from ..factories import MembershipFactory, UserFactory
from .test_workspace import _image, at, click, drag, open_ws, rows, saved

pytestmark = pytest.mark.browser


def sign_in(browser, live_server, username):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-secret-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


@pytest.fixture
def team(signed_in, live_server):
    page, manager = signed_in
    project = project_create(user=manager, name="Streets", kinds=["box"])
    car = label_class_create(project=project, name="car", color="#e53935")
    label_class_create(project=project, name="person", color="#1e88e5")
    image = _image(project, "corner")
    image.status = Image.Status.DONE
    image.save()
    for name, role in (("rita", Membership.Role.REVIEWER), ("andy", Membership.Role.ANNOTATOR)):
        MembershipFactory(project=project, role=role, user=UserFactory(username=name))
    return page, project, car, image


def test_reviewer_sends_back_annotator_reads_the_comment_then_reviewed(team, live_server, browser):
    _, project, car, image = team
    reviewer = sign_in(browser, live_server, "rita")
    open_ws(reviewer, live_server, project, image)
    # Sending back needs a comment: refused beside the form, nothing changes.
    reviewer.click("#ws-review-send")
    expect(reviewer.locator("#ws-review-error")).to_contain_text("Say what to fix")
    assert not ImageReviewNote.objects.exists()
    reviewer.fill("#ws-review-text", "The car on the left has no box.")
    reviewer.click("#ws-review-send")
    expect(reviewer.locator("#ws-toast")).to_contain_text("sent back")
    expect(reviewer.locator("#ws-image-info")).to_contain_text("in progress")
    image.refresh_from_db()
    assert image.status == "in_progress"

    # The project page counts it and filters by it.
    other = _image(project, "other")
    reviewer.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(reviewer.locator("[data-stat=sent_back]")).to_have_text("1")
    reviewer.click("text=sent back")
    expect(reviewer.locator("li.tile")).to_have_count(1)
    expect(reviewer.locator(f"li.tile[data-image='{image.pk}']")).to_have_count(1)
    assert other.status == "new"

    annotator = sign_in(browser, live_server, "andy")
    open_ws(annotator, live_server, project, image)
    expect(annotator.locator("#ws-review-note")).to_be_visible()
    expect(annotator.locator("#ws-review-note-head")).to_contain_text("Sent back by rita")
    expect(annotator.locator("#ws-review-note-text")).to_have_text("The car on the left has no box.")
    # An annotator may not judge: no verdict buttons.
    expect(annotator.locator("#ws-review-reviewed")).to_have_count(0)
    expect(annotator.locator("#ws-review-send")).to_have_count(0)
    annotator.keyboard.press("b")
    drag(annotator, (20, 20), (90, 90))
    saved(annotator)
    annotator.keyboard.press("d")
    expect(annotator.locator("#ws-toast")).to_contain_text("corner marked done")

    reviewer.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(reviewer.locator("[data-stat=reviewed]")).to_have_text("0")
    open_ws(reviewer, live_server, project, image)
    reviewer.click("#ws-review-reviewed")
    expect(reviewer.locator("#ws-image-info")).to_contain_text("reviewed")
    expect(reviewer.locator("#ws-review-last")).to_contain_text("reviewed by rita")
    image.refresh_from_db()
    assert image.status == "reviewed"
    reviewer.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(reviewer.locator("[data-stat=reviewed]")).to_have_text("1")  # the count moved
    expect(reviewer.locator("[data-stat=sent_back]")).to_have_text("0")

    # The open request is closed: the annotator no longer sees it.
    open_ws(annotator, live_server, project, image)
    expect(annotator.locator("#ws-review-note")).to_be_hidden()


def test_history_of_an_object_and_of_the_image_in_the_panel(team, live_server):
    page, project, car, image = team
    open_ws(page, live_server, project, image)
    page.keyboard.press("b")
    drag(page, (20, 20), (90, 90))
    saved(page)
    page.keyboard.press("v")
    click(page, 50, 50)
    page.keyboard.press("2")
    saved(page)
    page.click("#ws-history-object")
    items = page.locator("#ws-history-list li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("ann")  # who, newest first
    expect(items.nth(0)).to_contain_text("changed box “car”: class car → person")
    expect(items.nth(1)).to_contain_text("created box “car” (accepted)")
    page.keyboard.press("Delete")
    saved(page)
    page.click("#ws-history-image")
    expect(page.locator("#ws-history-title")).to_contain_text("corner")
    expect(items).to_have_count(3)
    expect(items.nth(0)).to_contain_text("deleted box “person”")  # newest first, deleted objects too


def test_review_tile_names_file_kind_author_and_opens_the_object_in_the_workspace(team, live_server, browser):
    _, project, car, image = team
    annotation_create(image=image, user=None, data={"label_class": car.pk, "kind": "box", "origin": "model",
                                                  "score": 0.9, "geometry": {"x": 10, "y": 10, "w": 40, "h": 40}})
    target = annotation_create(image=image, user=None, data={"label_class": car.pk, "kind": "box", "origin": "model",
                                                           "score": 0.8, "geometry": {"x": 300, "y": 200, "w": 50, "h": 50}})
    reviewer = sign_in(browser, live_server, "rita")
    reviewer.goto(f"{live_server.url}/projects/{project.pk}/review/")
    tile = reviewer.locator(f"#review-grid .review-tile[data-id='{target.pk}']")
    expect(tile.locator(".file-name")).to_have_text("corner")
    expect(tile.locator(".kind-author")).to_have_text("box · model")
    tile.locator("a.open").click()
    reviewer.wait_for_url(f"**/images/{image.pk}/annotate/?annotation={target.pk}")
    expect(reviewer.locator("body")).to_have_attribute("data-ready", "1")
    expect(reviewer.locator(f"#ws-objects li.selected[data-id='{target.pk}']")).to_have_count(1)
