"""A database that is down or restarting is an outage the client can wait out, not a bug: 503, not 500.

PostgreSQL restarts, fail-overs and `pg_terminate_backend` break the connection in the middle of a
request; SQLite answers "database is locked" when another writer holds it past the timeout. Either
way the request did nothing (its transaction is rolled back), so the client is told to try again.
The broken connection is closed at the end of the request (Django's close_old_connections), and
CONN_HEALTH_CHECKS tests a kept connection before reuse, so the retry gets a fresh one.
"""

import logging
import sys

from django import db
from django.http import HttpResponse, JsonResponse
from django.views import defaults

logger = logging.getLogger(__name__)

UNAVAILABLE = "The database is unavailable; try again."
# Clients that honour it wait this long (seconds) before retrying.
RETRY_AFTER_SECONDS = 5

# Connection failures only: IntegrityError and friends are the caller's mistakes or our bugs.
OUTAGE_ERRORS = (db.OperationalError, db.InterfaceError)


def _is_api(request) -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/health")


def database_unavailable_response(request):
    if _is_api(request):
        response = JsonResponse({"detail": UNAVAILABLE, "errors": []}, status=503)
    else:
        response = HttpResponse(
            "<!doctype html><title>Try again</title><h1>The database is unavailable</h1>"
            "<p>Nothing was saved. Try again in a few seconds.</p>",
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a lost database connection raised by a view into a 503 (JSON under /api/)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OUTAGE_ERRORS):
            logger.warning("database unavailable during %s %s: %s", request.method, request.path, exception)
            return database_unavailable_response(request)
        return None


def server_error(request, *args, **kwargs):
    """handler500: the same 503 for outages raised outside views (sessions, middleware), JSON for the API.

    Django calls it inside its `except` block, so the exception being handled is sys.exc_info().
    """
    exc = sys.exc_info()[1]
    if isinstance(exc, OUTAGE_ERRORS):
        return database_unavailable_response(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error.", "errors": []}, status=500)
    return defaults.server_error(request, *args, **kwargs)
