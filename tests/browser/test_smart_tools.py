"""Smart drawing tools in a real Chromium, on a generated image with known shapes: the masks they
store (read back through the API) must match the truth; bad input gets a clear error."""

import io

import numpy as np
import PIL.Image
import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect
from pycocotools import mask as mask_api

from labeling.models import Image
from labeling.services.annotations import annotation_create
from labeling.services.projects import label_class_create, project_create

from .test_workspace import at, drag, saved
from .test_workspace import open_ws as open_page

pytestmark = pytest.mark.browser

W, H = 400, 300


def _truth():
    """Three objects on a noisy background: a disc, a square with a same-coloured bar glued to its
    right (a box around the square takes the bar too), and a triangle."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:H, 0:W]
    disc = (xx - 80) ** 2 + (yy - 80) ** 2 <= 45**2
    square = (xx >= 170) & (xx < 250) & (yy >= 40) & (yy < 120)
    bar = (xx >= 250) & (xx < 290) & (yy >= 70) & (yy < 90)
    triangle = (yy >= 170) & (yy < 270) & (np.abs(xx - 300) <= (yy - 170) * 0.6)
    pixels = rng.normal((70, 110, 70), 5, (H, W, 3))
    pixels[disc] = rng.normal((210, 60, 50), 5, (disc.sum(), 3))
    pixels[square | bar] = rng.normal((50, 80, 200), 5, ((square | bar).sum(), 3))
    pixels[triangle] = rng.normal((230, 210, 60), 5, (triangle.sum(), 3))
    return pixels.clip(0, 255).astype(np.uint8), {"disc": disc, "square": square, "bar": bar, "triangle": triangle}


def _png(pixels):
    out = io.BytesIO()
    PIL.Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def setup(signed_in, live_server):
    page, user = signed_in
    project = project_create(user=user, name="Shapes", kinds=["box", "polygon", "mask"])
    cls = label_class_create(project=project, name="thing", color="#e53935")
    pixels, truth = _truth()
    image = Image(project=project, file_name="shapes.png", width=W, height=H, sha256="a" * 64, size=1, format="PNG")
    image.file.save("shapes.png", ContentFile(_png(pixels)), save=False)
    image.save()
    return page, project, cls, image, truth


def open_ws(page, live_server, project, image):
    """The workspace, once the image itself is decoded (the wand and scissors read its pixels)."""
    open_page(page, live_server, project, image)
    page.wait_for_function("() => window.__workspaceImageReady && window.__ws.ws.renderer.levels.length > 0")


def stored(page, image):
    """The image's annotations as the API returns them; masks decoded."""
    rows = page.evaluate("async (id) => (await fetch(`/api/images/${id}/annotations/`)).json()", image.pk)
    for row in rows:
        if row["kind"] == "mask":
            rle = row["geometry"]["rle"]
            row["array"] = mask_api.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)
        elif row["kind"] == "polygon":
            flat = [v for point in row["geometry"]["points"] for v in point]
            row["array"] = mask_api.decode(mask_api.merge(mask_api.frPyObjects([flat], H, W))).astype(bool)
    return sorted(rows, key=lambda r: r["id"])


def iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


def smart_done(page):
    expect(page.locator("body")).to_have_attribute("data-smart-busy", "0", timeout=10000)
    saved(page)


def test_smart_box_then_a_background_stroke_gives_the_object(setup, live_server):
    page, project, cls, image, truth = setup
    open_ws(page, live_server, project, image)
    page.keyboard.press("g")
    drag(page, (162, 32), (298, 128))  # around the square and its bar
    smart_done(page)
    [row] = stored(page, image)
    assert row["kind"] == "mask" and row["label_class"] == cls.pk
    assert iou(row["array"], truth["square"] | truth["bar"]) >= 0.85
    assert row["array"][80, 270]  # the bar is in

    # Alt+drag across the bar: "not the object".
    page.keyboard.down("Alt")
    drag(page, (258, 80), (286, 80))
    page.keyboard.up("Alt")
    smart_done(page)
    [row] = stored(page, image)
    assert not row["array"][80, 270]
    assert iou(row["array"], truth["square"]) >= 0.9

    # Undo brings the mask with the bar back (one undo step per correction), redo removes it again.
    page.keyboard.press("Control+z")
    saved(page)
    [row] = stored(page, image)
    assert row["array"][80, 270]
    page.keyboard.press("Control+Shift+z")
    saved(page)
    # The result is an ordinary mask: the eraser edits it like a hand-painted one.
    page.keyboard.press("e")
    drag(page, (200, 80), (220, 80))
    saved(page)
    [row] = stored(page, image)
    assert not row["array"][80, 210] and row["array"][50, 180]


def test_smart_box_corrects_a_model_proposal_and_turns_a_box_into_a_mask(setup, live_server):
    page, project, cls, image, truth = setup
    box = annotation_create(image=image, user=None, data={
        "label_class": cls.pk, "kind": "box", "geometry": {"x": 30, "y": 30, "w": 100, "h": 100},
        "origin": "model", "score": 0.8})
    open_ws(page, live_server, project, image)
    page.keyboard.press("g")
    page.locator(f"#ws-objects li[data-id='{box.pk}']").click()
    page.keyboard.press("Enter")
    smart_done(page)
    rows = stored(page, image)
    assert [(r["kind"], r["state"]) for r in rows] == [("box", "rejected"), ("mask", "accepted")]
    assert iou(rows[1]["array"], truth["disc"]) >= 0.9


def test_magic_wand_add_subtract_convert_merge_and_split(setup, live_server):
    page, project, cls, image, truth = setup
    open_ws(page, live_server, project, image)
    page.keyboard.press("w")
    # Hover previews (timed by the page), then a click takes the triangle.
    for x in range(280, 320, 4):
        page.mouse.move(*at(page, x, 240))
    page.mouse.click(*at(page, 300, 240))
    saved(page)
    [tri] = stored(page, image)
    assert iou(tri["array"], truth["triangle"]) >= 0.95
    times = page.evaluate("window.__ws.ws.tools.wand.moveTimes")
    assert len(times) >= 10  # measured per move (the figures are in docs/benchmarks.md)

    # Shift+click adds the disc to the selected mask; Alt+click cuts it out again.
    page.keyboard.down("Shift")
    page.mouse.click(*at(page, 80, 80))
    page.keyboard.up("Shift")
    saved(page)
    [both] = stored(page, image)
    assert iou(both["array"], truth["triangle"] | truth["disc"]) >= 0.95

    # K splits the two parts into two instances.
    page.keyboard.press("k")
    saved(page)
    rows = stored(page, image)
    assert len(rows) == 2
    parts = sorted(rows, key=lambda r: r["array"][80, 80])
    assert iou(parts[0]["array"], truth["triangle"]) >= 0.95 and iou(parts[1]["array"], truth["disc"]) >= 0.95

    # Select both (Shift+click in the object list) and J merges them back into one mask.
    page.locator("#ws-objects li[data-kind=mask]").nth(0).click(position={"x": 4, "y": 4})
    page.locator("#ws-objects li[data-kind=mask]").nth(1).click(position={"x": 4, "y": 4}, modifiers=["Shift"])
    page.keyboard.press("j")
    saved(page)
    [merged] = stored(page, image)
    assert iou(merged["array"], truth["triangle"] | truth["disc"]) >= 0.95

    # Alt+click cuts the disc out of it.
    page.keyboard.press("w")
    page.keyboard.down("Alt")
    page.mouse.click(*at(page, 80, 80))
    page.keyboard.up("Alt")
    saved(page)
    [cut] = stored(page, image)
    assert iou(cut["array"], truth["triangle"]) >= 0.95

    # C: the mask becomes a polygon, simplified within 2 px, that still covers the triangle.
    page.fill("#ws-simplify", "2")
    page.locator("#ws-canvas").focus()
    page.keyboard.press("c")
    saved(page)
    [poly] = stored(page, image)
    assert poly["kind"] == "polygon"
    assert len(poly["geometry"]["points"]) < 25  # a staircase outline has hundreds
    assert iou(poly["array"], truth["triangle"]) >= 0.9
    # And back: C on the polygon gives a mask again; undo returns the polygon.
    page.keyboard.press("c")
    saved(page)
    [back] = stored(page, image)
    assert back["kind"] == "mask" and iou(back["array"], truth["triangle"]) >= 0.9
    page.keyboard.press("Control+z")
    saved(page)
    assert [r["kind"] for r in stored(page, image)] == ["polygon"]


def test_smart_box_on_a_20000_px_image_says_why_it_cannot(signed_in, live_server):
    page, user = signed_in
    project = project_create(user=user, name="Panorama", kinds=["mask"])
    label_class_create(project=project, name="thing", color="#e53935")
    image = Image(project=project, file_name="pano.png", width=20000, height=1000, sha256="b" * 64, size=1,
                  format="PNG")
    image.file.save("pano.png", ContentFile(_png(np.full((50, 1000, 3), 90, np.uint8))), save=False)
    image.save()
    open_ws(page, live_server, project, image)
    page.keyboard.press("g")
    drag(page, (1000, 100), (3000, 900))
    expect(page.locator("#ws-toast")).to_contain_text("image: The image is 20000×1000 pixels")
    assert stored(page, image) == []


def test_superpixel_brush_paints_whole_superpixels(setup, live_server):
    page, project, cls, image, truth = setup
    open_ws(page, live_server, project, image)
    page.keyboard.press("u")
    page.mouse.move(*at(page, 80, 80))  # the first move asks for the view's superpixels
    expect(page.locator("body")).to_have_attribute("data-superpixels", "ready", timeout=10000)
    # Strokes across the disc's inside, a few pixels from its edge: whole superpixels fill it out.
    ax, ay = at(page, 80, 80)
    page.mouse.down()
    for y in range(38, 124, 6):
        half = max(0.0, (45**2 - (y - 80) ** 2)) ** 0.5 - 5
        if half <= 0:
            continue
        for x in (80 - half, 80 + half):
            page.mouse.move(*at(page, x, y), steps=4)
    page.mouse.up()
    saved(page)
    [row] = stored(page, image)
    assert row["kind"] == "mask"
    assert iou(row["array"], truth["disc"]) >= 0.85
    # Alt+drag removes superpixels from it.
    page.keyboard.down("Alt")
    drag(page, (60, 80), (100, 80))
    page.keyboard.up("Alt")
    saved(page)
    [row] = stored(page, image)
    assert not row["array"][80, 80]


def test_intelligent_scissors_follow_the_edge_between_clicks(setup, live_server):
    page, project, cls, image, truth = setup
    open_ws(page, live_server, project, image)
    page.keyboard.press("i")
    # Four clicks on the disc's rim; between them the outline must follow the round edge, not cut
    # straight across (straight chords would give a square of IoU ≈ 0.64).
    for x, y in [(80, 35), (125, 80), (80, 125), (35, 80)]:
        page.mouse.click(*at(page, x, y))
        page.mouse.move(*at(page, x + 3, y + 3), steps=2)
    page.keyboard.press("Enter")
    saved(page)
    [row] = stored(page, image)
    assert row["kind"] == "polygon" and len(row["geometry"]["points"]) > 8
    assert iou(row["array"], truth["disc"]) >= 0.9
    times = page.evaluate("window.__ws.ws.tools.scissors.moveTimes")
    assert len(times) >= 4
    # Undo removes it, like any drawn shape.
    page.keyboard.press("Control+z")
    saved(page)
    assert stored(page, image) == []


def test_a_rough_box_over_a_model_proposal_takes_the_models_box(setup, live_server):
    page, project, cls, image, truth = setup
    proposal = annotation_create(image=image, user=None, data={
        "label_class": cls.pk, "kind": "box", "geometry": {"x": 35, "y": 35, "w": 90, "h": 90},
        "origin": "model", "score": 0.7})
    open_ws(page, live_server, project, image)
    page.keyboard.press("b")
    drag(page, (28, 40), (130, 132))  # rough: IoU with the proposal about 0.7
    saved(page)
    rows = stored(page, image)
    assert [(r["id"], r["state"], r["geometry"]) for r in rows] == [
        (proposal.pk, "accepted", {"x": 35, "y": 35, "w": 90, "h": 90})]
    expect(page.locator("#ws-toast")).to_contain_text("Took the model's box")
    # Alt keeps the box as drawn (a second, human box).
    page.keyboard.down("Alt")
    drag(page, (28, 40), (130, 132))
    page.keyboard.up("Alt")
    saved(page)
    rows = stored(page, image)
    assert len(rows) == 2 and rows[1]["origin"] == "human"
    assert rows[1]["geometry"]["x"] == pytest.approx(28, abs=1)


def test_strokes_correct_a_model_mask_proposal_which_becomes_accepted(setup, live_server):
    page, project, cls, image, truth = setup
    # The model's mask: the disc plus a slab of grass on its right.
    wrong = truth["disc"].copy()
    wrong[60:100, 125:150] = True
    rle = mask_api.encode(np.asfortranarray(wrong.astype(np.uint8)))
    proposal = annotation_create(image=image, user=None, data={
        "label_class": cls.pk, "kind": "mask", "origin": "model", "score": 0.6,
        "geometry": {"rle": {"size": [H, W], "counts": rle["counts"].decode()}}})
    open_ws(page, live_server, project, image)
    page.locator(f"#ws-objects li[data-id='{proposal.pk}']").click(position={"x": 4, "y": 4})
    page.keyboard.press("g")
    page.keyboard.down("Alt")
    drag(page, (138, 65), (138, 95))  # "not the object", across the slab
    page.keyboard.up("Alt")
    smart_done(page)
    [row] = stored(page, image)
    assert (row["id"], row["state"]) == (proposal.pk, "accepted")
    assert not row["array"][80, 140]
    assert iou(row["array"], truth["disc"]) >= 0.9


MASKOPS_ROUND_TRIP = """async () => {
  const m = await import("/static/workspace/tools/maskops.js");
  const out = [];
  const shapes = [
    (x, y) => (x - 20) ** 2 / 300 + (y - 14) ** 2 / 90 <= 1,                 // an ellipse
    (x, y) => (x >= 3 && x < 9 && y >= 2 && y < 30) || (y >= 24 && y < 30 && x < 35), // an L
    (x, y) => (x === 5 && y === 5) || (x === 6 && y === 6),                     // two pixels touching at a corner
    (x, y) => Math.abs(x - 20) + Math.abs(y - 15) <= 12 && (x + y) % 7 !== 0,  // a diamond cut by diagonals
  ];
  for (const inside of shapes) {
    const W = 40, H = 32, data = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = inside(x, y) ? 1 : 0;
    const parts = m.parts({ x0: 0, y0: 0, w: W, h: H, data });
    const polys = m.polygonsFromBitmap({ x0: 0, y0: 0, w: W, h: H, data }, 0);
    let back = { x0: 0, y0: 0, w: 0, h: 0, data: new Uint8Array(0) };
    for (const p of polys) back = m.union(back, m.bitmapFromPolygon(p, W, H));
    let same = 0, area = 0, kept = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const inBox = x >= back.x0 && y >= back.y0 && x < back.x0 + back.w && y < back.y0 + back.h;
      const b = inBox ? back.data[(y - back.y0) * back.w + x - back.x0] : 0;
      if (b === data[y * W + x]) same++;
      if (b && data[y * W + x]) kept++;
      area += data[y * W + x];
    }
    out.push({ parts: parts.length, polygons: polys.length, same, total: W * H, area, kept });
  }
  return out;
}"""


def test_mask_to_polygon_at_zero_tolerance_gives_back_the_same_pixels(setup, live_server):
    page, project, _cls, image, _truth = setup
    open_ws(page, live_server, project, image)
    results = page.evaluate(MASKOPS_ROUND_TRIP)
    for r in results[:3]:
        assert r["same"] == r["total"], r  # hole-free parts: every pixel comes back, no other
    assert [r["parts"] for r in results] == [r["polygons"] for r in results]
    # The cut diamond is one 8-connected part whose cuts are holes to a polygon: filled, nothing lost.
    cut = results[3]
    assert cut["parts"] == 1 and cut["kept"] == cut["area"]  # every pixel of the mask is in the polygon
    assert cut["same"] < cut["total"]  # and the cuts were filled
