"""Thin Celery tasks for model assistance: take ids, make one service call."""

from celery import shared_task


# Idempotent: a run left "running" by a dead worker is claimed again once its lease is stale (the
# sweeper sends it again), features already stored are skipped, a version is promoted only when
# complete; after JOB_MAX_ATTEMPTS the run fails with the reason instead.
@shared_task(name="mlassist.training_run", acks_late=True)
def training_run_task(run_id: int) -> None:
    from .services.training import training_run_execute

    training_run_execute(run_id=run_id)


# Proposals of an image are replaced in one transaction; re-running gives the same result.
@shared_task(name="mlassist.propose", acks_late=True)
def propose_task(job_id: str) -> None:
    from .services.proposals import proposals_job

    proposals_job(job_id=job_id)


# Idempotent: images that already have features for this backbone are skipped.
@shared_task(name="mlassist.features_compute", acks_late=True)
def features_compute_task(job_id: str) -> None:
    from .services.features import features_job

    features_job(job_id=job_id)


# Idempotent: a version that already has its TFLite file is left alone.
@shared_task(name="mlassist.tflite_export", acks_late=True)
def tflite_export_task(version_id: int) -> None:
    from .services.exports import tflite_export

    tflite_export(version_id=version_id)


# Idempotent: the backbone file and each version's live head are built only when missing.
@shared_task(name="mlassist.live_parts_export", acks_late=True)
def live_parts_export_task(version_ids: list[int]) -> None:
    from .services.exports import live_parts_export

    live_parts_export(version_ids=version_ids)


# Resumable: each image's proposals are stored with the count done, in one transaction; a
# replacement worker starts at the first image not stored, with the clusters already chosen.
@shared_task(name="mlassist.maia_novelty", acks_late=True)
def maia_novelty_task(job_id: str) -> None:
    from .services.maia import maia_job

    maia_job(job_id=job_id)
