import numpy as np

from mlassist.ml import heads


def test_heads_have_the_documented_shapes_and_survive_a_keras_file(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 32)).astype(np.float32)
    box = heads.build_box_head((8, 8, 32), 3)
    mask = heads.build_mask_head((8, 8, 32), 3, upsample=4)
    tag = heads.build_classifier_head(16, 5, multilabel=True)
    assert box(x).shape == (2, 8, 8, 3 + 4)
    assert mask(x).shape == (2, 32, 32, 3 + 1)
    probs = np.asarray(tag(x[:, 0, 0, :16]))
    assert probs.shape == (2, 5) and not np.allclose(probs.sum(axis=1), 1)  # independent sigmoids
    for model in (box, mask, tag):
        path = tmp_path / f"{model.name}.keras"
        heads.save_head(model, path)
        back = heads.load_head(path)
        inp = x if len(model.input.shape) == 4 else x[:, 0, 0, :16]
        np.testing.assert_allclose(np.asarray(back(inp)), np.asarray(model(inp)), rtol=1e-5, atol=1e-6)


def test_box_loss_rewards_a_correct_peak():
    n = 1
    y = np.zeros((1, 4, 4, n + 5), np.float32)
    y[0, 1, 2, 0] = 1.0
    y[0, 1, 2, n : n + 2] = 0.5  # centre in the middle of its cell, what logit 0 predicts
    y[0, 1, 2, n + 4] = 1.0
    loss = heads.centernet_loss(n)
    good = np.full((1, 4, 4, n + 4), 0.0, np.float32)
    good[..., 0] = -6.0
    good[0, 1, 2, 0] = 6.0
    bad = good.copy()
    bad[0, 1, 2, 0], bad[0, 3, 0, 0] = -6.0, 6.0
    assert float(loss(y, good)) < 0.1 < float(loss(y, bad))
