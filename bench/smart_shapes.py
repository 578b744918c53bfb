"""Generated test data for the smart tools: textured shapes on textured backgrounds, exact masks.

Installs offline and knows every object's true mask to the pixel. Each object differs from the
background in colour by a random amount (some barely), and both carry noise and stripes, so the
set has easy and hard objects. Used by bench/smart_tools.py and tests/labeling/smart/.
"""

import cv2
import numpy as np


def _texture(rng, h, w, base):
    """A colour field: a base colour, low-frequency blotches, stripes and pixel noise."""
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    blotch = cv2.resize(rng.normal(0, 1, (max(2, h // 40), max(2, w // 40), 3)).astype(np.float32), (w, h),
                        interpolation=cv2.INTER_CUBIC)
    img += blotch * rng.uniform(6, 18)
    yy, xx = np.mgrid[0:h, 0:w]
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, 24)
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)[..., None]
    img += stripes * rng.uniform(0, 12) * rng.uniform(-1, 1, 3)
    img += rng.normal(0, rng.uniform(3, 10), (h, w, 3))
    return img


def _shape_mask(rng, h, w, cx, cy, r):
    mask = np.zeros((h, w), np.uint8)
    kind = rng.integers(0, 3)
    if kind == 0:
        axes = (int(r), int(r * rng.uniform(0.45, 1.0)))
        cv2.ellipse(mask, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    else:
        n = int(rng.integers(5, 12))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = r * (rng.uniform(0.45, 1.0, n) if kind == 1 else np.where(np.arange(n) % 2, 0.5, 1.0))
        pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1).round().astype(np.int32)
        cv2.fillPoly(mask, [pts], 1)
    return mask.astype(bool)


def scene(seed: int, width: int = 640, height: int = 480, objects: int = 3):
    """(RGB uint8 image, [bool masks]) with ``objects`` non-overlapping shapes."""
    rng = np.random.default_rng(seed)
    bg_color = rng.uniform(40, 215, 3)
    img = _texture(rng, height, width, bg_color)
    # Distractors: background shapes in random colours, some close to the objects' colours, which
    # a box's margin may catch.
    for _ in range(int(rng.integers(3, 8))):
        r = rng.uniform(0.04, 0.15) * min(width, height)
        blob = _shape_mask(rng, height, width, rng.uniform(0, width), rng.uniform(0, height), r)
        img[blob] = _texture(rng, height, width, rng.uniform(30, 225, 3))[blob]
    masks, taken = [], np.zeros((height, width), bool)
    tries = 0
    while len(masks) < objects and tries < 200:
        tries += 1
        r = rng.uniform(0.07, 0.2) * min(width, height)
        cx, cy = rng.uniform(r, width - r), rng.uniform(r, height - r)
        mask = _shape_mask(rng, height, width, cx, cy, r)
        near = cv2.dilate(taken.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        if (mask & near).any() or mask.sum() < 400:
            continue
        # Contrast from subtle (25 levels away from the background's base colour) to strong.
        direction = rng.normal(0, 1, 3)
        direction /= np.linalg.norm(direction)
        color = np.clip(bg_color + direction * rng.uniform(25, 110), 0, 255)
        obj = _texture(rng, height, width, color)
        img[mask] = obj[mask]
        masks.append(mask)
        taken |= mask
    return np.clip(img, 0, 255).astype(np.uint8), masks


def objects(count: int, seed: int = 0, width: int = 640, height: int = 480):
    """``count`` (image, mask) pairs from as many scenes as needed (three objects a scene)."""
    out, s = [], seed
    while len(out) < count:
        img, masks = scene(s, width, height)
        out.extend((img, m) for m in masks)
        s += 1
    return out[:count]
