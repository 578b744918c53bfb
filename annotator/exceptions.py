"""One exception handler for the whole API, so every error has the same shape.

Every error is a JSON object with a human-readable ``detail``; validation errors add
``errors``: a list of ``{"field": <name or JSON path>, "detail": <message>}``.
"""

import logging

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


def _flatten(detail, prefix=""):
    """Turn DRF's nested error dict/list into [{"field": path, "detail": message}]."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            path = key if not prefix else (f"{prefix}.{key}" if key != "non_field_errors" else prefix)
            if key == "non_field_errors" and not prefix:
                path = ""
            out.extend(_flatten(value, path))
        return out
    if isinstance(detail, list):
        if all(not isinstance(v, (dict, list)) for v in detail):
            return [{"field": prefix, "detail": str(v)} for v in detail]
        out = []
        for i, value in enumerate(detail):
            if value:
                out.extend(_flatten(value, f"{prefix}[{i}]"))
        return out
    return [{"field": prefix, "detail": str(detail)}]


def _client_error(exc):
    """The request's own values are all that can cause these; a 400 saying so, not a 500.

    The last line of defence, behind the parsers and serializers that should refuse such values
    first, naming the field: a number too large for the database or for a float (SQLite refuses
    integers past 64 bits), a value that does not fit its column (PostgreSQL's DataError), input
    nested deeper than Python recurses. Logged with its traceback, so the missing check is found.
    """
    if isinstance(exc, RecursionError):
        message = "The request is nested too deeply to read."
    elif isinstance(exc, OverflowError):
        message = "A number in the request is too large."
    elif isinstance(exc, DataError):
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]  # e.g. "value too long for type ..."
        message = f"A value in the request does not fit where it is stored: {reason}"
    else:
        return None
    logger.warning("Refused with 400 by the API exception handler: %s", message, exc_info=exc)
    return exceptions.ValidationError({"non_field_errors": [message]})


def api_exception_handler(exc, context):
    exc = _client_error(exc) or exc
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, ObjectDoesNotExist):
        # A row deleted by someone else while this request ran (services raise Model.DoesNotExist
        # with a sentence saying so): a 404 naming it, not a 500.
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = errors[0] if errors else {"field": "", "detail": "Invalid input."}
        where = f"{first['field']}: " if first["field"] else ""
        response.data = {"detail": f"{where}{first['detail']}", "errors": errors}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"]), **{k: v for k, v in response.data.items() if k != "detail"}}
    else:
        response.data = {"detail": str(response.data)}
    if isinstance(exc, Conflict):
        response.data["current"] = exc.current
    return response


class Conflict(exceptions.APIException):
    """A write based on a stale version; carries the current object."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This object changed since you loaded it."
    default_code = "conflict"

    def __init__(self, current, detail=None):
        super().__init__(detail)
        self.current = current


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = "Send the version this change is based on (the `version` field or an If-Match header)."
    default_code = "precondition_required"

