"""The workspace with many objects: every object in the (virtualised) list, and the autosave's one
request per pause (POST /api/images/{id}/annotations/batch/)."""

import pytest
from playwright.sync_api import expect

from labeling.models import Annotation

from .test_workspace import drag, open_ws, saved, setup  # noqa: F401 - setup is a fixture

pytestmark = pytest.mark.browser


def test_the_object_list_holds_every_object_reachable_by_scrolling(setup, live_server):  # noqa: F811
    page, user, project, (car, person), (image, _) = setup
    Annotation.objects.bulk_create(
        Annotation(image=image, label_class=car if i % 2 else person, kind="box", created_by=user,
                   geometry={"x": (i % 40) * 10, "y": (i // 40) * 7, "w": 8, "h": 5})
        for i in range(1500)
    )
    last = Annotation.objects.filter(image=image).order_by("-pk").first()
    open_ws(page, live_server, project, image)
    expect(page.locator("#ws-object-count")).to_have_text("(1500)")
    objects = page.locator("#ws-objects")
    assert objects.locator("li").count() < 200  # only the rows in view are in the document
    row = objects.locator(f"li[data-id='{last.pk}']")
    expect(row).to_have_count(0)
    for _ in range(200):  # scroll down the list, as a person would, until the last object shows
        if row.count():
            break
        objects.hover()
        page.mouse.wheel(0, 2000)
        page.wait_for_timeout(30)
    expect(row).to_be_visible()
    expect(row).to_contain_text("car 750")  # numbered as on the canvas: the 750th car
    row.click(position={"x": 4, "y": 4})
    expect(page.locator("body")).to_have_attribute("data-selected", "1")
    expect(row).to_have_class("selected")
    # Tab from the last object goes round to the first: the list scrolls back to show it selected.
    page.locator("#ws-canvas").focus()
    page.keyboard.press("Tab")
    first = Annotation.objects.filter(image=image).order_by("pk").first()
    expect(objects.locator(f"li[data-id='{first.pk}']")).to_have_class("selected")
    expect(objects.locator(f"li[data-id='{first.pk}']")).to_be_visible()


def test_changes_of_one_pause_are_saved_in_one_batch_request(setup, live_server):  # noqa: F811
    page, user, project, (car, person), (image, _) = setup
    moved = Annotation.objects.create(image=image, label_class=car, kind="box", created_by=user,
                                      geometry={"x": 20, "y": 20, "w": 60, "h": 60})
    gone = Annotation.objects.create(image=image, label_class=car, kind="box", created_by=user,
                                     geometry={"x": 250, "y": 150, "w": 60, "h": 60})
    open_ws(page, live_server, project, image)
    writes = []
    page.on("request", lambda r: writes.append((r.method, r.url.split("/api/")[-1])) if r.method != "GET" else None)
    # Three changes well within the half-second pause: a move, a delete, a new box.
    page.evaluate("""() => {
      const ws = window.__ws.ws, byId = (id) => [...ws.store.all()].find((a) => a.id === id);
      const snap = ({ kind, label_class, geometry, state, origin, score, iscrowd }) => ({ kind, label_class, geometry, state, origin, score, iscrowd });
      const m = byId(%d), g = byId(%d);
      ws.commit([
        { cid: m.cid, before: snap(m), after: { ...snap(m), geometry: { x: 30, y: 40, w: 60, h: 60 } } },
        { cid: g.cid, before: snap(g), after: null },
      ]);
      ws.createShape("box", { x: 100, y: 100, w: 40, h: 30 });
    }""" % (moved.pk, gone.pk))
    saved(page)
    assert writes == [("POST", f"images/{image.pk}/annotations/batch/")]
    moved.refresh_from_db()
    assert (moved.geometry["x"], moved.geometry["y"], moved.version) == (30, 40, 2)
    assert not Annotation.objects.filter(pk=gone.pk).exists()
    assert Annotation.objects.filter(image=image, geometry__x=100).count() == 1
    # What the server answered is what the page keeps: the next edit is based on version 2.
    page.keyboard.press("v")
    drag(page, (60, 70), (70, 80))
    saved(page)
    moved.refresh_from_db()
    assert (moved.geometry["x"], moved.version) == (40, 3)
    assert [w[1] for w in writes] == [f"images/{image.pk}/annotations/batch/"] * 2
