"""Synthetic, separable data sets and their stored features, built once per test session.

No downloads: digits come from scikit-learn's bundled set, shapes are drawn here.
The "slow" marker is registered in pyproject.toml.
"""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mlassist.ml.config import BackboneConfig
from mlassist.ml.features import FeatureExtractor

DIGITS_CFG = BackboneConfig("mobilenet_v3_small", 64, 1.0, "none")
SHAPES_CFG = BackboneConfig("mobilenet_v2", 128, 0.35, "none")
SHAPE_COLOURS = [(220, 40, 40), (40, 80, 230), (40, 200, 60)]  # square, circle, triangle


def png(pixels: np.ndarray) -> bytes:
    f = io.BytesIO()
    Image.fromarray(pixels).save(f, "PNG")
    return f.getvalue()


def make_digits(per_class: int = 40, size: int = 64, seed: int = 0):
    """sklearn digits, scaled to 3/4 of the canvas, random light colour, jittered, on dark noise."""
    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(seed)
    blobs, labels = [], []
    ds = int(size * 0.75)
    for c in range(10):
        for i in rng.permutation(np.flatnonzero(d.target == c))[:per_class]:
            canvas = rng.normal(40, 12, (size, size, 3)).clip(0, 255)
            g = Image.fromarray((d.images[i] * 255 / 16).astype(np.uint8)).resize((ds, ds), Image.BILINEAR)
            g = np.asarray(g, np.float32)[..., None] / 255
            ox, oy = (size - ds) // 2 + rng.integers(-3, 4, 2)
            patch = canvas[oy : oy + ds, ox : ox + ds]
            canvas[oy : oy + ds, ox : ox + ds] = patch * (1 - g) + rng.uniform(180, 255, 3) * g
            blobs.append(png(canvas.astype(np.uint8)))
            labels.append(c)
    return blobs, np.array(labels)


def make_shapes(n: int = 200, n_classes: int = 3, seed: int = 0):
    """1-2 non-overlapping coloured squares / circles / triangles (28-47 px) on noisy grey JPEGs.

    Canvases are 160x120, 120x160 and 128x128 so that boxes and masks must be
    mapped back through unequal x and y scales.
    """
    rng = np.random.default_rng(seed)
    out = {"blobs": [], "boxes": [], "classes": [], "masks": [], "sizes": []}
    for i in range(n):
        w, h = [(160, 120), (120, 160), (128, 128)][i % 3]
        im = Image.fromarray(rng.normal(120, 25, (h, w, 3)).clip(0, 255).astype(np.uint8))
        boxes, classes, masks = [], [], []
        for _ in range(rng.integers(1, 3)):
            for _attempt in range(20):
                s = int(rng.integers(28, 48))
                x, y = int(rng.integers(0, w - s)), int(rng.integers(0, h - s))
                if all(x + s <= bx or bx + bw <= x or y + s <= by or by + bh <= y for bx, by, bw, bh in boxes):
                    break
            else:
                continue
            c = int(rng.integers(0, n_classes))
            m = Image.new("L", (w, h), 0)
            for draw, fill in ((ImageDraw.Draw(im), SHAPE_COLOURS[c]), (ImageDraw.Draw(m), 1)):
                if c == 0:
                    draw.rectangle([x, y, x + s - 1, y + s - 1], fill=fill)
                elif c == 1:
                    draw.ellipse([x, y, x + s - 1, y + s - 1], fill=fill)
                else:
                    draw.polygon([(x + s / 2, y), (x, y + s - 1), (x + s - 1, y + s - 1)], fill=fill)
            mask = np.asarray(m, bool)
            ys, xs = np.nonzero(mask)
            boxes.append([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1])
            classes.append(c)
            masks.append(mask)
        f = io.BytesIO()
        im.save(f, "JPEG", quality=90)
        out["blobs"].append(f.getvalue())
        out["boxes"].append(np.array(boxes, float).reshape(-1, 4))
        out["classes"].append(np.array(classes, int))
        out["masks"].append(masks)
        out["sizes"].append((w, h))
    out["sizes"] = np.array(out["sizes"])
    return out


@pytest.fixture(scope="session")
def digits():
    return make_digits()


@pytest.fixture(scope="session")
def digits_extractor():
    return FeatureExtractor(DIGITS_CFG, batch_size=64)


@pytest.fixture(scope="session")
def digit_blobs(digits, digits_extractor):
    """Stored-feature blobs (float16 inside) for the digits, as the database would hold them."""
    return [f.to_bytes() for f in digits_extractor.extract(digits[0])]


@pytest.fixture(scope="session")
def shapes():
    return make_shapes()


@pytest.fixture(scope="session")
def shape_blobs(shapes):
    return [f.to_bytes() for f in FeatureExtractor(SHAPES_CFG, batch_size=64).extract(shapes["blobs"])]


@pytest.fixture(scope="session")
def digits_cfg():
    return DIGITS_CFG


@pytest.fixture(scope="session")
def shapes_cfg():
    return SHAPES_CFG
