"""What every Celery worker runs beside its tasks: the sweeper of jobs whose worker died.

The broker alone cannot be trusted with a killed worker's task: Redis gives it back only after
its visibility timeout (an hour in production) and the embedded file-system broker never does.
So each worker's main process runs a daemon thread that, every JOB_SWEEP_SECONDS, looks at the
leases (labeling/services/leases.py): it fails jobs and training runs whose workers stopped
JOB_MAX_ATTEMPTS times, sends again those with attempts left, and re-sends queued ones whose
message seems lost. Every change is a conditional UPDATE, so any number of workers may sweep.
It also prunes old files (prune_files) every PRUNE_EVERY_MINUTES.
"""

import logging
import threading
import time

from celery.signals import worker_ready, worker_shutdown

log = logging.getLogger("annotator.worker")
_stop = threading.Event()


def sweep_once() -> dict:
    from labeling.services.jobs import jobs_sweep
    from mlassist.services.training import training_runs_sweep

    return {"jobs": jobs_sweep(), "training_runs": training_runs_sweep()}


def _sweeper() -> None:
    from django.conf import settings
    from django.db import close_old_connections, connection

    next_prune = time.monotonic()  # once at start, then every PRUNE_EVERY_MINUTES
    try:
        while True:
            close_old_connections()
            try:
                outcome = sweep_once()
                if any(outcome[k]["failed"] or outcome[k]["sent"] for k in outcome):
                    log.info("sweeper: %s", outcome)
                if time.monotonic() >= next_prune:
                    from mlassist.services.pruning import files_prune

                    log.info("pruning files: %s", files_prune())
                    next_prune = time.monotonic() + settings.PRUNE_EVERY_MINUTES * 60
            except Exception:  # a database blip must not end the sweeper for the worker's lifetime
                log.exception("sweeper: this round failed; trying again")
            if _stop.wait(settings.JOB_SWEEP_SECONDS):
                return
    finally:
        connection.close()


@worker_ready.connect
def start_sweeper(sender=None, **kwargs) -> None:
    # worker_ready fires in the worker's main process, whatever the pool (prefork, solo, threads).
    _stop.clear()
    threading.Thread(target=_sweeper, name="job-sweeper", daemon=True).start()


@worker_shutdown.connect
def stop_sweeper(sender=None, **kwargs) -> None:
    _stop.set()
