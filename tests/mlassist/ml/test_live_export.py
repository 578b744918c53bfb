"""The live parts as TFLite (backbone once, each head on its own) give what the server's Keras path gives.

Run by LiteRT, as the web process runs them; decoded by the same numpy code as proposals.
"""

import numpy as np
import pytest

from mlassist.ml import heads
from mlassist.ml.export import features_to_tflite, head_to_tflite
from mlassist.ml.features import FeatureExtractor, load_image, normalise_pooled, normalise_spatial
from mlassist.ml.predict import decode_boxes, decode_masks

pytestmark = pytest.mark.slow


def run(model: bytes, x: np.ndarray) -> dict[int, np.ndarray]:
    """The file's outputs by rank (as mlassist.services.live_overlays reads them)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x.astype(np.float32))
    interpreter.invoke()
    return {len(o["shape"]): interpreter.get_tensor(o["index"]) for o in interpreter.get_output_details()}


def randomised(model, seed):
    """Every weight drawn at random: an untrained head would hide a wrong layout behind zeros."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if w.name in ("kernel", "bias"):  # not the normalisation's mean and variance
            w.assign(rng.normal(0, 0.3, w.shape).astype(np.float32))
    return model


@pytest.fixture(scope="module")
def live_parts(shapes, shapes_cfg):
    extractor = FeatureExtractor(shapes_cfg)
    pixels = np.stack([load_image(b, shapes_cfg.input_size)[0] for b in shapes["blobs"][:6]])
    pooled_raw, spatial_raw = extractor.forward(pixels)
    return extractor, pixels, normalise_pooled(pooled_raw)[0], normalise_spatial(spatial_raw)[0]


def test_the_backbone_file_gives_the_normalised_features_the_heads_were_trained_on(live_parts):
    extractor, pixels, pooled, spatial = live_parts
    model = features_to_tflite(extractor.cfg, backbone=extractor.backbone)
    for i in range(len(pixels)):
        out = run(model, pixels[i : i + 1])
        assert out[2].shape == (1, pooled.shape[1]) and out[4].shape == (1, *spatial.shape[1:])
        np.testing.assert_allclose(out[2][0], pooled[i], atol=2e-3)
        np.testing.assert_allclose(out[4][0], spatial[i], atol=2e-2)


def test_box_and_mask_head_files_decode_to_the_same_boxes_and_masks(live_parts, shapes):
    extractor, pixels, pooled, spatial = live_parts
    shape = spatial.shape[1:]
    box_head = randomised(heads.build_box_head(shape, 3), 1)
    mask_head = randomised(heads.build_mask_head(shape, 3), 2)
    box_file, mask_file = head_to_tflite(box_head), head_to_tflite(mask_head)
    sizes = shapes["sizes"][: len(pixels)]
    for i in range(len(pixels)):
        x = spatial[i : i + 1]
        keras_boxes, keras_masks = np.asarray(box_head(x)), np.asarray(mask_head(x))
        lite_boxes, lite_masks = run(box_file, x)[4], run(mask_file, x)[4]
        np.testing.assert_allclose(lite_boxes, keras_boxes, atol=1e-3, rtol=1e-4)
        np.testing.assert_allclose(lite_masks, keras_masks, atol=1e-3, rtol=1e-4)
        expected = decode_boxes(keras_boxes, sizes[i : i + 1], 3, threshold=0.05)[0]
        found = decode_boxes(lite_boxes, sizes[i : i + 1], 3, threshold=0.05)[0]
        assert expected and [(b.class_index, np.round(b.bbox, 1).tolist()) for b in found] == [
            (b.class_index, np.round(b.bbox, 1).tolist()) for b in expected]
        expected = decode_masks(keras_masks, sizes[i : i + 1], threshold=0.0)[0]
        found = decode_masks(lite_masks, sizes[i : i + 1], threshold=0.0)[0]
        assert expected and [(m.class_index, m.rle["counts"]) for m in found] == [
            (m.class_index, m.rle["counts"]) for m in expected]


def test_the_classifier_head_file_gives_the_heads_probabilities(live_parts):
    _, _, pooled, _ = live_parts
    head = randomised(heads.build_classifier_head(pooled.shape[1], 4), 3)
    model = head_to_tflite(head)
    for i in range(len(pooled)):
        np.testing.assert_allclose(run(model, pooled[i : i + 1])[2], np.asarray(head(pooled[i : i + 1])), atol=1e-5)
