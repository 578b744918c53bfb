"""POST /api/images/{id}/smart/box-mask/: the mask in image coordinates, clear errors, roles."""

import io

import numpy as np
import PIL.Image
import pytest
from django.core.files.base import ContentFile
from pycocotools import mask as mask_utils

from bench.smart_shapes import scene
from labeling.models import Annotation
from labeling.services import smart as smart_services

from ...factories import ImageFactory

pytestmark = pytest.mark.django_db


def png(pixels) -> bytes:
    out = io.BytesIO()
    PIL.Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def shapes_image(project):
    pixels, masks = scene(7, 320, 240)
    image = ImageFactory(project=project, width=320, height=240, file=ContentFile(png(pixels), "s.png"))
    return image, masks


def url(image):
    return f"/api/images/{image.pk}/smart/box-mask/"


def decode(rle):
    return mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)


def box_of(mask):
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return {"x": x0, "y": y0, "w": int(xs.max()) + 1 - x0, "h": int(ys.max()) + 1 - y0}


def test_an_annotator_gets_the_mask_of_the_object_in_the_box_and_nothing_is_stored(
        shapes_image, annotator, client_for):
    image, masks = shapes_image
    res = client_for(annotator).post(url(image), {"box": box_of(masks[0])}, format="json")
    assert res.status_code == 200, res.json()
    body = res.json()
    got = decode(body["rle"])
    assert got.shape == (240, 320)
    iou = (got & masks[0]).sum() / (got | masks[0]).sum()
    assert iou >= 0.85
    assert body["area"] == got.sum()
    assert Annotation.objects.count() == 0


def test_a_background_stroke_is_honoured(shapes_image, annotator, client_for):
    image, masks = shapes_image
    box = box_of(masks[0])
    cy, cx = (int(v) for v in np.argwhere(masks[0]).mean(axis=0))
    res = client_for(annotator).post(url(image), {"box": box, "strokes": [
        {"label": "bg", "points": [[cx - 3, cy], [cx + 3, cy]], "radius": 2}]}, format="json")
    assert res.status_code == 200
    assert not decode(res.json()["rle"])[cy, cx]


@pytest.mark.parametrize(("body", "field"), [
    ({"box": {"x": 400, "y": 10, "w": 20, "h": 20}}, "box.x"),
    ({"box": {"x": 300, "y": 10, "w": 50, "h": 20}}, "box.w"),
    ({"box": {"x": 10, "y": -5, "w": 20, "h": 20}}, "box.y"),
    ({"box": {"x": 10, "y": 10, "w": 0, "h": 20}}, "box.w"),
    ({"box": {"x": 10, "y": 10, "w": 20, "h": 0}}, "box.h"),
    ({"box": {"x": 10, "y": 10, "w": 20}}, "box.h"),
    ({"box": {"x": 10, "y": 10, "w": 20, "h": 20}, "strokes": [{"label": "fg", "points": [[5, 5], [999, 5]]}]},
     "strokes[0].points[1]"),
    ({"box": {"x": 10, "y": 10, "w": 20, "h": 20}, "strokes": [{"label": "maybe", "points": [[5, 5]]}]},
     "strokes[0].label"),
])
def test_bad_input_is_a_400_naming_the_field(shapes_image, annotator, client_for, body, field):
    image, _ = shapes_image
    res = client_for(annotator).post(url(image), body, format="json")
    assert res.status_code == 400
    # DRF reports a list of nested serializers' errors by index (strokes.0.label); the shared
    # exception handler passes that through.
    fields = {field, field.replace("[0]", ".0")}
    assert fields & {e["field"] for e in res.json()["errors"]}, res.json()
    assert res.json()["detail"].split(":")[0] in fields


def test_a_20000_px_image_is_refused_naming_the_image(project, annotator, client_for):
    image = ImageFactory(project=project, width=20000, height=100)
    res = client_for(annotator).post(url(image), {"box": {"x": 10, "y": 10, "w": 20, "h": 20}}, format="json")
    assert res.status_code == 400
    assert res.json()["errors"][0]["field"] == "image"
    assert "20000" in res.json()["detail"]


def test_outsiders_do_not_see_the_image(shapes_image, outsider, client_for):
    image, _ = shapes_image
    res = client_for(outsider).post(url(image), {"box": {"x": 10, "y": 10, "w": 20, "h": 20}}, format="json")
    assert res.status_code == 404


def test_a_big_jpeg_is_decoded_once_and_later_requests_read_the_cached_levels(project, annotator, client_for,
                                                                              django_assert_max_num_queries):
    pixels = np.zeros((6000, 8000, 3), np.uint8)
    pixels[:] = (40, 60, 80)
    pixels[2000:4000, 3000:6000] = (220, 200, 40)
    out = io.BytesIO()
    PIL.Image.fromarray(pixels).save(out, "JPEG", quality=90)
    image = ImageFactory(project=project, width=8000, height=6000, format="JPEG",
                         file=ContentFile(out.getvalue(), "big.jpg"))
    client = client_for(annotator)
    body = {"box": {"x": 2800, "y": 1800, "w": 3400, "h": 2400}}
    first = client.post(url(image), body, format="json").json()
    smart_services._opened.clear()  # as a fresh web process would
    opened = []
    real_open = type(image.file).open

    def spy(self, *args, **kwargs):
        opened.append(self.name)
        return real_open(self, *args, **kwargs)

    type(image.file).open = spy
    try:
        second = client.post(url(image), body, format="json").json()
    finally:
        type(image.file).open = real_open
    assert opened == []  # the stored file is not read again
    assert first["rle"] == second["rle"]
    assert first["bbox"] == pytest.approx([3000, 2000, 3000, 2000], abs=16)
    assert abs(first["area"] - 3000 * 2000) / (3000 * 2000) < 0.02


def superpixel_labels(body):
    import base64

    return np.frombuffer(base64.b64decode(body["labels"]), "<u2").reshape(body["rows"], body["cols"])


def test_superpixels_cover_the_region_and_follow_the_objects_edges(shapes_image, annotator, client_for):
    image, masks = shapes_image
    res = client_for(annotator).post(f"/api/images/{image.pk}/smart/superpixels/",
                                     {"region": {"x": 0, "y": 0, "w": 320, "h": 240}}, format="json")
    assert res.status_code == 200, res.json()
    body = res.json()
    assert (body["x0"], body["y0"], body["x1"], body["y1"]) == (0, 0, 320, 240)
    labels = superpixel_labels(body)
    assert labels.shape == (240, 320) and body["count"] == labels.max() + 1 >= 200
    # Painting every superpixel that is mostly inside the objects gives them closely.
    truth = np.logical_or.reduce(masks)
    inside = np.bincount(labels[truth], minlength=body["count"]) / np.bincount(labels.ravel(), minlength=body["count"])
    painted = inside[labels] > 0.5
    assert (painted & truth).sum() / (painted | truth).sum() >= 0.85


def test_superpixels_of_a_bad_region_name_it(shapes_image, annotator, client_for):
    image, _ = shapes_image
    res = client_for(annotator).post(f"/api/images/{image.pk}/smart/superpixels/",
                                     {"region": {"x": 0, "y": 0, "w": 0, "h": 240}}, format="json")
    assert res.status_code == 400 and res.json()["errors"][0]["field"] == "region.w"


def test_the_level_cache_is_trimmed_least_recently_used_first(project, annotator, client_for, settings):
    settings.SMART_CACHE_MAX_BYTES = 200_000
    client = client_for(annotator)
    images = []
    for seed in range(3):
        pixels, _ = scene(seed, 240, 180)
        data = ContentFile(png(pixels), f"{seed}.png")
        images.append(ImageFactory(project=project, width=240, height=180, file=data))
    for image in images:
        res = client.post(url(image), {"box": {"x": 10, "y": 10, "w": 100, "h": 100}}, format="json")
        assert res.status_code == 200
    folder = smart_services._cache_dir()
    sizes = sum(p.stat().st_size for p in folder.glob("*.npy"))
    assert sizes <= 200_000
    names = {p.name.split("-")[0] for p in folder.glob("*.npy")}
    assert str(images[-1].pk) in names and str(images[0].pk) not in names
