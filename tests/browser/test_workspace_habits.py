"""The workspace's first-minute traps, clicked through as a new user would in Chromium: class keys
after drawing, leaving right after drawing, Fit under the status bar, proposals and instances told
apart, moving masks, copy/paste to the next image, locks, image adjustments, the end of the queue."""

import time

import numpy as np
import pytest
from playwright.sync_api import expect

from labeling.models import Annotation
from labeling.services.annotations import annotation_create

from .test_workspace import H, W, _mask_array, at, click, drag, open_ws, rows, saved, setup  # noqa: F401

pytestmark = pytest.mark.browser


def _wait_rows(image, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = rows(image)
        if len(found) >= n:
            return found
        time.sleep(0.1)
    return rows(image)


def test_pick_class_draw_pick_next_class_draw_keeps_each_shape_in_its_class(setup, live_server):
    page, user, project, (car, person), (image, _) = setup
    open_ws(page, live_server, project, image)
    page.keyboard.press("b")
    page.keyboard.press("1")
    drag(page, (20, 20), (80, 80))
    page.keyboard.press("2")  # the class of the NEXT box: the box just drawn stays a car
    drag(page, (120, 20), (180, 80))
    page.keyboard.press("1")
    drag(page, (220, 20), (280, 80))
    # A class click in the list is the same habit.
    page.locator("#ws-classes li", has_text="person").click()
    drag(page, (320, 20), (380, 80))
    saved(page)
    assert [a.label_class_id for a in rows(image)] == [car.pk, person.pk, car.pk, person.pk]

    # The brush: pick, paint, pick the next class, paint: two masks, one per class.
    page.keyboard.press("m")
    page.keyboard.press("1")
    drag(page, (40, 200), (100, 200))
    page.keyboard.press("2")
    drag(page, (250, 200), (320, 200))
    saved(page)
    masks = rows(image, kind="mask")
    assert [m.label_class_id for m in masks] == [car.pk, person.pk]

    # Re-classing an existing shape needs it picked explicitly: click it, then the key.
    page.keyboard.press("v")
    click(page, 50, 50)
    page.keyboard.press("2")
    saved(page)
    assert rows(image)[0].label_class_id == person.pk
    assert [a.label_class_id for a in rows(image)[1:4]] == [person.pk, car.pk, person.pk]


def test_leaving_the_page_right_after_drawing_keeps_the_shape(setup, live_server):
    page, user, project, (car, person), (image, _) = setup
    open_ws(page, live_server, project, image)
    page.keyboard.press("b")
    drag(page, (30, 30), (130, 110))
    # Gone before the autosave's pause is over: the write still reaches the server.
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    [box] = _wait_rows(image, 1)
    assert (box.kind, box.label_class_id) == ("box", car.pk)
    assert box.geometry == pytest.approx({"x": 30, "y": 30, "w": 100, "h": 80}, abs=1.5)


def test_fit_leaves_no_part_of_the_image_under_the_status_bar(setup, live_server):
    page, user, project, (car, person), (image, _) = setup
    page.set_viewport_size({"width": 1280, "height": 420})  # a wide window: the height limits the fit
    open_ws(page, live_server, project, image)
    page.keyboard.press("+")
    page.keyboard.press("f")
    status_top = page.locator("#ws-status").bounding_box()["y"]
    bottom = at(page, 0, H)[1]
    top = at(page, 0, 0)[1]
    canvas_top = page.locator("#ws-canvas").bounding_box()["y"]
    assert top >= canvas_top and bottom <= status_top


def test_proposals_are_marked_with_their_score_and_instances_are_numbered(setup, live_server):
    page, user, project, (car, person), (image, _) = setup
    for x in (20, 120):
        annotation_create(image=image, user=user, data={"label_class": car.pk, "kind": "box", "geometry": {"x": x, "y": 20, "w": 60, "h": 60}})
    proposal = annotation_create(image=image, user=None, data={
        "label_class": car.pk, "kind": "box", "geometry": {"x": 220, "y": 150, "w": 60, "h": 60}, "origin": "model", "score": 0.87})
    open_ws(page, live_server, project, image)
    expect(page.locator("#ws-objects li")).to_have_text([
        "box · car 1hide", "box · car 2hide", "box · car 3 proposed0.87✓✗hide"])
    labels = page.evaluate("() => [...window.__ws.ws.renderer.drawnLabels.values()].sort()")
    assert labels == ["? car 3 0.87", "car 1", "car 2"]

    # Moving the proposal accepts it: the server says so and the page shows what the server says.
    page.keyboard.press("v")
    drag(page, (250, 180), (260, 190))
    saved(page)
    proposal.refresh_from_db()
    assert proposal.state == "accepted"
    expect(page.locator(f"#ws-objects li[data-id='{proposal.pk}']")).to_have_attribute("data-state", "accepted")


def test_move_a_whole_mask_copy_paste_onto_the_next_image_and_lock(setup, live_server):
    page, user, project, (car, person), (image, second) = setup
    open_ws(page, live_server, project, image)
    page.keyboard.press("m")
    drag(page, (60, 100), (120, 100))
    saved(page)
    [mask] = rows(image)
    before = _mask_array(mask)
    page.keyboard.press("v")
    page.keyboard.press("Escape")
    drag(page, (90, 100), (90, 160))  # grab the mask and move it 60 px down
    saved(page)
    mask.refresh_from_db()
    after = _mask_array(mask)
    assert after.sum() == before.sum()
    assert np.array_equal(np.roll(before, 60, axis=0), after)

    # Copy it, go to the next image, paste: the same mask is stored there.
    click(page, 90, 160)
    page.keyboard.press("Control+c")
    page.keyboard.press(".")
    expect(page.locator("body")).to_have_attribute("data-image-id", str(second.pk))
    page.locator("#ws-canvas").focus()
    page.keyboard.press("Control+v")
    saved(page)
    [copy] = rows(second)
    assert (copy.kind, copy.label_class_id) == ("mask", car.pk)
    assert np.array_equal(_mask_array(copy), after)

    # Locked: neither a drag nor Delete changes it.
    click(page, 90, 160)
    page.keyboard.press("l")
    expect(page.locator("#ws-objects li[data-locked='1']")).to_have_count(1)
    drag(page, (90, 160), (200, 60))
    page.keyboard.press("Delete")
    expect(page.locator("#ws-toast")).to_contain_text("locked")
    saved(page)
    copy.refresh_from_db()
    assert copy.version == 1 and np.array_equal(_mask_array(copy), after)


def test_brightness_contrast_and_gamma_change_the_image_on_screen(setup, live_server):
    page, user, project, (car, person), (image, _) = setup
    open_ws(page, live_server, project, image)
    page.wait_for_function("() => window.__workspaceImageReady")

    def pixel():
        x, y = at(page, W / 2, H / 2)
        return page.evaluate("""([x, y]) => {
            const c = document.getElementById('ws-canvas'), r = c.getBoundingClientRect(), d = window.devicePixelRatio;
            return [...c.getContext('2d').getImageData((x - r.left) * d, (y - r.top) * d, 1, 1).data].slice(0, 3);
        }""", [x, y])

    page.wait_for_timeout(300)
    plain = pixel()
    page.click(".ws-adjust summary")
    page.locator("#ws-brightness").fill("2")
    page.wait_for_timeout(300)
    brighter = pixel()
    assert all(b > p for b, p in zip(brighter, plain)), (plain, brighter)
    page.locator("#ws-gamma-input").fill("2.5")
    page.wait_for_timeout(300)
    assert pixel() != brighter
    page.click("#ws-adjust-reset")
    page.wait_for_timeout(300)
    assert pixel() == plain


def test_the_end_of_the_queue_says_all_done(setup, live_server):
    page, user, project, (car, person), (image, second) = setup
    second.status = "done"
    second.save()
    open_ws(page, live_server, project, image)
    page.keyboard.press("d")
    expect(page.locator("#ws-done")).to_be_visible()
    expect(page.locator("#ws-done")).to_contain_text("All done")
    page.click("#ws-done-back")
    page.wait_for_url(f"{live_server.url}/projects/{project.pk}/")
    assert Annotation.objects.count() == 0
