"""A manager overrides a head's proposal threshold, or gives it back to the automatic choice."""

import pytest

from labeling.models import Job
from mlassist.models import ModelVersion
from mlassist.services.proposals import threshold_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(project):
    return ModelVersion.objects.create(project=project, kind="detector", number=2, in_service=True,
                                       metrics={"threshold": 0.42, "n_val": 9})


def _url(project, version):
    return f"/api/projects/{project.pk}/model-versions/{version.pk}/threshold/"


def test_a_manager_overrides_a_heads_threshold_and_proposals_follow(project, manager, client_for, version):
    api = client_for(manager)
    listed = api.get(f"/api/projects/{project.pk}/model-versions/").json()[0]
    assert (listed["threshold"], listed["threshold_source"]) == (0.42, "automatic")
    changed = api.patch(_url(project, version), {"threshold": 0.3}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["threshold"], changed.json()["threshold_source"]) == (0.3, "override")
    assert changed.json()["metrics"]["threshold"] == 0.42  # the automatic choice is still shown
    version.refresh_from_db()
    assert threshold_for(version, project) == 0.3
    # The version serves: its proposals are made again at the new threshold.
    assert Job.objects.filter(project=project, kind="propose").count() == 1
    # A project-wide threshold is less specific than a head's own.
    project.proposal_threshold = 0.7
    project.save()
    assert threshold_for(version, project) == 0.3
    back = api.patch(_url(project, version), {"threshold": None}, format="json").json()
    assert (back["threshold"], back["threshold_source"]) == (0.7, "project")
    project.proposal_threshold = 0.5
    project.save()
    assert api.get(f"/api/projects/{project.pk}/model-versions/").json()[0]["threshold_source"] == "automatic"


@pytest.mark.parametrize("body, field", [({"threshold": 1.5}, "threshold"), ({"threshold": "high"}, "threshold"),
                                         ({}, "threshold"), ({"threshold": 0}, "threshold")])
def test_a_bad_threshold_is_refused_naming_the_field(project, manager, client_for, version, body, field):
    response = client_for(manager).patch(_url(project, version), body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    version.refresh_from_db()
    assert "threshold_override" not in version.metrics


def test_only_managers_set_thresholds(project, reviewer, client_for, version):
    assert client_for(reviewer).patch(_url(project, version), {"threshold": 0.3}, format="json").status_code == 403


def test_an_external_models_version_has_no_threshold_to_set(project, manager, client_for):
    external = ModelVersion.objects.create(project=project, kind="detector", number=5, metrics={"source": "external"})
    response = client_for(manager).patch(_url(project, external), {"threshold": 0.3}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "threshold"


def test_the_override_stays_with_the_heads_next_versions_and_decides_its_proposals(project, classes, manager,
                                                                                 annotator, client_for):
    from .synthetic import feature_images, proposed, tag, train

    project.set_kinds(["tag"])
    project.save()
    truth = [i % 2 for i in range(30)]
    images = feature_images(project, truth, noise=1.2, seed=3)
    for image, cls in list(zip(images, truth, strict=True))[:10]:
        tag(image, classes[cls], annotator)
    train(project)
    v1 = ModelVersion.objects.get(project=project, kind="classifier")
    client_for(manager).patch(_url(project, v1), {"threshold": 0.99}, format="json")
    for image, cls in list(zip(images, truth, strict=True))[10:14]:
        tag(image, classes[cls], annotator)
    train(project)
    v2 = ModelVersion.objects.get(project=project, kind="classifier", number=2)
    assert v2.metrics["threshold_override"] == 0.99 and threshold_for(v2, project) == 0.99
    assert all(score >= 0.99 for score in proposed(project).values_list("score", flat=True))
