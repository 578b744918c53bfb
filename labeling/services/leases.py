"""Leases on long work: labeling.Job and mlassist.TrainingRun rows claimed by one worker at a time.

A worker claims a row with one conditional UPDATE (queued, or running with a stale heartbeat or
released by the sweeper), writing its own ``lease_owner`` and ``heartbeat_at``. While the work
runs, a thread renews ``heartbeat_at`` every JOB_HEARTBEAT_SECONDS; every progress and finish
write is conditional on the lease too. So:

- a redelivered message of a task that is still running finds a fresh heartbeat and does nothing
  (a task longer than the broker's visibility timeout never runs twice at once);
- a killed worker's row goes stale after JOB_LEASE_SECONDS and the sweeper (annotator/worker.py)
  sends its task again, without waiting for the broker's visibility timeout;
- after JOB_MAX_ATTEMPTS claims the row is failed with a reason a person understands, instead of
  a task that kills its worker being redelivered forever;
- a worker that lost its lease (it was thought dead) stops at its next progress report instead
  of writing results a second time.

The functions take the model class, so Job and TrainingRun share one implementation.
"""

import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.utils import timezone

log = logging.getLogger(__name__)

QUEUED, RUNNING, FAILED = "queued", "running", "failed"


class LeaseLost(Exception):
    """Another worker took this row over (ours was thought dead): stop without writing results.

    Not a ValueError on purpose: job_run turns those into a failed job, and this must not fail
    the job that the new owner is running.
    """


def crash_reason(attempts: int) -> str:
    return (
        f"The worker stopped {attempts} times while running this job (killed, or out of memory), "
        "so it was not tried again. The worker's log says why; retry once that is fixed, or with less data."
    )


def new_owner() -> str:
    """hostname:pid:random — unique per claim, and says which process holds the row."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def stale_before(now):
    return now - timedelta(seconds=settings.JOB_LEASE_SECONDS)


def orphaned(now) -> Q:
    """Running rows nobody holds: a stale heartbeat, none at all, or released by the sweeper."""
    return Q(state=RUNNING) & (Q(lease_owner="") | Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale_before(now)))


def claim(model, pk, **also) -> str | None:
    """Take the row for this process; returns the lease owner, or None when it is not ours to run.

    A row that used all its attempts is failed here (when the broker redelivers a task that
    killed its worker) as it is by the sweeper.
    """
    now = timezone.now()
    owner = new_owner()
    claimed = (
        model.objects.filter(Q(state=QUEUED) | orphaned(now), pk=pk, attempts__lt=settings.JOB_MAX_ATTEMPTS)
        .update(state=RUNNING, lease_owner=owner, heartbeat_at=now, started_at=now,
                attempts=F("attempts") + 1, error="", **also)
    )
    if claimed:
        return owner
    give_up(model, Q(pk=pk), now=now)
    return None


def give_up(model, where: Q, *, now=None) -> list:
    """Fail orphaned rows that used every attempt; returns their primary keys."""
    now = now or timezone.now()
    rows = model.objects.filter(where, orphaned(now), attempts__gte=settings.JOB_MAX_ATTEMPTS)
    failed = []
    for pk, attempts in rows.values_list("pk", "attempts"):
        # Conditional again: another sweeper, or a claim, may have got there first.
        if model.objects.filter(orphaned(now), pk=pk, attempts=attempts).update(
            state=FAILED, error=crash_reason(attempts), lease_owner="", finished_at=now
        ):
            log.warning("%s %s failed: its worker stopped %s times", model.__name__, pk, attempts)
            failed.append(pk)
    return failed


def release_for_retry(model, where: Q, *, now=None) -> list:
    """Orphaned rows with attempts left: release them (and stamp the time) so their task can be sent again.

    heartbeat_at then says when the task was sent, so a row whose new message is still waiting
    in the broker is sent again only after another JOB_LEASE_SECONDS, not on every sweep.
    """
    now = now or timezone.now()
    rows = model.objects.filter(where, orphaned(now), attempts__lt=settings.JOB_MAX_ATTEMPTS)
    released = []
    for pk, attempts, owner, beat in rows.values_list("pk", "attempts", "lease_owner", "heartbeat_at"):
        if owner == "" and beat is not None and beat >= stale_before(now):
            continue  # sent again recently; its message is on its way
        if model.objects.filter(orphaned(now), pk=pk, attempts=attempts, lease_owner=owner).update(
            lease_owner="", heartbeat_at=now,
            detail=f"The worker stopped; trying again (attempt {attempts + 1} of {settings.JOB_MAX_ATTEMPTS})",
        ):
            released.append(pk)
    return released


def queued_to_resend(model, where: Q, *, now=None) -> list:
    """Queued rows whose message was sent JOB_REDISPATCH_SECONDS ago and not taken: stamp them and return them.

    The message may be lost (the file-system broker forgets a message its killed worker had
    taken; Redis gives back a dead worker's reserved messages only after the visibility
    timeout). Sending it again is harmless: a second delivery finds the row claimed or done.
    """
    now = now or timezone.now()
    before = now - timedelta(seconds=settings.JOB_REDISPATCH_SECONDS)
    waiting = Q(heartbeat_at__lt=before) | Q(heartbeat_at__isnull=True, created_at__lt=before)
    resend = []
    for pk in model.objects.filter(where, waiting, state=QUEUED).values_list("pk", flat=True):
        if model.objects.filter(waiting, pk=pk, state=QUEUED).update(heartbeat_at=now):
            resend.append(pk)
    return resend


class Lease:
    """A claimed row, renewed by a heartbeat thread while the work runs (use it as a context manager)."""

    _held: dict = {}  # (model name, str(pk)) -> Lease, so progress writes deep in the work find it

    def __init__(self, model, pk, owner):
        self.model, self.pk, self.owner = model, pk, owner
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{pk}", daemon=True)

    @classmethod
    def of(cls, model, pk) -> "Lease | None":
        return cls._held.get((model.__name__, str(pk)))

    def __enter__(self):
        Lease._held[(self.model.__name__, str(self.pk))] = self
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=settings.JOB_HEARTBEAT_SECONDS + 5)
        Lease._held.pop((self.model.__name__, str(self.pk)), None)
        return False

    def _beat(self):
        try:
            while not self._stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    renewed = self.mine(state=RUNNING).update(heartbeat_at=timezone.now())
                except DatabaseError as exc:  # a busy database: try again at the next beat
                    log.warning("heartbeat of %s %s not written: %s", self.model.__name__, self.pk, exc)
                    continue
                if not renewed and self._taken_over():
                    log.warning("%s %s: lease lost to another worker", self.model.__name__, self.pk)
                    self.lost = True
                    return
        finally:
            connection.close()  # this thread's own connection

    def _taken_over(self) -> bool:
        """The row is visibly someone else's or no longer running (not merely invisible to this
        thread's connection, as a row the work's own open transaction created would be)."""
        row = self.model.objects.filter(pk=self.pk).values_list("lease_owner", "state").first()
        return row is not None and row != (self.owner, RUNNING)

    def mine(self, **also):
        return self.model.objects.filter(pk=self.pk, lease_owner=self.owner, **also)

    def check(self):
        if self.lost:
            raise LeaseLost(f"{self.model.__name__} {self.pk} is now run by another worker")

    def write(self, **fields) -> None:
        """A progress write: only while the row is still ours (it renews the heartbeat too)."""
        self.check()
        if not self.mine(state=RUNNING).update(heartbeat_at=timezone.now(), **fields):
            self.lost = True
            self.check()

    def finish(self, **fields) -> None:
        """The last write (succeeded or failed), only if the row is still ours."""
        if not self.mine().update(**fields):
            self.lost = True
            self.check()


def fault_injection_point(kind: str) -> None:
    """Tests only: settings_test reads FAULT_INJECTION_KILL_KINDS from the worker's environment.

    A job of a listed kind kills its own worker process (SIGKILL, as the OOM killer does) as soon
    as it is claimed, on every attempt. The setting does not exist in production settings.
    """
    if kind in getattr(settings, "FAULT_INJECTION_KILL_KINDS", ()):
        log.warning("fault injection: killing this worker (pid %s) during a %s job", os.getpid(), kind)
        os.kill(os.getpid(), signal.SIGKILL)


def fault_injection_pause() -> None:
    """Tests only: FAULT_INJECTION_PAUSE_SECONDS after each progress report, so a test can kill the worker mid-job."""
    pause = getattr(settings, "FAULT_INJECTION_PAUSE_SECONDS", 0)
    if pause:
        time.sleep(pause)
