import numpy as np
import pytest

from mlassist.ml.export import classifier_to_tflite
from mlassist.ml.features import load_image, stack_pooled
from mlassist.ml.predict import predict_tags
from mlassist.ml.training import train_classifier

pytestmark = pytest.mark.slow


# tf.lite.Interpreter is deprecated in favour of ai-edge-litert, which is not installed; it still runs.
@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_tflite_model_gives_the_servers_top_class(digits, digit_blobs, digits_extractor):
    import tensorflow as tf

    blobs, y = digits
    pooled = stack_pooled(digit_blobs)
    result = train_classifier(pooled, y, 10)
    names = [f"digit {i}" for i in range(10)]
    export = classifier_to_tflite(digits_extractor.cfg, result.model, names, backbone=digits_extractor.backbone)
    assert export.labels.splitlines() == names

    interpreter = tf.lite.Interpreter(model_content=export.model)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert inp["shape"].tolist() == [1, 64, 64, 3] and out["shape"].tolist() == [1, 10]

    sample = result.val_indices[:20]
    server = [t[0].class_index for t in predict_tags(result.model, pooled[sample])]
    device = []
    for i in sample:
        interpreter.set_tensor(inp["index"], load_image(blobs[i], 64)[0][None].astype(np.float32))
        interpreter.invoke()
        device.append(int(interpreter.get_tensor(out["index"])[0].argmax()))
    assert device == server


def test_label_count_must_match_the_head(digits_cfg):
    from mlassist.ml.heads import build_classifier_head

    with pytest.raises(ValueError, match="3 labels for a head with 4 outputs"):
        classifier_to_tflite(digits_cfg, build_classifier_head(8, 4), ["a", "b", "c"])
