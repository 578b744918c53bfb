"""Job leases without a worker: claims, heartbeats, lost leases, the attempt cap and the sweeper."""

import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from labeling.models import Job
from labeling.services.jobs import job_progress, job_run, jobs_sweep
from labeling.services.leases import crash_reason


def make_job(project, **fields):
    return Job.objects.create(project=project, kind=fields.pop("kind", "coco_export"), **fields)


def long_ago():
    return timezone.now() - timedelta(minutes=5)


def test_a_queued_job_is_claimed_run_and_finished(project):
    job = make_job(project)
    seen = []

    def work(claimed):
        seen.append((claimed.state, claimed.attempts, claimed.lease_owner))
        return {"ok": True}, ""

    job_run(job_id=job.pk, work=work)
    job.refresh_from_db()
    assert job.state == "succeeded" and job.result == {"ok": True}
    state, attempts, owner = seen[0]
    assert (state, attempts) == ("running", 1)
    assert owner.count(":") == 2  # hostname:pid:random


def test_a_running_job_with_a_fresh_heartbeat_is_never_claimed_twice(project):
    # A redelivered message of a task still running elsewhere (longer than the visibility timeout).
    job = make_job(project, state="running", attempts=1, lease_owner="other:1:x", heartbeat_at=timezone.now(),
                   progress=0.4)
    ran = []
    job_run(job_id=job.pk, work=lambda j: ran.append(j) or ({}, ""))
    job.refresh_from_db()
    assert ran == []
    assert (job.state, job.attempts, job.lease_owner, job.progress) == ("running", 1, "other:1:x", 0.4)


def test_a_job_left_by_a_dead_worker_is_claimed_again_and_counts_the_attempt(project):
    job = make_job(project, state="running", attempts=1, lease_owner="dead:1:x", heartbeat_at=long_ago())
    job_run(job_id=job.pk, work=lambda j: ({"n": j.attempts}, ""))
    job.refresh_from_db()
    assert job.state == "succeeded" and job.result == {"n": 2} and job.attempts == 2


def test_a_job_that_killed_its_worker_three_times_fails_with_the_reason(project, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = make_job(project, state="running", attempts=3, lease_owner="dead:1:x", heartbeat_at=long_ago())
    ran = []
    job_run(job_id=job.pk, work=lambda j: ran.append(j) or ({}, ""))
    job.refresh_from_db()
    assert ran == []
    assert job.state == "failed" and job.finished_at is not None
    assert job.error == crash_reason(3)
    assert "stopped 3 times" in job.error and "out of memory" in job.error


def test_a_worker_that_lost_its_lease_stops_without_writing_results(project):
    job = make_job(project)
    after = []

    def work(claimed):
        # Meanwhile the sweeper thought this worker dead and another worker claimed the job.
        Job.objects.filter(pk=claimed.pk).update(lease_owner="new:2:y", heartbeat_at=timezone.now(), attempts=2)
        job_progress(job_id=claimed.pk, progress=0.5, detail="half")
        after.append("went on")
        return {"twice": True}, ""

    job_run(job_id=job.pk, work=work)
    job.refresh_from_db()
    assert after == []
    assert (job.state, job.lease_owner, job.result, job.progress) == ("running", "new:2:y", None, 0)


@pytest.mark.django_db(transaction=True)  # the heartbeat thread has its own connection: it must see the job
def test_the_heartbeat_renews_the_lease_while_work_runs(project, settings):
    settings.JOB_HEARTBEAT_SECONDS = 0.05
    job = make_job(project)

    def work(claimed):
        Job.objects.filter(pk=claimed.pk).update(heartbeat_at=long_ago())
        deadline = time.monotonic() + 30
        while Job.objects.get(pk=claimed.pk).heartbeat_at < timezone.now() - timedelta(minutes=1):
            assert time.monotonic() < deadline, "no heartbeat"
            time.sleep(0.02)
        return {}, ""

    job_run(job_id=job.pk, work=work)
    assert Job.objects.get(pk=job.pk).state == "succeeded"


def test_an_error_a_user_can_act_on_fails_the_job_and_removes_the_import_upload(project):
    coco = default_storage.save(f"imports/{project.pk}/coco.json", ContentFile(b"{}"))
    job = make_job(project, kind="coco_import", params={"coco": coco})

    def work(claimed):
        raise ValueError("annotations[3].bbox: a box needs 4 numbers")

    job_run(job_id=job.pk, work=work)
    job.refresh_from_db()
    assert job.state == "failed" and job.error == "annotations[3].bbox: a box needs 4 numbers"
    assert not default_storage.exists(coco)


def test_the_sweeper_sends_a_dead_workers_job_again_once_and_fails_it_when_attempts_are_used(project, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    retry = make_job(project, state="running", attempts=1, lease_owner="dead:1:x", heartbeat_at=long_ago())
    spent = make_job(project, state="running", attempts=3, lease_owner="dead:1:y", heartbeat_at=long_ago())
    alive = make_job(project, state="running", attempts=1, lease_owner="live:1:z", heartbeat_at=timezone.now())

    assert jobs_sweep() == {"failed": 1, "sent": 1}
    retry.refresh_from_db(), spent.refresh_from_db(), alive.refresh_from_db()
    assert retry.state == "running" and retry.lease_owner == ""
    assert retry.detail == "The worker stopped; trying again (attempt 2 of 3)"
    assert spent.state == "failed" and "stopped 3 times" in spent.error
    assert alive.lease_owner == "live:1:z"
    # The next sweep does not send it again while its new message is on its way ...
    assert jobs_sweep() == {"failed": 0, "sent": 0}
    # ... and the released job is claimable at once by that message.
    job_run(job_id=retry.pk, work=lambda j: ({"attempt": j.attempts}, ""))
    retry.refresh_from_db()
    assert retry.state == "succeeded" and retry.result == {"attempt": 2}


def test_the_sweeper_sends_again_a_queued_job_whose_message_seems_lost(project, settings):
    settings.JOB_REDISPATCH_SECONDS = 60
    lost = make_job(project)
    Job.objects.filter(pk=lost.pk).update(created_at=long_ago())
    fresh = make_job(project)
    assert jobs_sweep()["sent"] == 1
    lost.refresh_from_db(), fresh.refresh_from_db()
    assert lost.heartbeat_at is not None and fresh.heartbeat_at is None
    assert jobs_sweep()["sent"] == 0  # once a minute at most


@pytest.mark.django_db(transaction=True)
def test_several_sweepers_fail_a_job_once(project, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    job = make_job(project, state="running", attempts=2, lease_owner="dead:1:x", heartbeat_at=long_ago())
    assert jobs_sweep()["failed"] == 1
    Job.objects.filter(pk=job.pk).update(error="seen")
    assert jobs_sweep()["failed"] == 0
    assert Job.objects.get(pk=job.pk).error == "seen"
