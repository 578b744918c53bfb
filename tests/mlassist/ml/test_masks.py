import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mlassist.ml.features import stack_spatial
from mlassist.ml.predict import predict_masks
from mlassist.ml.training import train_mask_head

pytestmark = pytest.mark.slow


def test_mask_head_segments_shapes_as_coco_rle(shapes, shape_blobs):
    spatial, sizes = stack_spatial(shape_blobs)
    result = train_mask_head(spatial, shapes["masks"], shapes["classes"], sizes, 3)
    assert result.metrics["map50"] >= 0.5, result.metrics

    va = result.val_indices[:6]
    found = predict_masks(result.model, spatial[va], sizes[va])
    assert any(found)
    for props, (w, h), gt_masks in zip(found, sizes[va], [shapes["masks"][i] for i in va], strict=True):
        for p in props:
            assert isinstance(p.rle["counts"], str) and p.rle["size"] == [h, w]
            m = mask_utils.decode({"size": p.rle["size"], "counts": p.rle["counts"].encode()})
            assert m.shape == (h, w) and int(m.sum()) == p.area
        # Every object is covered by a proposal of at least 0.5 IoU, or nearly so on average.
        if props and gt_masks:
            ious = [max(np.logical_and(g, mask_utils.decode({**p.rle, "counts": p.rle["counts"].encode()})).sum()
                        / np.logical_or(g, mask_utils.decode({**p.rle, "counts": p.rle["counts"].encode()})).sum()
                        for p in props) for g in gt_masks]  # fmt: skip
            assert np.mean(ious) > 0.3
