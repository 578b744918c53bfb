"""`make run` stopped with Ctrl+C ends every process it started within 10 s (no "Warm shutdown" hang)."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_members(pgid: int) -> list[tuple[int, str]]:
    """(pid, command) of every live process in the process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            members.append((int(entry.name), cmd))
    return members


def running_jobs(database: Path) -> int:
    import sqlite3

    with sqlite3.connect(database, timeout=30) as db:
        return db.execute("SELECT count(*) FROM labeling_job WHERE state = 'running' AND progress > 0").fetchone()[0]


def test_ctrl_c_ends_the_web_server_and_the_worker_within_10_seconds(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")}  # embedded mode, in tmp
    # The demo's features job pauses a minute after its first progress report (fault injection,
    # settings_test), so Ctrl+C comes while the worker runs a task: a warm shutdown would wait for it.
    env.update(ANNOTATOR_VAR_DIR=str(tmp_path / "var"), CELERY_CONCURRENCY="1", WEB_WORKERS="1",
               DJANGO_SETTINGS_MODULE="annotator.settings_test", FAULT_INJECTION_PAUSE_SECONDS="60")
    log = open(tmp_path / "run.log", "w")
    # Its own process group, as a terminal's foreground job is: Ctrl+C signals the whole group.
    script = subprocess.Popen(["scripts/run.sh", "127.0.0.1", str(port)], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    pgid = script.pid
    try:
        deadline = time.monotonic() + 240  # migrate and seed_demo on a fresh SQLite file first
        while True:
            assert script.poll() is None, (tmp_path / "run.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the web server never answered"
            time.sleep(0.5)
        worker_log = tmp_path / "var" / "log" / "worker.log"
        while not running_jobs(tmp_path / "var" / "annotator.sqlite3"):  # the worker is busy with the demo's images
            assert time.monotonic() < deadline, worker_log.read_text()
            time.sleep(0.5)
        started = group_members(pgid)
        assert any("celery" in cmd for _, cmd in started) and any("gunicorn" in cmd for _, cmd in started)

        os.killpg(pgid, signal.SIGINT)  # what Ctrl+C does
        stop_by = time.monotonic() + 10
        while group_members(pgid) and time.monotonic() < stop_by:
            script.poll()  # reap run.sh itself
            time.sleep(0.1)
        assert group_members(pgid) == [], f"still running 10 s after Ctrl+C: {group_members(pgid)}"
    finally:
        for pid, _ in group_members(pgid):
            os.kill(pid, signal.SIGKILL)
        script.wait(timeout=10)
        log.close()
