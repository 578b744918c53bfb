"""Validation grows with the labels, noise does not keep an old version, each head has its threshold."""

import pytest

from mlassist.models import ModelVersion
from mlassist.services.proposals import proposals_refresh

from .synthetic import feature_images, proposed, tag, train

pytestmark = pytest.mark.django_db


@pytest.fixture
def tags(project, classes, annotator):
    project.set_kinds(["tag"])
    project.save()
    truth = [i % 2 for i in range(60)]
    images = feature_images(project, truth, noise=1.2, seed=3)
    return project, images, truth


def label(images, truth, classes, user, start, stop):
    for image, cls in list(zip(images, truth))[start:stop]:
        tag(image, classes[cls], user)


def test_the_split_grows_with_the_labels_and_the_newer_version_serves(tags, classes, annotator):
    project, images, truth = tags
    label(images, truth, classes, annotator, 0, 5)
    train(project)
    v1 = ModelVersion.objects.get(project=project, kind="classifier")
    assert v1.metrics["n_val"] == len(v1.validation_images) == 1
    label(images, truth, classes, annotator, 5, 45)
    train(project)
    v2 = ModelVersion.objects.get(project=project, kind="classifier", number=2)
    # 20 % of the 45 labelled images, re-drawn, still holding v1's image (both versions held it out).
    assert len(v2.validation_images) == v2.metrics["n_val"] == 9
    assert set(v1.validation_images) <= set(v2.validation_images)
    assert v2.metrics["n_labelled_images"] == 45
    compared = v2.metrics["compared_with"]
    assert compared["version"] == 1 and compared["n"] == 1 and compared["p_old_better"] >= 0.5
    assert v2.in_service


def test_each_head_proposes_at_its_own_threshold_unless_the_manager_set_one(tags, classes, annotator):
    project, images, truth = tags
    label(images, truth, classes, annotator, 0, 30)
    train(project)
    version = ModelVersion.objects.get(project=project, kind="classifier", in_service=True)
    assert 0.05 <= version.metrics["threshold"] <= 0.95
    assert {"precision_at_threshold", "recall_at_threshold"} <= set(version.metrics)
    scores = sorted(proposed(project).values_list("score", flat=True))
    assert scores and min(scores) >= version.metrics["threshold"]
    # A stricter threshold stored with the version: fewer proposals.
    ModelVersion.objects.filter(pk=version.pk).update(metrics={**version.metrics, "threshold": 0.95})
    proposals_refresh(project=project)
    strict = proposed(project).count()
    assert strict < len(scores)
    # The manager's explicit value applies to every head.
    project.proposal_threshold = 0.05
    project.save()
    proposals_refresh(project=project)
    assert proposed(project).count() == len(images) - 30 > strict
