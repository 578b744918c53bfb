"""The annotation workspace in a real Chromium: draw, edit, undo, save, reload, conflicts, proposals."""

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from labeling.models import Annotation, Image
from labeling.services.annotations import annotation_create
from labeling.services.projects import label_class_create, project_create

from ..factories import image_bytes

pytestmark = pytest.mark.browser

W, H = 400, 300


def _image(project, name, color=(90, 120, 90)):
    image = Image(project=project, file_name=name, width=W, height=H, sha256=f"{name:0>64}"[:64], size=1, format="PNG")
    image.file.save(f"{name}.png", ContentFile(image_bytes(W, H, color=color)), save=False)
    image.save()
    return image


@pytest.fixture
def setup(signed_in, live_server):
    page, user = signed_in
    project = project_create(user=user, name="Streets", kinds=["tag", "box", "polygon", "mask"])
    car = label_class_create(project=project, name="car", color="#e53935")
    person = label_class_create(project=project, name="person", color="#1e88e5")
    images = [_image(project, "first", (90, 120, 90)), _image(project, "second", (120, 90, 90))]
    return page, user, project, (car, person), images


def ws_url(live_server, project, image):
    return f"{live_server.url}/projects/{project.pk}/images/{image.pk}/annotate/"


def open_ws(page, live_server, project, image):
    page.goto(ws_url(live_server, project, image))
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    page.locator("#ws-canvas").focus()


def at(page, x, y):
    """Page coordinates of image point (x, y)."""
    return page.evaluate("([x, y]) => window.__ws.toPage(x, y)", [x, y])


def click(page, x, y, modifiers=()):
    px, py = at(page, x, y)
    for key in modifiers:
        page.keyboard.down(key)
    page.mouse.click(px, py)
    for key in modifiers:
        page.keyboard.up(key)


def drag(page, a, b, steps=6):
    ax, ay = at(page, *a)
    bx, by = at(page, *b)
    page.mouse.move(ax, ay)
    page.mouse.down()
    page.mouse.move(bx, by, steps=steps)
    page.mouse.up()


def saved(page):
    expect(page.locator("body")).to_have_attribute("data-save-state", "saved", timeout=10000)


def flat(points):
    return [v for point in points for v in point]


def rows(image, **filters):
    return list(Annotation.objects.filter(image=image, **filters).order_by("id"))


def test_draw_box_move_resize_undo_redo_and_reload(setup, live_server):
    page, user, project, (car, person), (image, _) = setup
    open_ws(page, live_server, project, image)
    page.keyboard.press("b")
    expect(page.locator("[data-tool=box]")).to_have_attribute("aria-pressed", "true")
    drag(page, (50, 40), (150, 120))
    expect(page.locator("body")).to_have_attribute("data-save-state", "pending")
    saved(page)
    [box] = rows(image)
    assert (box.kind, box.label_class_id, box.state) == ("box", car.pk, "accepted")
    assert box.geometry == pytest.approx({"x": 50, "y": 40, "w": 100, "h": 80}, abs=1.5)
    expect(page.locator("#ws-objects li[data-kind=box]")).to_have_count(1)

    # Move it with the select tool, then resize by the bottom-right handle.
    page.keyboard.press("v")
    drag(page, (100, 80), (130, 100))
    saved(page)
    box.refresh_from_db()
    assert (box.geometry["x"], box.geometry["y"]) == pytest.approx((80, 60), abs=1.5)
    assert box.version == 2
    drag(page, (180, 140), (200, 180))
    saved(page)
    box.refresh_from_db()
    assert (box.geometry["w"], box.geometry["h"]) == pytest.approx((120, 120), abs=1.5)

    # Class change by hotkey on the selection.
    page.keyboard.press("2")
    saved(page)
    box.refresh_from_db()
    assert box.label_class_id == person.pk

    # Undo the class change and the resize: the server follows (an inverse write after the save).
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    saved(page)
    box.refresh_from_db()
    assert box.label_class_id == car.pk
    assert (box.geometry["w"], box.geometry["h"]) == pytest.approx((100, 80), abs=1.5)
    page.keyboard.press("Control+Shift+z")
    saved(page)
    box.refresh_from_db()
    assert (box.geometry["w"], box.geometry["h"]) == pytest.approx((120, 120), abs=1.5)

    # Undo everything, down to the creation: the box is deleted; redo brings it back.
    for _ in range(4):
        page.keyboard.press("Control+z")
    saved(page)
    assert rows(image) == []
    expect(page.locator("#ws-objects li[data-kind=box]")).to_have_count(0)
    for _ in range(3):
        page.keyboard.press("Control+y")
    saved(page)
    [box] = rows(image)
    assert (box.geometry["w"], box.geometry["h"]) == pytest.approx((120, 120), abs=1.5)

    # After a reload the page shows exactly what was saved.
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    expect(page.locator("#ws-objects li")).to_have_count(1)
    expect(page.locator("#ws-objects li[data-kind=box]")).to_contain_text("car")
    shown = page.evaluate("() => [...window.__ws.ws.store.all()].map(a => [a.id, a.kind, a.label_class, a.geometry])")
    assert shown == [[box.pk, "box", car.pk, box.geometry]]


def test_draw_and_edit_polygon_vertices(setup, live_server):
    page, user, project, (car, person), (image, _) = setup
    open_ws(page, live_server, project, image)
    page.keyboard.press("p")
    for pt in [(100, 100), (200, 100), (200, 200)]:
        click(page, *pt)
    click(page, 100, 100)  # the first point closes it
    saved(page)
    [tri] = rows(image)
    assert tri.kind == "polygon"
    assert flat(tri.geometry["points"]) == pytest.approx([100, 100, 200, 100, 200, 200], abs=1.5)

    # Another with Enter, after dropping a stray point with Backspace; Esc cancels a third.
    for pt in [(250, 50), (350, 50), (390, 290), (300, 120)]:
        click(page, *pt)
    page.keyboard.press("Backspace")
    page.keyboard.press("Enter")
    click(page, 10, 10)
    click(page, 30, 10)
    page.keyboard.press("Escape")
    saved(page)
    assert len(rows(image)) == 2

    # Edit the triangle: drag a vertex, insert one by clicking an edge, delete one with Alt-click.
    page.keyboard.press("v")
    click(page, 170, 130)
    expect(page.locator("#ws-objects li.selected")).to_have_count(1)
    drag(page, (200, 200), (220, 250))
    saved(page)
    tri.refresh_from_db()
    assert tri.geometry["points"][2] == pytest.approx([220, 250], abs=1.5)
    click(page, 150, 100)  # on the top edge
    saved(page)
    tri.refresh_from_db()
    assert len(tri.geometry["points"]) == 4
    assert tri.geometry["points"][1] == pytest.approx([150, 100], abs=1.5)
    click(page, 150, 100, modifiers=["Alt"])
    saved(page)
    tri.refresh_from_db()
    assert len(tri.geometry["points"]) == 3
    # Move it whole, then undo the move.
    drag(page, (170, 140), (180, 150))
    saved(page)
    tri.refresh_from_db()
    assert tri.geometry["points"][0] == pytest.approx([110, 110], abs=1.5)
    page.keyboard.press("Control+z")
    saved(page)
    tri.refresh_from_db()
    assert tri.geometry["points"][0] == pytest.approx([100, 100], abs=1.5)
    # Delete the selected polygon with the Delete key.
    page.keyboard.press("Delete")
    saved(page)
    assert [a.kind for a in rows(image)] == ["polygon"]
    assert not Annotation.objects.filter(pk=tri.pk).exists()


def _mask_array(annotation):
    from pycocotools import mask as mask_api

    rle = annotation.geometry["rle"]
    return mask_api.decode({"size": rle["size"], "counts": rle["counts"].encode()})


def test_brush_masks_erase_and_new_instance(setup, live_server):
    page, user, project, (car, person), (image, _) = setup
    open_ws(page, live_server, project, image)
    page.keyboard.press("m")
    drag(page, (60, 100), (200, 100), steps=12)
    saved(page)
    [mask] = rows(image)
    m = _mask_array(mask)
    assert m.shape == (H, W)
    assert m[100, 60] and m[100, 130] and m[100, 200] and not m[150, 130] and not m[100, 260]
    area = int(m.sum())

    # Erase across the middle of the stroke.
    page.keyboard.press("e")
    drag(page, (130, 80), (130, 120), steps=6)
    saved(page)
    mask.refresh_from_db()
    m = _mask_array(mask)
    assert not m[100, 130] and m[100, 60] and m[100, 200]
    assert m.sum() < area

    # N starts a new instance: a second annotation, in the class chosen by its hotkey.
    page.keyboard.press("n")
    page.keyboard.press("2")
    page.keyboard.press("]")  # a bigger brush
    drag(page, (300, 200), (320, 240), steps=6)
    saved(page)
    first, second = rows(image)
    assert (first.label_class_id, second.kind, second.label_class_id) == (car.pk, "mask", person.pk)
    assert _mask_array(second)[220, 310]
    assert _mask_array(first).sum() == m.sum()

    # Undo the new mask and the erase: the first mask is whole again.
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    saved(page)
    [mask] = rows(image)
    assert _mask_array(mask).sum() == area
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    expect(page.locator("#ws-objects li[data-kind=mask]")).to_have_count(1)
    painted = page.evaluate("() => { const a = [...window.__ws.ws.store.all()][0]; return a.geometry.bitmap.data.reduce((s, v) => s + v, 0); }")
    assert painted == area


def test_tags_single_label_by_hotkey_and_list(setup, live_server):
    page, user, project, (car, person), (image, _) = setup
    open_ws(page, live_server, project, image)
    page.keyboard.press("t")
    page.keyboard.press("1")
    expect(page.locator(f"#ws-tags input[data-tag='{car.pk}']")).to_be_checked()
    saved(page)
    assert [(a.kind, a.label_class_id) for a in rows(image)] == [("tag", car.pk)]
    # Single-label project: tagging "person" replaces "car".
    page.keyboard.press("2")
    expect(page.locator(f"#ws-tags input[data-tag='{person.pk}']")).to_be_checked()
    expect(page.locator(f"#ws-tags input[data-tag='{car.pk}']")).not_to_be_checked()
    saved(page)
    assert [(a.kind, a.label_class_id) for a in rows(image)] == [("tag", person.pk)]
    # Untick it in the list; undo brings it back.
    page.locator(f"#ws-tags input[data-tag='{person.pk}']").click()
    saved(page)
    assert rows(image) == []
    page.keyboard.press("Control+z")
    saved(page)
    assert [(a.kind, a.label_class_id) for a in rows(image)] == [("tag", person.pk)]
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    expect(page.locator(f"#ws-tags input[data-tag='{person.pk}']")).to_be_checked()
    expect(page.locator(f"#ws-tags input[data-tag='{car.pk}']")).not_to_be_checked()


def test_multilabel_tags(setup, live_server):
    page, user, project, (car, person), (image, _) = setup
    project.multilabel = True
    project.save()
    open_ws(page, live_server, project, image)
    page.keyboard.press("t")
    page.keyboard.press("1")
    page.keyboard.press("2")
    saved(page)
    assert sorted(a.label_class_id for a in rows(image, kind="tag")) == sorted([car.pk, person.pk])
    page.keyboard.press("1")
    saved(page)
    assert [a.label_class_id for a in rows(image, kind="tag")] == [person.pk]


def _propose(image, label_class, geometry, score, kind="box"):
    return annotation_create(
        image=image, user=None,
        data={"label_class": label_class.pk, "kind": kind, "geometry": geometry, "origin": "model", "score": score},
    )


def test_proposals_accept_reject_edit_and_accept_above(setup, live_server):
    page, user, project, (car, person), (image, _) = setup
    high = _propose(image, car, {"x": 20, "y": 20, "w": 60, "h": 60}, 0.92)
    low = _propose(image, person, {"x": 120, "y": 20, "w": 60, "h": 60}, 0.31)
    mid = _propose(image, car, {"x": 220, "y": 20, "w": 60, "h": 60}, 0.66)
    edit = _propose(image, person, {"x": 20, "y": 150, "w": 60, "h": 60}, 0.45)
    last = _propose(image, person, {"points": [[250, 150], [350, 150], [300, 250]]}, 0.81, kind="polygon")
    open_ws(page, live_server, project, image)
    expect(page.locator("#ws-objects li.proposed")).to_have_count(5)
    expect(page.locator("#ws-proposal-count")).to_have_text("5 waiting")
    expect(page.locator(f"#ws-objects li[data-id='{high.pk}'] .score")).to_have_text("0.92")

    # Accept one from the canvas with A, reject one with R.
    click(page, 50, 50)
    page.keyboard.press("a")
    click(page, 150, 50)
    page.keyboard.press("r")
    saved(page)
    high.refresh_from_db(); low.refresh_from_db()
    assert (high.state, low.state) == ("accepted", "rejected")
    expect(page.locator(f"#ws-objects li[data-id='{low.pk}']")).to_have_count(0)

    # Editing a proposal accepts it.
    drag(page, (50, 180), (60, 190))
    saved(page)
    edit.refresh_from_db()
    assert edit.state == "accepted" and edit.geometry["x"] == pytest.approx(30, abs=1.5)

    # Accept all above 0.7: only the polygon (0.81); then accept all.
    page.fill("#ws-threshold", "0.7")
    page.click("[data-action=accept-above]")
    saved(page)
    mid.refresh_from_db(); last.refresh_from_db()
    assert (mid.state, last.state) == ("proposed", "accepted")
    page.keyboard.press("Shift+A")
    saved(page)
    mid.refresh_from_db()
    assert mid.state == "accepted"
    expect(page.locator("#ws-proposal-count")).to_have_text("0 waiting")
    # The list's ✗ button on a proposal rejects it (after undoing the accept-all).
    page.keyboard.press("Control+z")
    page.locator(f"#ws-objects li[data-id='{mid.pk}'] button[data-act=reject]").click()
    saved(page)
    mid.refresh_from_db()
    assert mid.state == "rejected"


def _second_page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "ann")
    page.fill("input[name=password]", "pw-secret-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return context, page


def test_conflict_two_pages_keep_mine_and_reload(setup, live_server, browser):
    page, user, project, (car, person), (image, _) = setup
    box = annotation_create(image=image, user=user, data={"label_class": car.pk, "kind": "box", "geometry": {"x": 100, "y": 100, "w": 50, "h": 50}})
    context, other = _second_page(browser, live_server)
    try:
        open_ws(page, live_server, project, image)
        open_ws(other, live_server, project, image)
        page.keyboard.press("v")
        drag(page, (125, 125), (145, 125))  # A moves it right
        saved(page)
        other.keyboard.press("v")
        drag(other, (125, 125), (125, 165))  # B, still on version 1, moves it down
        expect(other.locator("#ws-conflict")).to_be_visible()
        expect(other.locator("body")).to_have_attribute("data-save-state", "conflict")
        expect(other.locator("#ws-conflict-text")).to_contain_text("changed by someone else")
        other.click("[data-action=conflict-mine]")
        saved(other)
        box.refresh_from_db()
        assert (box.geometry["x"], box.geometry["y"], box.version) == (100, 140, 3)

        # A, now stale, changes the class; it conflicts and A takes theirs: A shows B's box.
        click(page, 130, 120)
        page.keyboard.press("2")
        expect(page.locator("#ws-conflict")).to_be_visible()
        page.click("[data-action=conflict-reload]")
        saved(page)
        expect(page.locator("#ws-conflict")).to_be_hidden()
        box.refresh_from_db()
        assert (box.label_class_id, box.geometry["y"], box.version) == (car.pk, 140, 3)
        shown = page.evaluate("() => [...window.__ws.ws.store.all()].map(a => [a.label_class, a.geometry.x, a.geometry.y])")
        assert shown == [[car.pk, 100, 140]]
    finally:
        context.close()


def test_failed_save_stays_visible_and_is_retried(setup, live_server):
    page, user, project, (car, person), (image, _) = setup
    open_ws(page, live_server, project, image)
    failures = []

    def fail_once(route):
        if not failures:
            failures.append(route.request.url)
            route.fulfill(status=503, body="down for a moment")
        else:
            route.continue_()

    page.route("**/api/images/*/annotations/batch/", fail_once)  # the autosave's one request per pause
    page.keyboard.press("b")
    drag(page, (10, 10), (60, 60))
    expect(page.locator("body")).to_have_attribute("data-save-state", "error")
    expect(page.locator("#ws-save")).to_contain_text("Save failed")
    saved(page)  # retried after a second
    assert len(failures) == 1
    assert [a.kind for a in rows(image)] == ["box"]


def test_shortcut_overlay_and_moving_between_images(setup, live_server):
    page, user, project, (car, person), (first, second) = setup
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(page.locator(f"#image-grid li[data-image='{second.pk}'] a.annotate")).to_have_attribute("href", f"/projects/{project.pk}/images/{second.pk}/annotate/")
    page.click("#start-labelling")  # the queue's first image
    expect(page).to_have_url(ws_url(live_server, project, first))
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    page.keyboard.press("?")
    help_ = page.locator("#ws-help")
    expect(help_).to_be_visible()
    for text in ["Ctrl+Z", "Undo", "Polygon", "Accept all", "Fit to window", "Mark done"]:
        expect(help_).to_contain_text(text)
    page.keyboard.press("Escape")
    expect(help_).to_be_hidden()

    page.evaluate("() => { window.__sameDocument = true; }")
    page.keyboard.press("b")
    drag(page, (10, 10), (60, 60))
    page.keyboard.press(".")  # next image: saves first, no page load
    expect(page.locator("body")).to_have_attribute("data-image-id", str(second.pk))
    expect(page).to_have_url(ws_url(live_server, project, second))
    expect(page.locator("#ws-file-name")).to_have_text("second")
    assert page.evaluate("() => window.__sameDocument") is True
    assert [a.kind for a in rows(first)] == ["box"]
    expect(page.locator("#ws-objects li")).to_have_count(0)
    page.go_back()
    expect(page.locator("body")).to_have_attribute("data-image-id", str(first.pk))
    expect(page.locator("#ws-objects li")).to_have_count(1)

    # D marks the image done and opens the next one from the queue.
    page.keyboard.press("d")
    expect(page.locator("body")).to_have_attribute("data-image-id", str(second.pk))
    first.refresh_from_db()
    assert first.status == "done"
    assert page.evaluate("() => window.__sameDocument") is True
