"""MAIA stages 3 and 4: the picked training proposals train the detector, the rest become negatives,
and the detector's proposals are the candidates reviewed in the grid."""

import pytest

from labeling.models import Annotation, Job
from mlassist.models import TrainingRun
from mlassist.services.maia import OBJECT_CLASS
from mlassist.services.training import training_run_execute

from .synthetic import maia_project

pytestmark = pytest.mark.django_db


def _pick(client, project, images):
    """A person accepts the middle proposals of ``images`` in the grid (the bulk endpoint)."""
    middle = Annotation.objects.filter(image__in=images, geometry__x=25).order_by("id")
    answer = client.post(f"/api/projects/{project.pk}/annotations/bulk/", {
        "ids": [a.pk for a in middle], "versions": [a.version for a in middle], "state": "accepted"}, format="json")
    assert answer.status_code == 200, answer.content


def test_the_detector_trains_on_the_picked_proposals_and_proposes_candidates(project, reviewer, client_for):
    images = maia_project(project)
    client = client_for(reviewer)
    state = client.get(f"/api/projects/{project.pk}/maia/").json()
    assert [s["state"] for s in state["stages"]] == ["succeeded", "open", "not started", "waiting"]
    assert state["proposals"]["proposed"] == 24

    _pick(client, project, images[:6])
    answer = client.post(f"/api/projects/{project.pk}/maia/detector/")
    assert answer.status_code == 202, answer.content
    # Every proposal nobody picked is a negative now, recorded as a rejection by this reviewer.
    objects = Annotation.objects.filter(image__project=project, label_class__name=OBJECT_CLASS, model_version=None)
    assert objects.filter(state="accepted").count() == 6
    assert objects.filter(state="rejected").count() == 18
    assert objects.filter(state="rejected", updated_by=reviewer).count() == 18
    run = TrainingRun.objects.get(project=project, state="queued")
    assert answer.json()["stages"][2]["state"] == "queued"

    training_run_execute(run_id=run.pk)
    state = client.get(f"/api/projects/{project.pk}/maia/").json()
    assert state["stages"][2]["state"] == "succeeded"
    # The candidates: the detector's proposals on the images nobody picked on.
    candidates = Annotation.objects.filter(image__project=project, kind="box", state="proposed",
                                           model_version__isnull=False)
    assert candidates.exists()
    assert set(candidates.values_list("image_id", flat=True)) <= {i.pk for i in images[6:]}
    assert state["candidates"]["proposed"] == candidates.count()
    assert state["stages"][3]["state"] == "open"


def test_the_detector_waits_for_stage_one_and_for_enough_picks(project, reviewer, annotator, client_for):
    images = maia_project(project)
    Job.objects.filter(project=project).update(state="running")
    client = client_for(reviewer)
    answer = client.post(f"/api/projects/{project.pk}/maia/detector/")
    assert answer.status_code == 400 and "stage 1" in answer.json()["errors"][0]["detail"]
    Job.objects.filter(project=project).update(state="succeeded")
    _pick(client, project, images[:2])
    answer = client.post(f"/api/projects/{project.pk}/maia/detector/")
    assert answer.status_code == 400
    assert "picked on 2 images" in answer.json()["errors"][0]["detail"]
    assert not TrainingRun.objects.filter(project=project).exists()
    assert Annotation.objects.filter(image__project=project, state="rejected").count() == 0  # nothing half-done
    assert client_for(annotator).post(f"/api/projects/{project.pk}/maia/detector/").status_code == 403
