"""Box and mask proposals fitted to the object in the image's own pixels, after the heads.

Why: the heads see the backbone's map of the picture, 8x8 cells at 128 px, so a box lands to
about a cell and a mask's edge is a blurred upsampling. On the effort benchmark's data set
(bench/effort.py) a box head trained on 20 pictures found 47 of 100 objects at IoU >= 0.5 (at
threshold 0.3), 38 of them under 0.75: each such box costs an edit, a box under 0.5 a drawing.
A person's rough box is what the smart tools' GrabCut (labeling/smart/grabcut.py, the
workspace's box-to-mask) was made for, so each proposal is handed to it as one: the proposal's
box grown by GROW of its size on every side (the head's box is often too small or off by part of
a cell), and GrabCut's answer, cut from the colours inside against those around, gives the tight
box (boxes) or the mask (masks). In the same measurement (heads trained on 20 pictures, proposals
for the 100 others) this took box recall at IoU 0.5 from 0.59 to 0.75 and the boxes needing an
edit from 50 to 5; for masks it took those needing an edit from 24 to 1.

GrabCut can fail where the object does not stand out from its surroundings (a flat picture, a
camouflaged object): an answer that agrees less than AGREE (IoU) with the head's own is dropped
and the head's proposal kept, so a refinement can move a proposal onto the object but not
replace it by something else. The picture is decoded reduced, only as fine as its smallest
proposal needs (FIT_SIDE) and at most MAX_SIDE a side, which keeps a retrain's refit in tens of
milliseconds an image; a picture whose file cannot be read keeps the heads' proposals.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

GROW = 0.25
AGREE = 0.3
MAX_SIDE = 2048
FIT_SIDE = 96  # pixels the smallest proposal spans on the decoded picture
# GrabCut's own work size (the smart tool's is 160 px for a person's click): a proposal's fit needs
# about a pixel in a hundred, and GrabCut's time grows with the pixels, so 96 px costs a third.
WORK_SIDE = 96


def _iou_boxes(a, b) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _grown(bbox, width: int, height: int) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in bbox)
    x0, y0 = max(0.0, x - GROW * w), max(0.0, y - GROW * h)
    x1, y1 = min(float(width), x + w + GROW * w), min(float(height), y + h + GROW * h)
    return x0, y0, max(1.0, x1 - x0), max(1.0, y1 - y0)


def refine_box(levels, width: int, height: int, bbox) -> list[float]:
    """The tight box of what GrabCut finds around ``bbox`` ([x, y, w, h]); ``bbox`` itself when it disagrees."""
    from labeling.smart.grabcut import grabcut_box_to_mask
    from labeling.smart.rle import crop_mask_bbox

    crop = grabcut_box_to_mask(levels, width=width, height=height, box=_grown(bbox, width, height),
                               work_side=WORK_SIDE)
    tight = crop_mask_bbox(crop)
    if tight is None or _iou_boxes(tight, bbox) < AGREE:
        return list(bbox)
    return [float(v) for v in tight]


def refine_mask(levels, width: int, height: int, rle: dict, bbox) -> tuple[dict, list[float], int]:
    """(rle, bbox, area) of what GrabCut finds around the mask's box; the mask's own when they disagree."""
    from pycocotools import mask as mask_utils

    from labeling.smart.grabcut import grabcut_box_to_mask
    from labeling.smart.rle import crop_mask_area, crop_mask_bbox, crop_mask_to_rle

    crop = grabcut_box_to_mask(levels, width=width, height=height, box=_grown(bbox, width, height),
                               work_side=WORK_SIDE)
    new = crop_mask_to_rle(crop, height, width)
    area = crop_mask_area(crop)
    if not area:
        return rle, list(bbox), int(mask_utils.area(_coco(rle)))
    if float(mask_utils.iou([_coco(new)], [_coco(rle)], [0])[0][0]) < AGREE:
        return rle, list(bbox), int(mask_utils.area(_coco(rle)))
    return new, [float(v) for v in crop_mask_bbox(crop)], int(area)


def _coco(rle: dict) -> dict:
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.encode() if isinstance(counts, str) else counts}


def image_levels_or_none(image, smallest_side: float):
    """The picture reduced so that its smallest proposal still spans about FIT_SIDE pixels, as the one
    level GrabCut works on; None when it cannot be read (then the heads' proposals stand).

    Decoded reduced (JPEG by libjpeg's scaling, PNG a strip at a time): a 1024-px photo costs a few
    milliseconds instead of a full decode and a pyramid per retrain.
    """
    import numpy as np

    from labeling.smart.pyramid import _TRANSPOSE, Level

    from ..ml.decode import decode_reduced

    # At most MAX_SIDE pixels a side whatever the picture (memory and time stay bounded); a small
    # object on a huge picture is then fitted on fewer pixels, still finer than the heads' map.
    factor = max(1, int(smallest_side // FIT_SIDE), -(-max(image.width, image.height) // MAX_SIDE))
    try:
        with image.file.open("rb") as fh:
            img, _, orientation = decode_reduced(fh, max(1, min(image.width, image.height) // factor))
    except (OSError, ValueError) as exc:  # a missing or damaged file: the proposals are still worth having
        logger.warning("proposals on image %s not refined: %s", image.pk, exc)
        return None
    if orientation in _TRANSPOSE:
        img = img.transpose(_TRANSPOSE[orientation])
    # decode_reduced shrinks by the largest whole factor keeping the short side >= the size asked.
    real = max(1, round(max(image.width, image.height) / max(img.size)))
    return [Level(real, np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8)))]


def refine_found(image, kind: str, items: list, decoded: dict) -> list:
    """``items`` (predict.BoxProposal or MaskProposal of one image) with their shapes fitted by GrabCut.

    ``decoded`` holds the pictures decoded so far, so a picture with boxes and masks is decoded once.
    """
    if not items:
        return items
    smallest = min(max(float(p.bbox[2]), float(p.bbox[3])) for p in items)
    key = (image.pk, int(smallest // FIT_SIDE))
    if key not in decoded:
        decoded[key] = image_levels_or_none(image, smallest)
    levels = decoded[key]
    if levels is None:
        return items
    out = []
    for p in items:
        if kind == "box":
            p.bbox = refine_box(levels, image.width, image.height, p.bbox)
        else:
            p.rle, p.bbox, p.area = refine_mask(levels, image.width, image.height, p.rle, p.bbox)
        out.append(p)
    return out

