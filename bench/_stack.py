"""Scale-out on one machine, each part its own process as on separate hosts: moto's S3 server (a real
HTTP S3 endpoint), gunicorn instances on their own ports and Celery workers, sharing only
PostgreSQL, the broker and the bucket. Used by tests/test_scale_out.py and bench/scale_out.py.

The media root given to the web and worker processes does not exist and is never created: with S3
storage nothing may be written there, and a process that did would make it appear.
"""

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "annotator-media"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, process: subprocess.Popen, log: Path, what: str, timeout=90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2):
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


class Stack:
    """Start the parts with ``s3()``, ``web()`` and ``worker()``; ``close()`` (or ``with``) stops them all."""

    def __init__(self, folder: Path, env: dict):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.media_root = self.folder / "no-local-media"  # must stay absent
        # Production mode, as deployed: the settings refuse to start half-configured.
        self.env = {
            **env,
            "DJANGO_SETTINGS_MODULE": "annotator.settings",
            "ANNOTATOR_MODE": "production",
            "SECRET_KEY": "scale-out-" + "x" * 50,
            "SECURE_SSL_REDIRECT": "false",  # no TLS proxy in front here
            "NUM_PROXIES": "0",  # and no proxy at all: clients are counted by their own address
            "MEDIA_ROOT": str(self.media_root),
        }
        self.processes: list[subprocess.Popen] = []
        self.s3_endpoint = ""

    def _start(self, name: str, argv: list[str]) -> tuple[subprocess.Popen, Path]:
        log = self.folder / f"{name}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process, log

    def s3(self) -> dict:
        """Start moto's server with one private bucket; the web and worker processes get S3 storage."""
        port = free_port()
        self.s3_endpoint = f"http://127.0.0.1:{port}"
        process, log = self._start("s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)])
        _wait_http(f"{self.s3_endpoint}/moto-api/", process, log, "moto_server")
        s3_env = {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_ENDPOINT_URL": self.s3_endpoint,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_ACCESS_KEY_ID": "scale-out",
            "AWS_SECRET_ACCESS_KEY": "scale-out-secret",
        }
        self.env.update(s3_env)
        self.client().create_bucket(Bucket=BUCKET)
        return s3_env

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.s3_endpoint, region_name="us-east-1",
                            aws_access_key_id="scale-out", aws_secret_access_key="scale-out-secret")

    def object_keys(self) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def webs(self, n: int, *, processes: int = 2) -> list[str]:
        """Start ``n`` gunicorn instances, each on its own port; returns their base URLs once /health answers."""
        started = []
        for _ in range(n):
            port = free_port()
            name = f"web-{len(list(self.folder.glob('web-*.log'))) + 1}"
            process, log = self._start(name, [
                sys.executable, "-m", "gunicorn", "annotator.wsgi", "--bind", f"127.0.0.1:{port}",
                "--workers", str(processes), "--timeout", "120", "--log-level", "warning",
            ])
            started.append((f"http://127.0.0.1:{port}", process, log, name))
        for base, process, log, name in started:
            _wait_http(f"{base}/health", process, log, name)
        return [base for base, *_ in started]

    def workers(self, n: int) -> list[subprocess.Popen]:
        """Start ``n`` Celery workers (one task at a time each, like worker hosts with one slot); returns once
        all are ready."""
        started = []
        for _ in range(n):
            name = f"worker-{len(list(self.folder.glob('worker-*.log'))) + 1}"
            started.append((*self._start(name, [
                sys.executable, "-m", "celery", "-A", "annotator", "worker", "-P", "solo", "-l", "info",
                "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
            ]), name))
        deadline = time.monotonic() + 180
        for process, log, name in started:
            while "ready." not in log.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start:\n{log.read_text()[-4000:]}")
                time.sleep(0.2)
        return [process for process, *_ in started]

    def purge_queue(self) -> None:
        subprocess.run([sys.executable, "-m", "celery", "-A", "annotator", "purge", "-f"], cwd=ROOT, env=self.env,
                       check=True, capture_output=True, timeout=120)

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in sorted(self.folder.glob("*.log")))

    def stop(self, processes) -> None:
        """Stop these parts; one still busy after a few seconds is killed (nothing here needs its task)."""
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        self.processes = [p for p in self.processes if p not in processes]

    def close(self) -> None:
        self.stop(list(reversed(self.processes)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
