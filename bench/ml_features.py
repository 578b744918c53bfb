"""Feature extraction throughput: end to end from JPEG files vs the bare backbone forward pass.

    python -m bench.ml_features [--images 256] [--size 224] [--batch 32] [--name mobilenet_v2] [--alpha 1.0]

End to end = read file, decode (JPEG draft), EXIF, resize, batch, forward,
normalise, float16 - everything FeatureExtractor.extract does. The bare pass
runs the same backbone on already-decoded batches of the same size in the same
process: the ceiling. Weights "none" (speed does not depend on weight values).
"""

import argparse
import os
import tempfile
import time

import numpy as np
from PIL import Image
from skimage import data

from mlassist.ml.config import BackboneConfig
from mlassist.ml.features import FeatureExtractor, load_image


def make_jpegs(folder, n, seed=0):
    """n camera-like 640x480 JPEGs cut from scikit-image's bundled photos."""
    rng = np.random.default_rng(seed)
    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), np.dstack([data.camera()] * 3)]
    paths = []
    for i in range(n):
        src = Image.fromarray(sources[i % len(sources)]).resize((900, 700))
        x, y = rng.integers(0, 260), rng.integers(0, 220)
        path = os.path.join(folder, f"{i:05d}.jpg")
        src.crop((x, y, x + 640, y + 480)).save(path, "JPEG", quality=88)
        paths.append(path)
    return paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--name", default="mobilenet_v2")
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=None, help="decode threads (default: min(4, cores))")
    args = ap.parse_args()

    cfg = BackboneConfig(args.name, args.size, args.alpha, "none")
    fx = FeatureExtractor(cfg, batch_size=args.batch, decode_workers=args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_jpegs(tmp, args.images)
        fx.extract(paths[: args.batch])  # warm-up: traces the forward function
        batch = np.stack([load_image(p, args.size)[0] for p in paths[: args.batch]]).astype(np.float32)
        n_batches = args.images // args.batch

        def bare():
            t = time.perf_counter()
            for _ in range(n_batches):
                fx.forward(batch)
            return n_batches * args.batch / (time.perf_counter() - t)

        def end_to_end():
            t = time.perf_counter()
            feats = fx.extract(paths[: n_batches * args.batch])
            assert all(f is not None for f in feats)
            return len(feats) / (time.perf_counter() - t)

        # Alternate and keep the best of two: the machine is shared, noise only slows things down.
        bare_ips = max(bare(), bare())
        e2e_ips = max(end_to_end(), end_to_end())
        bare_ips = max(bare_ips, bare())

    print(f"backbone: {cfg.name} input {cfg.input_size} alpha {cfg.alpha} batch {args.batch}, "
          f"{n_batches * args.batch} JPEGs 640x480, {fx._workers} decode threads, {os.cpu_count()} cores")  # fmt: skip
    print(f"bare forward pass: {bare_ips:.1f} images/s")
    print(f"end to end from JPEG files: {e2e_ips:.1f} images/s")
    print(f"end to end / bare: {100 * e2e_ips / bare_ips:.0f} % (target >= 80 %)")


if __name__ == "__main__":
    main()
