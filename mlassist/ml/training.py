"""Train heads on stored features, with a held-out split, progress reports and metrics.

Each trainer takes plain arrays and returns a TrainResult; nothing here knows
about the database. Training is seeded (keras.utils.set_random_seed), so the
same labels give the same model and the same split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np

from . import data, heads, metrics, predict, validation

Progress = Callable[[str, int, int, float], None]  # (stage, epoch, epochs, loss)


@dataclass
class TrainResult:
    model: keras.Model
    metrics: dict
    history: dict = field(default_factory=dict)  # per-epoch "loss" list
    train_indices: np.ndarray | None = None
    val_indices: np.ndarray | None = None  # keep these to compare a later version on the same split


def _progress_callback(progress: Progress | None, stage: str, epochs: int):
    if progress is None:
        return []
    return [
        keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: progress(stage, epoch + 1, epochs, float((logs or {}).get("loss", 0.0)))
        )
    ]


def _split(n, strata, val_fraction, seed, val_indices):
    if val_indices is None:
        return data.split_indices(n, strata, val_fraction, seed)
    val = np.unique(np.asarray(val_indices, int))
    return np.setdiff1d(np.arange(n), val), val


def _batch_size(n_train: int, requested: int | None) -> int:
    # About 8 steps an epoch whatever the data size: small sets still get
    # several updates an epoch, 5,000 vectors don't pay for 150 tiny steps.
    return requested or int(np.clip(n_train // 8, 8, 512))


def _fit(model, x, y, epochs, batch_size, progress, stage, sample_weight=None):
    history = model.fit(
        x, y, sample_weight=sample_weight, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
        callbacks=_progress_callback(progress, stage, epochs),
    )  # fmt: skip
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


# ---------------------------------------------------------------- classifier


def train_classifier(
    pooled: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    multilabel: bool = False,
    l2: float = 1e-2,
    max_iter: int = 200,
    val_fraction: float = 0.2,
    val_indices=None,
    seed: int = 0,
    progress: Progress | None = None,
) -> TrainResult:
    """Tag classifier on pooled features (N, D): standardisation + one Dense layer.

    The Dense layer is a regularised logistic regression, so instead of SGD
    epochs it is solved to convergence by L-BFGS on the whole training split
    in NumPy (about a second for 5,000 vectors, the same result every time) and
    the solution is written into the Keras head.

    Args:
        y: class indices (N,), or multi-hot (N, n_classes) when multilabel.
        l2: weight penalty, 0.5 * l2 * ||W||^2 added to the mean loss.
        progress: called as progress("train_tags", iteration, max_iter, loss).
    """
    keras.utils.set_random_seed(seed)
    x = np.asarray(pooled, np.float32)
    y = np.asarray(y)
    strata = data.multilabel_strata(y) if multilabel else y.tolist()
    tr, va = _split(len(x), strata, val_fraction, seed, val_indices)
    mean, var = heads.channel_stats(x[tr])
    model = heads.build_classifier_head(x.shape[1], n_classes, multilabel, mean, var)
    z = ((x[tr] - mean) / np.sqrt(np.maximum(var, 1e-6))).astype(np.float32)
    targets = y[tr].astype(np.float32) if multilabel else np.eye(n_classes, dtype=np.float32)[y[tr].astype(int)]
    kernel, bias, losses = _fit_logistic(z, targets, multilabel, l2, max_iter, progress)
    model.get_layer("probabilities").set_weights([kernel, bias])
    m = evaluate_classifier(model, x[va], y[va], multilabel)
    m["n_train"] = int(len(tr))
    return TrainResult(model, m, {"loss": losses}, tr, va)


def _fit_logistic(z, targets, multilabel, l2, max_iter, progress):
    from scipy.optimize import minimize
    from scipy.special import expit, log_softmax, softmax
    from threadpoolctl import threadpool_limits

    n, d = z.shape
    k = targets.shape[1]
    losses: list[float] = []

    def loss_and_grad(theta):
        w = theta[: d * k].reshape(d, k).astype(np.float32)
        b = theta[d * k :].astype(np.float32)
        logits = (z @ w + b).astype(np.float64)
        if multilabel:
            loss = np.mean(np.sum(np.logaddexp(0, logits) - targets * logits, axis=1))
            g = (expit(logits) - targets) / n
        else:
            loss = -np.mean(np.sum(targets * log_softmax(logits, axis=1), axis=1))
            g = (softmax(logits, axis=1) - targets) / n
        loss += 0.5 * l2 * float(np.sum(theta[: d * k] ** 2))
        gw = (z.T @ g.astype(np.float32)).astype(np.float64) + l2 * theta[: d * k].reshape(d, k)
        return loss, np.concatenate([gw.ravel(), g.sum(axis=0)])

    def on_iteration(intermediate_result):
        losses.append(float(intermediate_result.fun))
        if progress:
            progress("train_tags", len(losses), max_iter, losses[-1])

    # One BLAS thread: these matmuls are small, and OpenBLAS' spinning worker
    # threads made the solve 7x slower on a shared 2-core machine (measured).
    with threadpool_limits(1, user_api="blas"):
        res = minimize(
            loss_and_grad, np.zeros(d * k + k), jac=True, method="L-BFGS-B",
            options={"maxiter": max_iter}, callback=on_iteration,
        )  # fmt: skip
    if progress and len(losses) < max_iter:
        progress("train_tags", max_iter, max_iter, float(res.fun))  # converged early: show a full bar
    return res.x[: d * k].reshape(d, k).astype(np.float32), res.x[d * k :].astype(np.float32), losses


def evaluate_classifier(model, pooled: np.ndarray, y: np.ndarray, multilabel: bool = False) -> dict:
    """accuracy (and for multi-label, exact match and micro F1) of `model` on these rows."""
    probs = predict.class_probabilities(model, pooled) if len(pooled) else np.zeros((0, 1))
    m = metrics.classification_metrics(probs, y, multilabel)
    if len(pooled):
        m.update(validation.choose_threshold(validation.tag_outcomes(probs, y, multilabel),
                                             validation.tag_truth_counts(y, multilabel), "tag"))
    return m


def item_outcomes(head: str, model, x, truth, image_sizes=None, n_classes: int = 0, multilabel: bool = False):
    """Per image (score, right) of every proposal and the number of true labels, for thresholds and
    the paired comparison of two versions. ``truth``: y for tags, else (shapes, classes) per image."""
    if head == "classifier":
        probs = predict.class_probabilities(model, x)
        return validation.tag_outcomes(probs, truth, multilabel), validation.tag_truth_counts(truth, multilabel)
    shapes, classes = [t[0] for t in truth], [t[1] for t in truth]
    if head == "detector":
        found = predict.predict_boxes(model, x, image_sizes, n_classes, threshold=0.01)
        outcomes = validation.shape_outcomes(found, [np.reshape(b, (-1, 4)) for b in shapes], classes, "bbox")
    else:
        found = predict.predict_masks(model, x, image_sizes, threshold=0.0)
        outcomes = validation.shape_outcomes(found, shapes, classes, "segm")
    return outcomes, [len(c) for c in classes]


# ---------------------------------------------------------------- boxes


def warm_start(model: keras.Model, init_from: keras.Model | None) -> bool:
    """Start from the serving version's weights (same class set, same feature map): every layer but
    the per-channel standardisation, which is recomputed from the new training split. True if done."""
    if init_from is None:
        return False
    try:
        source = {layer.name: layer for layer in init_from.layers}
        pairs = [(layer, source[layer.name]) for layer in model.layers
                 if layer.weights and layer.name != "standardise" and layer.name in source]
        if not pairs or any([w.shape for w in a.get_weights()] != [w.shape for w in b.get_weights()] for a, b in pairs):
            return False
    except (AttributeError, ValueError):
        return False
    for layer, src in pairs:
        layer.set_weights(src.get_weights())
    return True


def _dominant_class(classes: Sequence[np.ndarray]) -> list[int]:
    return [int(np.bincount(np.asarray(c, int)).argmax()) if len(c) else -1 for c in classes]


def train_box_head(
    spatial: np.ndarray,
    boxes: Sequence[np.ndarray],
    classes: Sequence[np.ndarray],
    image_sizes: np.ndarray,
    n_classes: int,
    *,
    epochs: int = 30,
    batch_size: int | None = None,
    learning_rate: float = 3e-3,
    augment_flip: bool = False,
    val_fraction: float = 0.2,
    val_indices=None,
    seed: int = 0,
    progress: Progress | None = None,
    init_from: keras.Model | None = None,
) -> TrainResult:
    """Centre/size box head on spatial maps (N, h, w, C).

    Args:
        boxes: per image, (k, 4) COCO boxes in image pixels; classes: per image, (k,) class indices.
        image_sizes: (N, 2) rows of (width, height).
    """
    keras.utils.set_random_seed(seed)
    spatial = np.asarray(spatial, np.float32)
    sizes = np.asarray(image_sizes)
    tr, va = _split(len(spatial), _dominant_class(classes), val_fraction, seed, val_indices)
    x, s, b, c = spatial[tr], sizes[tr], [boxes[i] for i in tr], [classes[i] for i in tr]
    if augment_flip:
        x, s, b, _, c = data.augment_flips(x, s, boxes=b, classes=c)
    targets = data.box_targets(b, c, s, spatial.shape[1:3], n_classes)
    mean, var = heads.channel_stats(spatial[tr])
    model = heads.build_box_head(spatial.shape[1:], n_classes, mean, var)
    warm = warm_start(model, init_from)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=heads.centernet_loss(n_classes))
    history = _fit(model, x, targets, epochs, _batch_size(len(x), batch_size), progress, "train_boxes")
    m = evaluate_box_head(model, spatial[va], [boxes[i] for i in va], [classes[i] for i in va], sizes[va], n_classes)
    m["n_train"], m["warm_start"] = int(len(tr)), warm
    return TrainResult(model, m, history, tr, va)


def evaluate_box_head(model, spatial, boxes, classes, image_sizes, n_classes: int) -> dict:
    """mAP@0.5 and @0.5:0.95 (COCOeval, iouType bbox) of `model` on these images."""
    if len(spatial) == 0:
        return {"map50": -1.0, "map50_95": -1.0, "n_val": 0}
    # A low threshold: COCO AP ranks by score, so weak detections can only help it.
    found = predict.predict_boxes(model, spatial, image_sizes, n_classes, threshold=0.01)
    gt = [
        [{"category": int(k), "bbox": list(map(float, bb))} for bb, k in zip(np.reshape(b, (-1, 4)), c, strict=True)]
        for b, c in zip(boxes, classes, strict=True)
    ]
    preds = [[{"category": p.class_index, "bbox": p.bbox, "score": p.score} for p in ps] for ps in found]
    m = metrics.coco_map(gt, preds, image_sizes, n_classes, "bbox")
    outcomes = validation.shape_outcomes(found, [np.reshape(b, (-1, 4)) for b in boxes], classes, "bbox")
    m.update(validation.choose_threshold(outcomes, [len(c) for c in classes], "box"))
    return m


# ---------------------------------------------------------------- masks


def train_mask_head(
    spatial: np.ndarray,
    masks: Sequence[Sequence[np.ndarray]],
    classes: Sequence[np.ndarray],
    image_sizes: np.ndarray,
    n_classes: int,
    *,
    upsample: int = 4,
    epochs: int = 30,
    batch_size: int | None = None,
    learning_rate: float = 3e-3,
    augment_flip: bool = False,
    val_fraction: float = 0.2,
    val_indices=None,
    seed: int = 0,
    progress: Progress | None = None,
    init_from: keras.Model | None = None,
) -> TrainResult:
    """Per-pixel mask head on spatial maps (N, h, w, C).

    Args:
        masks: per image, binary instance masks of shape (image height, image width); classes: their class indices.
        upsample: the head predicts at upsample x the feature resolution (4: 32x32 for an 8x8 map).
    """
    keras.utils.set_random_seed(seed)
    spatial = np.asarray(spatial, np.float32)
    sizes = np.asarray(image_sizes)
    tr, va = _split(len(spatial), _dominant_class(classes), val_fraction, seed, val_indices)
    x, s, mk, c = spatial[tr], sizes[tr], [masks[i] for i in tr], [classes[i] for i in tr]
    if augment_flip:
        x, s, _, mk, c = data.augment_flips(x, s, masks=mk, classes=c)
    h, w = spatial.shape[1] * upsample, spatial.shape[2] * upsample
    targets = data.mask_targets(mk, c, (h, w))
    # Objects are often a small part of the picture: weigh each foreground
    # pixel up to 5x so "all background" is not the easy way out.
    fg = float(np.mean(targets > 0)) or 1.0
    weights = np.where(targets > 0, np.clip((1 - fg) / fg, 1.0, 5.0), 1.0).astype(np.float32)
    mean, var = heads.channel_stats(spatial[tr])
    model = heads.build_mask_head(spatial.shape[1:], n_classes, mean, var, upsample=upsample)
    warm = warm_start(model, init_from)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = _fit(model, x, targets, epochs, _batch_size(len(x), batch_size), progress, "train_masks", weights)
    m = evaluate_mask_head(model, spatial[va], [masks[i] for i in va], [classes[i] for i in va], sizes[va], n_classes)
    m["n_train"], m["warm_start"] = int(len(tr)), warm
    return TrainResult(model, m, history, tr, va)


def evaluate_mask_head(model, spatial, masks, classes, image_sizes, n_classes: int) -> dict:
    """Mask mAP@0.5 and @0.5:0.95 (COCOeval, iouType segm) of `model` on these images."""
    if len(spatial) == 0:
        return {"map50": -1.0, "map50_95": -1.0, "n_val": 0}
    found = predict.predict_masks(model, spatial, image_sizes, threshold=0.0)
    gt = [
        [{"category": int(k), "segmentation": predict.encode_rle(np.asarray(m, bool))} for m, k in zip(ms, c, strict=True)]
        for ms, c in zip(masks, classes, strict=True)
    ]
    preds = [[{"category": p.class_index, "segmentation": p.rle, "score": p.score} for p in ps] for ps in found]
    m = metrics.coco_map(gt, preds, image_sizes, n_classes, "segm")
    outcomes = validation.shape_outcomes(found, [[g["segmentation"] for g in row] for row in gt], classes, "segm")
    m.update(validation.choose_threshold(outcomes, [len(c) for c in classes], "mask"))
    return m
