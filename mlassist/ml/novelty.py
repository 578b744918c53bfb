"""MAIA stage 1: find what stands out in a project's images before anyone has labelled them.

Zurowietz et al. (PLOS ONE 2018) learn, per cluster of similar-looking images, what the
background looks like, score every pixel by how badly that model explains it (the novelty
map), threshold the map per cluster from the distribution of per-image high percentiles, and
turn connected regions into *training proposals* that people filter in a grid. Here:

1. ``image_signature`` + ``cluster_images``: k-means on colour-and-texture histograms of a
   small thumbnail (cheap, and what separates sand from rock or day from night dives).
2. A background model per cluster, both behind ``background_model(method)``:
   - ``"autoencoder"``: a small convolutional autoencoder trained for seconds on random
     patches of the cluster's images; novelty = reconstruction error (MAIA's choice);
   - ``"density"``: a Gaussian fitted to the backbone's stride-8 features (MobileNet cut after
     its 1/8 block); novelty = Mahalanobis distance of each cell.
   Both run on tiles of the image's own pixels (``tiling``), never on a shrunk image, so 12-px
   objects on 2048x1536 pictures stay visible.
3. ``dynamic_threshold``: per image the ``percentile``-th value of its map; the cluster's
   threshold is the median of those times ``factor``, so a cluster of busy images gets a
   higher bar than one of flat sand without a global constant.
4. ``regions``: hysteresis (cells above ``low * threshold`` that reach the threshold somewhere),
   connected components, each a box and a mask in image pixels.

Pure NumPy/SciPy/Keras: no Django. Images arrive through a ``load(i)`` callable so at most one
image (plus the calibration maps of one cluster) is in memory at a time. Keras is imported
inside the functions that need it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from . import tiling

METHODS = ("autoencoder", "density")
DEFAULT_METHOD = "autoencoder"  # the better of the two on bench/maia_novelty.py (docs/benchmarks.md)


@dataclass(frozen=True)
class NoveltyConfig:
    method: str = DEFAULT_METHOD
    clusters: int = 0  # 0: one per 100 images, 1 to 6
    core: int = 256  # tile core, image pixels
    margin: int = 32  # context each tile sees around its core (discarded from the output)
    fit_images: int = 16  # images per cluster the background model learns from
    calibration_images: int = 32  # images per cluster whose maps set its threshold
    # Per image the 95th percentile (background even where objects are dense), the cluster's median
    # of those times 2.2. On 12 generated 1024x768 scenes (119 objects): 99.5 x 1 found 80 %;
    # 95 x 1.8 all, with 2.6 proposals per object; 95 x 2.2 all with 1.7 (bench/maia_novelty.py).
    percentile: float = 95.0
    factor: float = 2.2
    low: float = 0.6  # hysteresis: a region extends down to low * threshold
    min_area: int = 40  # pixels; smaller regions are noise
    max_per_image: int = 100
    seed: int = 0
    # autoencoder method: random patches of the fit images, epochs over them
    ae_patches: int = 3000
    ae_epochs: int = 4
    # density method: the backbone (name, alpha, weights as in BackboneConfig)
    backbone: str = "mobilenet_v2"
    alpha: float = 0.35
    weights: str = "none"

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"novelty method {self.method!r} is not one of {', '.join(METHODS)}")
        if self.core % 32 or self.margin % 32:
            raise ValueError("novelty tile core and margin must be multiples of 32 pixels")


@dataclass
class Proposal:
    """A region that stands out: box (x, y, w, h) in image pixels, its mask inside the box, a score in 0..1."""

    image: int  # index into the images given to novelty_detect
    x: int
    y: int
    w: int
    h: int
    mask: np.ndarray  # bool (h, w)
    score: float
    cluster: int = 0

    def full_mask(self, height: int, width: int) -> np.ndarray:
        out = np.zeros((height, width), bool)
        out[self.y : self.y + self.h, self.x : self.x + self.w] = self.mask
        return out


@dataclass
class NoveltyResult:
    proposals: list[Proposal]
    clusters: list[int]  # cluster of each image
    thresholds: list[float]  # per cluster
    stats: dict = field(default_factory=dict)


Progress = Callable[[str, float], None]  # (stage, fraction of it done)


# ---------------------------------------------------------------- 1. clusters

def image_signature(image: np.ndarray) -> np.ndarray:
    """A 64-bin joint colour histogram plus an 8-bin gradient-magnitude histogram of a 64-px-wide thumbnail."""
    h, w = image.shape[:2]
    step = max(1, w // 64)
    small = image[::step, ::step].astype(np.float32)
    q = np.clip(small // 64, 0, 3).astype(np.int64)
    colour = np.bincount((q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]).ravel(), minlength=64).astype(np.float64)
    grey = small.mean(axis=2)
    grad = np.hypot(*np.gradient(grey))
    texture = np.histogram(grad, bins=8, range=(0, 64))[0].astype(np.float64)
    return np.concatenate([colour / colour.sum(), texture / max(texture.sum(), 1)])


def cluster_images(signatures: np.ndarray, k: int, seed: int = 0, iterations: int = 30) -> np.ndarray:
    """k-means (k-means++ start) on the signatures; returns a cluster index per image, 0..k-1, no empty cluster."""
    x = np.asarray(signatures, np.float64)
    n = len(x)
    k = max(1, min(k, n))
    if k == 1:
        return np.zeros(n, np.int64)
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(n)]]
    for _ in range(1, k):
        d = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
        centres.append(x[rng.choice(n, p=d / d.sum())] if d.sum() > 0 else x[rng.integers(n)])
    c = np.array(centres)
    labels = np.zeros(n, np.int64)
    for _ in range(iterations):
        labels = ((x[:, None, :] - c[None]) ** 2).sum(2).argmin(1)
        new = np.array([x[labels == j].mean(0) if (labels == j).any() else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    _, labels = np.unique(labels, return_inverse=True)  # renumber: no empty cluster
    return labels


def cluster_count(n_images: int, wanted: int = 0) -> int:
    return max(1, min(wanted or min(6, math.ceil(n_images / 100)), n_images))


# ---------------------------------------------------------------- 2. background models

class AutoencoderModel:
    """A convolutional autoencoder (two stride-2 convs down to 8 channels at 1/4, two up) on RGB in 0..1.

    Trained on random 48-px patches of background images; the bottleneck is too narrow to copy
    what it rarely saw, so rare things come back wrong. Map: squared error averaged over channels,
    pooled to stride 2 and smoothed.
    """

    stride = 2

    def __init__(self, cfg: NoveltyConfig):
        self.cfg = cfg
        self.model = None

    def _build(self):
        import keras

        keras.utils.set_random_seed(self.cfg.seed)
        inp = keras.Input((None, None, 3))
        x = keras.layers.Conv2D(24, 3, strides=2, padding="same", activation="relu")(inp)
        x = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu")(x)
        x = keras.layers.Conv2DTranspose(24, 3, strides=2, padding="same", activation="relu")(x)
        out = keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same", activation="sigmoid")(x)
        model = keras.Model(inp, out, name="novelty_autoencoder")
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
        return model

    def fit(self, images: Sequence[np.ndarray], size: int = 48) -> None:
        patches, epochs = self.cfg.ae_patches, self.cfg.ae_epochs
        rng = np.random.default_rng(self.cfg.seed)
        batch = np.empty((patches, size, size, 3), np.float32)
        for i in range(patches):
            img = images[rng.integers(len(images))]
            y = rng.integers(0, max(1, img.shape[0] - size))
            x = rng.integers(0, max(1, img.shape[1] - size))
            crop = img[y : y + size, x : x + size]
            batch[i, : crop.shape[0], : crop.shape[1]] = crop / 255.0
        self.model = self._build()
        self.model.fit(batch, batch, batch_size=64, epochs=epochs, verbose=0, shuffle=True)

    def window_maps(self, windows: np.ndarray) -> np.ndarray:
        x = windows.astype(np.float32) / 255.0
        rec = np.asarray(self.model(x, training=False))
        err = ((rec - x) ** 2).mean(axis=3)
        n, h, w = err.shape
        pooled = err.reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
        return ndimage.gaussian_filter(pooled, sigma=(0, 1.5, 1.5))


class DensityModel:
    """A Gaussian of the backbone's stride-8 features over the background; novelty = Mahalanobis distance."""

    stride = 8

    def __init__(self, cfg: NoveltyConfig):
        self.cfg = cfg
        self.net = None
        self.mean = self.precision = None

    def _build(self):
        import keras

        from .backbone import _load_application
        from .config import BackboneConfig

        side = self.cfg.core + 2 * self.cfg.margin
        app = _load_application(BackboneConfig(self.cfg.backbone, side, self.cfg.alpha, self.cfg.weights, 16))
        # The last residual Add at 1/8 of the input: cheap (the network's first third) and fine enough for 12-px objects.
        adds = [layer for layer in app.layers
                if isinstance(layer, keras.layers.Add) and layer.output.shape[1] == side // 8]
        tap = adds[-1] if adds else next(layer for layer in app.layers if layer.output.shape[1] == side // 8)
        x = inp = keras.Input((side, side, 3))
        if self.cfg.backbone == "mobilenet_v2":
            x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(x)
        cut = keras.Model(app.input, tap.output)
        return keras.Model(inp, cut(x, training=False))

    def _features(self, windows: np.ndarray) -> np.ndarray:
        return np.asarray(self.net(windows.astype(np.float32), training=False), np.float32)

    def fit(self, images: Sequence[np.ndarray], cells: int = 40000) -> None:
        self.net = self._build()
        rng = np.random.default_rng(self.cfg.seed)
        m = self.cfg.margin // 8
        feats = []
        for img in images:
            wins = np.stack([w for _, w in tiling.windows(img, self.cfg.core, self.cfg.margin)])
            f = self._features(wins)[:, m:-m or None, m:-m or None]
            feats.append(f.reshape(-1, f.shape[-1]))
        allf = np.concatenate(feats).astype(np.float64)
        if len(allf) > cells:
            allf = allf[rng.choice(len(allf), cells, replace=False)]
        self.mean = allf.mean(0)
        cov = np.cov(allf - self.mean, rowvar=False)
        cov += np.eye(len(cov)) * (1e-3 * np.trace(cov) / len(cov) + 1e-9)
        self.precision = np.linalg.inv(cov)

    def window_maps(self, windows: np.ndarray) -> np.ndarray:
        f = self._features(windows) - self.mean.astype(np.float32)
        d2 = ((f @ self.precision.astype(np.float32)) * f).sum(-1)  # no (n, h, w, c, c) intermediate
        return np.sqrt(np.maximum(d2, 0)).astype(np.float32)


def background_model(cfg: NoveltyConfig):
    """The background model the config names (both learn from a cluster's images with ``fit(images)``)."""
    return AutoencoderModel(cfg) if cfg.method == "autoencoder" else DensityModel(cfg)


def novelty_map(model, image: np.ndarray, cfg: NoveltyConfig, batch: int = 16) -> np.ndarray:
    """The stitched novelty map of one image at ``model.stride`` pixels per cell."""
    parts = list(tiling.windows(image, cfg.core, cfg.margin))
    maps = []
    for start in range(0, len(parts), batch):
        maps.append(model.window_maps(np.stack([w for _, w in parts[start : start + batch]])))
    flat = np.concatenate(maps)
    return tiling.stitch(image.shape[0], image.shape[1], model.stride,
                         ((t, m) for (t, _), m in zip(parts, flat, strict=True)), cfg.margin)


# ---------------------------------------------------------------- 3. thresholds, 4. regions

def dynamic_threshold(maps: Sequence[np.ndarray], percentile: float, factor: float = 1.0) -> float:
    """MAIA's per-cluster threshold: the median over images of each image's high percentile, times factor."""
    return float(np.median([np.percentile(m, percentile) for m in maps]) * factor)


def regions(novelty: np.ndarray, threshold: float, stride: int, height: int, width: int,
            cfg: NoveltyConfig, image: int = 0, cluster: int = 0) -> list[Proposal]:
    """Connected regions reaching ``threshold`` (grown down to low * threshold), as proposals in image pixels."""
    if stride > 2:  # a coarse map: interpolate to stride 2 so masks follow the object, not the grid
        novelty = ndimage.zoom(novelty, stride // 2, order=1)
        stride = 2
    labels, n = ndimage.label(novelty > cfg.low * threshold)
    if n == 0:
        return []
    peaks = ndimage.maximum(novelty, labels, index=np.arange(1, n + 1))
    found = []
    for idx, sl in enumerate(ndimage.find_objects(labels)):
        peak = float(peaks[idx])
        if peak < threshold:
            continue
        cells = labels[sl] == idx + 1
        if cells.sum() * stride * stride < cfg.min_area:
            continue
        y0, x0 = sl[0].start * stride, sl[1].start * stride
        mask = np.repeat(np.repeat(cells, stride, 0), stride, 1)
        mask = mask[: height - y0, : width - x0]
        if not mask.any():
            continue
        h, w = mask.shape
        found.append(Proposal(image, int(x0), int(y0), int(w), int(h), mask, peak / (peak + threshold), cluster))
    found.sort(key=lambda p: -p.score)
    return found[: cfg.max_per_image]


# ---------------------------------------------------------------- the whole stage

def novelty_detect(load: Callable[[int], np.ndarray], count: int, cfg: NoveltyConfig | None = None,
                   progress: Progress | None = None, on_image: Callable[[int, list[Proposal]], None] | None = None,
                   start: int = 0, clusters: Sequence[int] | None = None) -> NoveltyResult:
    """Stage 1 over ``count`` images: ``load(i)`` gives image i as uint8 (H, W, 3).

    ``on_image(i, proposals)`` is called as each image is done (the service stores them there, so a
    killed worker resumes at ``start``, the first image not stored, with the same ``clusters`` and
    the same seed, hence the same models and thresholds). Returns every proposal when no
    ``on_image`` is given (the benchmark), else an empty list and the clusters and thresholds.
    """
    cfg = cfg or NoveltyConfig()
    report = progress or (lambda stage, f: None)
    if clusters is None:
        sigs = []
        for i in range(count):
            sigs.append(image_signature(load(i)))
            report("cluster", (i + 1) / count)
        clusters = cluster_images(np.array(sigs), cluster_count(count, cfg.clusters), seed=cfg.seed).tolist()
    clusters = list(clusters)
    rng = np.random.default_rng(cfg.seed)
    k = max(clusters) + 1 if clusters else 0
    models, thresholds = [], []
    for j in range(k):
        members = [i for i, c in enumerate(clusters) if c == j]
        order = rng.permutation(members).tolist()
        fit = order[: cfg.fit_images]
        model = background_model(cfg)
        model.fit([load(i) for i in fit])
        # Calibrate on images the model did not learn from where the cluster has them.
        calib = order[cfg.fit_images : cfg.fit_images + cfg.calibration_images] or fit
        thresholds.append(dynamic_threshold([novelty_map(model, load(i), cfg) for i in calib], cfg.percentile, cfg.factor))
        models.append(model)
        report("model", (j + 1) / k)
    found: list[Proposal] = []
    for i in range(start, count):
        image = load(i)
        c = clusters[i]
        props = regions(novelty_map(models[c], image, cfg), thresholds[c], models[c].stride,
                        image.shape[0], image.shape[1], cfg, image=i, cluster=c)
        if on_image is not None:
            on_image(i, props)
        else:
            found.extend(props)
        report("detect", (i + 1 - start) / max(1, count - start))
    return NoveltyResult(found, clusters, thresholds)
