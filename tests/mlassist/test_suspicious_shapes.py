"""Suspicious labels beyond single-label tags: boxes after a real training run, multi-label tags."""

import numpy as np
import pytest

from labeling.services.annotations import annotation_create
from mlassist.ml.features import ImageFeatures as Features
from mlassist.ml.features import stack_pooled
from mlassist.models import ImageFeatures, SuspiciousLabel
from mlassist.services.audit import suspicious_labels_refresh, suspicious_shapes_refresh
from mlassist.services.datasets import label_set
from mlassist.services.features import backbone_config, features_of

from ..factories import ImageFactory
from .synthetic import feature_images, train

pytestmark = pytest.mark.django_db


def middle(image):
    # The synthetic object fills the middle 2x2 cells of the 4x4 map: the middle half of the picture.
    return {"x": image.width / 4, "y": image.height / 4, "w": image.width / 2, "h": image.height / 2}


def corner(image):
    return {"x": 0, "y": 0, "w": image.width / 5, "h": image.height / 5}


def test_a_box_of_the_wrong_class_and_a_box_on_nothing_are_listed_after_training(
        project, classes, annotator, client_for):
    project.set_kinds(["box"])
    project.save()
    truth = [i % 2 for i in range(40)]
    images = feature_images(project, truth, seed=3)
    wrong_class, on_nothing = images[5], images[8]
    boxes = {}
    for image, cls in zip(images, truth, strict=True):
        label = 1 - cls if image == wrong_class else cls
        boxes[image.pk] = annotation_create(image=image, user=annotator, data={
            "label_class": classes[label].pk, "kind": "box", "geometry": middle(image)})
    stray = annotation_create(image=on_nothing, user=annotator, data={
        "label_class": classes[0].pk, "kind": "box", "geometry": corner(on_nothing)})
    train(project)

    listed = client_for(annotator).get(f"/api/projects/{project.pk}/suspicious-labels/").json()
    by_annotation = {row["annotation"]["id"]: row for row in listed}
    # Listed; as "disputed" (naming the class seen) only where the other class's proposal clears the threshold.
    wrong = by_annotation[boxes[wrong_class.pk].pk]
    assert wrong["predicted_class"] in (classes[truth[5]].pk, wrong["annotation"]["label_class"])
    assert by_annotation[stray.pk]["reason"] == "not_found"
    assert by_annotation[stray.pk]["annotation"]["kind"] == "box"
    # Few of the 39 right boxes are accused (heads trained on 20 images for a few epochs are unsure
    # of some; bench.suspicious_labels measures the ranking on real pictures).
    assert len(listed) <= 10, [(row["annotation"]["image"], row["confidence"]) for row in listed]
    # Checked a moment ago: the next run does not pay for two more heads, and the list stands.
    assert suspicious_shapes_refresh(project=project, kind="box") is None
    assert SuspiciousLabel.objects.count() == len(listed)


def test_multilabel_tags_the_model_disputes_and_tags_it_misses(project, classes, annotator, client_for):
    project.multilabel = True
    project.save()
    rng = np.random.default_rng(0)
    key = backbone_config().key()
    extra_image = missing_image = None
    for i in range(60):
        given = {i % 3, (i + 1) % 3} if i % 2 else {i % 3}
        pooled = rng.normal(0, 0.3, 32)
        for c in given:
            pooled[c] += 3.0
        image = ImageFactory(project=project)
        ImageFeatures.objects.create(image=image, backbone_key=key, blob=Features(
            pooled=pooled.astype(np.float16), pooled_norm=1.0, spatial=np.zeros((2, 2, 4), np.float16),
            spatial_scale=1.0, image_width=100, image_height=80, input_size=96, backbone_key=key).to_bytes())
        tagged = set(given)
        if i == 10:  # a tag the picture does not show
            tagged.add(2)
            extra_image = image
        if i == 21:  # shows classes 0 and 1; class 1 was not tagged
            tagged.discard(1)
            missing_image = image
        for c in sorted(tagged):
            annotation_create(image=image, user=annotator, data={"label_class": classes[c].pk, "kind": "tag"})
    labels = label_set(project=project, kind="tag")
    blobs = features_of(image_ids=labels.image_ids)
    x = stack_pooled(blobs[i] for i in labels.image_ids)
    suspicious_labels_refresh(project=project, run=None, x=x, targets=labels.targets, image_ids=labels.image_ids,
                              class_ids=labels.class_ids)
    rows = SuspiciousLabel.objects.select_related("annotation")
    assert {r.annotation.image_id for r in rows} == {extra_image.pk, missing_image.pk}
    listed = {row["annotation"]["image"]: row for row in
              client_for(annotator).get(f"/api/projects/{project.pk}/suspicious-labels/").json()}
    extra = listed[extra_image.pk]
    assert extra["reason"] == "not_found" and extra["annotation"]["label_class"] == classes[2].pk
    missing = listed[missing_image.pk]
    assert missing["reason"] == "missing" and missing["predicted_class"] == classes[1].pk
