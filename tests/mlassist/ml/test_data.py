import numpy as np

from mlassist.ml import data


def test_box_target_puts_a_peak_offset_and_size_at_the_centre_cell():
    # 160x120 image on an 8x8 map: cells are 20 x 15 image pixels.
    boxes = [np.array([[30.0, 45.0, 40.0, 30.0]])]  # centre (50, 60) -> cell x 2.5, y 4.0
    t = data.box_targets(boxes, [np.array([1])], np.array([[160, 120]]), (8, 8), n_classes=2)
    assert t.shape == (1, 8, 8, 2 + 5)
    assert t[0, 4, 2, 1] == 1.0 and t[0, :, :, 1].sum() > 1.0  # peak plus Gaussian shoulders
    assert np.count_nonzero(t[0, :, :, 1] == 1.0) == 1
    assert t[0, :, :, 0].max() == 0.0  # other class untouched
    np.testing.assert_allclose(t[0, 4, 2, 2:4], [0.5, 0.0])
    np.testing.assert_allclose(np.exp(t[0, 4, 2, 4:6]), [40 / 20, 30 / 15])
    assert t[0, :, :, 6].sum() == 1.0 and t[0, 4, 2, 6] == 1.0


def test_flipping_boxes_and_maps_flips_the_targets():
    sizes = np.array([[160, 120]])
    boxes = [np.array([[10.0, 20.0, 30.0, 40.0]])]
    flipped = data.flip_boxes(boxes, sizes)
    np.testing.assert_allclose(flipped[0], [[120.0, 20.0, 30.0, 40.0]])
    a = data.box_targets(boxes, [np.array([0])], sizes, (8, 8), 1)
    b = data.box_targets(flipped, [np.array([0])], sizes, (8, 8), 1)
    np.testing.assert_allclose(data.flip_maps(a)[..., 0], b[..., 0], atol=1e-6)  # heatmaps mirror each other
    maps = np.arange(2 * 3 * 4 * 1).reshape(2, 3, 4, 1)
    assert data.flip_maps(maps)[1, 2, 0, 0] == maps[1, 2, 3, 0]

    spatial, sizes2, boxes2, masks2, classes2 = data.augment_flips(
        np.zeros((1, 8, 8, 4)), sizes, boxes=boxes, masks=[[np.eye(120, 160, dtype=bool)]], classes=[np.array([0])]
    )
    assert spatial.shape[0] == 2 and len(boxes2) == len(masks2) == len(classes2) == 2 and sizes2.shape == (2, 2)
    assert masks2[1][0][0, -1] and not masks2[1][0][0, 0]


def test_mask_targets_at_head_resolution():
    m = np.zeros((120, 160), bool)
    m[0:60, 0:80] = True  # top-left quarter
    t = data.mask_targets([[m]], [np.array([2])], (8, 8))
    assert t.shape == (1, 8, 8)
    assert (t[0, :4, :4] == 3).all() and (t[0, 4:, :] == 0).all() and (t[0, :, 4:] == 0).all()


def test_split_is_deterministic_stratified_and_disjoint():
    labels = [0] * 50 + [1] * 10 + [2] * 1
    tr, va = data.split_indices(len(labels), labels, 0.2, seed=3)
    tr2, va2 = data.split_indices(len(labels), labels, 0.2, seed=3)
    assert tr.tolist() == tr2.tolist() and va.tolist() == va2.tolist()
    assert set(tr).isdisjoint(va) and len(tr) + len(va) == 61
    val_labels = [labels[i] for i in va]
    assert val_labels.count(0) == 10 and val_labels.count(1) == 2
    assert 60 in tr  # a class seen once stays in training
    assert data.split_indices(61, labels, 0.2, seed=4)[1].tolist() != va.tolist()


def test_multilabel_strata_use_the_rarest_label():
    y = np.array([[1, 1, 0], [1, 0, 0], [1, 0, 1], [0, 0, 0]])
    assert data.multilabel_strata(y) == [1, 0, 2, -1]
