"""Gather the accepted labels of a project as plain arrays for the heads (no TensorFlow here)."""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as mask_api

from labeling.models import Annotation

# Annotation kind -> the head that learns it.
HEAD_OF_KIND = {"tag": "classifier", "box": "detector", "mask": "segmenter"}
MIN_IMAGES = 4  # below this there is no held-out split worth the name


@dataclass
class LabelSet:
    kind: str
    image_ids: list[int]
    class_ids: list[int]  # label class ids, in the order of the head's outputs
    targets: list = field(default_factory=list)  # per image: class index / multi-hot / (boxes, classes) / (masks, classes)
    labels_used: int = 0
    problem: str = ""  # why this kind cannot be trained yet
    # Digest of every accepted label (image, class, geometry) in order: two runs with the same digest
    # on the same backbone would train the same head, so the second makes no new version.
    fingerprint: str = ""


def label_set(*, project, kind: str) -> LabelSet:
    """Accepted labels of one kind, per image, with their classes numbered for the head."""
    rows = (
        Annotation.objects.filter(image__project=project, kind=kind, state=Annotation.State.ACCEPTED)
        .order_by("image_id", "id")
        .values_list("image_id", "label_class_id", "geometry")
    )
    per_image = defaultdict(list)
    digest = hashlib.sha256(f"{kind}:{project.multilabel}".encode())
    for image_id, class_id, geometry in rows.iterator(chunk_size=2000):
        per_image[image_id].append((class_id, geometry))
        digest.update(json.dumps([image_id, class_id, geometry], sort_keys=True).encode())
    class_ids = sorted({c for items in per_image.values() for c, _ in items})
    index = {c: i for i, c in enumerate(class_ids)}
    image_ids = sorted(per_image)
    labels = LabelSet(kind=kind, image_ids=image_ids, class_ids=class_ids, labels_used=sum(map(len, per_image.values())),
                      fingerprint=digest.hexdigest())
    if len(image_ids) < MIN_IMAGES:
        labels.problem = f"{len(image_ids)} images have accepted {kind} labels; training needs {MIN_IMAGES}."
    elif kind == "tag" and len(class_ids) < 2:
        labels.problem = "Tags of at least two classes are needed to train a classifier."
    if labels.problem:
        return labels
    for image_id in image_ids:
        items = per_image[image_id]
        if kind == "tag":
            labels.targets.append([index[c] for c, _ in items])
        elif kind == "box":
            boxes = np.array([[g["x"], g["y"], g["w"], g["h"]] for _, g in items], np.float32).reshape(-1, 4)
            labels.targets.append((boxes, np.array([index[c] for c, _ in items], np.int64)))
        else:
            masks = [mask_api.decode({"size": g["rle"]["size"], "counts": g["rle"]["counts"].encode()}).astype(bool)
                     for _, g in items]
            labels.targets.append((masks, np.array([index[c] for c, _ in items], np.int64)))
    return labels


def tag_matrix(targets: list[list[int]], n_classes: int, multilabel: bool) -> np.ndarray:
    """Class indices (single-label) or a multi-hot matrix (multi-label) from per-image tag classes."""
    if multilabel:
        y = np.zeros((len(targets), n_classes), np.float32)
        for row, classes in enumerate(targets):
            y[row, classes] = 1
        return y
    # Single-label projects hold one accepted tag per image.
    return np.array([classes[0] for classes in targets], np.int64)


def training_readiness(*, project) -> list[dict]:
    """Per head the project uses: how many images have accepted labels of its kind, the minimum
    (MIN_IMAGES), and why it cannot train yet ("" when it can). Shown where training is started."""
    from django.db.models import Count

    out = []
    for kind in (k for k in project.kinds if k in HEAD_OF_KIND):
        row = (Annotation.objects.filter(image__project=project, kind=kind, state=Annotation.State.ACCEPTED)
               .aggregate(images=Count("image_id", distinct=True), classes=Count("label_class_id", distinct=True)))
        problem = ""
        if row["images"] < MIN_IMAGES:
            problem = f"{row['images']} images have accepted {kind} labels; training needs {MIN_IMAGES}."
        elif kind == "tag" and row["classes"] < 2:
            problem = "Tags of at least two classes are needed to train a classifier."
        out.append({"kind": kind, "head": HEAD_OF_KIND[kind], "labelled_images": row["images"],
                    "classes": row["classes"], "min_images": MIN_IMAGES, "min_classes": 2 if kind == "tag" else 1,
                    "ready": not problem, "problem": problem})
    return out
