"""Model events for open pages: a training run's progress, a new version, new proposals.

Why this design: the web runs as gunicorn workers of a few threads each (scripts/run.sh: 3 workers of
4 threads), so any request that waits holds a thread that saves could use. Pages therefore get a
long-poll with a version counter (``token``): the answer comes at once when anything changed since
the token the page holds, and otherwise after at most WAIT_MAX seconds of cheap checks (one small
query a second). Server-sent
events are offered on the same URL (``Accept: text/event-stream``) for the same bounded time; the
browser's EventSource reconnects by itself (``retry``), so a stream is a long-poll that can deliver
several events. At most MAX_WAITERS requests of a process wait at a time: the others are answered
at once (``changed: false``, ``retry_after``), so waiting pages can never take every worker away
from people saving labels. No broker, no extra process, nothing to deploy.
"""

from __future__ import annotations

import json
import threading
import time

from django.db.models import Max

from labeling.models import Annotation

from .models import ModelVersion, TrainingRun

WAIT_MAX = 20.0  # seconds a request may wait for a change
POLL_EVERY = 1.0
MAX_WAITERS = 2  # per process (of WEB_THREADS threads): the other threads stay free for everything else
_waiters = threading.BoundedSemaphore(MAX_WAITERS)


def model_state(*, project_id: int) -> dict:
    """What a page shows about the model, with a ``token`` that changes whenever any of it does."""
    run = (TrainingRun.objects.filter(project_id=project_id)
           .values("id", "state", "stage", "progress", "detail", "error", "finished_at").first())
    serving = list(ModelVersion.objects.filter(project_id=project_id, in_service=True)
                   .values("id", "kind", "number").order_by("kind"))
    latest_version = ModelVersion.objects.filter(project_id=project_id).aggregate(n=Max("id"))["n"] or 0
    # The newest proposal's id: a refresh that stored proposals moves it (ids only grow).
    newest_proposal = (Annotation.objects.filter(image__project_id=project_id, origin=Annotation.Origin.MODEL,
                                                 state=Annotation.State.PROPOSED).aggregate(n=Max("id"))["n"] or 0)
    token = "-".join(str(v) for v in (
        run["id"] if run else 0, run["state"] if run else "", round(run["progress"], 2) if run else 0,
        run["stage"] if run else "", latest_version, ",".join(str(v["id"]) for v in serving), newest_proposal,
    ))
    if run and run["finished_at"]:
        run["finished_at"] = run["finished_at"].isoformat()
    return {"token": token, "run": run, "serving": serving, "latest_version": latest_version,
            "newest_proposal": newest_proposal}


def model_state_wait(*, project_id: int, since: str, wait: float) -> dict:
    """The state as soon as its token differs from ``since``, or after ``wait`` seconds (bounded)."""
    state = model_state(project_id=project_id)
    wait = max(0.0, min(float(wait), WAIT_MAX))
    if state["token"] != since and since:
        return {**state, "changed": True}
    if not since or wait == 0:
        return {**state, "changed": False}
    if not _waiters.acquire(blocking=False):
        return {**state, "changed": False, "retry_after": 5}
    try:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            time.sleep(min(POLL_EVERY, max(0.0, deadline - time.monotonic())))
            state = model_state(project_id=project_id)
            if state["token"] != since:
                return {**state, "changed": True}
        return {**state, "changed": False}
    finally:
        _waiters.release()


def model_event_stream(*, project_id: int, since: str, wait: float = WAIT_MAX):
    """Server-sent events: one ``model`` event per change, for at most ``wait`` seconds, then the
    stream ends and EventSource reconnects (Last-Event-ID carries the token)."""
    if not _waiters.acquire(blocking=False):
        yield "retry: 5000\n\n"
        return
    try:
        yield f"retry: {int(POLL_EVERY * 3000)}\n\n"
        deadline = time.monotonic() + max(0.0, min(float(wait), WAIT_MAX))
        token = since
        while True:
            state = model_state(project_id=project_id)
            if state["token"] != token:
                token = state["token"]
                yield f"id: {token}\nevent: model\ndata: {json.dumps(state)}\n\n"
            else:
                # A comment line each check: a page that went away makes this write fail, which ends
                # the stream (and frees its waiter slot) within a second or two, not after WAIT_MAX.
                yield ":\n\n"
            if time.monotonic() >= deadline:
                return
            time.sleep(min(POLL_EVERY, max(0.0, deadline - time.monotonic())))
    finally:
        _waiters.release()
