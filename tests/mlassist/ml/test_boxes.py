import pytest

from mlassist.ml.features import stack_spatial
from mlassist.ml.predict import predict_boxes
from mlassist.ml.training import evaluate_box_head, train_box_head

pytestmark = pytest.mark.slow


def _iou(a, b):
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_box_head_finds_shapes_in_image_pixels(shapes, shape_blobs):
    spatial, sizes = stack_spatial(shape_blobs)
    assert (sizes == shapes["sizes"]).all()
    calls = []
    result = train_box_head(
        spatial, shapes["boxes"], shapes["classes"], sizes, 3, progress=lambda *a: calls.append(a)
    )
    # Three shape classes on noise, 160 training images; a random box scores ~0.
    assert result.metrics["map50"] >= 0.5, result.metrics
    assert calls[-1][:3] == ("train_boxes", 30, 30)

    va = result.val_indices
    found = predict_boxes(result.model, spatial[va], sizes[va], 3, threshold=0.3)
    matched = 0
    for props, gt_boxes, gt_cls, (w, h) in zip(
        found, [shapes["boxes"][i] for i in va], [shapes["classes"][i] for i in va], sizes[va], strict=True
    ):
        for p in props:  # every box lies inside its (non-square) image
            x, y, bw, bh = p.bbox
            assert x >= 0 and y >= 0 and x + bw <= w + 1e-6 and y + bh <= h + 1e-6
        for box, c in zip(gt_boxes, gt_cls, strict=True):
            matched += any(p.class_index == c and _iou(p.bbox, box) >= 0.5 for p in props)
    n_objects = sum(len(shapes["boxes"][i]) for i in va)
    assert matched >= 0.6 * n_objects, (matched, n_objects)


def test_flip_augmentation_trains_on_mirrored_copies(shapes, shape_blobs):
    spatial, sizes = stack_spatial(shape_blobs)
    result = train_box_head(spatial, shapes["boxes"], shapes["classes"], sizes, 3, augment_flip=True)
    assert result.metrics["map50"] >= 0.5, result.metrics
    # Evaluating on the same split again gives the same figure (what "not worse than" compares).
    va = result.val_indices
    again = evaluate_box_head(
        result.model, spatial[va], [shapes["boxes"][i] for i in va], [shapes["classes"][i] for i in va], sizes[va], 3
    )
    assert again["map50"] == pytest.approx(result.metrics["map50"])
