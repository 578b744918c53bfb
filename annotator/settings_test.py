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
