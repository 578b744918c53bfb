"""A coarse mask written as whole-image COCO RLE must equal pycocotools' encoding of it upscaled."""

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from labeling.smart.rle import CropMask, crop_mask_area, crop_mask_bbox, crop_mask_to_rle


@pytest.mark.parametrize("seed", range(5))
def test_rle_of_a_coarse_crop_matches_pycocotools_on_the_upscaled_mask(seed):
    rng = np.random.default_rng(seed)
    for _ in range(60):
        H, W = (int(v) for v in rng.integers(1, 40, 2))
        y0, x0 = int(rng.integers(0, H)), int(rng.integers(0, W))
        y1, x1 = int(rng.integers(y0 + 1, H + 1)), int(rng.integers(x0 + 1, W + 1))
        mh, mw = int(rng.integers(1, y1 - y0 + 1)), int(rng.integers(1, x1 - x0 + 1))
        crop = CropMask(x0, y0, x1, y1, rng.random((mh, mw)) < rng.random())
        full = np.zeros((H, W), np.uint8)
        full[y0:y1, x0:x1] = crop.upscaled()
        want = mask_utils.encode(np.asfortranarray(full))
        assert crop_mask_to_rle(crop, H, W) == {"size": [H, W], "counts": want["counts"].decode()}
        assert crop_mask_area(crop) == full.sum()
        if full.any():
            assert crop_mask_bbox(crop) == [int(v) for v in mask_utils.toBbox(want)]
        else:
            assert crop_mask_bbox(crop) is None


def test_a_mask_of_an_8000_px_image_is_encoded_without_building_it_whole():
    grid = np.zeros((1000, 1000), bool)
    grid[100:900, 200:700] = True
    crop = CropMask(0, 0, 8000, 8000, grid)
    rle = crop_mask_to_rle(crop, 8000, 8000)
    back = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    assert back.sum() == 800 * 8 * 500 * 8 == crop_mask_area(crop)
    assert crop_mask_bbox(crop) == [1600, 800, 4000, 6400]
