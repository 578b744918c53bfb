"""The review grid: proposals as crops by score; ranges, keys to accept and relabel, and paging."""

import random

import pytest
from playwright.sync_api import expect

from labeling.models import Annotation
from labeling.services.annotations import annotation_create
from labeling.services.projects import label_class_create, project_create

from ..factories import ImageFactory, image_bytes

pytestmark = pytest.mark.browser


def scores_of(tiles):
    return [float(s) for s in tiles.evaluate_all("els => els.map(e => e.dataset.score)")]


def ids_of(tiles):
    return [int(i) for i in tiles.evaluate_all("els => els.map(e => e.dataset.id)")]


def test_select_a_range_accept_relabel_and_page(signed_in, live_server):
    page, user = signed_in
    # retrain_every high: accepting here must not queue a training run.
    project = project_create(user=user, name="Birds", kinds=["tag", "box"], retrain_every=1000)
    cat = label_class_create(project=project, name="cat", color="#e6194b")
    dog = label_class_create(project=project, name="dog", color="#3cb44b")
    assert (cat.hotkey, dog.hotkey) == ("1", "2")
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    images = [
        ImageFactory(project=project, width=120, height=90, file__data=image_bytes(120, 90, color=c)) for c in colours
    ]
    scores = [round(0.30 + i * 0.01, 2) for i in range(65)]
    random.Random(4).shuffle(scores)  # ids in another order than scores
    for i, score in enumerate(scores):
        data = {"label_class": cat.pk, "kind": "box", "origin": "model", "score": score,
                "geometry": {"x": 5 + i % 40, "y": 10, "w": 30, "h": 25}}
        annotation_create(image=images[i % 3], user=None, data=data)
    for image, score in zip(images, [0.97, 0.955, 0.45], strict=True):
        data = {"label_class": cat.pk, "kind": "tag", "origin": "model", "score": score}
        annotation_create(image=image, user=None, data=data)
    annotation_create(image=images[0], user=None, data={"label_class": dog.pk, "kind": "box", "origin": "model",
                                                       "score": 0.99, "geometry": {"x": 1, "y": 1, "w": 9, "h": 9}})

    page.goto(f"{live_server.url}/projects/{project.pk}/review/")
    tiles = page.locator("#review-grid .review-tile")
    expect(tiles).to_have_count(60)
    expect(page.locator("#review-class")).to_have_value(str(cat.pk))  # the first class with proposals
    expect(page.locator("#review-count")).to_have_attribute("data-count", "68")
    shown = scores_of(tiles)
    assert shown == sorted(shown, reverse=True) and shown[0] == 0.97
    assert tiles.nth(0).get_attribute("data-kind") == "tag"
    expect(tiles.nth(0).locator("img")).to_have_attribute("src", f"/api/images/{images[0].pk}/thumbnail/")
    expect(tiles.nth(2)).to_have_attribute("data-drawn", "1")  # a box: its crop drawn on a canvas
    expect(tiles.nth(2)).to_contain_text("cat")
    expect(tiles.nth(2)).to_contain_text(f"{shown[2]:.2f}")

    # A range by shift-click, then A accepts it: the tiles leave and the count drops.
    chosen = ids_of(tiles)[1:5]
    tiles.nth(1).click()
    tiles.nth(4).click(modifiers=["Shift"])
    expect(page.locator("#review-grid .review-tile[aria-selected=true]")).to_have_count(4)
    page.keyboard.press("a")
    expect(page.locator("#review-count")).to_have_attribute("data-count", "64")
    assert set(Annotation.objects.filter(pk__in=chosen).values_list("state", flat=True)) == {"accepted"}
    assert Annotation.objects.filter(label_class=cat, state="proposed").count() == 64
    assert not set(chosen) & set(ids_of(tiles))

    # Ctrl-click toggles; a class's hotkey relabels the selection (which accepts it).
    first, third = ids_of(tiles)[0], ids_of(tiles)[2]
    tiles.nth(0).click()
    tiles.nth(2).click(modifiers=["Control"])
    page.keyboard.press("2")
    expect(page.locator("#review-count")).to_have_attribute("data-count", "62")
    for pk in (first, third):
        a = Annotation.objects.get(pk=pk)
        assert (a.label_class_id, a.state, a.version) == (dog.pk, "accepted", 2)
    expect(page.locator("#review-class option:checked")).to_contain_text("62 proposed")

    # R rejects the focused tile when nothing else is selected (arrows move the focus).
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowRight")
    focused = int(page.locator(".review-tile.focused").get_attribute("data-id"))
    page.keyboard.press("r")
    expect(page.locator("#review-count")).to_have_attribute("data-count", "61")
    assert Annotation.objects.get(pk=focused).state == "rejected"

    # N pages on, by score, past what page 1 showed.
    last_on_first = scores_of(tiles)[-1]
    page.keyboard.press("n")
    expect(page.locator("#review-page")).to_contain_text("page 2")
    # Page 2 starts after page 1's last tile as loaded: the 8 proposals ranked 61-68, none skipped.
    expect(tiles).to_have_count(68 - 60)
    second = scores_of(tiles)
    assert second == sorted(second, reverse=True) and second[0] < last_on_first
    page.keyboard.press("p")
    expect(page.locator("#review-page")).to_contain_text("page 1")
    expect(tiles).to_have_count(60)  # reloaded: the 53 left of it and 7 that moved up
    remaining = Annotation.objects.filter(label_class=cat, state="proposed").order_by("-score")
    assert scores_of(tiles) == list(remaining.values_list("score", flat=True)[:60])


def test_sort_by_similarity_and_review_peoples_labels(signed_in, live_server):
    import numpy as np

    from mlassist.ml.features import ImageFeatures as Features
    from mlassist.models import ImageFeatures
    from mlassist.services.features import backbone_config

    page, user = signed_in
    project = project_create(user=user, name="Shapes", kinds=["box"], retrain_every=1000)
    cat = label_class_create(project=project, name="cat")
    images = [ImageFactory(project=project) for _ in range(4)]
    for image, vector in zip(images, [[1, 0], [0, 1], [0.8, 0.2], [-1, 0.1]], strict=True):
        unit = np.asarray(vector, np.float32) / np.linalg.norm(vector)
        blob = Features(pooled=unit.astype(np.float16), pooled_norm=1.0, spatial=np.zeros((1, 1, 2), np.float16),
                        spatial_scale=1.0, image_width=100, image_height=80, input_size=96).to_bytes()
        ImageFeatures.objects.create(image=image, backbone_key=backbone_config().key(), blob=blob)
    box = {"x": 10, "y": 10, "w": 30, "h": 20}
    rows = [
        annotation_create(image=image, user=None, data={"label_class": cat.pk, "kind": "box", "origin": "model",
                                                        "score": score, "geometry": box})
        for image, score in zip(images, [0.5, 0.9, 0.6, 0.8], strict=True)
    ]
    human = annotation_create(image=images[1], user=user, data={"label_class": cat.pk, "kind": "box", "geometry": box})

    page.goto(f"{live_server.url}/projects/{project.pk}/review/")
    tiles = page.locator("#review-grid .review-tile")
    expect(tiles).to_have_count(4)
    assert ids_of(tiles) == [rows[1].pk, rows[3].pk, rows[2].pk, rows[0].pk]  # by score
    tiles.nth(3).click()  # rows[0], on the image whose features are [1, 0]
    page.keyboard.press("s")
    expect(page.locator("#review-score-order")).to_be_visible()
    expect(tiles.nth(1)).to_contain_text("sim")
    assert ids_of(tiles) == [rows[0].pk, rows[2].pk, rows[1].pk, rows[3].pk]
    page.click("#review-score-order")
    expect(tiles.nth(0)).to_have_attribute("data-id", str(rows[1].pk))

    # A manager (reviewer or above) may switch to people's labels and reject one.
    page.select_option("#review-show", "human")
    expect(tiles).to_have_count(1)
    expect(page.locator("#review-accept")).to_be_disabled()
    tiles.nth(0).click()
    page.keyboard.press("r")
    expect(page.locator("#review-empty")).to_be_visible()
    assert Annotation.objects.get(pk=human.pk).state == "rejected"
