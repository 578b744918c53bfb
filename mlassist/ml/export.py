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
