"""Live boxes: a box head in service draws on the frame (one backbone pass, each head's TFLite file).

The project is trained through the product (uploads, tags and boxes, a training run executed here)
on camera-sized frames holding one bright square on a dark background; the square's colour is its
class. The live parts (backbone file and heads) are built as the worker builds them, on request.
"""

import io
import os
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Annotation
from labeling.services.annotations import annotation_create_many
from labeling.services.images import image_upload
from labeling.services.projects import label_class_create, project_create
from mlassist.ml.predict import encode_rle
from mlassist.models import ModelVersion
from mlassist.services.exports import live_parts_export
from mlassist.services.training import training_request, training_run_execute

from ..factories import MembershipFactory

pytestmark = [pytest.mark.slow]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RED, BLUE = (240, 40, 40), (40, 40, 240)


def square_pixels(colour, seed, side=96):
    """320x240 RGB: dark noise with one bright square of ``colour``; returns (pixels, [x, y, w, h])."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 40, (240, 320, 3)).astype(np.uint8)
    x, y = int(rng.integers(0, 320 - side)), int(rng.integers(0, 240 - side))
    pixels[y : y + side, x : x + side] = colour
    return pixels, [float(x), float(y), float(side), float(side)]


def square_frame(colour, seed, side=96, quality=90):
    """square_pixels as a JPEG: (bytes, [x, y, w, h])."""
    pixels, box = square_pixels(colour, seed, side)
    out = io.BytesIO()
    PIL.Image.fromarray(pixels).save(out, "JPEG", quality=quality)
    return out.getvalue(), box


def square_rle(box):
    mask = np.zeros((240, 320), bool)
    x, y, w, h = (int(v) for v in box)
    mask[y : y + h, x : x + w] = True
    return encode_rle(mask)


def iou(a, b):
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w, h = max(0.0, min(ax1, bx1) - max(a[0], b[0])), max(0.0, min(ay1, by1) - max(a[1], b[1]))
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


@pytest.fixture
def box_project(transactional_db, manager, annotator):
    project = project_create(user=manager, name="Squares", kinds=["tag", "box", "mask"], retrain_every=1000)
    MembershipFactory(project=project, user=annotator, role="annotator")
    red, blue = label_class_create(project=project, name="red"), label_class_create(project=project, name="blue")
    for i in range(24):
        cls, colour = (red, RED) if i % 2 == 0 else (blue, BLUE)
        data, box = square_frame(colour, i)
        [image] = image_upload(project=project, user=manager, files=[SimpleUploadedFile(f"{i}.jpg", data)]).created
        annotation_create_many(image=image, user=manager, items=[
            {"label_class": cls.pk, "kind": "tag", "geometry": {}},
            {"label_class": cls.pk, "kind": "box", "geometry": dict(zip("xywh", box))},
            {"label_class": cls.pk, "kind": "mask", "geometry": {"rle": square_rle(box)}},
        ])
    run = training_request(project=project, user=manager)
    training_run_execute(run_id=run.pk)
    return project, red, blue


def live(api, project, data):
    return api.post(f"/api/projects/{project.pk}/live/", {"frame": SimpleUploadedFile("f.jpg", data)},
                    format="multipart")


def test_the_box_head_in_service_draws_its_boxes_and_keep_stores_them(box_project, annotator, client_for, tmp_path):
    project, red, blue = box_project
    detector = ModelVersion.objects.get(project=project, kind="detector", in_service=True)
    segmenter = ModelVersion.objects.get(project=project, kind="segmenter", in_service=True)
    classifier = ModelVersion.objects.get(project=project, kind="classifier", in_service=True)
    api = client_for(annotator)
    # A picture the head learnt from, as the camera would send it again (other bytes: not a duplicate).
    # How well the head generalises is training's business (its metrics); this is about the live path.
    data, truth = square_frame(RED, 0, quality=85)

    # The live parts are not built yet: the labels come from the classifier's own file meanwhile
    # (built here as its task would), and the answer says the boxes are on their way.
    from mlassist.services.exports import tflite_export

    tflite_export(version_id=classifier.pk)
    first = live(api, project, data)
    assert first.status_code == 200, first.content
    assert first.json()["boxes"] == [] and "being prepared" in first.json()["note"]

    live_parts_export(version_ids=[classifier.pk, detector.pk, segmenter.pk])  # what the queued task does
    answer = live(api, project, data)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["version"]["id"] == classifier.pk and body["labels"][0]["name"] == "red"
    assert sorted(v["id"] for v in body["overlay"]) == [detector.pk, segmenter.pk]
    assert body["note"] == "" and body["boxes"], body
    best = body["boxes"][0]
    assert best["name"] == "red" and best["label_class"] == red.pk
    assert iou([best[k] for k in "xywh"], truth) > 0.5, (best, truth)
    # The mask head's regions come as outlines in frame pixels: the best one is the square's.
    assert body["masks"], body
    mask = body["masks"][0]
    assert mask["name"] == "red" and iou(mask["bbox"], truth) > 0.5, (mask["bbox"], truth)
    assert mask["polygons"] and all(len(p) >= 6 for p in mask["polygons"])

    kept = api.post(f"/api/projects/{project.pk}/live/frames/",
                    {"frame": SimpleUploadedFile("f.jpg", data), "model_version": classifier.pk,
                     "overlay_versions": [detector.pk, segmenter.pk]}, format="multipart")
    assert kept.status_code == 201, kept.content
    stored = Annotation.objects.filter(image_id=kept.json()["image"])
    boxes = stored.filter(kind="box")
    assert {a.origin for a in stored} == {"model"} and {a.state for a in stored} == {"proposed"}
    assert boxes.count() == len(body["boxes"]) and {a.model_version_id for a in boxes} == {detector.pk}
    assert stored.filter(kind="tag", model_version=classifier).exists()
    masks = stored.filter(kind="mask")
    assert masks.count() == len(body["masks"]) and {a.model_version_id for a in masks} == {segmenter.pk}
    assert all(a.geometry["rle"]["size"] == [240, 320] for a in masks)
    shown = sorted((b["label_class"], round(b["x"]), round(b["y"])) for b in body["boxes"])
    assert sorted((a.label_class_id, round(a.geometry["x"]), round(a.geometry["y"])) for a in boxes) == shown

    # The same path in a process of its own never loads TensorFlow or Keras.
    assert overlay_path_imports(detector, tmp_path) == (len(body["boxes"]), "[]")


def test_keep_naming_a_version_that_is_not_a_box_or_mask_head_is_refused(manager, annotator, client_for):
    project = project_create(user=manager, name="Squares", kinds=["tag", "box"])
    MembershipFactory(project=project, user=annotator, role="annotator")
    classifier = ModelVersion.objects.create(project=project, kind="classifier", number=1, in_service=True)
    data, _ = square_frame(RED, 1001)
    kept = client_for(annotator).post(
        f"/api/projects/{project.pk}/live/frames/",
        {"frame": SimpleUploadedFile("f.jpg", data), "model_version": classifier.pk,
         "overlay_versions": [classifier.pk]}, format="multipart")
    assert kept.status_code == 400 and "overlay_versions" in kept.content.decode()
    assert not project.images.filter(file_name__startswith="live-").exists()


def overlay_path_imports(detector, tmp_path):
    """Backbone file, box head file and numpy decoding in a fresh web-like process: (boxes found, TF modules)."""
    from django.core.files.storage import default_storage

    from mlassist.services.exports import live_features_name, live_head_name
    from mlassist.services.features import backbone_config

    files = [default_storage.path(name) for name in (live_features_name(backbone_config()), live_head_name(detector))]
    (tmp_path / "f.jpg").write_bytes(square_frame(RED, 0, quality=85)[0])
    code = (
        "import sys, numpy as np; from mlassist.services.live import _pixels; "
        "from mlassist.services.live_overlays import _Net; from mlassist.ml.predict import decode_boxes;"
        f"backbone, head = _Net(open({files[0]!r}, 'rb').read()), _Net(open({files[1]!r}, 'rb').read());"
        f"px = _pixels(open({str(tmp_path / 'f.jpg')!r}, 'rb').read(), {backbone_config().input_size});"
        "raw = head(backbone(px[None])[4])[4][None];"
        f"print(len(decode_boxes(raw, np.array([[320, 240]]), 2, {detector.metrics['threshold']!r}, "
        f"{int(detector.metrics['max_per_image'])})[0]));"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    env = {**os.environ, "ANNOTATOR_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "annotator.settings"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup();" + code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    found, modules = result.stdout.strip().splitlines()[-2:]
    return int(found), modules


def test_the_live_parts_are_asked_for_once_per_version_and_ten_minutes(manager):
    from mlassist.services.exports import live_parts_request

    project = project_create(user=manager, name="Squares", kinds=["tag", "box"])
    classifier = ModelVersion.objects.create(project=project, kind="classifier", number=1, in_service=True)
    detector = ModelVersion.objects.create(project=project, kind="detector", number=1, in_service=True)
    assert live_parts_request(versions=[classifier, detector]) is True
    assert live_parts_request(versions=[classifier, detector]) is False  # every frame meanwhile: not again
    # A box head retrained meanwhile is asked for at once, though the classifier was asked for just now.
    newer = ModelVersion.objects.create(project=project, kind="detector", number=2)
    assert live_parts_request(versions=[classifier, newer]) is True
