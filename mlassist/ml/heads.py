"""Small Keras heads trained on stored features: tags, boxes, masks.

Every head starts with a per-channel Normalization whose mean and variance come
from the training split (passed in, not adapted, so building is instant). The
stored features are only normalised per image; this second step puts every
channel on the same footing, which is what let a linear head learn from an
untrained backbone at all.
"""

from __future__ import annotations

import math

import keras
import numpy as np

# Focal-loss heads start predicting "nothing here" (p = 0.1), as in CenterNet
# and RetinaNet, so the first epochs are not spent unlearning a 0.5 prior.
HEATMAP_PRIOR = 0.1


def _normalization(shape_last: int, mean, variance, name: str):
    mean = np.zeros(shape_last, np.float32) if mean is None else np.asarray(mean, np.float32)
    variance = np.ones(shape_last, np.float32) if variance is None else np.asarray(variance, np.float32)
    return keras.layers.Normalization(axis=-1, mean=mean, variance=np.maximum(variance, 1e-6), name=name)


def channel_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and variance over every axis but the last (float64 for stability)."""
    flat = np.asarray(features, np.float64).reshape(-1, features.shape[-1])
    return flat.mean(axis=0), flat.var(axis=0)


def build_classifier_head(
    dim: int, n_classes: int, multilabel: bool = False, mean=None, variance=None, l2: float = 1e-3
) -> keras.Model:
    """Pooled feature (D,) -> class probabilities: softmax, or independent sigmoids for multi-label.

    A single regularised Dense layer (logistic regression): with tens of labels
    per class anything deeper overfits, and it retrains in about a second
    (training.train_classifier solves it directly).
    """
    inp = keras.Input((dim,), name="pooled")
    x = _normalization(dim, mean, variance, "standardise")(inp)
    out = keras.layers.Dense(
        n_classes,
        activation="sigmoid" if multilabel else "softmax",
        kernel_regularizer=keras.regularizers.L2(l2),
        name="probabilities",
    )(x)
    return keras.Model(inp, out, name="tag_head")


def _trunk(spatial_shape, mean, variance, width: int):
    h, w, c = spatial_shape
    inp = keras.Input((h, w, c), name="spatial")
    x = _normalization(c, mean, variance, "standardise")(inp)
    # Two 3x3 convs: each cell sees its neighbours, enough context to place a
    # centre or an edge inside the cell without growing past a few thousand weights.
    for i in range(2):
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{i + 1}")(x)
    return inp, x


def build_box_head(spatial_shape, n_classes: int, mean=None, variance=None, width: int = 32) -> keras.Model:
    """Anchor-free centre/size head (CenterNet-like) on the (h, w, C) map.

    Output (h, w, n_classes + 4), all raw logits: per-class centre heatmap,
    sub-cell centre offset (x, y; sigmoid gives 0..1 of a cell), and log of the
    box size (w, h) in cells. predict.decode_boxes turns it into boxes.
    """
    inp, x = _trunk(spatial_shape, mean, variance, width)
    prior = -math.log((1 - HEATMAP_PRIOR) / HEATMAP_PRIOR)
    heat = keras.layers.Conv2D(n_classes, 1, bias_initializer=keras.initializers.Constant(prior), name="heatmap")(x)
    offset = keras.layers.Conv2D(2, 1, name="offset")(x)
    size = keras.layers.Conv2D(2, 1, name="log_size")(x)
    out = keras.layers.Concatenate(name="boxes")([heat, offset, size])
    return keras.Model(inp, out, name="box_head")


def build_mask_head(
    spatial_shape, n_classes: int, mean=None, variance=None, width: int = 32, upsample: int = 4
) -> keras.Model:
    """Per-pixel head: (h, w, C) map -> (h*upsample, w*upsample, n_classes + 1) logits, class 0 background.

    The logits are upsampled two ways and summed: bilinear (smooth coarse
    regions) plus a sub-pixel convolution (each cell predicts its own
    upsample x upsample pattern, which is where the edges come from).
    """
    inp, x = _trunk(spatial_shape, mean, variance, width)
    k = n_classes + 1
    coarse = keras.layers.Conv2D(k, 1, name="coarse_logits")(x)
    coarse = keras.layers.UpSampling2D(upsample, interpolation="bilinear", name="upsample")(coarse)
    fine = keras.layers.Conv2D(k * upsample * upsample, 1, kernel_initializer="zeros", name="subpixel_logits")(x)
    fine = DepthToSpace(upsample, name="depth_to_space")(fine)
    out = keras.layers.Add(name="mask_logits")([coarse, fine])
    return keras.Model(inp, out, name="mask_head")


@keras.saving.register_keras_serializable(package="mlassist")
class DepthToSpace(keras.layers.Layer):
    """NHWC depth-to-space (pixel shuffle); a named layer so .keras files load in safe mode."""

    def __init__(self, block: int, **kwargs):
        super().__init__(**kwargs)
        self.block = block

    def call(self, t):
        b, (h, w, c) = keras.ops.shape(t)[0], t.shape[1:]
        k = c // (self.block * self.block)
        t = keras.ops.reshape(t, (b, h, w, self.block, self.block, k))
        t = keras.ops.transpose(t, (0, 1, 3, 2, 4, 5))
        return keras.ops.reshape(t, (b, h * self.block, w * self.block, k))

    def compute_output_shape(self, shape):
        return (shape[0], shape[1] * self.block, shape[2] * self.block, shape[3] // (self.block * self.block))

    def get_config(self):
        return {**super().get_config(), "block": self.block}


def save_head(model: keras.Model, path) -> None:
    """Write one head as a .keras file (weights and architecture, no optimizer state)."""
    model.save(path, include_optimizer=False)


def load_head(path) -> keras.Model:
    """Read a head written by save_head; safe mode, no custom losses needed."""
    return keras.models.load_model(path, compile=False)


def centernet_loss(n_classes: int, size_weight: float = 1.0, offset_weight: float = 1.0):
    """Loss for build_box_head; y_true is data.box_targets' (h, w, n_classes + 5) layout.

    Heatmap: CenterNet's penalty-reduced focal loss (cells near a centre are
    punished less for firing). Offset and size: L1 at centre cells only.
    All normalised by the number of objects in the batch.
    """
    ops = keras.ops

    def loss(y_true, y_pred):
        gt = y_true[..., :n_classes]
        logits = y_pred[..., :n_classes]
        p = ops.sigmoid(logits)
        log_p = ops.log_sigmoid(logits)
        log_not_p = ops.log_sigmoid(-logits)
        pos = ops.cast(ops.greater_equal(gt, 1.0 - 1e-4), "float32")
        pos_loss = pos * log_p * ops.square(1 - p)
        neg_loss = (1 - pos) * log_not_p * ops.square(p) * ops.power(1 - gt, 4)
        n_pos = ops.maximum(ops.sum(pos), 1.0)
        focal = -(ops.sum(pos_loss) + ops.sum(neg_loss)) / n_pos

        centre = y_true[..., n_classes + 4 : n_classes + 5]
        n_centre = ops.maximum(ops.sum(centre), 1.0)
        off_err = ops.abs(ops.sigmoid(y_pred[..., n_classes : n_classes + 2]) - y_true[..., n_classes : n_classes + 2])
        size_err = ops.abs(y_pred[..., n_classes + 2 : n_classes + 4] - y_true[..., n_classes + 2 : n_classes + 4])
        reg = (offset_weight * ops.sum(off_err * centre) + size_weight * ops.sum(size_err * centre)) / n_centre
        return focal + reg

    return loss
