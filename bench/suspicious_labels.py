"""Suspicious labels: with 5 % of the labels flipped at random, how many flipped ones rank in the top
10 % of the list, for single-label tags, multi-label tags, boxes and masks (target >= 80 % each).

    python -m bench.suspicious_labels [--images 240] [--seeds 2] [--picture FILE]

The product's own code (mlassist.ml.audit, which services/audit.py runs after each training): tags
judged by 5-fold cross-validated classifiers, boxes and masks by 2-fold heads (each half judged by
a head trained on the other half), every label ranked by the model's doubt in it. Features from the
random-initialised backbone (MobileNetV2, 128 px, alpha 0.35, weights "none", as bench.effort).

Data (generated, drawn by ``--picture`` and checked by eye): 128 px pictures on a noisy background
with 1-3 objects that do not overlap, of three classes (square/red, disc/blue, triangle/green,
colours jittered), 36-56 px. Tags: the classes present (multi-label); boxes and masks from the
geometry. A flip gives a label another class: a tag becomes a class absent from the picture, a box
or mask another class.
"""

from __future__ import annotations

import argparse
import io
import os
import time

import numpy as np
from PIL import Image, ImageDraw

from mlassist.ml import audit
from mlassist.ml.config import BackboneConfig
from mlassist.ml.features import FeatureExtractor, stack_pooled, stack_spatial

SIZE = 128
CLASSES = ["square", "disc", "triangle"]
HUES = [(210, 50, 50), (50, 80, 220), (50, 190, 70)]
CFG = BackboneConfig("mobilenet_v2", SIZE, 0.35, "none")
FLIP_SHARE, TOP, TARGET = 0.05, 0.10, 0.80
EPOCHS = 30  # the product's MLASSIST_HEAD_EPOCHS


def make_pictures(n: int, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        picture = Image.fromarray(rng.integers(70, 150, (SIZE, SIZE, 3)).astype(np.uint8))
        boxes, masks, classes = [], [], []
        wanted = int(rng.integers(1, 4))
        for _ in range(30):  # tries
            if len(classes) == wanted:
                break
            s = int(rng.integers(36, 57))
            x, y = (int(v) for v in rng.integers(2, SIZE - s - 2, 2))
            if any(not (x + s < a or a + c < x or y + s < b or b + d < y) for a, b, c, d in boxes):
                continue  # no overlaps: every object is whole
            k = int(rng.integers(0, 3))
            colour = tuple(int(np.clip(c + rng.integers(-25, 26), 0, 255)) for c in HUES[k])
            mask_img = Image.new("L", (SIZE, SIZE), 0)
            for target, fill in ((ImageDraw.Draw(picture), colour), (ImageDraw.Draw(mask_img), 255)):
                if k == 0:
                    target.rectangle([x, y, x + s - 1, y + s - 1], fill=fill)
                elif k == 1:
                    target.ellipse([x, y, x + s - 1, y + s - 1], fill=fill)
                else:
                    target.polygon([(x + s / 2, y), (x + s - 1, y + s - 1), (x, y + s - 1)], fill=fill)
            mask = np.asarray(mask_img) > 127
            ys, xs = np.nonzero(mask)
            boxes.append([float(xs.min()), float(ys.min()),
                          float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)])
            masks.append(mask)
            classes.append(k)
        buf = io.BytesIO()
        picture.save(buf, "PNG")
        out.append((buf.getvalue(), np.array(boxes, np.float32).reshape(-1, 4), masks, np.array(classes, np.int64)))
    return out


def picture_of(items, path, count=12):
    tiles = []
    for png, boxes, masks, classes in items[:count]:
        im = Image.open(io.BytesIO(png)).convert("RGB")
        arr = np.asarray(im).copy()
        for m in masks:
            arr[m ^ np.roll(m, 1, 0) | m ^ np.roll(m, 1, 1)] = 0
        im = Image.fromarray(arr)
        d = ImageDraw.Draw(im)
        for (x, y, w, h), k in zip(boxes, classes, strict=True):
            d.rectangle([x, y, x + w - 1, y + h - 1], outline=(255, 255, 255))
            d.text((x + 2, y + 2), CLASSES[k], fill=(255, 255, 0))
        tiles.append(im)
    sheet = Image.new("RGB", (6 * SIZE, -(-len(tiles) // 6) * SIZE))
    for k, tile in enumerate(tiles):
        sheet.paste(tile, ((k % 6) * SIZE, (k // 6) * SIZE))
    sheet.save(path)


def flip_some(rng, n_labels: int) -> np.ndarray:
    return rng.choice(n_labels, max(1, int(round(FLIP_SHARE * n_labels))), replace=False)


def tags_figure(pooled, items, rng) -> tuple[float, int, int]:
    k = len(CLASSES)
    y = np.zeros((len(items), k), np.float32)
    for i, (_, _, _, classes) in enumerate(items):
        y[i, classes] = 1
    given = np.argwhere(y > 0)  # every tag: (image, class)
    wrong_rows = set()
    for t in flip_some(rng, len(given)):
        i, c = given[t]
        absent = np.flatnonzero(y[i] == 0)
        if len(absent):
            y[i, c], new = 0, int(rng.choice(absent))
            y[i, new] = 1
            wrong_rows.add((int(i), new))
    probs = audit.held_out_probabilities(pooled, y, k, multilabel=True)
    doubts = [d for d in audit.multilabel_doubts(probs, y, 0.8) if d.reason == audit.NOT_FOUND]
    wrong = [(d.row, d.item) in wrong_rows for d in doubts]
    return audit.share_found_at_top([d.doubt for d in doubts], wrong, TOP), sum(wrong), len(doubts)


def single_label_figure(pooled, y, rng) -> tuple[float, int, int]:
    y = y.copy()
    k = int(y.max()) + 1
    flipped = flip_some(rng, len(y))
    for i in flipped:
        y[i] = int(rng.choice([c for c in range(k) if c != y[i]]))
    probs = audit.held_out_probabilities(pooled, y, k, multilabel=False)
    doubts = audit.single_label_doubts(probs, y, 0.8)
    wrong = np.isin(np.arange(len(y)), flipped)
    return audit.share_found_at_top([d.doubt for d in doubts], wrong, TOP), int(wrong.sum()), len(y)


def shapes_figure(spatial, sizes, items, rng, iou_type) -> tuple[float, int, int]:
    classes = [c.copy() for _, _, _, c in items]
    index = [(i, j) for i, c in enumerate(classes) for j in range(len(c))]
    flipped = set()
    for t in flip_some(rng, len(index)):
        i, j = index[t]
        classes[i][j] = int(rng.choice([c for c in range(len(CLASSES)) if c != classes[i][j]]))
        flipped.add((i, j))
    shapes = [b for _, b, _, _ in items] if iou_type == "bbox" else [m for _, _, m, _ in items]
    doubts = audit.held_out_shape_doubts(spatial, shapes, classes, sizes, len(CLASSES), iou_type, epochs=EPOCHS)
    wrong = [(d.row, d.item) in flipped for d in doubts]
    return audit.share_found_at_top([d.doubt for d in doubts], wrong, TOP), sum(wrong), len(doubts)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=240)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--picture", help="draw the ground truth of the first pictures into this PNG and stop")
    args = ap.parse_args(argv)
    if args.picture:
        picture_of(make_pictures(12, 0), args.picture)
        return
    print(f"load average {os.getloadavg()[0]:.1f}; {args.images} pictures a seed, {args.seeds} seeds; "
          f"{FLIP_SHARE:.0%} of labels flipped; share of flipped ones in the top {TOP:.0%} (target >= {TARGET:.0%})")
    extractor = FeatureExtractor(CFG)
    results = {"single-label tags (digits)": [], "multi-label tags": [], "boxes": [], "masks": []}
    # Single-label tags: scikit-learn's digits as in bench.learning_curves (96 px, alpha 1.0).
    from .learning_curves import CFG as DIGITS_CFG
    from .learning_curves import digits

    pictures, digit_labels, _, _ = digits(np.random.default_rng(0))
    digit_pooled = stack_pooled(f.to_bytes() for f in FeatureExtractor(DIGITS_CFG).extract(pictures))
    for seed in range(args.seeds):
        items = make_pictures(args.images, seed)
        t = time.perf_counter()
        blobs = [f.to_bytes() for f in extractor.extract([png for png, _, _, _ in items])]
        pooled = stack_pooled(blobs)
        spatial, sizes = stack_spatial(blobs)
        print(f"seed {seed}: features {time.perf_counter() - t:.0f} s", flush=True)
        rng = np.random.default_rng(100 + seed)
        for name, run in (("single-label tags (digits)", lambda: single_label_figure(digit_pooled, digit_labels, rng)),
                          ("multi-label tags", lambda: tags_figure(pooled, items, rng)),
                          ("boxes", lambda: shapes_figure(spatial, sizes, items, rng, "bbox")),
                          ("masks", lambda: shapes_figure(spatial, sizes, items, rng, "segm"))):
            t = time.perf_counter()
            share, n_wrong, n = run()
            results[name].append(share)
            print(f"  {name}: {share:.0%} of {n_wrong} flipped (of {n} labels) in the top {TOP:.0%} "
                  f"({time.perf_counter() - t:.0f} s)", flush=True)
    for name, shares in results.items():
        mean = float(np.mean(shares))
        print(f"{name}: {mean:.0%} of the flipped labels in the top {TOP:.0%} (mean of {len(shares)} seeds; "
              f"target >= {TARGET:.0%}: {'met' if mean >= TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
