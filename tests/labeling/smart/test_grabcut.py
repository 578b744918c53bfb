"""Box → mask on generated textured shapes with exact masks (bench/smart_shapes.py)."""

import cv2
import numpy as np
import pytest

from bench.smart_shapes import objects
from labeling.smart.grabcut import Stroke, grabcut_box_to_mask
from labeling.smart.pyramid import Level, decode_levels, pick_level


def levels_of(img):
    levels, f = [Level(1, img)], 1
    while max(levels[-1].pixels.shape[:2]) > 128:
        f *= 2
        h, w = -(-img.shape[0] // f), -(-img.shape[1] // f)
        levels.append(Level(f, cv2.resize(levels[-1].pixels, (w, h), interpolation=cv2.INTER_AREA)))
    return levels


def predict(img, box, strokes=()):
    H, W = img.shape[:2]
    crop = grabcut_box_to_mask(levels_of(img), width=W, height=H, box=box, strokes=strokes)
    out = np.zeros((H, W), bool)
    out[crop.y0:crop.y1, crop.x0:crop.x1] = crop.upscaled()
    return out


def iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


def tight_box(mask):
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1 - xs.min()), float(ys.max() + 1 - ys.min())


def test_a_box_around_each_of_twelve_objects_gives_its_mask():
    scores = [iou(predict(img, tight_box(gt)), gt) for img, gt in objects(12)]
    assert np.median(scores) >= 0.9, scores
    assert min(scores) >= 0.5, scores


def test_a_background_stroke_removes_what_the_box_wrongly_took():
    # A square object with a same-coloured bar glued to its right: the box takes both; a background
    # stroke across the bar gives the square alone.
    rng = np.random.default_rng(3)
    img = (rng.normal(60, 6, (200, 240, 3))).clip(0, 255).astype(np.uint8)
    gt = np.zeros((200, 240), bool)
    gt[50:150, 50:150] = True
    bar = np.zeros_like(gt)
    bar[90:110, 150:190] = True
    img[gt | bar] = (rng.normal(200, 6, ((gt | bar).sum(), 3))).clip(0, 255).astype(np.uint8)
    box = (45.0, 45.0, 150.0, 110.0)
    first = predict(img, box)
    assert first[100, 170]  # the bar was taken
    fixed = predict(img, box, [Stroke(False, [(158, 100), (188, 100)], radius=12)])
    assert not fixed[100, 170]
    assert iou(fixed, gt) > iou(first, gt)
    assert iou(fixed, gt) >= 0.9


def test_a_foreground_stroke_outside_the_box_grows_the_object():
    rng = np.random.default_rng(4)
    img = (rng.normal(60, 6, (200, 200, 3))).clip(0, 255).astype(np.uint8)
    gt = np.zeros((200, 200), bool)
    gt[40:160, 40:160] = True
    img[gt] = (rng.normal(190, 6, (gt.sum(), 3))).clip(0, 255).astype(np.uint8)
    cut = predict(img, (40.0, 40.0, 90.0, 120.0))  # the box misses the right quarter
    assert not cut[100, 150]
    grown = predict(img, (40.0, 40.0, 90.0, 120.0), [Stroke(True, [(150, 100)], radius=4)])
    assert grown[100, 150] and iou(grown, gt) >= 0.9


def test_a_box_reaching_the_image_edges_still_works():
    rng = np.random.default_rng(5)
    img = (rng.normal(60, 6, (100, 100, 3))).clip(0, 255).astype(np.uint8)
    gt = np.zeros((100, 100), bool)
    gt[:, :60] = True
    img[gt] = 200
    assert iou(predict(img, (0.0, 0.0, 100.0, 100.0)), gt) >= 0.8


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_levels_of_a_big_image_halve_down_and_a_jpeg_is_decoded_reduced(fmt, tmp_path):
    import PIL.Image

    path = tmp_path / f"big.{fmt.lower()}"
    PIL.Image.new("RGB", (5000, 3000), (10, 200, 30)).save(path, fmt)
    with open(path, "rb") as fh:
        levels = decode_levels(fh, width=5000, height=3000)
    assert [lv.factor for lv in levels] == [2, 4, 8, 16, 32, 64]
    assert levels[0].pixels.shape == (1500, 2500, 3)
    assert levels[-1].pixels.shape == (47, 79, 3)
    assert pick_level(levels, span=4000, want=512).factor == 4
    assert abs(int(levels[0].pixels[700, 1200, 1]) - 200) <= 3


@pytest.mark.parametrize(("raw_w", "raw_h"), [(600, 400), (5000, 3000)])
def test_levels_follow_the_exif_orientation_the_browser_shows(raw_w, raw_h, tmp_path):
    import PIL.Image

    raw = np.zeros((raw_h, raw_w, 3), np.uint8)
    raw[: raw_h // 4, : raw_w // 4] = (250, 250, 250)  # a white block in the stored top-left corner
    img = PIL.Image.fromarray(raw)
    exif = img.getexif()
    exif[0x0112] = 6  # shown rotated 90° clockwise: the block ends up top-right
    path = tmp_path / "rotated.jpg"
    img.save(path, "JPEG", exif=exif.tobytes())
    with open(path, "rb") as fh:
        levels = decode_levels(fh, width=raw_h, height=raw_w)
    level = levels[0]
    rows, cols = level.pixels.shape[:2]
    assert (rows, cols) == (-(-raw_w // level.factor), -(-raw_h // level.factor))
    assert level.pixels[rows // 16, cols - cols // 16].mean() > 200  # top-right: white
    assert level.pixels[rows // 16, cols // 16].mean() < 50


def test_decoding_a_big_image_for_the_smart_tools_does_not_import_tensorflow(tmp_path):
    import subprocess
    import sys

    import PIL.Image

    PIL.Image.new("RGB", (5000, 300), (1, 2, 3)).save(tmp_path / "wide.png")
    code = (
        "import sys; from labeling.smart.pyramid import decode_levels;"
        f"levels = decode_levels(open({str(tmp_path / 'wide.png')!r}, 'rb'), width=5000, height=300);"
        "assert levels[0].factor == 2;"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    root = __file__.rsplit("/tests/", 1)[0]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("box", [(10.0, 10.0, 1.0, 1.0), (5.0, 5.0, 3.0, 3.0), (299.0, 199.0, 1.0, 1.0)])
def test_a_background_stroke_over_the_whole_box_gives_an_empty_mask_not_an_error(box):
    img = np.ascontiguousarray(objects(1)[0][0][:200, :300])
    assert not predict(img, box, [Stroke(False, [(box[0], box[1])], radius=50)]).any()
    predict(img, box)  # tiny boxes alone work too
