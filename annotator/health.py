"""GET /health: is this web process able to serve? For load balancers and monitoring; no sign-in.

The status code follows the database alone: without it nothing works, so 503 takes the process
out of rotation. A broker that cannot be reached only delays jobs (uploads' thumbnails, imports,
training) while labelling goes on, so it is reported in the body with a 200: taking every web
process out of rotation for it would turn a degraded service into an outage.
"""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .middleware import OUTAGE_ERRORS

logger = logging.getLogger(__name__)

# Seconds the broker may take to accept a connection before it counts as unreachable.
BROKER_TIMEOUT_SECONDS = 2


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except OUTAGE_ERRORS as exc:
        logger.warning("health: database unavailable: %s", exc)
        return "unavailable"
    return "ok"


def _broker() -> str:
    from .celery import app

    options = {**(app.conf.broker_transport_options or {}),
               "socket_connect_timeout": BROKER_TIMEOUT_SECONDS, "socket_timeout": BROKER_TIMEOUT_SECONDS}
    try:
        # The setting, read now: the broker this process would queue jobs on.
        with app.connection_for_write(url=settings.CELERY_BROKER_URL, transport_options=options) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # kombu raises its transports' own errors: any failure means "unreachable"
        logger.warning("health: broker unreachable: %s", exc)
        return "unreachable"
    return "ok"


@never_cache
@require_GET
def health(request):
    database = _database()
    broker = _broker()
    if database != "ok":
        state = "unavailable"
    elif broker != "ok":
        state = "degraded"
    else:
        state = "ok"
    return JsonResponse({"status": state, "database": database, "broker": broker},
                        status=503 if database != "ok" else 200)
