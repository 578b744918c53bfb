"""Test overrides: the same settings as production code, with fast hashing and a file test DB.

The SQLite test database is a file (not memory) so that a real Celery worker process can
open the same database as the test.
"""

import os

from .settings import *  # noqa: F401,F403
from .settings import DATABASES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # One file per test process, so that test runs side by side do not share (and lock) one database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Model assistance in tests: random weights (nothing can be downloaded) and small inputs.
MLASSIST_BACKBONE_WEIGHTS = "none"
MLASSIST_INPUT_SIZE = 96
MLASSIST_HEAD_EPOCHS = int(os.environ.get("MLASSIST_HEAD_EPOCHS", "15"))

# Fault injection, read from a test worker's environment (tests/test_fault_injection.py); these
# settings exist only here. A job of a kind in FAULT_INJECTION_KILL_KINDS kills its own worker
# as soon as it is claimed; FAULT_INJECTION_PAUSE_SECONDS pauses after each progress report so
# that a test can kill the worker while a job runs.
FAULT_INJECTION_KILL_KINDS = [k for k in os.environ.get("FAULT_INJECTION_KILL_KINDS", "").split(",") if k]
FAULT_INJECTION_PAUSE_SECONDS = float(os.environ.get("FAULT_INJECTION_PAUSE_SECONDS", "0"))
