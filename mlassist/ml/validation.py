"""Validation that grows with the labels, a paired test for promotion, and per-head thresholds.

Plain NumPy (no Keras, no database): the services pass predictions and ground truth in.

Why these choices:
- The validation split is a stratified fixed fraction of ALL labelled images, drawn again for
  every version. It keeps the images the serving version was validated on (neither model has
  trained on them, so comparing the two there is fair) and draws the rest of the fraction from
  the other labelled images. The first version's 1-2 images no longer decide for ever.
- A new version trained on more labels is promoted unless the serving one is *significantly*
  better on the images both held out (exact paired sign test on the per-image score, one-sided
  p < 0.05). On a handful of images nothing is significant, so the newest wins: more labels are
  the better bet than noise on 2 images (the old rule discarded 5 of 9 detectors that way).
- The proposal threshold of a head is the score that maximises the simulated annotator's saved
  seconds on its validation images, with the published action costs: a right proposal saves
  (draw by hand - check), a wrong one costs a rejection. Cheap rejections push box and mask
  thresholds down (recall up), as the 0.3-threshold experiment in issue 12 showed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Published action costs in seconds (issue 12; MAIA and extreme clicking figures).
COST = {"tag": 3.0, "check": 1.6, "edit": 2.2, "reject": 1.0, "box": 7.0, "box_classic": 34.5, "mask": 79.0}
KIND_OF_HEAD = {"classifier": "tag", "detector": "box", "segmenter": "mask"}
VAL_FRACTION = 0.2
SIGNIFICANCE = 0.05
THRESHOLD_RANGE = (0.05, 0.95)


def draw_validation(strata: Sequence, *, keep: Sequence[int] = (), fraction: float = VAL_FRACTION,
                    seed: int = 0) -> np.ndarray:
    """Validation indices: ``keep`` plus a stratified draw from the rest, ``fraction`` of all in total.

    Per stratum (class), the share drawn is the stratum's size times ``fraction``, rounded, less
    what ``keep`` already holds of it; a stratum always keeps one item for training.
    """
    strata = list(strata)
    n = len(strata)
    keep_set = {int(i) for i in keep if 0 <= int(i) < n}
    rng = np.random.default_rng(seed)
    groups: dict = {}
    for i, s in enumerate(strata):
        groups.setdefault(s, []).append(i)
    val = set(keep_set)
    for key in sorted(groups, key=repr):
        members = groups[key]
        want = int(round(len(members) * fraction))
        want = min(want, len(members) - 1)  # one left to learn the class from
        have = sum(1 for i in members if i in keep_set)
        free = [i for i in members if i not in keep_set]
        if want > have and free:
            val.update(int(i) for i in rng.permutation(free)[: want - have])
    if not val and n >= 2:
        # Tiny sets (every stratum rounded to 0): one item from the largest stratum still validates.
        largest = max(sorted(groups, key=repr), key=lambda k: len(groups[k]))
        if len(groups[largest]) >= 2:
            val.add(int(rng.choice(groups[largest])))
    return np.array(sorted(val), int)


def paired_sign_test(new: Sequence[float], old: Sequence[float]) -> dict:
    """How sure we are that ``old`` scores higher than ``new`` on the same items (exact sign test).

    Only the items where the two differ count (McNemar's test when scores are right/wrong).
    ``p_old_better`` is the one-sided p-value: the chance of the old version winning at least
    this many of the differing items if both were equally good. Two items both won by the old
    version give 0.25 (noise); five out of five give 0.031.
    """
    from scipy.stats import binom

    new, old = np.asarray(new, float), np.asarray(old, float)
    n = len(new)
    if n == 0:
        return {"n": 0, "new": None, "old": None, "differing": 0, "p_old_better": 1.0}
    diff = new - old
    differing = int(np.sum(np.abs(diff) > 1e-12))
    old_wins = int(np.sum(diff < -1e-12))
    p = float(binom.sf(old_wins - 1, differing, 0.5)) if differing else 1.0
    return {"n": int(n), "new": float(new.mean()), "old": float(old.mean()), "differing": differing,
            "old_wins": old_wins, "p_old_better": p}


def keep_serving(comparison: dict) -> bool:
    return comparison["n"] > 0 and comparison["p_old_better"] < SIGNIFICANCE


# ---------------------------------------------------------------- outcomes of proposals


def tag_outcomes(probs: np.ndarray, y: np.ndarray, multilabel: bool) -> list[list[tuple[float, bool]]]:
    """Per image, (score, right) for every proposal a threshold could let through."""
    out = []
    for i, row in enumerate(np.asarray(probs)):
        if multilabel:
            out.append([(float(row[c]), bool(y[i][c])) for c in range(len(row))])
        else:
            c = int(np.argmax(row))
            out.append([(float(row[c]), c == int(y[i]))])
    return out


def tag_truth_counts(y: np.ndarray, multilabel: bool) -> list[int]:
    return [int(np.sum(row)) for row in np.asarray(y)] if multilabel else [1] * len(y)


def _box_iou(a, b) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw, ih = max(0.0, min(ax1, bx1) - max(a[0], b[0])), max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def shape_outcomes(found, truth, truth_classes, iou_type: str = "bbox", iou_min: float = 0.5):
    """Per image, (score, right) per prediction: right when it matches an unmatched truth of its class
    at IoU >= iou_min, greedily by score (COCO's rule at one IoU)."""
    from pycocotools import mask as mask_utils

    out = []
    for preds, shapes, classes in zip(found, truth, truth_classes, strict=True):
        if iou_type == "segm":
            shapes = [_rle(s) for s in shapes]
        used = set()
        rows = []
        for p in sorted(preds, key=lambda p: -p.score):
            best, best_j = iou_min, None
            for j, (shape, cls) in enumerate(zip(shapes, classes, strict=True)):
                if j in used or int(cls) != p.class_index:
                    continue
                if iou_type == "segm":
                    rle = {"size": p.rle["size"], "counts": p.rle["counts"].encode()}
                    iou = float(mask_utils.iou([rle], [shape], [0])[0][0])
                else:
                    iou = _box_iou(p.bbox, [float(v) for v in shape])
                if iou >= best:
                    best, best_j = iou, j
            if best_j is not None:
                used.add(best_j)
            rows.append((float(p.score), best_j is not None))
        out.append(rows)
    return out


def _rle(shape):
    """A COCO RLE pycocotools can read, from a mask array or a JSON-ready RLE (counts as str)."""
    from pycocotools import mask as mask_utils

    if isinstance(shape, dict):
        counts = shape["counts"]
        return {"size": list(shape["size"]), "counts": counts.encode() if isinstance(counts, str) else counts}
    return mask_utils.encode(np.asfortranarray(np.asarray(shape, np.uint8)))


def choose_threshold(outcomes, n_truth: Sequence[int], kind: str) -> dict:
    """The score that maximises saved seconds on these outcomes, and precision/recall there.

    A right proposal saves (draw or choose by hand - check); a wrong one costs a rejection.
    """
    gain = COST[kind] - COST["check"]
    loss = COST["reject"]
    flat = sorted((s, t) for rows in outcomes for s, t in rows)
    total = int(sum(n_truth))
    if not flat or total == 0:
        return {}
    scores = np.array([s for s, _ in flat])
    right = np.array([t for _, t in flat], bool)
    # Proposals at or above scores[k]: suffix sums.
    tp = np.cumsum(right[::-1])[::-1]
    fp = np.cumsum(~right[::-1])[::-1]
    saved = tp * gain - fp * loss
    lo, hi = THRESHOLD_RANGE
    # Cut only between different scores: equal scores are let in or left out together.
    allowed = (scores >= lo) & (scores <= hi) & np.r_[True, scores[1:] != scores[:-1]]
    if not allowed.any():
        return {}
    k = int(np.argmax(np.where(allowed, saved, -np.inf)))
    # The cut lies between the last score left out and the first let in: halfway, so a few validation
    # images do not pin the threshold to their own lowest score (0.93 would hide a right 0.9 answer).
    t = float(np.clip((scores[k] + (scores[k - 1] if k > 0 else 0.0)) / 2, lo, hi))
    return {"threshold": t, "precision_at_threshold": float(tp[k] / (tp[k] + fp[k])),
            "recall_at_threshold": float(min(1.0, tp[k] / total)), "saved_s_per_image": float(saved[k] / len(outcomes))}


def item_scores(outcomes, n_truth: Sequence[int], threshold: float) -> np.ndarray:
    """Per image F1 of the proposals at ``threshold`` (1.0 when nothing is there and nothing proposed)."""
    out = []
    for rows, g in zip(outcomes, n_truth, strict=True):
        kept = [t for s, t in rows if s >= threshold]
        tp, p = sum(kept), len(kept)
        out.append(1.0 if p + g == 0 else 2 * tp / (p + g))
    return np.array(out, float)
