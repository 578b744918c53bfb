"""A MAIA run (stage 1) through the API: training proposals stored as proposals, stages shown, resumed.

The images are generated scenes with small objects on sand or rock (bench/maia_novelty.py), so the
test checks what a reviewer would see: proposals on the objects, in the grid's class "object".
"""

import io
import time
from datetime import timedelta

import numpy as np
import PIL.Image
import pytest
from django.utils import timezone

from bench.maia_novelty import make_scene
from labeling.models import Annotation, Job
from labeling.services.jobs import JOB_TASKS
from mlassist.services.maia import maia_job, maia_proposals

from ..factories import ImageFactory, ProjectFactory

pytestmark = pytest.mark.django_db
W, H = 320, 240


def png(pixels) -> bytes:
    out = io.BytesIO()
    PIL.Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def scenes(project):
    made = []
    for seed in range(4):
        pixels, masks, _ = make_scene(700 + seed, W, H, kind="sand", count=(3, 5))
        image = ImageFactory(project=project, file__data=png(pixels), width=W, height=H)
        made.append((image, masks))
    return made


def _centre_found(props, masks) -> int:
    found = 0
    for mask in masks:
        ys, xs = np.nonzero(mask)
        cx, cy = xs.mean(), ys.mean()
        found += any(b["x"] <= cx < b["x"] + b["w"] and b["y"] <= cy < b["y"] + b["h"] for b in props)
    return found


def test_a_reviewer_runs_stage_one_and_gets_training_proposals_on_the_objects(project, scenes, reviewer, client_for):
    api = client_for(reviewer)
    response = api.post(f"/api/projects/{project.pk}/maia/", {}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["run"]["kind"] == "maia_novelty" and body["run"]["state"] == "queued"
    assert [s["stage"] for s in body["stages"]] == ["novelty", "selection", "detector", "candidates"]
    assert body["stages"][1]["state"] == "waiting"

    maia_job(job_id=body["run"]["id"])  # what the worker's task does

    body = api.get(f"/api/projects/{project.pk}/maia/").json()
    assert body["run"]["state"] == "succeeded", body["run"]["error"]
    assert body["stages"][0] == {"stage": "novelty", "title": body["stages"][0]["title"], "state": "succeeded",
                                 "progress": 1.0}
    assert body["stages"][1]["state"] == "open"
    stored = list(maia_proposals(project=project))
    assert body["proposals"] == {"proposed": len(stored), "accepted": 0, "rejected": 0}
    assert body["run"]["result"]["proposals"] == len(stored) > 0
    # Class-agnostic masks in the class "object", made by no trained version, with the outline the grid draws.
    assert {(a.kind, a.origin, a.state, a.label_class.name, a.model_version_id) for a in stored} == {
        ("mask", "model", "proposed", "object", None)}
    assert all(a.outline and 0.5 <= a.score <= 1 for a in stored)
    objects = found = 0
    for image, masks in scenes:
        boxes = [a.outline["bbox"] if isinstance(a.outline, dict) and "bbox" in a.outline else None
                 for a in stored if a.image_id == image.pk]
        boxes = [dict(zip("xywh", b)) for b in boxes if b]
        objects += len(masks)
        found += _centre_found(boxes, masks)
    assert found >= 0.8 * objects
    assert len(stored) <= 3 * objects


def test_box_projects_get_boxes(scenes, reviewer, client_for, project):
    project.set_kinds(["tag", "box"])
    project.save()
    response = client_for(reviewer).post(f"/api/projects/{project.pk}/maia/", {"method": "autoencoder"}, format="json")
    maia_job(job_id=response.json()["run"]["id"])
    kinds = set(maia_proposals(project=project).values_list("kind", flat=True))
    assert kinds == {"box"}
    # The review grid lists them like any proposal, under the class "object".
    cls = project.label_classes.get(name="object")
    grid = client_for(reviewer).get(f"/api/projects/{project.pk}/review/annotations/?label_class={cls.pk}").json()
    assert grid["count"] == maia_proposals(project=project).count() > 0


def test_who_may_start_and_what_is_refused(project, scenes, annotator, reviewer, client_for):
    url = f"/api/projects/{project.pk}/maia/"
    assert client_for(annotator).post(url, {}, format="json").status_code == 403
    assert client_for(annotator).get(url).status_code == 200  # annotators follow the run (they filter proposals too)
    api = client_for(reviewer)
    bad = api.post(url, {"method": "knn"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "method"
    assert api.post(url, {}, format="json").status_code == 202
    twice = api.post(url, {}, format="json")
    assert twice.status_code == 400
    assert twice.json()["errors"] == [{"field": "project", "detail": "A MAIA run is already under way; wait for it to finish or fail."}]
    assert Job.objects.filter(project=project, kind="maia_novelty").count() == 1


def test_a_project_without_boxes_or_masks_is_told_why(reviewer, client_for):
    tags_only = ProjectFactory(uses_boxes=False, uses_polygons=False, uses_masks=False)
    ImageFactory(project=tags_only)
    from labeling.models import Membership

    Membership.objects.create(project=tags_only, user=reviewer, role=Membership.Role.REVIEWER)
    response = client_for(reviewer).post(f"/api/projects/{tags_only.pk}/maia/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "project"
    assert "neither" in response.json()["errors"][0]["detail"]
    assert not Job.objects.filter(project=tags_only).exists()


def test_the_sweeper_and_retry_know_the_kind():
    assert JOB_TASKS["maia_novelty"] == "mlassist.maia_novelty"


def test_a_run_whose_worker_died_resumes_at_the_first_image_not_stored(project, scenes, reviewer, client_for):
    api = client_for(reviewer)
    job_id = api.post(f"/api/projects/{project.pk}/maia/", {}, format="json").json()["run"]["id"]
    maia_job(job_id=job_id)
    first, *rest = [image for image, _ in scenes]
    kept = set(maia_proposals(project=project).filter(image=first).values_list("id", flat=True))
    assert kept
    # As a worker killed after storing the first image leaves it: running, a stale lease, done = 1.
    job = Job.objects.get(pk=job_id)
    maia_proposals(project=project).exclude(image=first).delete()
    Job.objects.filter(pk=job_id).update(
        state="running", lease_owner="dead-host:1:x", heartbeat_at=timezone.now() - timedelta(minutes=5),
        params={**job.params, "done": 1}, result=None, progress=0.4,
    )
    maia_job(job_id=job_id)
    job.refresh_from_db()
    assert job.state == "succeeded" and job.attempts == 2
    assert job.result["resumed_at"] == 1
    # The first image's proposals were not redone; every other image has its own again.
    assert set(maia_proposals(project=project).filter(image=first).values_list("id", flat=True)) == kept
    for image in rest:
        assert maia_proposals(project=project).filter(image=image).exists()


def test_proposals_a_person_judged_survive_a_new_run(project, scenes, reviewer, client_for):
    api = client_for(reviewer)
    url = f"/api/projects/{project.pk}/maia/"
    maia_job(job_id=api.post(url, {}, format="json").json()["run"]["id"])
    judged = maia_proposals(project=project).first()
    Annotation.objects.filter(pk=judged.pk).update(state="rejected", origin="model")
    maia_job(job_id=api.post(url, {}, format="json").json()["run"]["id"])
    assert Annotation.objects.get(pk=judged.pk).state == "rejected"
    assert api.get(url).json()["proposals"]["rejected"] == 1


@pytest.mark.worker
@pytest.mark.slow
def test_a_real_worker_killed_mid_run_is_replaced_and_the_run_resumes(project, scenes, reviewer, client_for,
                                                                       worker_env, start_worker):
    worker_env["FAULT_INJECTION_PAUSE_SECONDS"] = "1.5"  # time to kill it between two images
    worker = start_worker()
    api = client_for(reviewer)
    job_id = api.post(f"/api/projects/{project.pk}/maia/", {}, format="json").json()["run"]["id"]
    deadline = time.monotonic() + 300
    while not Job.objects.filter(pk=job_id, state="running", params__done__gte=1).exists():
        assert time.monotonic() < deadline, "the run never stored its first image"
        time.sleep(0.2)
    worker.kill()
    start_worker()  # its sweeper sends the run again once the dead worker's lease is stale
    deadline = time.monotonic() + 400
    while not Job.objects.filter(pk=job_id, state__in=["succeeded", "failed"]).exists():
        assert time.monotonic() < deadline, "the run was not finished by the second worker"
        time.sleep(0.5)
    job = Job.objects.get(pk=job_id)
    assert job.state == "succeeded", job.error
    assert job.attempts == 2 and job.result["resumed_at"] >= 1
    page = api.get(f"/api/projects/{project.pk}/maia/").json()
    assert page["stages"][0]["state"] == "succeeded" and page["proposals"]["proposed"] > 0
