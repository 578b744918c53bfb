"""MAIA stage 1 without labels: tiles at native resolution, clusters, thresholds, proposals.

The scenes are bench/maia_novelty.py's: small objects (12-32 px) with exact masks on textured
sand or rock, so what a person would notice (is each object proposed, how many proposals per
object, is an object cut by a tile border one proposal) is asserted directly.
"""

import numpy as np
import pytest

from bench.maia_novelty import evaluate, make_scene
from mlassist.ml import novelty, tiling

# Models trained in seconds, not minutes, on crowded small scenes: a lower bar (factor) than the default's.
FAST = dict(ae_patches=800, ae_epochs=3, fit_images=3, calibration_images=3, factor=1.8)


def test_tiles_cover_every_pixel_once_and_stitch_back():
    h, w = 300, 700
    covered = np.zeros((h, w), int)
    for t in tiling.tile_grid(h, w, 256):
        covered[t.y : t.y + t.core_h, t.x : t.x + t.core_w] += 1
    assert (covered == 1).all()
    image = np.arange(h * w, dtype=np.float32).reshape(h, w)
    parts = ((t, win) for t, win in tiling.windows(image, 128, 32))  # identity "model", stride 1
    assert np.array_equal(tiling.stitch(h, w, 1, parts, 32), image)


def test_an_object_across_a_tile_border_is_one_proposal():
    """The map is stitched before regions are cut, so the two halves never become two proposals."""
    cfg = novelty.NoveltyConfig(core=256, margin=32, min_area=10)
    novelty_map = np.zeros((192, 256), np.float32)  # stride 2 over 512 x 384
    novelty_map[60:70, 123:133] = 5.0  # x 246..266 in pixels: across the border at x = 256
    found = novelty.regions(novelty_map, 1.0, 2, 384, 512, cfg)
    assert len(found) == 1
    p = found[0]
    assert (p.x, p.y, p.w, p.h) == (246, 120, 20, 20)
    assert p.mask.all() and 0.5 < p.score < 1


def test_merge_boxes_joins_halves_cut_by_a_border_and_duplicates():
    boxes = [(240, 100, 16, 20), (256, 102, 12, 18), (400, 400, 20, 20), (401, 401, 20, 20)]
    kept = tiling.merge_boxes(boxes, [0.9, 0.8, 0.7, 0.6])
    assert sorted(kept) == [0, 2]


def test_sand_and_rock_fall_into_two_clusters():
    scenes = [make_scene(s, 320, 240) for s in range(12)]
    labels = novelty.cluster_images(np.array([novelty.image_signature(img) for img, _, _ in scenes]), 2)
    kinds = [kind for _, _, kind in scenes]
    assert len(set(kinds)) == 2
    for kind in set(kinds):
        assert len({label for label, k in zip(labels, kinds) if k == kind}) == 1


def test_the_threshold_follows_each_clusters_own_maps():
    rng = np.random.default_rng(0)
    calm = [rng.normal(1, 0.1, (50, 50)) for _ in range(5)]
    busy = [rng.normal(3, 1.0, (50, 50)) for _ in range(5)]
    assert novelty.dynamic_threshold(busy, 99) > 2 * novelty.dynamic_threshold(calm, 99)


@pytest.mark.parametrize("method", novelty.METHODS)
def test_small_objects_are_proposed_with_few_proposals_each(method):
    """Both background models find 12-32 px objects on texture, in image pixels, with few extras."""
    scenes = [make_scene(100 + s, 512, 384, kind="sand") for s in range(6)]
    cfg = novelty.NoveltyConfig(method=method, clusters=1, **FAST)
    result = novelty.novelty_detect(lambda i: scenes[i][0], len(scenes), cfg)
    recall, per_object, objects = evaluate(result.proposals, [s[1] for s in scenes], [(384, 512)] * len(scenes))
    assert objects >= 40
    # The density model on random-weight features is the weaker one (docs/benchmarks.md); both must work.
    assert recall >= (0.9 if method == "autoencoder" else 0.4)
    assert per_object <= 3
    for p in result.proposals:
        assert 0 <= p.x and p.x + p.w <= 512 and 0 <= p.y and p.y + p.h <= 384
        assert p.mask.shape == (p.h, p.w) and p.mask.any()


def test_resuming_gives_the_remaining_images_with_the_same_clusters():
    scenes = [make_scene(200 + s, 320, 240) for s in range(4)]
    cfg = novelty.NoveltyConfig(clusters=1, **FAST)
    seen = []
    result = novelty.novelty_detect(lambda i: scenes[i][0], 4, cfg, on_image=lambda i, props: seen.append(i),
                                    start=2, clusters=[0, 0, 0, 0])
    assert seen == [2, 3]
    assert result.clusters == [0, 0, 0, 0] and result.proposals == []


def test_an_unknown_method_is_named():
    with pytest.raises(ValueError, match="'knn' is not one of autoencoder, density"):
        novelty.NoveltyConfig(method="knn")
