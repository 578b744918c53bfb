"""Retraining is requested after N new labels, coalesces, and never runs twice at once."""

import pytest
from django.db import IntegrityError, transaction

from labeling.services.annotations import annotation_create
from mlassist.models import TrainingRun
from mlassist.services.training import _claim, training_note_labels, training_request

from ..factories import ImageFactory

pytestmark = pytest.mark.django_db(transaction=True)


def tag(image, cls, user):
    annotation_create(image=image, user=user, data={"label_class": cls.pk, "kind": "tag", "geometry": {}})


def test_a_run_is_requested_after_n_labels_and_requests_coalesce(project, classes, annotator):
    project.retrain_every = 3
    project.multilabel = True
    project.save()
    images = [ImageFactory(project=project) for _ in range(4)]
    tag(images[0], classes[0], annotator)
    tag(images[1], classes[0], annotator)
    assert not TrainingRun.objects.exists()
    tag(images[2], classes[0], annotator)
    assert TrainingRun.objects.filter(project=project, state="queued", reason="labels").count() == 1
    for image in images:
        tag(image, classes[1], annotator)
    # Still one waiting run: everything that arrived meanwhile is in it.
    assert TrainingRun.objects.filter(project=project).count() == 1
    assert training_request(project=project).state == "queued"
    assert TrainingRun.objects.filter(project=project).count() == 1


def test_labels_during_a_run_queue_exactly_one_more(project, classes, annotator):
    project.retrain_every = 2
    project.multilabel = True
    project.save()
    running = training_request(project=project)
    assert _claim(running.pk).state == "running"
    images = [ImageFactory(project=project) for _ in range(3)]
    for image in images:
        tag(image, classes[0], annotator)
        tag(image, classes[1], annotator)
    states = sorted(TrainingRun.objects.filter(project=project).values_list("state", flat=True))
    assert states == ["queued", "running"]
    waiting = TrainingRun.objects.get(state="queued")
    assert _claim(waiting.pk) is None  # cannot start while the other runs
    assert training_note_labels(project_id=project.pk) is None


def test_the_database_refuses_two_running_runs(project):
    TrainingRun.objects.create(project=project, state="running")
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingRun.objects.create(project=project, state="running")
