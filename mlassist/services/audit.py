"""Suspicious labels: accepted tags that a classifier trained without them confidently disputes.

Each label is judged by a model that never saw it (k-fold cross-validation on the stored
features), so a mistaken label cannot vouch for itself.
"""

import numpy as np
from django.db import transaction

from labeling.models import Annotation

from ..models import SuspiciousLabel

FOLDS = 5
CONFIDENCE = 0.8  # the held-out model's probability for its own, different answer


def suspicious_labels_refresh(*, project, run, x: np.ndarray, targets: list[list[int]], image_ids, class_ids) -> int:
    """Cross-validate the tag classifier and store the labels it disputes; returns how many."""
    from ..ml import predict, training

    n, n_classes = len(image_ids), len(class_ids)
    if n < FOLDS * 2 or project.multilabel:
        # Multi-label disputes (a missing or extra tag) need per-label calibration we do not have yet.
        SuspiciousLabel.objects.filter(annotation__image__project=project).delete()
        return 0
    y = np.array([t[0] for t in targets], np.int64)
    order = np.random.default_rng(0).permutation(n)
    disputed = []
    for fold in np.array_split(order, FOLDS):
        result = training.train_classifier(x, y, n_classes, val_indices=fold)
        probs = predict.class_probabilities(result.model, x[fold])
        for row, i in zip(probs, fold, strict=True):
            guess = int(row.argmax())
            if guess != y[i] and row[guess] >= CONFIDENCE:
                disputed.append((image_ids[i], class_ids[y[i]], class_ids[guess], float(row[guess])))
    tags = dict(
        ((image_id, class_id), pk)
        for pk, image_id, class_id in Annotation.objects.filter(
            image_id__in=[d[0] for d in disputed], kind="tag", state="accepted"
        ).values_list("id", "image_id", "label_class_id")
    )
    with transaction.atomic():
        SuspiciousLabel.objects.filter(annotation__image__project=project).delete()
        SuspiciousLabel.objects.bulk_create(
            SuspiciousLabel(annotation_id=tags[(image_id, labelled)], predicted_class_id=guess, confidence=p,
                            training_run=run)
            for image_id, labelled, guess, p in disputed
            if (image_id, labelled) in tags
        )
    return len(disputed)
