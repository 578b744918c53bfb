"""The model's proposals are stored through the same annotation rules as people's labels."""

import pytest

from labeling.rules import RuleError
from mlassist.services.proposals import proposal_annotation

from ..labeling.bad_geometries import CASES, GOOD, MAX_POINTS, H, W, path_of



def propose(kind, geometry, **kwargs):
    args = {"image_id": 1, "width": W, "height": H, "model_version": None, "kind": kind, "geometry": geometry,
            "label_class_id": 1, "score": 0.5, **kwargs}
    return proposal_annotation(**args)


@pytest.mark.parametrize(("kind", "geometry", "loc", "words", "coco"), CASES)
def test_proposals_refuse_every_bad_geometry(settings, kind, geometry, loc, words, coco):
    settings.POLYGON_MAX_POINTS = MAX_POINTS
    with pytest.raises(RuleError) as caught:
        propose(kind, geometry)
    assert caught.value.path == path_of("", loc) and words in caught.value.detail


def test_a_proposal_is_proposed_with_its_score_and_masks_carry_their_outline():
    mask = propose("mask", GOOD["mask"], score=0.75)
    assert (mask.origin, mask.state, mask.score) == ("model", "proposed", 0.75)
    assert mask.outline["bbox"] == [10, 5, 1, 20]
    assert propose("box", GOOD["box"]).outline is None


def test_a_kind_the_project_dropped_is_not_proposed():
    with pytest.raises(RuleError, match="does not use mask"):
        propose("mask", GOOD["mask"], kinds=["tag", "box"])
