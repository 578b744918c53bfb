"""Retraining and proposing speed on stored features.

    python -m bench.ml_train

1. Classifier retrain on 5,000 stored feature blobs (1280-d pooled, float16,
   with their 14x14x96 spatial maps in the same blob, as stored at 224 px):
   reading the vectors out of the blob list + training. Target < 3 s.
2. Box head trained on 500 images' stored spatial maps (synthetic coloured
   shapes, MobileNetV2 224 alpha 1.0, weights "none").
3. Proposing for 1,000 images: tags + boxes from stored features.
"""

import io
import time

import numpy as np
from PIL import Image, ImageDraw

from mlassist.ml.config import BackboneConfig
from mlassist.ml.features import FeatureExtractor, ImageFeatures, stack_pooled, stack_spatial
from mlassist.ml.predict import predict_boxes, predict_tags
from mlassist.ml.training import train_box_head, train_classifier


def synthetic_blobs(n=5000, n_classes=10, dim=1280, seed=0):
    """Stored-feature blobs whose pooled vectors cluster by class (unit norm, float16)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    y = rng.integers(0, n_classes, n)
    raw = np.abs(centres[y] + 4.0 * rng.normal(size=(n, dim))) * 1e-11  # untrained-backbone magnitudes
    spatial = rng.normal(size=(14, 14, 96)).astype(np.float16)
    blobs = []
    for v in raw:
        norm = float(np.linalg.norm(v))
        f = ImageFeatures((v / norm).astype(np.float16), norm, spatial, 1.0, 640, 480, 224, "bench")
        blobs.append(f.to_bytes())
    return blobs, y


def shapes_jpegs(n, seed=0):
    rng = np.random.default_rng(seed)
    colours = [(220, 40, 40), (40, 80, 230), (40, 200, 60)]
    blobs, boxes, classes = [], [], []
    for _ in range(n):
        im = Image.fromarray(rng.normal(120, 25, (480, 640, 3)).clip(0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(im)
        bxs, cls = [], []
        for _ in range(rng.integers(1, 4)):
            s = int(rng.integers(80, 160))
            x, y = int(rng.integers(0, 640 - s)), int(rng.integers(0, 480 - s))
            if any(not (x + s <= a or a + c <= x or y + s <= b or b + d <= y) for a, b, c, d in bxs):
                continue
            k = int(rng.integers(0, 3))
            shape = [x, y, x + s - 1, y + s - 1]
            (draw.rectangle if k == 0 else draw.ellipse)(shape, fill=colours[k]) if k < 2 else draw.polygon(
                [(x + s / 2, y), (x, y + s - 1), (x + s - 1, y + s - 1)], fill=colours[k]
            )
            bxs.append([x, y, s, s])
            cls.append(k)
        f = io.BytesIO()
        im.save(f, "JPEG", quality=88)
        blobs.append(f.getvalue())
        boxes.append(np.array(bxs, float).reshape(-1, 4))
        classes.append(np.array(cls, int))
    return blobs, boxes, classes


def main():
    blobs, y = synthetic_blobs()
    t0 = time.perf_counter()
    pooled = stack_pooled(blobs)
    t1 = time.perf_counter()
    result = train_classifier(pooled, y, 10)
    t2 = time.perf_counter()
    print(f"classifier: {len(blobs)} stored vectors, read {t1 - t0:.2f} s + train {t2 - t1:.2f} s = {t2 - t0:.2f} s "
          f"(target < 3 s); held-out accuracy {result.metrics['accuracy']:.3f}")  # fmt: skip

    cfg = BackboneConfig("mobilenet_v2", 224, 1.0, "none")
    images, boxes, classes = shapes_jpegs(500)
    t = time.perf_counter()
    feats = FeatureExtractor(cfg).extract(images)
    print(f"features for 500 shape images (640x480 JPEG, {cfg.name} 224): {time.perf_counter() - t:.1f} s")
    spatial, sizes = stack_spatial([f.to_bytes() for f in feats])
    t = time.perf_counter()
    boxes_result = train_box_head(spatial, boxes, classes, sizes, 3)
    print(f"box head: 500 images' stored features ({spatial.shape[1]}x{spatial.shape[2]}x{spatial.shape[3]}), "
          f"30 epochs: {time.perf_counter() - t:.1f} s; held-out mAP@0.5 {boxes_result.metrics['map50']:.3f}")  # fmt: skip

    spatial_1k = np.concatenate([spatial, spatial])
    sizes_1k = np.concatenate([sizes, sizes])
    pooled_1k = pooled[:1000]
    t = time.perf_counter()
    tags = predict_tags(result.model, pooled_1k)
    t_tags = time.perf_counter() - t
    t = time.perf_counter()
    found = predict_boxes(boxes_result.model, spatial_1k, sizes_1k, 3, threshold=0.3)
    t_boxes = time.perf_counter() - t
    print(f"proposing for 1000 images: tags {t_tags:.2f} s, boxes {t_boxes:.2f} s "
          f"({sum(map(len, found))} boxes, {len(tags)} tag sets)")  # fmt: skip


if __name__ == "__main__":
    main()
