"""Validation that grows with the labels, the promotion test, and thresholds from validation."""

import numpy as np
import pytest

from mlassist.ml import validation


def test_the_validation_draw_is_a_stratified_fraction_of_all_labels_and_keeps_the_old_split():
    strata = [i % 2 for i in range(50)]
    first = validation.draw_validation(strata[:6], seed=1)
    assert len(first) == 2  # 20 % of 6, one per class
    grown = validation.draw_validation(strata, keep=first, seed=2)
    assert set(first) <= set(grown)
    assert len(grown) == 10  # 20 % of 50: it grew with the labels
    assert sorted(np.bincount(np.array(strata)[grown])) == [5, 5]
    # Drawn again for the next version: a different set beyond the kept images.
    assert set(validation.draw_validation(strata, keep=first, seed=3)) != set(grown)


def test_every_class_keeps_an_image_to_learn_from():
    val = validation.draw_validation([0, 0, 0, 1], seed=0)
    assert 3 not in val and len(val) >= 1


def test_noise_on_two_images_does_not_keep_the_serving_version():
    # The serving version was right on both shared images, the new one wrong: 0.25, not significant.
    small = validation.paired_sign_test(new=[0, 0], old=[1, 1])
    assert small["p_old_better"] == pytest.approx(0.25)
    assert not validation.keep_serving(small)
    # Six of six is significant: the serving version stays.
    big = validation.paired_sign_test(new=[0] * 6 + [1] * 20, old=[1] * 26)
    assert big["p_old_better"] == pytest.approx(1 / 64)
    assert validation.keep_serving(big)
    assert not validation.keep_serving(validation.paired_sign_test(new=[1, 1], old=[1, 1]))


def test_the_threshold_is_where_the_simulated_annotator_saves_most():
    # Boxes: a right proposal saves 7 - 1.6 s, a wrong one costs a 1 s rejection, so proposals at 0.3
    # that are right one time in three are worth showing; a right tag saves only 1.4 s, so they are not.
    outcomes = [[(0.9, True)], [(0.8, True)], [(0.3, True)], [(0.3, False)], [(0.3, False)], [(0.1, False)]]
    box = validation.choose_threshold(outcomes, [1, 1, 2, 0, 0, 0], "box")
    assert box["threshold"] == pytest.approx(0.2) and box["recall_at_threshold"] == pytest.approx(3 / 4)
    tag = validation.choose_threshold(outcomes, [1, 1, 2, 0, 0, 0], "tag")
    assert tag["threshold"] == pytest.approx(0.55) and tag["precision_at_threshold"] == 1.0


def test_a_few_right_answers_do_not_pin_the_threshold_to_their_lowest_score():
    t = validation.choose_threshold([[(0.93, True)], [(0.97, True)]], [1, 1], "tag")["threshold"]
    assert t < 0.9
