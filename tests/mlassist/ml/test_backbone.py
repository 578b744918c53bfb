import keras
import numpy as np
import pytest

from mlassist.ml.backbone import BackboneWeightsError, build_backbone, spatial_shape
from mlassist.ml.config import BackboneConfig

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)


@pytest.mark.parametrize(
    "cfg, pooled_dim, spatial",
    [
        (BackboneConfig("mobilenet_v2", 64, 0.35, "none"), 1280, (4, 4, 32)),
        (BackboneConfig("mobilenet_v2", 64, 0.35, "none", spatial_stride=32), 1280, (2, 2, 1280)),
        (BackboneConfig("mobilenet_v3_small", 64, 1.0, "none"), 576, (4, 4, 48)),
    ],
)
def test_outputs_pooled_vector_and_spatial_map(cfg, pooled_dim, spatial):
    model = build_backbone(cfg)
    out = model(IMAGES, training=False)
    assert out["pooled"].shape == (2, pooled_dim)
    assert tuple(out["spatial"].shape) == (2, *spatial)
    assert spatial_shape(cfg, model) == spatial
    assert not model.trainable and not model.trainable_weights


def test_random_init_is_the_same_in_every_build():
    # Features stored by one worker must match a backbone rebuilt elsewhere (e.g. for TFLite export).
    cfg = BackboneConfig("mobilenet_v2", 64, 0.35, "none")
    a = build_backbone(cfg)(IMAGES, training=False)["pooled"]
    keras.utils.set_random_seed(99)
    b = build_backbone(cfg)(IMAGES, training=False)["pooled"]
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_missing_weights_file_says_how_to_install_one(tmp_path):
    missing = tmp_path / "nowhere.h5"
    with pytest.raises(BackboneWeightsError) as err:
        build_backbone(BackboneConfig("mobilenet_v2", 96, 0.35, str(missing)))
    msg = str(err.value)
    assert str(missing) in msg
    assert "python manage.py mlassist_install_weights FILE" in msg
    assert "MLASSIST_BACKBONE_WEIGHTS" in msg
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5" in msg


def test_imagenet_without_network_says_how_to_install_weights(monkeypatch):
    from keras.src.utils import file_utils

    def offline(fname, origin, *args, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(BackboneWeightsError) as err:
        build_backbone(BackboneConfig("mobilenet_v3_small", 96, 1.0, "imagenet"))
    msg = str(err.value)
    assert "name resolution" in msg
    assert "python manage.py mlassist_install_weights FILE" in msg
    assert "MLASSIST_BACKBONE_WEIGHTS" in msg


def test_weights_file_is_loaded(tmp_path):
    # A "pretrained" file: the same architecture with other weights, saved as Keras would.
    keras.utils.set_random_seed(7)
    donor = keras.applications.MobileNetV2(input_shape=(64, 64, 3), alpha=0.35, include_top=False, weights=None)
    path = tmp_path / "mnv2.weights.h5"
    donor.save_weights(path)

    loaded = build_backbone(BackboneConfig("mobilenet_v2", 64, 0.35, str(path)))
    random = build_backbone(BackboneConfig("mobilenet_v2", 64, 0.35, "none"))
    want = np.asarray(donor(IMAGES / 127.5 - 1, training=False)).mean(axis=(1, 2))
    tol = 1e-3 * np.abs(want).max()  # activations are ~1e-11 here: compare relative to their size
    np.testing.assert_allclose(np.asarray(loaded(IMAGES, training=False)["pooled"]), want, rtol=0, atol=tol)
    assert np.abs(np.asarray(random(IMAGES, training=False)["pooled"]) - want).max() > 100 * tol


# Keras warns about every layer it cannot match before it gives up.
@pytest.mark.filterwarnings("ignore:Skipping nested container:UserWarning")
def test_weights_file_of_another_network_is_a_clear_error(tmp_path):
    other = keras.applications.MobileNetV3Small(input_shape=(64, 64, 3), include_top=False, weights=None)
    path = tmp_path / "v3.weights.h5"
    other.save_weights(path)
    with pytest.raises(BackboneWeightsError, match="does not fit mobilenet_v2"):
        build_backbone(BackboneConfig("mobilenet_v2", 64, 0.35, str(path)))
