"""Long jobs: a Job row that a Celery task claims, reports progress on, and finishes.

Progress is written with plain UPDATEs outside any transaction the job's work holds, so the
UI sees it while the work is still running. A job whose worker was killed is picked up again by
the redelivered task: ``job_claim`` takes queued jobs and jobs left running by a dead attempt.
"""

from django.db.models import F
from django.utils import timezone

from ..models import Job, Project


def job_create(*, project: Project, kind: str, user=None, params: dict | None = None) -> Job:
    return Job.objects.create(
        project=project,
        kind=kind,
        params=params or {},
        created_by=user if user is not None and user.is_authenticated else None,
    )


def job_claim(*, job_id) -> Job | None:
    """Mark the job running (again, after a killed worker) and count the attempt; None when finished."""
    claimed = Job.objects.filter(pk=job_id, state__in=[Job.State.QUEUED, Job.State.RUNNING]).update(
        state=Job.State.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1, error=""
    )
    return Job.objects.get(pk=job_id) if claimed else None


def job_progress(*, job_id, progress: float, detail: str = "") -> None:
    Job.objects.filter(pk=job_id).update(progress=max(0.0, min(1.0, progress)), detail=detail[:300])


def job_succeed(*, job_id, result: dict | None = None, result_file: str = "", detail: str = "Done") -> None:
    Job.objects.filter(pk=job_id).update(
        state=Job.State.SUCCEEDED, progress=1.0, result=result, result_file=result_file, detail=detail[:300],
        finished_at=timezone.now(),
    )


def job_fail(*, job_id, error: str) -> None:
    Job.objects.filter(pk=job_id).update(state=Job.State.FAILED, error=error, finished_at=timezone.now())


def job_run(*, job_id, work) -> None:
    """Claim the job, run ``work(job)`` and record how it ended.

    ``work`` returns ``(result, result_file)``. Errors a user can act on (ValueError and its
    kin, which our services raise with the element that was wrong) fail the job with that
    message; anything else fails it too and is re-raised so the worker logs the traceback.
    """
    job = job_claim(job_id=job_id)
    if job is None:
        return  # finished by an earlier delivery of the same task
    try:
        result, result_file = work(job)
    except ValueError as exc:
        job_fail(job_id=job_id, error=str(exc))
        return
    except Exception as exc:
        job_fail(job_id=job_id, error=f"{exc.__class__.__name__}: {exc}")
        raise
    job_succeed(job_id=job_id, result=result, result_file=result_file or "")
