"""Suspicious labels (cross-validated disputes) and the uncertainty-first queue."""

import numpy as np
import pytest

from labeling.models import Project
from labeling.services.annotations import annotation_create
from mlassist.ml.features import ImageFeatures as Features
from mlassist.models import ImageFeatures, ImageUncertainty, ModelVersion, SuspiciousLabel
from mlassist.services.audit import suspicious_labels_refresh
from mlassist.services.datasets import label_set
from mlassist.services.features import backbone_config, features_of

from ..factories import ImageFactory

pytestmark = pytest.mark.django_db


def test_mistaken_tags_are_flagged_and_correct_ones_are_not(project, classes, annotator, client_for):
    rng = np.random.default_rng(0)
    key = backbone_config().key()
    images, flipped = [], set()
    for i in range(60):
        truth = i % 2
        centre = np.zeros(32, np.float32)
        centre[truth] = 3.0
        pooled = (centre + rng.normal(0, 0.3, 32)).astype(np.float16)
        image = ImageFactory(project=project)
        blob = Features(pooled=pooled, pooled_norm=1.0, spatial=np.zeros((2, 2, 4), np.float16), spatial_scale=1.0,
                        image_width=100, image_height=80, input_size=96, backbone_key=key).to_bytes()
        ImageFeatures.objects.create(image=image, backbone_key=key, blob=blob)
        label = 1 - truth if i in (3, 10) else truth  # two people's mistakes
        if label != truth:
            flipped.add(image.pk)
        annotation_create(image=image, user=annotator, data={"label_class": classes[label].pk, "kind": "tag"})
        images.append(image)
    labels = label_set(project=project, kind="tag")
    blobs = features_of(image_ids=labels.image_ids)
    from mlassist.ml.features import stack_pooled

    x = stack_pooled(blobs[i] for i in labels.image_ids)
    suspicious_labels_refresh(project=project, run=None, x=x, targets=labels.targets, image_ids=labels.image_ids,
                              class_ids=labels.class_ids)
    flagged = {s.annotation.image_id for s in SuspiciousLabel.objects.all()}
    assert flagged == flipped
    listed = client_for(annotator).get(f"/api/projects/{project.pk}/suspicious-labels/").json()
    assert {row["annotation"]["image"] for row in listed} == flipped
    assert all(row["confidence"] >= 0.8 for row in listed)


def test_uncertainty_queue_gives_the_least_certain_image_first(project, annotator, client_for):
    project.queue_order = Project.QueueOrder.UNCERTAINTY
    project.save()
    version = ModelVersion.objects.create(project=project, kind="classifier", number=1, in_service=True)
    sure, unsure, unscored = (ImageFactory(project=project) for _ in range(3))
    ImageUncertainty.objects.create(image=sure, margin=0.9, model_version=version)
    ImageUncertainty.objects.create(image=unsure, margin=0.05, model_version=version)
    api = client_for(annotator)
    order = []
    for _ in range(3):
        image = api.get(f"/api/projects/{project.pk}/next-image/").json()
        order.append(image["id"])
        api.patch(f"/api/images/{image['id']}/", {"status": "done"}, format="json")
    assert order == [unsure.pk, sure.pk, unscored.pk]
