"""JSON request bodies, bounded before they are parsed.

DRF's JSONParser reads the request stream whole (Django's DATA_UPLOAD_MAX_MEMORY_SIZE only guards
``request.body``, which DRF does not use) and hands it to ``json.loads``, whose C scanner recurses
once per nesting level: a body nested ~5,000 deep ends in RecursionError, a 500. Here the body is
read at most one byte past the limit, and its nesting depth is measured by a scan that cannot
recurse, before ``json.loads`` sees it.
"""

import json
import re

import numpy as np
from django.conf import settings
from rest_framework import exceptions, parsers, renderers, status
from rest_framework.settings import api_settings
from rest_framework.utils import json as drf_json

# A JSON string (escapes included): its brackets are text, not structure. Unrolled so that the
# regex engine runs in one pass without backtracking.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_OPENERS, _CLOSERS = b"[{", b"]}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _OPENERS + _CLOSERS)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


class JsonTooDeep(ValueError):
    """JSON nested deeper than JSON_MAX_DEPTH; the message says how deep and the limit."""


def _refusal(detail: str) -> dict:
    return {"detail": detail, "errors": [{"field": "body", "detail": detail}]}


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in ``data`` (strings skipped), in linear time.

    Everything but brackets is dropped by C-level passes (regex, translate); numpy's cumulative sum
    of +1/-1 then gives the depth at every bracket. About 40 ms for a 20 MB body of polygons.
    """
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    steps = np.frombuffer(brackets, dtype=np.uint8)
    # '[' 0x5b and '{' 0x7b have bit 0x02 set, ']' 0x5d and '}' 0x7d have it clear.
    signs = ((steps & 0x02) >> 1).astype(np.int8) * 2 - 1
    return int(np.cumsum(signs, dtype=np.int64).max())


def json_check(data: bytes, *, what: str = "The JSON body") -> None:
    """Raise JsonTooDeep (a ValueError) when ``data`` is nested deeper than JSON_MAX_DEPTH."""
    limit = settings.JSON_MAX_DEPTH
    depth = json_depth(data)
    if depth > limit:
        raise JsonTooDeep(f"{what} is nested {depth} levels deep (arrays and objects); the limit is {limit}.")


def json_loads_bounded(data: bytes, *, what: str = "The JSON body"):
    """``json.loads`` for JSON from outside: depth checked first, so parsing cannot recurse deeply."""
    json_check(data, what=what)
    return json.loads(data)


class JSONParser(parsers.BaseParser):
    """DRF's JSON parsing with a size cap (DATA_UPLOAD_MAX_MEMORY_SIZE) and a depth cap (JSON_MAX_DEPTH).

    Not a subclass of DRF's JSONParser on purpose: for those DRF reads ``request.body`` itself,
    which answers an oversized body with Django's HTML 400 instead of our JSON error.
    """

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer
    strict = api_settings.STRICT_JSON

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(data) > limit:
            raise PayloadTooLarge(_refusal(f"The JSON body is larger than the limit of {limit} bytes."))
        try:
            json_check(data)
        except JsonTooDeep as exc:
            raise exceptions.ParseError(_refusal(str(exc))) from None
        try:
            text = data.decode((parser_context or {}).get("encoding", settings.DEFAULT_CHARSET))
            return json.loads(text, parse_constant=drf_json.strict_constant if self.strict else None)
        except RecursionError:  # belt and braces: the depth check comes first
            raise exceptions.ParseError(_refusal("The JSON body is nested too deeply.")) from None
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise exceptions.ParseError(_refusal(f"The JSON body could not be parsed: {exc}")) from None
