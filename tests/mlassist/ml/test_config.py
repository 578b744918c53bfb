import dataclasses

import pytest

from mlassist.ml.config import BackboneConfig


def test_key_changes_with_every_field():
    base = BackboneConfig("mobilenet_v2", 224, 1.0, "imagenet", 16)
    variants = [
        dataclasses.replace(base, name="mobilenet_v3_small"),
        dataclasses.replace(base, input_size=160),
        dataclasses.replace(base, alpha=0.5),
        dataclasses.replace(base, weights="none"),
        dataclasses.replace(base, weights="/srv/weights/mnv2.h5"),
        dataclasses.replace(base, spatial_stride=32),
    ]
    keys = {base.key()} | {v.key() for v in variants}
    assert len(keys) == len(variants) + 1
    assert base.key() == BackboneConfig("mobilenet_v2", 224, 1.0, "imagenet", 16).key()


@pytest.mark.parametrize(
    "kwargs, word",
    [({"name": "resnet50"}, "resnet50"), ({"input_size": 8}, "input_size"), ({"spatial_stride": 8}, "spatial_stride")],
)
def test_bad_config_names_the_field(kwargs, word):
    with pytest.raises(ValueError, match=word):
        BackboneConfig(**kwargs)


def test_random_init_flag():
    assert BackboneConfig(weights="none").random_init
    assert not BackboneConfig(weights="imagenet").random_init
