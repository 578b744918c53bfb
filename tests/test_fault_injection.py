"""Fault injection with real workers: kill -9 a worker during each kind of long work.

Every job must end succeeded, or failed with a reason a person can read, within two minutes, and
no accepted label may be lost. The file-system broker never gives a killed worker's task back,
so these tests pass only because the new worker's sweeper re-sends it (with Redis, as in CI, the
broker's redelivery races the sweeper and the lease lets only one of them run it).

The workers run with a short lease (JOB_LEASE_SECONDS=10) so that the tests take seconds, not
minutes; the default (30 s) only changes how long a dead worker's job waits.
"""

import io
import json
import time
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling.models import Annotation, Job
from labeling.services.annotations import annotation_create_many
from labeling.services.coco import coco_export_start, coco_import_start
from labeling.services.images import image_upload
from labeling.services.leases import crash_reason
from labeling.services.projects import label_class_create, project_create
from mlassist.services.training import training_request
from .waiting import wait

pytestmark = [pytest.mark.worker, pytest.mark.slow]

LEASE = {"JOB_LEASE_SECONDS": "10", "JOB_HEARTBEAT_SECONDS": "2", "JOB_SWEEP_SECONDS": "2",
         "JOB_REDISPATCH_SECONDS": "15"}
ENDED = ["succeeded", "failed"]



def picture(seed, size=96):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size, size, 3)).astype(np.uint8)
    out = io.BytesIO()
    PIL.Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def labelled(manager):
    """A project of 40 images, 12 of them with accepted tags and boxes (the labels that must survive)."""
    project = project_create(user=manager, name="Faults", kinds=["tag", "box"], retrain_every=1000)
    red, blue = label_class_create(project=project, name="red"), label_class_create(project=project, name="blue")
    files = [SimpleUploadedFile(f"{i:02d}.png", picture(i)) for i in range(40)]
    images = image_upload(project=project, user=manager, files=files).created
    for i, image in enumerate(images[:12]):
        cls = red if i % 2 else blue
        annotation_create_many(image=image, user=manager, items=[
            {"label_class": cls.pk, "kind": "tag", "geometry": {}},
            {"label_class": cls.pk, "kind": "box", "geometry": {"x": 10, "y": 10, "w": 30, "h": 20}},
        ])
    Job.objects.filter(project=project, kind="features").delete()  # the upload's; each test starts its own work
    return project, images, manager


def accepted(project):
    return set(Annotation.objects.filter(image__project=project, state="accepted").values_list("pk", flat=True))


def kill_while_running(start_worker, worker_env, row, what):
    """Start a worker that pauses after each progress report, kill -9 it once the work is under way,
    and start a worker without the pause."""
    worker_env.update(LEASE, FAULT_INJECTION_PAUSE_SECONDS="5")
    worker = start_worker()
    model = type(row)
    wait(lambda: model.objects.filter(pk=row.pk, state="running", progress__gt=0).exists(), 240, f"{what} to run")
    worker.kill()
    assert model.objects.get(pk=row.pk).state == "running"  # frozen, as the issue saw it
    worker_env.pop("FAULT_INJECTION_PAUSE_SECONDS")
    start_worker()
    done = wait(lambda: model.objects.filter(pk=row.pk, state__in=ENDED).first(), 120, f"{what} to end")
    assert done.state == "succeeded", done.error
    assert done.attempts == 2
    return done


def test_features_killed_mid_way_are_computed_by_the_next_worker(labelled, worker_env, start_worker):
    from mlassist.models import ImageFeatures
    from mlassist.services.features import features_request

    project, images, _ = labelled
    before = accepted(project)
    features_request(project_id=project.pk)
    job = Job.objects.get(project=project, kind="features")
    kill_while_running(start_worker, worker_env, job, "features")
    assert ImageFeatures.objects.filter(image__project=project).count() == len(images)
    assert accepted(project) == before


def test_training_killed_mid_way_is_finished_by_the_next_worker(labelled, worker_env, start_worker):
    project, _, manager = labelled
    before = accepted(project)
    run = training_request(project=project, user=manager)
    kill_while_running(start_worker, worker_env, run, "training")
    assert project.model_versions.filter(in_service=True, training_run=run).exists()
    assert accepted(project) == before


def test_an_export_killed_mid_way_is_written_whole_by_the_next_worker(labelled, worker_env, start_worker):
    project, _, manager = labelled
    before = accepted(project)
    job = coco_export_start(project=project, user=manager, options={"output": "json"})
    done = kill_while_running(start_worker, worker_env, job, "the export")
    with done.result_file.open("rb") as fh:
        coco = json.load(fh)
    assert len(coco["annotations"]) == 12  # the boxes; tags are image attributes
    assert accepted(project) == before


def test_an_import_killed_mid_way_is_imported_once_by_the_next_worker(labelled, worker_env, start_worker):
    project, images, manager = labelled
    before = accepted(project)
    coco = {
        "images": [{"id": i, "file_name": image.file_name, "width": image.width, "height": image.height}
                   for i, image in enumerate(images[12:20], 1)],
        "categories": [{"id": 1, "name": "red"}],
        "annotations": [{"id": i, "image_id": i, "category_id": 1, "bbox": [5, 5, 20, 20], "area": 400, "iscrowd": 0}
                        for i in range(1, 9)],
    }
    job = coco_import_start(project=project, user=manager,
                            coco_file=SimpleUploadedFile("coco.json", json.dumps(coco).encode()))
    kill_while_running(start_worker, worker_env, job, "the import")
    after = accepted(project)
    assert before < after and len(after - before) == 8  # imported once, nothing lost


def test_a_job_that_kills_its_worker_every_time_fails_after_three_attempts_with_the_reason(
    labelled, worker_env, start_worker, client_for
):
    project, _, manager = labelled
    worker_env.update(LEASE, FAULT_INJECTION_KILL_KINDS="coco_export")
    job = coco_export_start(project=project, user=manager, options={"output": "json"})
    workers = [start_worker()]
    deadline = time.monotonic() + 180
    while not Job.objects.filter(pk=job.pk, state__in=ENDED).exists():
        assert time.monotonic() < deadline, "the job never ended"
        if workers[-1].process.poll() is not None:  # a supervisor restarts a dead worker
            workers.append(start_worker())
        time.sleep(0.2)
    job.refresh_from_db()
    assert job.state == "failed" and job.attempts == 3
    assert job.error == crash_reason(3)
    assert len(workers) >= 3  # it really killed a worker each time
    # The project page's list shows the failure with its reason and offers a retry.
    listed = client_for(manager).get(f"/api/projects/{project.pk}/jobs/?state=failed").json()["results"]
    assert [(j["id"], j["error"], j["can_retry"]) for j in listed] == [(str(job.pk), crash_reason(3), True)]


def test_a_second_delivery_of_a_running_job_does_not_run_it_twice(labelled, worker_env, start_worker):
    # What Redis does to a task that outlives its visibility timeout: it hands the message to
    # another worker while the first still runs it. Sent by hand here, so any broker shows it.
    from annotator.celery import app

    project, _, manager = labelled
    worker_env.update(LEASE, FAULT_INJECTION_PAUSE_SECONDS="4")
    start_worker(), start_worker()
    job = coco_export_start(project=project, user=manager, options={"output": "json"})
    wait(lambda: Job.objects.filter(pk=job.pk, state="running", progress__gt=0).exists(), 240, "the export to run")
    owner = Job.objects.get(pk=job.pk).lease_owner
    app.send_task("labeling.coco_export", args=[str(job.pk)])
    done = wait(lambda: Job.objects.filter(pk=job.pk, state__in=ENDED).first(), 120, "the export to end")
    assert (done.state, done.attempts, done.lease_owner) == ("succeeded", 1, owner)
    assert len(list((Path(worker_env["MEDIA_ROOT"]) / "exports" / str(project.pk)).iterdir())) == 1  # written once
