"""The review grid sends the versions it shows: a tile someone changed meanwhile is not overwritten."""

import pytest
from playwright.sync_api import expect

from labeling.models import Annotation
from labeling.services.annotations import annotation_create, annotation_update
from labeling.services.projects import label_class_create, project_create

from ..factories import ImageFactory, UserFactory, image_bytes

pytestmark = pytest.mark.browser


def test_accepting_a_tile_changed_meanwhile_says_so_and_shows_the_change(signed_in, live_server):
    page, user = signed_in
    project = project_create(user=user, name="Conflicts", kinds=["box"], retrain_every=1000)
    cat = label_class_create(project=project, name="cat")
    dog = label_class_create(project=project, name="dog")
    image = ImageFactory(project=project, width=120, height=90, file__data=image_bytes(120, 90))
    rows = [
        annotation_create(image=image, user=None, data={"label_class": cat.pk, "kind": "box", "origin": "model",
                                                        "score": s, "geometry": {"x": 5, "y": 5, "w": 30, "h": 25}})
        for s in (0.9, 0.8)
    ]
    page.goto(f"{live_server.url}/projects/{project.pk}/review/")
    tiles = page.locator("#review-grid .review-tile")
    expect(tiles).to_have_count(2)

    # Someone else rejects the first proposal while this page shows it as proposed.
    annotation_update(annotation=rows[0], user=UserFactory(username="other"), version=1, changes={"state": "rejected"})
    tiles.nth(0).click()
    tiles.nth(1).click(modifiers=["Shift"])
    page.keyboard.press("a")
    expect(page.locator("#review-status")).to_contain_text("changed since you loaded them")
    assert list(Annotation.objects.order_by("id").values_list("state", flat=True)) == ["rejected", "proposed"]

    # The grid took the current versions: relabelling the second one now goes through.
    tiles.nth(1).click()
    page.keyboard.press("2")
    expect(page.locator("#review-status")).not_to_contain_text("changed since")
    expect(page.locator("#review-status")).to_contain_text("1 relabelled")
    second = Annotation.objects.get(pk=rows[1].pk)
    assert (second.label_class_id, second.state, second.version) == (dog.pk, "accepted", 2)
