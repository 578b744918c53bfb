"""Which labels a model doubts: tags (single and multi-label), boxes and masks, and the ranking figure."""

import numpy as np

from mlassist.ml import audit
from mlassist.ml.predict import BoxProposal, MaskProposal, encode_rle


def test_a_single_label_tag_is_flagged_only_when_the_model_strongly_says_another_class():
    probs = np.array([[0.9, 0.1], [0.15, 0.85], [0.4, 0.6]])
    doubts = audit.single_label_doubts(probs, np.array([0, 0, 0]), confidence=0.8)
    assert [d.flagged for d in doubts] == [False, True, False]
    assert doubts[1].predicted == 1 and doubts[1].reason == audit.DISPUTED
    assert doubts[1].doubt > doubts[2].doubt > doubts[0].doubt


def test_multilabel_tags_the_model_does_not_see_and_tags_it_sees_untagged():
    probs = np.array([[0.95, 0.05, 0.9]])
    y = np.array([[1, 1, 0]])
    doubts = {(d.item, d.reason): d for d in audit.multilabel_doubts(probs, y, confidence=0.8)}
    assert doubts[(1, audit.NOT_FOUND)].flagged  # given, p = 0.05
    assert doubts[(2, audit.MISSING)].flagged  # not given, p = 0.9
    assert not doubts[(0, audit.NOT_FOUND)].flagged


def test_boxes_with_no_proposal_of_their_class_overlapping_are_flagged_with_the_class_seen_there():
    found = [[BoxProposal(0, 0.9, [0, 0, 10, 10]), BoxProposal(1, 0.8, [50, 50, 20, 20])]]
    truth = [np.array([[1, 1, 10, 10], [52, 50, 20, 20], [80, 0, 10, 10]], float)]
    doubts = audit.shape_doubts(found, truth, [[0, 0, 1]], "bbox", threshold=0.5)
    right, disputed, nothing = doubts
    assert not right.flagged and right.doubt < 0.2
    assert disputed.flagged and disputed.reason == audit.DISPUTED and disputed.predicted == 1
    assert nothing.flagged and nothing.reason == audit.NOT_FOUND and nothing.predicted == 1 and nothing.doubt == 0.5
    # Another class seen there ranks above nothing seen at all.
    assert disputed.doubt > nothing.doubt > right.doubt


def test_a_weak_proposal_of_the_right_class_ranks_but_does_not_vouch_for_the_label():
    found = [[BoxProposal(0, 0.3, [0, 0, 10, 10])]]
    doubts = audit.shape_doubts(found, [np.array([[0, 0, 10, 10]], float)], [[0]], "bbox", threshold=0.5)
    assert doubts[0].flagged and abs(doubts[0].doubt - 0.35) < 1e-9


def test_masks_are_matched_by_mask_overlap():
    square = np.zeros((20, 20), bool)
    square[2:10, 2:10] = True
    elsewhere = np.zeros((20, 20), bool)
    elsewhere[12:18, 12:18] = True
    found = [[MaskProposal(0, 0.9, encode_rle(square), [2, 2, 8, 8], 64)]]
    doubts = audit.shape_doubts(found, [[square, elsewhere]], [[0, 0]], "segm", threshold=0.5)
    assert [d.flagged for d in doubts] == [False, True]


def test_share_found_at_top_counts_ties_against_the_figure():
    assert audit.share_found_at_top([0.9, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1],
                                    [True] + [False] * 9, top=0.1) == 1.0
    # Tied with a right label at the cut: the wrong one is counted as missed.
    assert audit.share_found_at_top([0.5, 0.5] + [0.1] * 8, [False, True] + [False] * 8, top=0.1) == 0.0
