"""The score a tag head is shown and promoted by is one a head predicting nothing cannot win."""

import numpy as np
import pytest

from mlassist.ml.metrics import classification_metrics
from mlassist.services.training import METRIC

# Three validation images, five classes (multi-label): 4 of the 15 labels are present.
TRUTH = np.array([
    [1, 0, 0, 0, 0],
    [0, 1, 0, 0, 0],
    [0, 0, 1, 1, 0],
], np.float32)
NOTHING = np.zeros_like(TRUTH)
# Right about classes 0-2, wrong about 3 and 4 on several images: worse per-label accuracy.
SOMETHING = np.array([
    [0.9, 0.1, 0.1, 0.8, 0.7],
    [0.1, 0.9, 0.1, 0.8, 0.7],
    [0.1, 0.1, 0.9, 0.2, 0.7],
], np.float32)


def test_a_head_predicting_nothing_scores_zero_while_its_accuracy_looks_good():
    m = classification_metrics(NOTHING, TRUTH, multilabel=True)
    assert m["accuracy"] == pytest.approx(11 / 15)  # the "0.733" the model page used to show
    assert m["f1_macro"] == 0.0
    assert m["exact_match"] == 0.0
    assert m["n_val"] == 3


def test_promotion_metric_prefers_the_head_that_finds_labels():
    nothing = classification_metrics(NOTHING, TRUTH, multilabel=True)
    something = classification_metrics(SOMETHING, TRUTH, multilabel=True)
    assert something["accuracy"] < nothing["accuracy"]  # accuracy would have promoted the empty head
    key = METRIC["classifier"]
    assert something[key] == pytest.approx(3 / 5)  # F1 1 for classes 0-2, 0 for 3 and 4
    assert something[key] > nothing[key]


def test_single_label_macro_f1_does_not_reward_the_commonest_class():
    y = np.array([0, 0, 0, 0, 1, 2])
    always_zero = np.tile([0.9, 0.05, 0.05], (6, 1))
    m = classification_metrics(always_zero, y)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # Class 0: precision 4/6, recall 1 -> F1 0.8; classes 1 and 2 never found -> 0.
    assert m["f1_macro"] == pytest.approx(0.8 / 3)
    perfect = classification_metrics(np.eye(3)[y], y)
    assert perfect["f1_macro"] == 1.0 and perfect["n_val"] == 6


def test_no_validation_rows_scores_minus_one():
    assert classification_metrics(np.zeros((0, 3)), np.zeros((0,)))["f1_macro"] == -1.0
