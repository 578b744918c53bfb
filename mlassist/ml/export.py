"""On-device export: backbone + pooled normalisation + tag head as one TFLite model."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from .backbone import build_backbone
from .config import BackboneConfig


@dataclass
class TFLiteExport:
    model: bytes  # the .tflite flatbuffer
    labels: str  # labels.txt: one class name a line, in output order
    input_size: int


def classifier_to_tflite(
    backbone_cfg: BackboneConfig, classifier_head, labels: Sequence[str], backbone=None
) -> TFLiteExport:
    """A TFLite model: float32 RGB 0..255 image (1, s, s, 3) -> class probabilities (1, n).

    The app resizes its camera frame to s x s (plain resize, no letterbox, as
    features.load_image does). Normalisation is the same max-abs-then-L2
    formula as features.normalise_pooled, in float32 graph ops.
    """
    import keras
    import tensorflow as tf

    if len(labels) != classifier_head.output.shape[-1]:
        raise ValueError(f"{len(labels)} labels for a head with {classifier_head.output.shape[-1]} outputs")
    if any("\n" in name for name in labels):
        raise ValueError("label names cannot contain newlines (labels.txt has one a line)")
    backbone = backbone or build_backbone(backbone_cfg)
    s = backbone_cfg.input_size

    def serve(image):
        pooled = backbone(image, training=False)["pooled"]
        # 1e-30 not 0: an all-black frame must not divide by zero; float32 holds it.
        peak = tf.maximum(tf.reduce_max(tf.abs(pooled), axis=-1, keepdims=True), 1e-30)
        scaled = pooled / peak
        unit = scaled / tf.maximum(tf.norm(scaled, axis=-1, keepdims=True), 1e-30)
        return classifier_head(unit, training=False)

    # Keras' ExportArchive tracks the Keras 3 variables so the converter can
    # freeze them; a bare tf.function + tf.Module left them as READ_VARIABLE
    # ops that are uninitialised on the device.
    archive = keras.export.ExportArchive()
    archive.track(backbone)
    archive.track(classifier_head)
    archive.add_endpoint("serve", serve, input_signature=[tf.TensorSpec([1, s, s, 3], tf.float32, name="image")])
    with tempfile.TemporaryDirectory() as tmp:
        archive.write_out(tmp, verbose=False)
        blob = tf.lite.TFLiteConverter.from_saved_model(tmp).convert()
    return TFLiteExport(model=blob, labels="".join(f"{name}\n" for name in labels), input_size=s)


# --- live parts: one backbone pass per frame, then each head in service -------------------------
#
# The Live page shows tags, boxes and masks of whichever versions serve, and each kind is retrained
# on its own. One model with the backbone and every head would have to be rebuilt (~12 s) whenever
# any of them changes; instead the backbone is exported once per backbone configuration (image ->
# the two normalised feature tensors the heads were trained on), and each version's head on its own
# (features -> raw head output, about a second to build). The web process runs the backbone once and
# every head on its outputs, and decodes them with numpy (predict.decode_boxes / decode_masks).


def features_to_tflite(backbone_cfg: BackboneConfig, backbone=None) -> bytes:
    """A TFLite model: float32 RGB 0..255 image (1, s, s, 3) -> two outputs, by name:
    ``pooled`` (1, D), unit rows as features.normalise_pooled gives, and ``spatial`` (1, h, w, C),
    unit RMS as features.normalise_spatial gives (in float32 graph ops)."""
    import keras
    import tensorflow as tf

    backbone = backbone or build_backbone(backbone_cfg)
    s = backbone_cfg.input_size

    def serve(image):
        out = backbone(image, training=False)
        pooled, spatial = out["pooled"], out["spatial"]
        peak = tf.maximum(tf.reduce_max(tf.abs(pooled), axis=-1, keepdims=True), 1e-30)
        scaled = pooled / peak
        unit = scaled / tf.maximum(tf.norm(scaled, axis=-1, keepdims=True), 1e-30)
        peak = tf.maximum(tf.reduce_max(tf.abs(spatial), axis=[1, 2, 3], keepdims=True), 1e-30)
        scaled = spatial / peak
        rms = tf.sqrt(tf.reduce_mean(tf.square(scaled), axis=[1, 2, 3], keepdims=True))
        return {"pooled": unit, "spatial": scaled / tf.maximum(rms, 1e-30)}

    archive = keras.export.ExportArchive()
    archive.track(backbone)
    archive.add_endpoint("serve", serve, input_signature=[tf.TensorSpec([1, s, s, 3], tf.float32, name="image")])
    return _convert(archive)


def head_to_tflite(head) -> bytes:
    """A head alone as TFLite, batch 1: the classifier's (1, D) pooled vector, or a box or mask
    head's (1, h, w, C) spatial map -> its raw output, the same numbers Keras' predict gives."""
    import keras
    import tensorflow as tf

    shape = [1, *(int(d) for d in head.input.shape[1:])]

    def serve(features):
        return head(features, training=False)

    archive = keras.export.ExportArchive()
    archive.track(head)
    archive.add_endpoint("serve", serve, input_signature=[tf.TensorSpec(shape, tf.float32, name="features")])
    return _convert(archive)


def _convert(archive) -> bytes:
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        archive.write_out(tmp, verbose=False)
        return tf.lite.TFLiteConverter.from_saved_model(tmp).convert()
