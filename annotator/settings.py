"""Every setting is read here, from the environment (django-environ), with its default.

Two modes:
- embedded (default): SQLite under ./var/, a file-system Celery broker, media under ./var/media;
  needs no server. SECRET_KEY is generated on first run and kept in ./var/secret_key.
- production (ANNOTATOR_MODE=production): DATABASE_URL, CELERY_BROKER_URL and SECRET_KEY are
  required; storage may be S3-compatible (STORAGE_BACKEND=s3).
"""

import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Where the embedded database, broker folders, media and secret live.
VAR_DIR = Path(env("ANNOTATOR_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# "embedded" (no servers) or "production" (PostgreSQL, Redis, required secret).
MODE = env.str("ANNOTATOR_MODE", default="embedded")
PRODUCTION = MODE == "production"
if PRODUCTION:
    # Refuse to start half-configured: without these a production process would quietly fall back
    # to the embedded SQLite file and file-system broker under var/, losing data between hosts.
    _missing = [
        f"{name} ({what})"
        for name, what in (
            ("SECRET_KEY", "a long random string that signs sessions"),
            ("DATABASE_URL", "the PostgreSQL database, e.g. postgres://annotator:pw@db:5432/annotator"),
            ("CELERY_BROKER_URL", "the Redis broker, e.g. redis://redis:6379/0"),
        )
        if not env.str(name, default="")
    ]
    if _missing:
        raise ImproperlyConfigured(f"ANNOTATOR_MODE=production needs {', '.join(_missing)}: set them in the "
                                   "environment or in .env.")


def _embedded_secret_key() -> str:
    """A random key made on the first embedded run and reused, so sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# Signs sessions and tokens; required in production, generated and kept when embedded.
SECRET_KEY = env.str("SECRET_KEY") if PRODUCTION else env.str("SECRET_KEY", default="") or _embedded_secret_key()
# Off unless asked for.
DEBUG = env.bool("DEBUG", default=False)
# Host names this server answers to.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# Origins trusted for CSRF behind a proxy (https://example.org).
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the docs page's assets, served locally (air-gapped sites)
    "csp",
    "annotator.apps.AnnotatorConfig",
    "labeling",
    "mlassist",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, so it sees a view's exceptions first: a lost database connection becomes a 503.
    "annotator.middleware.DatabaseUnavailableMiddleware",
]

# Security headers (SecurityMiddleware, XFrameOptionsMiddleware); HSTS is set below in production.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

ROOT_URLCONF = "annotator.urls"
WSGI_APPLICATION = "annotator.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL in production (postgres://user@host:5432/name); SQLite under var/ when embedded.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'annotator.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker) share the file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
# Keep database connections open between requests (seconds); a new connection per request costs
# more than the request itself on PostgreSQL.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's backend with a lock-out check before the password check (annotator/throttling.py).
AUTHENTICATION_BACKENDS = ["annotator.throttling.LockoutModelBackend"]
# Sign-in and token failures are counted in fixed windows of this many seconds.
AUTH_FAILURE_WINDOW_SECONDS = env.int("AUTH_FAILURE_WINDOW_SECONDS", default=15 * 60)
# Failed sign-ins for one user name from one address before that pair is locked out for the window.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
# Failed sign-ins from one address, whatever the user names, before the address is locked out.
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env.int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", default=30)
# Requests with a wrong API token from one address before it gets 429 for the rest of the window.
TOKEN_FAILURE_LIMIT = env.int("TOKEN_FAILURE_LIMIT", default=20)
# API request rates (DRF's "N/second|minute|hour|day"; empty for none): anonymous per address, and
# per signed-in user (high: the review grid and the workspace fetch many crops and masks at once).
API_THROTTLE_ANON_RATE = env.str("API_THROTTLE_ANON_RATE", default="120/minute") or None
API_THROTTLE_USER_RATE = env.str("API_THROTTLE_USER_RATE", default="3000/minute") or None
# Proxies in front of gunicorn whose X-Forwarded-For entries are trusted to find a client's address
# (throttling and lock-outs count per address: 0 behind a proxy would lump every user together).
NUM_PROXIES = env.int("NUM_PROXIES", default=1 if PRODUCTION else 0)

# Throttle counters and lock-outs must be shared by every web process in production: Redis (better a
# database of its own, e.g. redis://redis:6379/1; by default the broker's Redis, whose keys Django's
# prefixed ones do not meet). This process's memory when embedded (one web process).
_default_cache = "locmemcache://"
if PRODUCTION and env.str("CELERY_BROKER_URL").startswith(("redis://", "rediss://")):
    _default_cache = env.str("CELERY_BROKER_URL")
CACHES = {"default": env.cache("CACHE_URL", default=_default_cache)}

# Content-Security-Policy (django-csp): only this origin's scripts, styles and frames; no inline
# script or style anywhere (pages keep theirs in static/). Images may also be data:/blob: URLs (the
# workspace's canvases and masks) and, on S3, the storage's signed URLs the API redirects to.
_csp_img_src = ["'self'", "data:", "blob:"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": _csp_img_src,
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    },
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Media goes through Django's storage API: local files by default, S3-compatible when STORAGE_BACKEND=s3.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"  # never served directly: files go out through permission-checked views
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="local")
_default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if STORAGE_BACKEND == "s3":
    # Images are redirects to signed URLs on the storage's host: the CSP must let <img> load them.
    # Virtual-hosted buckets are a subdomain of the endpoint.
    _endpoint = env.str("AWS_S3_ENDPOINT_URL", default="") or "https://s3.amazonaws.com"
    _scheme, _, _host = _endpoint.rstrip("/").partition("://")
    _csp_img_src += [f"{_scheme}://{_host}", f"{_scheme}://*.{_host}"]
    if not env.str("AWS_S3_ENDPOINT_URL", default=""):
        _csp_img_src.append("https://*.amazonaws.com")  # regional hosts: bucket.s3.<region>.amazonaws.com
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            # Signature V4 for the signed URLs: botocore would sign them V2 (deprecated, refused by
            # newer AWS regions) unless told.
            "signature_version": "s3v4",
            "file_overwrite": False,
        },
    }
STORAGES = {
    "default": _default_storage,
    # Hashed, compressed names need collectstatic, which production runs; embedded runs serve static/ as it is.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve static files straight from static/ when collectstatic has not run (embedded, tests).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# Uploads: refuse images above this many pixels before decoding them (decompression bombs).
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=100_000_000)
# Uploads: the largest single file accepted, in bytes.
UPLOAD_MAX_FILE_BYTES = env.int("UPLOAD_MAX_FILE_BYTES", default=200 * 1024 * 1024)
# Zip uploads: cap on the total uncompressed size of an archive (zip bombs).
ZIP_MAX_TOTAL_BYTES = env.int("ZIP_MAX_TOTAL_BYTES", default=2 * 1024 * 1024 * 1024)
# Zip uploads: cap on the number of members in one archive.
ZIP_MAX_MEMBERS = env.int("ZIP_MAX_MEMBERS", default=20_000)
# Longest side of a thumbnail, in pixels.
THUMBNAIL_SIZE = env.int("THUMBNAIL_SIZE", default=256)
# COCO import: the largest annotation file accepted, in bytes.
COCO_IMPORT_MAX_BYTES = env.int("COCO_IMPORT_MAX_BYTES", default=2 * 1024 * 1024 * 1024)
# COCO import: files up to this size are imported during the request; larger ones by a job.
COCO_IMPORT_SYNC_MAX_BYTES = env.int("COCO_IMPORT_SYNC_MAX_BYTES", default=10 * 1024 * 1024)
# COCO export: up to this many annotations stream at once; more (or a zip with images) become a job.
COCO_EXPORT_SYNC_MAX_ANNOTATIONS = env.int("COCO_EXPORT_SYNC_MAX_ANNOTATIONS", default=50_000)
# Polygons: most points one polygon may carry (documented in docs/api.md).
POLYGON_MAX_POINTS = env.int("POLYGON_MAX_POINTS", default=10_000)
# How long a claim on an image from the next-image queue holds before others may take it.
IMAGE_CLAIM_MINUTES = env.int("IMAGE_CLAIM_MINUTES", default=30)
# Who may create projects: "staff_and_granted" (staff, superusers and users given the permission
# labeling.add_project) or "everyone" (any signed-in user). Creating a project makes its creator a
# manager, who may then add users by name: an open door by default would let anyone probe names.
PROJECT_CREATORS = env.str("PROJECT_CREATORS", default="staff_and_granted")
if PROJECT_CREATORS not in ("staff_and_granted", "everyone"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"PROJECT_CREATORS must be staff_and_granted or everyone, not {PROJECT_CREATORS!r}.")
# Model assistance: the frozen backbone (mobilenet_v2, mobilenet_v3_small, mobilenet_v3_large).
MLASSIST_BACKBONE = env.str("MLASSIST_BACKBONE", default="mobilenet_v2")
# Backbone input size in pixels (square); smaller is faster, larger sees smaller objects.
MLASSIST_INPUT_SIZE = env.int("MLASSIST_INPUT_SIZE", default=224)
# MobileNet width multiplier.
MLASSIST_ALPHA = env.float("MLASSIST_ALPHA", default=1.0)
# Backbone weights: "imagenet" (Keras' download), "none" (random: weak proposals), or a weights file's
# path; `manage.py mlassist_install_weights FILE` installs one for air-gapped sites.
MLASSIST_BACKBONE_WEIGHTS = env.str("MLASSIST_BACKBONE_WEIGHTS", default="imagenet")
# Where installed weights files live.
MLASSIST_WEIGHTS_DIR = Path(env("MLASSIST_WEIGHTS_DIR", default=str(VAR_DIR / "weights")))
# Images a forward pass of the backbone takes at once.
MLASSIST_FEATURE_BATCH = env.int("MLASSIST_FEATURE_BATCH", default=32)
# Epochs for the box and mask heads (the tag classifier is solved to convergence).
MLASSIST_HEAD_EPOCHS = env.int("MLASSIST_HEAD_EPOCHS", default=30)
# Let Django stream big uploads to temp files instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("DATA_UPLOAD_MAX_NUMBER_FILES", default=1000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024  # JSON bodies (bulk annotations)
# JSON from outside (request bodies, COCO files): deepest nesting of arrays and objects accepted,
# checked before parsing (json.loads recurses once per level: thousands of levels are a 500).
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=64)
# Decoding: images over this many pixels are decoded reduced (JPEG draft, PNG checked by streaming)
# wherever a small version is enough, so one upload or task never holds a full 100-MP bitmap.
IMAGE_FULL_DECODE_MAX_PIXELS = env.int("IMAGE_FULL_DECODE_MAX_PIXELS", default=16_000_000)

# Celery: Redis in production (redis://host:6379/0); a file-system broker under var/ when embedded.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
else:
    # How long an unacknowledged task waits before another worker takes it (seconds);
    # the killed-worker guarantee rests on this with acks_late.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
# Job state lives in our own Job rows, so Celery keeps no results.
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran: a killed worker means a retried task, not a lost one.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker child past this resident size (KiB) is replaced after its task: one huge image cannot
# leave a worker holding gigabytes for the next task.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=2_000_000)
# Run tasks in this process instead of a worker (only for one-off scripts; tests use real workers).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Leases on long jobs and training runs (docs/architecture.md, "Long work"): a running job whose
# heartbeat is older than JOB_LEASE_SECONDS lost its worker; every worker's sweeper looks every
# JOB_SWEEP_SECONDS, sends it again, and fails it with the reason after JOB_MAX_ATTEMPTS claims.
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=30)
JOB_HEARTBEAT_SECONDS = env.int("JOB_HEARTBEAT_SECONDS", default=5)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=3)
JOB_SWEEP_SECONDS = env.int("JOB_SWEEP_SECONDS", default=10)
# A queued job whose message no worker took for this long is sent again (it may have been lost).
JOB_REDISPATCH_SECONDS = env.int("JOB_REDISPATCH_SECONDS", default=60)
# Retention (manage.py prune_files, and the sweeper every PRUNE_EVERY_MINUTES).
KEEP_EXPORTS = env.int("KEEP_EXPORTS", default=5)
KEEP_MODEL_VERSIONS = env.int("KEEP_MODEL_VERSIONS", default=10)
FAILED_UPLOAD_KEEP_HOURS = env.int("FAILED_UPLOAD_KEEP_HOURS", default=24)
PART_FILE_MAX_AGE_MINUTES = env.int("PART_FILE_MAX_AGE_MINUTES", default=15)
PRUNE_EVERY_MINUTES = env.int("PRUNE_EVERY_MINUTES", default=60)

REST_FRAMEWORK = {
    # Token first: DRF takes WWW-Authenticate from the first class, so a missing or wrong token is a
    # 401 (Session has no header to offer: 403). Signed-in browsers still get 403 for what their role
    # may not do. Wrong tokens are counted per address: past TOKEN_FAILURE_LIMIT, 429 (throttling.py).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotator.throttling.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Rates are the API_THROTTLE_* settings, read at each request.
    "DEFAULT_THROTTLE_CLASSES": ["annotator.throttling.AnonThrottle", "annotator.throttling.UserThrottle"],
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Bodies are size- and depth-checked before json.loads (annotator/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "annotator.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "labeling.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "annotator.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Annotator API",
    "DESCRIPTION": "Collaborative image annotation with model-assisted pre-labelling.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AnnotationStateEnum": "labeling.models.Annotation.State",
        "JobStateEnum": "labeling.models.Job.State",
        "AnnotationKindEnum": "labeling.models.Annotation.Kind",
        "ModelVersionKindEnum": "mlassist.models.ModelVersion.Kind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

if PRODUCTION:
    # Behind TLS: secure cookies, HSTS and redirects; SECURE_SSL_REDIRECT=false when a proxy does it.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# URL import: networks (CIDRs) whose addresses may be fetched although not public (on-premise stores, tests).
URL_IMPORT_ALLOW_NETWORKS = env.list("URL_IMPORT_ALLOW_NETWORKS", default=[])
# URL import: host names fetched whatever their addresses resolve to (an on-premise store's name).
URL_IMPORT_ALLOWED_HOSTS = env.list("URL_IMPORT_ALLOWED_HOSTS", default=[])
# URL import: the largest file downloaded from one URL, in bytes; reading stops just past it.
URL_IMPORT_MAX_BYTES = env.int("URL_IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
# URL import: seconds one URL may take in all (connecting, redirects, reading).
URL_IMPORT_TIMEOUT_SECONDS = env.float("URL_IMPORT_TIMEOUT_SECONDS", default=30.0)
# URL import: the most URLs one list may hold.
URL_IMPORT_MAX_URLS = env.int("URL_IMPORT_MAX_URLS", default=10_000)
# URL import: the most redirects followed for one URL (each hop is checked like the first).
URL_IMPORT_MAX_REDIRECTS = env.int("URL_IMPORT_MAX_REDIRECTS", default=5)
# URL import: the largest URL list file accepted, in bytes.
URL_IMPORT_MAX_LIST_BYTES = env.int("URL_IMPORT_MAX_LIST_BYTES", default=5 * 1024 * 1024)
