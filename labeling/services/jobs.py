"""Long jobs: a Job row that a Celery task claims under a lease, reports progress on, and finishes.

Progress is written with plain UPDATEs outside any transaction the job's work holds, so the
UI sees it while the work is still running. Every write after the claim is conditional on the
lease (services/leases.py): a worker that was thought dead and replaced stops at its next
progress report instead of finishing the job a second time. A job whose worker died is sent
again by the sweeper (``jobs_sweep``) and failed, with the reason, after JOB_MAX_ATTEMPTS.
"""

import logging

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Job, Project
from . import leases
from .leases import Lease, LeaseLost

log = logging.getLogger(__name__)

# Each kind of job and the Celery task that runs it (by name, so nothing here imports the
# workers' code): the sweeper and "Retry" send a job again from its row alone.
JOB_TASKS = {
    "features": "mlassist.features_compute",
    "coco_export": "labeling.coco_export",
    "coco_import": "labeling.coco_import",
    "propose": "mlassist.propose",
    "import_urls": "labeling.url_import",
    "maia_novelty": "mlassist.maia_novelty",
}
# The stored uploads of a job (keys of Job.params): removed when it fails for a reason a retry
# cannot fix, and what a retry needs to still be there.
UPLOAD_PARAMS = {"coco_import": ("coco", "images")}


def job_create(*, project: Project, kind: str, user=None, params: dict | None = None) -> Job:
    return Job.objects.create(
        project=project,
        kind=kind,
        params=params or {},
        created_by=user if user is not None and user.is_authenticated else None,
    )


def job_dispatch(*, job: Job) -> None:
    """Send the job's task (again) once the current transaction commits."""
    from annotator.celery import app

    name, job_id = JOB_TASKS[job.kind], str(job.pk)
    transaction.on_commit(lambda: app.send_task(name, args=[job_id]))


def job_claim(*, job_id) -> Job | None:
    """Take the job for this worker (queued, or left by a dead one); None when it is not ours to run.

    None means finished, running under a live lease (a redelivered message), or failed because
    its attempts are used up.
    """
    if leases.claim(Job, job_id) is None:
        return None
    return Job.objects.select_related("project", "created_by").get(pk=job_id)


def job_progress(*, job_id, progress: float, detail: str = "") -> None:
    """Progress of a running job; raises LeaseLost when another worker has taken it over."""
    fields = {"progress": max(0.0, min(1.0, progress)), "detail": detail[:300]}
    lease = Lease.of(Job, job_id)
    if lease is None:  # not run by job_run (a synchronous caller): nothing to guard
        Job.objects.filter(pk=job_id).update(**fields)
        return
    lease.write(**fields)
    leases.fault_injection_pause()


def job_succeed(*, job_id, result: dict | None = None, result_file: str = "", detail: str = "Done") -> None:
    fields = dict(state=Job.State.SUCCEEDED, progress=1.0, result=result, result_file=result_file,
                  detail=detail[:300], finished_at=timezone.now())
    lease = Lease.of(Job, job_id)
    if lease is None:
        Job.objects.filter(pk=job_id).update(**fields)
    else:
        lease.finish(**fields)


def job_fail(*, job_id, error: str) -> None:
    fields = dict(state=Job.State.FAILED, error=error, finished_at=timezone.now())
    lease = Lease.of(Job, job_id)
    if lease is None:
        Job.objects.filter(pk=job_id).update(**fields)
    else:
        lease.finish(**fields)


def job_run(*, job_id, work) -> None:
    """Claim the job, run ``work(job)`` under a heartbeat and record how it ended.

    ``work`` returns ``(result, result_file)``. Errors a user can act on (ValueError and its
    kin, which our services raise with the element that was wrong) fail the job with that
    message; anything else fails it too and is re-raised so the worker logs the traceback.
    A lost lease ends the work quietly: the job belongs to another worker now.
    """
    job = job_claim(job_id=job_id)
    if job is None:
        return
    with Lease(Job, job.pk, job.lease_owner):
        leases.fault_injection_point(job.kind)
        try:
            try:
                result, result_file = work(job)
            except ValueError as exc:
                job_fail(job_id=job.pk, error=str(exc))
                _remove_uploads(job)  # the same files would fail the same way
                return
            except LeaseLost:
                raise
            except Exception as exc:
                job_fail(job_id=job.pk, error=f"{exc.__class__.__name__}: {exc}")
                raise
            job_succeed(job_id=job.pk, result=result, result_file=result_file or "")
        except LeaseLost as exc:
            log.warning("stopped: %s", exc)


def _remove_uploads(job: Job) -> None:
    for key in UPLOAD_PARAMS.get(job.kind, ()):
        name = job.params.get(key)
        if name:
            default_storage.delete(name)


def job_can_retry(*, job: Job) -> bool:
    """Failed jobs whose task can run again from the row; imports only while their upload is kept."""
    if job.state != Job.State.FAILED or job.kind not in JOB_TASKS:
        return False
    uploads = [job.params.get(key) for key in UPLOAD_PARAMS.get(job.kind, ())]
    return all(default_storage.exists(name) for name in uploads if name)


def job_retry(*, job: Job) -> Job:
    """Queue a failed job again, with all its attempts; raises ValueError saying why it cannot be."""
    if job.state != Job.State.FAILED:
        raise ValueError(f"Only a failed job can be retried; this one is {job.state}.")
    if job.kind not in JOB_TASKS:
        raise ValueError(f"A {job.kind} job cannot be retried.")
    if not job_can_retry(job=job):
        raise ValueError("The uploaded files of this import are gone; upload them again.")
    with transaction.atomic():
        if not Job.objects.filter(pk=job.pk, state=Job.State.FAILED).update(
            # heartbeat_at of a queued job says when its task was sent (see leases.queued_to_resend).
            state=Job.State.QUEUED, attempts=0, progress=0, detail="", error="", lease_owner="",
            heartbeat_at=timezone.now(), started_at=None, finished_at=None,
        ):
            raise ValueError("This job was retried already.")
        job_dispatch(job=job)
    job.refresh_from_db()
    return job


def jobs_sweep(*, now=None) -> dict:
    """Fail jobs whose workers died too often, send again those with attempts left and lost messages.

    Called by every worker's sweeper thread; every change is a conditional UPDATE, so several
    workers sweeping at once send each job at most once.
    """
    now = now or timezone.now()
    # A failed import keeps its uploads for a retry; prune_files removes them after a day.
    failed = leases.give_up(Job, Q(), now=now)
    resend = leases.release_for_retry(Job, Q(kind__in=JOB_TASKS.keys()), now=now)
    resend += leases.queued_to_resend(Job, Q(kind__in=JOB_TASKS.keys()), now=now)
    for job in Job.objects.filter(pk__in=resend).only("pk", "kind"):
        log.info("sending %s job %s again", job.kind, job.pk)
        job_dispatch(job=job)
    return {"failed": len(failed), "sent": len(resend)}
