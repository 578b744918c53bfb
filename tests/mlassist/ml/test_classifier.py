import numpy as np
import pytest

from mlassist.ml.features import stack_pooled
from mlassist.ml.predict import margins, predict_tags
from mlassist.ml.training import evaluate_classifier, train_classifier

pytestmark = pytest.mark.slow


def test_classifier_from_stored_features_recognises_digits(digits, digit_blobs):
    # 10 classes, 32 training images each; chance is 0.1.
    y = digits[1]
    pooled = stack_pooled(digit_blobs)  # float16 in the blobs, as the database stores them
    calls = []
    result = train_classifier(pooled, y, 10, progress=lambda *a: calls.append(a))
    assert result.metrics["accuracy"] >= 0.6, result.metrics
    assert result.metrics["n_val"] == 80 and result.metrics["n_train"] == 320
    assert set(result.val_indices).isdisjoint(result.train_indices)
    assert calls and calls[-1][0] == "train_tags" and calls[-1][1] == calls[-1][2]
    assert result.history["loss"][-1] < result.history["loss"][0]

    tags = predict_tags(result.model, pooled[result.val_indices])
    hits = np.mean([t[0].class_index == c for t, c in zip(tags, y[result.val_indices], strict=True)])
    assert hits == pytest.approx(result.metrics["accuracy"])
    assert all(len(t) == 1 and 0 <= t[0].score <= 1 for t in tags)

    # Same split, same labels: the same model (what version comparison relies on).
    again = train_classifier(pooled, y, 10, val_indices=result.val_indices)
    assert again.metrics["accuracy"] == result.metrics["accuracy"]
    again_metrics = evaluate_classifier(result.model, pooled[result.val_indices], y[result.val_indices])
    for key in ("accuracy", "f1_macro"):  # f1_macro: the score versions are shown and promoted by
        assert again_metrics[key] == result.metrics[key]
    assert again_metrics["n_val"] == 80


def test_multilabel_classifier_learns_independent_tags(digits, digit_blobs):
    # Two tags a digit can carry at once: "at least 5" and "has a loop" (0, 6, 8, 9).
    d = digits[1]
    y = np.stack([d >= 5, np.isin(d, [0, 6, 8, 9])], axis=1).astype(int)
    result = train_classifier(stack_pooled(digit_blobs), y, 2, multilabel=True)
    # Per-tag majority guessing gets 0.6: the model must do better.
    assert result.metrics["accuracy"] >= 0.7, result.metrics
    tags = predict_tags(result.model, stack_pooled(digit_blobs[:5]), multilabel=True)
    assert all(p.score >= 0.5 for t in tags for p in t)


def test_margin_ranks_unsure_predictions_first():
    probs = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.6, 0.3, 0.1]])
    assert np.argsort(margins(probs)).tolist() == [1, 2, 0]
