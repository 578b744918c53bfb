"""A version knows the backbone it was trained on and the labels it learned from: a version of another
backbone does not serve (and says why), and a retrain on unchanged labels makes no new version."""

import pytest
from django.core.exceptions import ValidationError

from mlassist.models import ModelVersion
from mlassist.services.proposals import proposals_refresh
from mlassist.services.training import model_version_promote

from .synthetic import feature_images, proposed, tag, train

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(project, classes, annotator):
    project.set_kinds(["tag"])
    project.save()
    truth = [i % 2 for i in range(16)]
    images = feature_images(project, truth, seed=5)
    for image, cls in list(zip(images, truth))[:8]:
        tag(image, classes[cls], annotator)
    train(project)
    return project, images, truth


def test_a_retrain_on_the_same_labels_makes_no_new_version(trained, classes, annotator):
    project, images, truth = trained
    assert ModelVersion.objects.filter(project=project, kind="classifier").count() == 1
    run = train(project)
    assert ModelVersion.objects.filter(project=project, kind="classifier").count() == 1
    assert "no label of this kind changed since v1" in run.detail
    # One more label: the labels differ, so a new version is trained.
    tag(images[8], classes[truth[8]], annotator)
    train(project)
    assert ModelVersion.objects.filter(project=project, kind="classifier").count() == 2


def test_a_version_of_another_backbone_does_not_serve_and_says_why(trained, manager, client_for):
    project, images, truth = trained
    version = ModelVersion.objects.get(project=project, kind="classifier")
    before = set(proposed(project).values_list("pk", flat=True))
    assert before
    ModelVersion.objects.filter(pk=version.pk).update(backbone_key="mobilenet-other-backbone")
    version.refresh_from_db()

    # It proposes nothing new (and does not crash); what it proposed on its own backbone stays to review.
    assert proposals_refresh(project=project) == 0
    assert set(proposed(project).values_list("pk", flat=True)) == before
    with pytest.raises(ValidationError, match="trained on the features of backbone mobilenet-other-backbone"):
        model_version_promote(version=version)

    answer = client_for(manager).get(f"/api/projects/{project.pk}/model-versions/")
    assert answer.status_code == 200
    row = next(v for v in answer.json() if v["id"] == version.pk)
    assert "Train again" in row["serving_problem"]
    promote = client_for(manager).post(f"/api/projects/{project.pk}/model-versions/{version.pk}/promote/")
    assert promote.status_code == 400
    assert "configured backbone" in str(promote.json())

    # A retrain on the configured backbone serves again, though the labels did not change.
    train(project)
    fresh = ModelVersion.objects.get(project=project, kind="classifier", in_service=True)
    assert fresh.number == 2
    assert proposed(project).exists()
