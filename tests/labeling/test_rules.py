"""The annotation rules on their own (labeling.rules, labeling.geometry): pure functions, no database."""

import itertools
import math

import numpy as np
import pytest
from pycocotools import mask as mask_api

from labeling.crossing import find_crossing
from labeling.geometry import OUTLINE_MAX_VERTICES, mask_outline, validate_polygon
from labeling.rules import RuleError, TagItem, annotation_check, state_after_change, tags_check

from .bad_geometries import CASES, GOOD, MAX_POINTS, H, W, path_of


def check(kind, geometry, **kwargs):
    return annotation_check(kind=kind, geometry=geometry, width=W, height=H, max_points=MAX_POINTS, **kwargs)


@pytest.mark.parametrize(("kind", "geometry", "loc", "words", "coco"), CASES)
def test_every_bad_geometry_is_refused_naming_the_place(kind, geometry, loc, words, coco):
    with pytest.raises(RuleError) as caught:
        check(kind, geometry, prefix="[12]")
    assert caught.value.path == path_of("[12]", loc), caught.value
    assert words in caught.value.detail
    assert caught.value.loc == loc


@pytest.mark.parametrize("kind", ["box", "polygon", "mask"])
def test_good_geometries_pass_and_only_masks_get_an_outline(kind):
    checked = check(kind, GOOD[kind])
    assert (checked.outline is not None) == (kind == "mask")
    assert (checked.origin, checked.state, checked.score) == ("human", "accepted", None)


def test_short_runs_never_reach_pycocotools_decoding():
    # pycocotools decodes these 150 runs into an 8000-pixel buffer it never fills: garbage pixels.
    short = mask_api.frPyObjects({"size": [H, W], "counts": [100, 50]}, H, W)
    with pytest.raises(RuleError, match="runs cover 150 pixels"):
        check("mask", {"rle": {"size": [H, W], "counts": short["counts"].decode()}})


def test_uncompressed_and_non_canonical_masks_are_stored_canonical():
    mask = np.zeros((H, W), np.uint8, order="F")
    mask[10:20, 30:60] = 1
    canonical = mask_api.encode(mask)["counts"].decode()
    runs = [30 * H + 10, 10] + [H - 10, 10] * 29 + [W * H - (59 * H + 20)]
    assert check("mask", {"rle": {"size": [H, W], "counts": runs}}).geometry["rle"]["counts"] == canonical


def test_polygons_are_normalised_repeats_dropped():
    clean = validate_polygon(
        {"points": [[1, 1], [1, 1], [20, 1], [20, 20], [1, 1]]}, W, H, max_points=MAX_POINTS
    )
    assert clean == {"points": [[1.0, 1.0], [20.0, 1.0], [20.0, 20.0]]}


def test_the_crossing_edges_are_named_with_the_input_indices():
    with pytest.raises(RuleError) as caught:
        validate_polygon({"points": [[10, 10], [10, 10], [50, 50], [50, 10], [10, 50]]}, W, H, max_points=10)
    # Input point 1 repeats point 0 and is dropped; the edges keep the sender's numbering.
    assert "points[0] to points[2]" in caught.value.detail and "points[3] to points[4]" in caught.value.detail
    assert "(30, 30)" in caught.value.detail


def test_a_spike_folding_back_on_itself_crosses():
    with pytest.raises(RuleError, match="crosses itself"):
        validate_polygon({"points": [[10, 10], [50, 10], [30, 10], [30, 40]]}, W, H, max_points=10)


def test_large_simple_polygons_pass_and_crossings_anywhere_are_found():
    n = 10_000
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    radius = 300 + 100 * np.sin(angles * 37)  # a wavy star: simple, many close edges
    ring = np.stack([1000 + radius * np.cos(angles), 1000 + radius * np.sin(angles)], axis=1)
    assert find_crossing(ring) is None
    crossed = ring.copy()
    crossed[[4000, 4001]] = crossed[[4001, 4000]]  # swap two neighbours: a tiny bow-tie
    i, j, _ = find_crossing(crossed)
    assert {i, j} & {3999, 4000, 4001}


def test_human_labels_carry_no_score_and_are_never_proposed():
    with pytest.raises(RuleError) as caught:
        check("box", GOOD["box"], score=0.9, prefix="[2]")
    assert caught.value.path == "[2].score" and "no score" in caught.value.detail
    with pytest.raises(RuleError, match="Only the model proposes"):
        check("box", GOOD["box"], state="proposed")
    model = check("box", GOOD["box"], origin="model", score=0.25)
    assert (model.state, model.score) == ("proposed", 0.25)
    for bad in (1.5, -0.1, float("nan"), True):
        with pytest.raises(RuleError, match="score"):
            check("box", GOOD["box"], origin="model", score=bad)


def test_kinds_the_project_does_not_use_are_refused():
    with pytest.raises(RuleError, match="does not use mask") as caught:
        check("mask", GOOD["mask"], kinds=["box"], prefix="[0]")
    assert caught.value.path == "[0].kind"


def test_editing_a_proposal_accepts_it_in_one_place():
    assert state_after_change(origin="model", state="proposed", edited=True) == "accepted"
    assert state_after_change(origin="model", state="proposed", edited=False) == "proposed"
    assert state_after_change(origin="model", state="proposed", requested="rejected", edited=True) == "rejected"
    assert state_after_change(origin="model", state="rejected", requested="proposed") == "proposed"  # undo
    assert state_after_change(origin="human", state="rejected", edited=True) == "rejected"
    with pytest.raises(RuleError, match="Only the model proposes"):
        state_after_change(origin="human", state="accepted", requested="proposed")


def test_tag_rules():
    existing = {1: {10: "cat"}}
    with pytest.raises(RuleError) as caught:
        tags_check(multilabel=True, existing=existing, new=[TagItem("tags[0]", 1, 10, "cat")])
    assert caught.value.path == "tags[0]" and "already tagged 'cat'" in caught.value.detail
    tags_check(multilabel=True, existing=existing, new=[TagItem("tags[0]", 1, 11, "dog")])
    with pytest.raises(RuleError, match="single-label") as caught:
        tags_check(multilabel=False, existing=existing, new=[TagItem("tags[0]", 1, 11, "dog")])
    # Within the new ones too: a duplicate, then a second tag in a single-label project.
    with pytest.raises(RuleError) as caught:
        tags_check(multilabel=True, existing={}, new=[TagItem("a", 2, 10, "cat"), TagItem("b", 2, 10, "cat")])
    assert caught.value.path == "b"
    with pytest.raises(RuleError) as caught:
        tags_check(multilabel=False, existing={}, new=[TagItem("a", 2, 10, "cat"), TagItem("b", 2, 11, "dog")])
    assert caught.value.path == "b"
    tags_check(multilabel=False, existing={}, new=[TagItem("a", 2, 10, "cat"), TagItem("b", 3, 11, "dog")])


def test_mask_outline_is_bounded_and_matches_the_box():
    h, w = 3000, 4000
    yy, xx = np.mgrid[0:h, 0:w]
    # A large ragged disc: many boundary pixels, traced on a reduced copy.
    mask = ((xx - 2000) ** 2 + (yy - 1500) ** 2 < (1000 + 80 * np.sin(np.arctan2(yy - 1500, xx - 2000) * 90)) ** 2)
    rle = mask_api.encode(np.asfortranarray(mask.astype(np.uint8)))
    outline = mask_outline({"rle": {"size": [h, w], "counts": rle["counts"].decode()}})
    ys, xs = np.nonzero(mask)
    assert outline["bbox"] == [int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1]
    assert 3 <= sum(len(p) // 2 for p in outline["polygons"]) <= OUTLINE_MAX_VERTICES
    flat = np.array(outline["polygons"][0])
    x, y, bw, bh = outline["bbox"]
    assert x - 1 <= flat[0::2].min() and flat[0::2].max() <= x + bw + 1
    assert y - 1 <= flat[1::2].min() and flat[1::2].max() <= y + bh + 1


def test_small_mask_outline_sits_on_pixel_edges():
    mask = np.zeros((H, W), np.uint8, order="F")
    mask[10:30, 20:50] = 1
    rle = mask_api.encode(mask)
    outline = mask_outline({"rle": {"size": [H, W], "counts": rle["counts"].decode()}})
    assert outline["bbox"] == [20, 10, 30, 20]
    (ring,) = outline["polygons"]
    assert min(ring[0::2]) == pytest.approx(20, abs=0.5) and max(ring[0::2]) == pytest.approx(50, abs=0.5)


def test_masks_are_checked_and_outlined_from_their_runs_exactly_as_pycocotools_reads_them():
    from labeling.geometry import checked_mask

    rng = np.random.default_rng(1)
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        m = np.zeros((h, w), np.uint8, order="F")
        for _ in range(int(rng.integers(1, 4))):  # a few rectangles, some touching the borders
            y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
            m[y0 : y0 + int(rng.integers(1, h + 1)), x0 : x0 + int(rng.integers(1, w + 1))] = 1
        enc = mask_api.encode(m)
        # The same mask as uncompressed runs, then with empty runs inserted: stored as pycocotools' string.
        flat = m.ravel(order="F").tolist()
        plain = ([0] if flat[0] else []) + [len(list(g)) for _, g in itertools.groupby(flat)]
        padded = plain[:1] + [0, 0] + plain[1:]
        for counts in (enc["counts"].decode(), plain, padded):
            clean, _ = checked_mask({"rle": {"size": [h, w], "counts": counts}}, w, h)
            assert clean["rle"]["counts"] == enc["counts"].decode(), counts
        outline = mask_outline(clean)
        assert outline["bbox"] == [int(v) for v in mask_api.toBbox(enc)]
