"""The frozen backbone: a Keras MobileNet without its top, giving a pooled vector and a spatial map.

Follows keras-io's transfer-learning guide: the base is built once, frozen
(`trainable = False`) and always called with `training=False`, so its batch-norm
layers stay in inference mode even if a head is later fine-tuned on top of it.
"""

from __future__ import annotations

import os

import keras

from .config import BackboneConfig

WEIGHTS_SETTING = "MLASSIST_BACKBONE_WEIGHTS"
INSTALL_COMMAND = "python manage.py mlassist_install_weights FILE"


class BackboneWeightsError(RuntimeError):
    """The backbone's weights could not be found or loaded; the message says how to fix it."""


def imagenet_weights_file(cfg: BackboneConfig) -> tuple[str, str]:
    """(file name, download URL) of the no-top ImageNet weights Keras would fetch for `cfg`."""
    if cfg.name == "mobilenet_v2":
        from keras.src.applications.mobilenet_v2 import BASE_WEIGHT_PATH

        # Keras only ships these sizes and picks 224 for any other input size.
        rows = cfg.input_size if cfg.input_size in (96, 128, 160, 192, 224) else 224
        name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(cfg.alpha)}_{rows}_no_top.h5"
    else:
        from keras.src.applications.mobilenet_v3 import BASE_WEIGHT_PATH

        kind = "small" if cfg.name == "mobilenet_v3_small" else "large"
        name = f"weights_mobilenet_v3_{kind}_224_{float(cfg.alpha)}_float_no_top_v2.h5"
    return name, BASE_WEIGHT_PATH + name


def _install_hint(cfg: BackboneConfig) -> str:
    name, url = imagenet_weights_file(cfg)
    return (
        f"On a machine with network access download {url} , copy it here and run "
        f"`{INSTALL_COMMAND}` (FILE being {name}); it stores the file and points the "
        f"{WEIGHTS_SETTING} setting at it. Or set {WEIGHTS_SETTING}=none to run with an "
        "untrained backbone (proposals will be weak)."
    )


def _application(cfg: BackboneConfig, weights):
    shape = (cfg.input_size, cfg.input_size, 3)
    if cfg.name == "mobilenet_v2":
        return keras.applications.MobileNetV2(input_shape=shape, alpha=cfg.alpha, include_top=False, weights=weights)
    ctor = keras.applications.MobileNetV3Small if cfg.name == "mobilenet_v3_small" else keras.applications.MobileNetV3Large
    # include_preprocessing puts the 0..255 -> [-1, 1] rescaling inside the network.
    return ctor(input_shape=shape, alpha=cfg.alpha, include_top=False, weights=weights, include_preprocessing=True)


# Random initialisation must be the same in every process: features stored by
# one worker are read by heads trained in another and by the TFLite export,
# which rebuilds the backbone. So "none" means "seeded random", always this seed.
RANDOM_INIT_SEED = 1234


def _load_application(cfg: BackboneConfig):
    if cfg.weights == "none":
        keras.utils.set_random_seed(RANDOM_INIT_SEED)  # also reseeds Python's and NumPy's global RNGs
        return _application(cfg, None)
    if cfg.weights == "imagenet":
        try:
            return _application(cfg, "imagenet")
        except ValueError:
            raise  # an unsupported alpha/size for ImageNet weights: Keras' own message says which
        except Exception as exc:  # get_file raises a bare Exception when offline
            raise BackboneWeightsError(
                f"Could not download the ImageNet weights for {cfg.name} (alpha {cfg.alpha}): {exc}. "
                + _install_hint(cfg)
            ) from exc
    path = os.fspath(cfg.weights)
    if not os.path.isfile(path):
        raise BackboneWeightsError(
            f"Backbone weights file {path!r} (setting {WEIGHTS_SETTING}) does not exist. " + _install_hint(cfg)
        )
    try:
        return _application(cfg, path)
    except Exception as exc:
        raise BackboneWeightsError(
            f"Backbone weights file {path!r} does not fit {cfg.name} with alpha {cfg.alpha}: {exc}. "
            + _install_hint(cfg)
        ) from exc


def _spatial_layer(app: keras.Model, stride: int):
    """The layer whose output is the stored spatial map.

    Stride 32: the last conv block (the network's output). Stride 16: the last
    residual Add before the final downsampling, found by shape rather than by
    name so it works for V2 and both V3 sizes.
    """
    last = app.layers[-1]
    if stride == 32:
        return last
    final_h = last.output.shape[1]
    adds = [layer for layer in app.layers if isinstance(layer, keras.layers.Add) and layer.output.shape[1] > final_h]
    if not adds:
        raise ValueError(f"{app.name} has no residual block before its last stage")
    return adds[-1]


def build_backbone(cfg: BackboneConfig) -> keras.Model:
    """Frozen backbone taking float32 RGB 0..255 images of cfg.input_size.

    Returns a model with outputs {"pooled": (B, D), "spatial": (B, h, w, C)}.
    The outputs are raw activations; features.normalise_* makes them storable.
    """
    app = _load_application(cfg)
    app.trainable = False
    tap = _spatial_layer(app, cfg.spatial_stride)
    inner = keras.Model(app.input, [app.output, tap.output], name=f"{app.name}_taps")
    inner.trainable = False

    images = keras.Input((cfg.input_size, cfg.input_size, 3), name="image")
    x = images
    if cfg.name == "mobilenet_v2":
        x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="to_unit_range")(x)
    last, spatial = inner(x, training=False)
    pooled = keras.layers.GlobalAveragePooling2D(name="pooled")(last)
    spatial = keras.layers.Identity(name="spatial")(spatial)
    model = keras.Model(images, {"pooled": pooled, "spatial": spatial}, name=f"backbone_{cfg.name}")
    model.trainable = False
    return model


def spatial_shape(cfg: BackboneConfig, backbone: keras.Model | None = None) -> tuple[int, int, int]:
    """(h, w, C) of the spatial map for `cfg` (builds a random backbone when none is given)."""
    model = backbone or build_backbone(BackboneConfig(cfg.name, cfg.input_size, cfg.alpha, "none", cfg.spatial_stride))
    return tuple(int(d) for d in model.output["spatial"].shape[1:])
