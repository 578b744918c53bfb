"""Box and mask proposals are fitted to the object in the picture's pixels (GrabCut), not left where
the heads' coarse map put them; where GrabCut finds nothing that agrees, the head's proposal stands."""

import io

import numpy as np
import PIL.Image
import PIL.ImageDraw
import pytest
from pycocotools import mask as mask_utils

from mlassist.ml.predict import BoxProposal, MaskProposal, encode_rle
from mlassist.services.refine import refine_found

from ..factories import ImageFactory, image_bytes

pytestmark = pytest.mark.django_db


def box_iou(a, b):
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)


def picture(seed=0):
    """A green disc (its box and mask) on a noisy grey 128 px picture."""
    rng = np.random.default_rng(seed)
    im = PIL.Image.fromarray(rng.integers(70, 150, (128, 128, 3)).astype(np.uint8))
    truth = PIL.Image.new("L", (128, 128), 0)
    for target, fill in ((PIL.ImageDraw.Draw(im), (60, 190, 80)), (PIL.ImageDraw.Draw(truth), 255)):
        target.ellipse([30, 40, 89, 99], fill=fill)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue(), [30.0, 40.0, 60.0, 60.0], np.asarray(truth) > 127


def mask_iou(rle, truth):
    m = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)
    return (m & truth).sum() / (m | truth).sum()


def test_a_box_off_by_part_of_a_cell_is_fitted_to_the_object():
    data, truth, _ = picture()
    image = ImageFactory(file__data=data, width=128, height=128)
    head = [26.0, 44.0, 52.0, 52.0]  # too small and off by part of a 16-px cell, as an 8x8 map places it
    assert box_iou(head, truth) < 0.75  # a person would have to edit it
    (fitted,) = refine_found(image, "box", [BoxProposal(0, 0.4, list(head))], {})
    assert box_iou(fitted.bbox, truth) >= 0.85, fitted.bbox
    assert fitted.score == 0.4 and fitted.class_index == 0


def test_a_blocky_mask_is_fitted_to_the_object_edge():
    data, box, truth = picture(seed=1)
    image = ImageFactory(file__data=data, width=128, height=128)
    coarse = np.zeros((128, 128), bool)
    coarse[48:96, 32:80] = True  # a 16-px-cell blob, shifted from the disc
    before = mask_iou(encode_rle(coarse), truth)
    assert before < 0.75
    proposal = MaskProposal(2, 0.7, encode_rle(coarse), [32.0, 48.0, 48.0, 48.0], int(coarse.sum()))
    (fitted,) = refine_found(image, "mask", [proposal], {})
    after = mask_iou(fitted.rle, truth)
    assert after >= 0.85 > before, (before, after)
    assert fitted.area == int(mask_utils.area({"size": fitted.rle["size"], "counts": fitted.rle["counts"].encode()}))
    assert box_iou(fitted.bbox, box) >= 0.85


def test_on_a_flat_picture_the_heads_proposal_stands():
    image = ImageFactory(file__data=image_bytes(128, 128, color=(90, 90, 90)), width=128, height=128)
    head = [30.0, 40.0, 50.0, 40.0]
    (kept,) = refine_found(image, "box", [BoxProposal(1, 0.6, list(head))], {})
    assert box_iou(kept.bbox, head) >= 0.3  # nothing to cut from: never moved away from the head's box


def test_an_unreadable_picture_keeps_the_heads_proposals():
    image = ImageFactory(file__data=b"not a picture", width=128, height=128)
    head = [10.0, 10.0, 20.0, 20.0]
    (kept,) = refine_found(image, "box", [BoxProposal(0, 0.5, list(head))], {})
    assert kept.bbox == head


def test_a_photo_is_fitted_on_a_reduced_decode_in_image_coordinates():
    rng = np.random.default_rng(3)
    im = PIL.Image.fromarray(rng.integers(70, 150, (768, 1024, 3)).astype(np.uint8))
    PIL.ImageDraw.Draw(im).ellipse([300, 200, 659, 559], fill=(60, 190, 80))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    image = ImageFactory(file__data=out.getvalue(), width=1024, height=768)
    truth = [300.0, 200.0, 360.0, 360.0]
    head = [320.0, 240.0, 300.0, 290.0]  # inside the disc, short of its edges
    assert box_iou(head, truth) < 0.75
    (fitted,) = refine_found(image, "box", [BoxProposal(0, 0.5, list(head))], {})
    assert box_iou(fitted.bbox, truth) >= 0.85, fitted.bbox
