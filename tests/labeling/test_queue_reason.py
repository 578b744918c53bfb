"""next-image says why it chose the image: the order, the model's margin and version, or a resumed claim."""

import pytest

from mlassist.models import ImageUncertainty, ModelVersion

from ..factories import ImageFactory

pytestmark = pytest.mark.django_db


def _next(api, project, skip=""):
    response = api.get(f"/api/projects/{project.pk}/next-image/", {"skip": skip} if skip else {})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_uncertainty_queue_names_the_margin_and_the_version(project, annotator, client_for):
    project.queue_order = "uncertainty"
    project.save()
    version = ModelVersion.objects.create(project=project, kind="classifier", number=3, in_service=True)
    sure, unsure, unscored = (ImageFactory(project=project) for _ in range(3))
    ImageUncertainty.objects.create(image=sure, margin=0.8, model_version=version)
    ImageUncertainty.objects.create(image=unsure, margin=0.07, model_version=version)
    api = client_for(annotator)
    first = _next(api, project)
    assert first["id"] == unsure.pk
    assert first["reason"] == {"order": "uncertainty", "resumed": False, "margin": 0.07, "model_version": 3,
                               "head": "classifier",
                               "detail": "Chosen because the model is unsure: margin 0.07 (tags v3)."}
    # Asked again without finishing it: the same image, because it is the user's own.
    again = _next(api, project)
    assert again["id"] == unsure.pk and again["reason"]["resumed"] is True
    assert "unfinished" in again["reason"]["detail"]
    last = _next(api, project, skip=f"{unsure.pk},{sure.pk}")
    assert last["id"] == unscored.pk
    assert last["reason"]["margin"] is None and "not scored this image yet" in last["reason"]["detail"]


@pytest.mark.parametrize("order, words", [("sequential", "order images came in"), ("random", "at random")])
def test_other_orders_say_so(project, annotator, client_for, order, words):
    project.queue_order = order
    project.save()
    ImageFactory(project=project)
    reason = _next(client_for(annotator), project)["reason"]
    assert reason["order"] == order and reason["margin"] is None and words in reason["detail"]
