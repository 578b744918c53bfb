"""MAIA stage 1 (novelty detection, no labels): recall of small objects, proposals per object, time.

    python -m bench.maia_novelty [--images 40] [--large 8] [--speed 60]

Generated scenes, so every object has an exact mask: two kinds of textured background (sand:
warm multi-scale noise with ripples; rock: grey-blue blotches with dark cracks), 12-32 px objects
(blobs with their own colour and speckle, contrast on purpose moderate), 6-14 per image, at
1024x768 and 2048x1536. Both background models run on the same scenes; recall counts an object
found when a proposal's box contains its centre or its mask has IoU >= 0.3 with it.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
from scipy import ndimage

from mlassist.ml import novelty

OBJECT_COLOURS = [(200, 60, 50), (240, 235, 225), (40, 40, 45), (90, 160, 80), (230, 170, 40)]


def _noise(rng, h, w, scale):
    small = rng.normal(0, 1, (max(2, h // scale + 2), max(2, w // scale + 2)))
    return ndimage.zoom(small, scale, order=3)[:h, :w]


def make_background(rng, h, w, kind):
    if kind == "sand":
        base = np.array([190, 165, 120], np.float32)
        tex = 14 * _noise(rng, h, w, 64) + 9 * _noise(rng, h, w, 8) + 6 * rng.normal(0, 1, (h, w))
        yy, xx = np.mgrid[0:h, 0:w]
        tex += 8 * np.sin((xx * 0.9 + yy * 0.4) / 9.0 + 3 * _noise(rng, h, w, 128))
    else:
        base = np.array([105, 115, 130], np.float32)
        tex = 22 * _noise(rng, h, w, 48) + 12 * _noise(rng, h, w, 6) + 7 * rng.normal(0, 1, (h, w))
        cracks = np.abs(_noise(rng, h, w, 40)) < 0.05
        tex -= 25 * ndimage.binary_dilation(cracks)
    img = base[None, None, :] + tex[..., None] * np.array([1.0, 0.95, 0.9])[None, None, :]
    return img


def make_scene(seed: int, width: int = 1024, height: int = 768, kind: str | None = None,
               count: tuple[int, int] = (6, 14), sizes: tuple[int, int] = (12, 32)):
    """(uint8 image, list of bool masks, kind): small objects on a textured background."""
    rng = np.random.default_rng(seed)
    kind = kind or ("sand" if rng.random() < 0.5 else "rock")
    img = make_background(rng, height, width, kind)
    masks = []
    taken = np.zeros((height, width), bool)
    for _ in range(int(rng.integers(count[0], count[1] + 1))):
        d = int(rng.integers(sizes[0], sizes[1] + 1))
        for _attempt in range(20):
            cx, cy = int(rng.integers(d, width - d)), int(rng.integers(d, height - d))
            yy, xx = np.mgrid[-d:d + 1, -d:d + 1]
            angle = rng.uniform(0, np.pi)
            a, b = d / 2, d / 2 * rng.uniform(0.5, 1.0)
            u = xx * np.cos(angle) + yy * np.sin(angle)
            v = -xx * np.sin(angle) + yy * np.cos(angle)
            wobble = 1 + 0.15 * np.sin(3 * np.arctan2(v, u) + rng.uniform(0, 6))
            local = (u / a) ** 2 + (v / b) ** 2 <= wobble ** 2
            full = np.zeros((height, width), bool)
            full[cy - d : cy + d + 1, cx - d : cx + d + 1] = local
            if not (full & ndimage.binary_dilation(taken, iterations=4)).any():
                break
        colour = np.array(OBJECT_COLOURS[rng.integers(len(OBJECT_COLOURS))], np.float32)
        speckle = rng.normal(0, 10, (height, width))[full]
        img[full] = 0.25 * img[full] + 0.75 * (colour[None, :] + speckle[:, None])
        taken |= full
        masks.append(full)
    return np.clip(img, 0, 255).astype(np.uint8), masks, kind


def evaluate(proposals, truths, shapes):
    """Recall (centre inside a box, or mask IoU >= 0.3) and proposals per object."""
    found = total = 0
    by_image: dict[int, list] = {}
    for p in proposals:
        by_image.setdefault(p.image, []).append(p)
    for i, masks in enumerate(truths):
        props = by_image.get(i, [])
        for m in masks:
            total += 1
            ys, xs = np.nonzero(m)
            cy, cx = ys.mean(), xs.mean()
            for p in props:
                if p.x <= cx < p.x + p.w and p.y <= cy < p.y + p.h:
                    found += 1
                    break
                pm = p.full_mask(*shapes[i])
                inter = (pm & m).sum()
                if inter and inter / (pm | m).sum() >= 0.3:
                    found += 1
                    break
    return found / max(1, total), len(proposals) / max(1, total), total


def run_quality(n: int, width: int, height: int, method: str, seed0: int):
    scenes = [make_scene(seed0 + i, width, height) for i in range(n)]
    cfg = novelty.NoveltyConfig(method=method, clusters=2)
    t0, c0 = time.perf_counter(), time.process_time()
    result = novelty.novelty_detect(lambda i: scenes[i][0], n, cfg)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    recall, per_object, total = evaluate(result.proposals, [s[1] for s in scenes], [s[0].shape[:2] for s in scenes])
    kinds = [s[2] for s in scenes]
    purity = max(np.mean([k == ("sand" if c == 0 else "rock") for k, c in zip(kinds, result.clusters)]),
                 np.mean([k == ("rock" if c == 0 else "sand") for k, c in zip(kinds, result.clusters)]))
    return dict(method=method, size=f"{width}x{height}", images=n, objects=total, recall=recall,
                per_object=per_object, seconds=dt, per_image=dt / n, cpu_per_image=cpu / n, purity=purity)


def run_speed(n: int, method: str):
    """Stage 1 time per image as the count grows (images generated once, outside the timing)."""
    scenes = [make_scene(10_000 + i)[0] for i in range(n)]
    out = []
    for count in sorted({max(1, n // 4), max(1, n // 2), n}):
        cfg = novelty.NoveltyConfig(method=method)
        t0, c0 = time.perf_counter(), time.process_time()
        novelty.novelty_detect(lambda i: scenes[i], count, cfg)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        out.append((count, dt, cpu))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=40, help="1024x768 scenes for recall")
    parser.add_argument("--large", type=int, default=8, help="2048x1536 scenes for recall")
    parser.add_argument("--speed", type=int, default=60, help="1024x768 scenes for time per image")
    parser.add_argument("--methods", default=",".join(novelty.METHODS))
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}")
    print("| method | images | objects | recall | proposals / object | cluster purity | wall s / image | CPU s / image |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for method in args.methods.split(","):
        for n, (w, h) in ((args.images, (1024, 768)), (args.large, (2048, 1536))):
            if n:
                r = run_quality(n, w, h, method, seed0=1000 if w == 1024 else 5000)
                print(f"| {method} | {r['images']} x {r['size']} | {r['objects']} | {r['recall']:.3f} | "
                      f"{r['per_object']:.2f} | {r['purity']:.2f} | {r['per_image']:.2f} | {r['cpu_per_image']:.2f} |", flush=True)
    for method in args.methods.split(","):
        if args.speed:
            for count, dt, cpu in run_speed(args.speed, method):
                print(f"speed {method}: {count} images 1024x768 in {dt:.1f} s wall ({dt / count:.3f} s/image), "
                      f"{cpu:.1f} s CPU ({cpu / count:.3f} s/image)", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS of this process): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
