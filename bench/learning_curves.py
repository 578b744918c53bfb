"""Uncertainty queue vs random order (learning curves) and the few-shot figure, on three data sets.

    python -m bench.learning_curves [--seeds 3] [--budget 200] [--picture DIR]

The product's own ML code end to end: features from the frozen backbone (MobileNetV2, 96 px,
alpha 1.0, weights "none": the random-initialised backbone the product tests run with; no local
ImageNet weights file exists on this machine, so the ImageNet path is not measured), the tag
classifier of ``mlassist.ml.training.train_classifier``, and the queue's own uncertainty measure
(``mlassist.ml.predict.margins``: top-1 minus top-2 probability, smallest first).

The simulated annotator labels ``STEP`` images between retrains (the product's default
``retrain_every``). Random order draws them from the pool at random; the uncertainty queue takes
the ``STEP`` pool images of smallest margin under the classifier trained on the labels so far.
Both start from the same random seed set (2 a class). Accuracy is on a separate test set.

Data sets (each drawn by ``--picture DIR`` with its class names, and checked by eye):
- digits: scikit-learn's 8x8 handwritten digits (1,797, 10 classes), upscaled to 96 px.
- textures: 5 classes of 48-128 px crops of scikit-image's bundled pictures (brick, grass,
  gravel, Hubble deep field, immunohistochemistry), randomly flipped and turned, resized to 96 px;
  pool crops come from the top half of each picture, test crops from the bottom half.
- shapes: generated, 4 classes by outline only (square, disc, triangle, cross), random colours,
  sizes, positions and noisy backgrounds, so colour says nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import time

import numpy as np
from PIL import Image, ImageDraw

from mlassist.ml import predict, training
from mlassist.ml.config import BackboneConfig
from mlassist.ml.features import FeatureExtractor

SIZE = 96
STEP = 10  # labels between retrains: the product's default retrain_every
LABEL_SHARE_TARGET = 0.6  # the queue should reach random's final accuracy with <= 60 % of its labels
FEW_SHOT_TARGET = 0.85
CFG = BackboneConfig("mobilenet_v2", SIZE, 1.0, "none")


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def digits(rng) -> tuple[list[bytes], np.ndarray, list[str], np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    pictures = []
    for im in d.images:
        grey = (255 - im * 255 / 16).astype(np.uint8)  # dark ink on white paper
        pictures.append(_png(np.asarray(Image.fromarray(grey).resize((SIZE, SIZE), Image.BILINEAR).convert("RGB"))))
    test = rng.random(len(pictures)) < 0.3
    return pictures, d.target.astype(int), [str(k) for k in range(10)], test


def textures(rng, per_class: int = 180) -> tuple[list[bytes], np.ndarray, list[str], np.ndarray]:
    from skimage import data

    sources = {"brick": data.brick(), "grass": data.grass(), "gravel": data.gravel(),
               "hubble": data.hubble_deep_field(), "cells": data.immunohistochemistry()}
    pictures, labels, test = [], [], []
    for k, (_, src) in enumerate(sources.items()):
        src = np.dstack([src] * 3) if src.ndim == 2 else src[..., :3]
        h, w = src.shape[:2]
        for i in range(per_class):
            held_out = i % 3 == 0  # a third for testing, cut from the other half of the picture
            s = int(rng.integers(48, 129))
            y0 = int(rng.integers(h // 2, h - s)) if held_out else int(rng.integers(0, h // 2 - s))
            x0 = int(rng.integers(0, w - s))
            crop = np.rot90(src[y0 : y0 + s, x0 : x0 + s], int(rng.integers(4)))
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            pictures.append(_png(np.asarray(Image.fromarray(np.ascontiguousarray(crop)).resize((SIZE, SIZE)))))
            labels.append(k)
            test.append(held_out)
    return pictures, np.array(labels), list(sources), np.array(test)


SHAPES = ["square", "disc", "triangle", "cross"]


def shapes(rng, n: int = 800) -> tuple[list[bytes], np.ndarray, list[str], np.ndarray]:
    pictures, labels = [], []
    for i in range(n):
        k = i % len(SHAPES)
        im = Image.fromarray(rng.normal(rng.integers(60, 200), 20, (SIZE, SIZE, 3)).clip(0, 255).astype(np.uint8))
        d = ImageDraw.Draw(im)
        s = int(rng.integers(30, 60))
        x, y = (int(v) for v in rng.integers(4, SIZE - s - 4, 2))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        if k == 0:
            d.rectangle([x, y, x + s - 1, y + s - 1], fill=fill)
        elif k == 1:
            d.ellipse([x, y, x + s - 1, y + s - 1], fill=fill)
        elif k == 2:
            d.polygon([(x + s / 2, y), (x + s - 1, y + s - 1), (x, y + s - 1)], fill=fill)
        else:
            t = s // 3
            d.rectangle([x + t, y, x + s - 1 - t, y + s - 1], fill=fill)
            d.rectangle([x, y + t, x + s - 1, y + s - 1 - t], fill=fill)
        pictures.append(_png(np.asarray(im)))
        labels.append(k)
    return pictures, np.array(labels), SHAPES, rng.random(n) < 0.3


DATASETS = {"digits": digits, "textures": textures, "shapes": shapes}


def picture_of(pictures, labels, names, path, count=24):
    """A contact sheet: the first pictures of each class with their class name, to check by eye."""
    picks = [i for k in range(len(names)) for i in np.flatnonzero(labels == k)[: max(1, count // len(names))]]
    cols = 8
    sheet = Image.new("RGB", (cols * SIZE, -(-len(picks) // cols) * SIZE), "white")
    for n, i in enumerate(picks):
        tile = Image.open(io.BytesIO(pictures[i])).convert("RGB")
        ImageDraw.Draw(tile).text((3, 3), names[labels[i]], fill=(255, 0, 0))
        sheet.paste(tile, ((n % cols) * SIZE, (n // cols) * SIZE))
    sheet.save(path)


def _accuracy_and_margins(x_pool, y_pool, x_test, y_test, labelled, n_classes):
    """Train on the labelled pool rows (the product's classifier); accuracy on the test set and the
    queue's margins on the pool."""
    x = np.concatenate([x_pool[labelled], x_test])
    y = np.concatenate([y_pool[labelled], y_test])
    # val_indices = the test rows: train_classifier trains on the rest and reports accuracy there.
    result = training.train_classifier(x, y, n_classes, val_indices=np.arange(len(labelled), len(x)))
    return result.metrics["accuracy"], result.model


def curve(x_pool, y_pool, x_test, y_test, n_classes, budget, order, seed):
    rng = np.random.default_rng(seed)
    labelled = [int(rng.choice(np.flatnonzero(y_pool == k))) for k in range(n_classes) for _ in range(2)]
    labelled = list(dict.fromkeys(labelled))
    points = []
    while True:
        accuracy, model = _accuracy_and_margins(x_pool, y_pool, x_test, y_test, np.array(labelled), n_classes)
        points.append((len(labelled), accuracy))
        if len(labelled) >= budget:
            return points
        free = np.setdiff1d(np.arange(len(y_pool)), labelled)
        take = min(STEP, budget - len(labelled))
        if order == "random":
            picked = rng.choice(free, take, replace=False)
        else:
            margin = predict.margins(predict.class_probabilities(model, x_pool[free]))
            picked = free[np.argsort(margin, kind="stable")[:take]]
        labelled += [int(i) for i in picked]


def few_shot(x_pool, y_pool, x_test, y_test, n_classes, seeds, per_class=5):
    scores = []
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        labelled = np.concatenate([rng.choice(np.flatnonzero(y_pool == k), per_class, replace=False)
                                   for k in range(n_classes)])
        scores.append(_accuracy_and_margins(x_pool, y_pool, x_test, y_test, labelled, n_classes)[0])
    return float(np.mean(scores)), float(np.std(scores))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--few-shot-seeds", type=int, default=10)
    ap.add_argument("--picture", help="write a contact sheet of each data set into this folder and stop")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    args = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f}; backbone {CFG.name} {CFG.input_size} px alpha {CFG.alpha} "
          f"weights {CFG.weights!r} (no local ImageNet weights file: that path is not measured)")
    extractor = None
    summary = []
    for name in args.datasets.split(","):
        pictures, labels, names, test = DATASETS[name](np.random.default_rng(0))
        if args.picture:
            os.makedirs(args.picture, exist_ok=True)
            picture_of(pictures, labels, names, os.path.join(args.picture, f"{name}.png"))
            continue
        extractor = extractor or FeatureExtractor(CFG)
        t = time.perf_counter()
        x = np.stack([f.pooled for f in extractor.extract(pictures)]).astype(np.float32)
        x_pool, y_pool, x_test, y_test = x[~test], labels[~test], x[test], labels[test]
        k = len(names)
        print(f"\n{name}: {len(pictures)} pictures, {k} classes, pool {len(y_pool)}, test {len(y_test)} "
              f"(features {time.perf_counter() - t:.0f} s)", flush=True)
        curves = {}
        for order in ("random", "uncertainty"):
            runs = [curve(x_pool, y_pool, x_test, y_test, k, args.budget, order, seed) for seed in range(args.seeds)]
            counts = [n for n, _ in runs[0]]
            curves[order] = (counts, np.mean([[a for _, a in r] for r in runs], axis=0))
        counts, rnd = curves["random"]
        _, unc = curves["uncertainty"]
        print("labels      " + " ".join(f"{n:>5d}" for n in counts))
        print("random      " + " ".join(f"{a:5.3f}" for a in rnd))
        print("uncertainty " + " ".join(f"{a:5.3f}" for a in unc))
        final = rnd[-1]
        reached = next((n for n, a in zip(counts, unc, strict=True) if a >= final), None)
        share = reached / counts[-1] if reached else None
        verdict = (f"reaches it with {reached} labels = {share:.0%} of random's {counts[-1]}" if reached
                   else f"does not reach it within {counts[-1]} labels")
        met = "met" if share is not None and share <= LABEL_SHARE_TARGET else "NOT met"
        print(f"random's final accuracy {final:.3f} ({args.seeds} seeds); uncertainty queue {verdict} "
              f"(target <= {LABEL_SHARE_TARGET:.0%}: {met})")
        mean, sd = few_shot(x_pool, y_pool, x_test, y_test, k, args.few_shot_seeds)
        print(f"few-shot: 5 labels a class -> accuracy {mean:.3f} ± {sd:.3f} over {args.few_shot_seeds} draws "
              f"(target >= {FEW_SHOT_TARGET})", flush=True)
        summary.append((name, final, share, mean))
    if summary:
        print("\nsummary (data set, random's final accuracy, queue's share of labels to reach it, few-shot)")
        for name, final, share, mean in summary:
            print(f"  {name:9s} {final:.3f}  {'-' if share is None else f'{share:.0%}':>5s}  {mean:.3f}")


if __name__ == "__main__":
    main()
