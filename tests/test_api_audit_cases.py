"""The audit's failure classes as plain tests, over every operation of the live schema and real HTTP.

Each test sends one kind of hostile input to every operation that takes it and lists every
operation that answered 500 (or no JSON error), so one run names them all. The schema fuzzing in
tests/test_schema_fuzz.py finds such cases by chance; these make sure they stay fixed.
"""

import json
import re

import pytest
import requests

from .api_world import SAME, World, fuzz_manager, served_schema, token, world  # noqa: F401

HUGE = 2**64  # past what any 64-bit column (and SQLite) holds
LIVE_SCHEMA = served_schema()
METHODS = ("get", "put", "patch", "post", "delete")


def test_these_cases_cover_the_schema_the_server_serves(live_server, world):
    served = requests.get(f"{live_server.url}/api/schema/?format=json", headers=token(world.manager), timeout=60)
    assert served.status_code == 200
    assert served.json() == LIVE_SCHEMA


def _api_routes(patterns=None, prefix=""):
    """Every URL pattern of the site as an OpenAPI path template (`<int:pk>` is `{id}` there)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{id}" if m[1] == "pk" else "{" + m[1] + "}", route)


def test_every_api_route_is_in_the_schema_so_it_is_fuzzed():
    routes = {route for route in _api_routes() if route.startswith("/api/")} - {"/api/schema/", "/api/docs/"}
    assert len(routes) > 10  # the walk itself works
    assert routes - set(LIVE_SCHEMA["paths"]) == set()


def _resolve(ref_or_schema: dict) -> dict:
    while isinstance(ref_or_schema, dict) and "$ref" in ref_or_schema:
        node = LIVE_SCHEMA
        for part in ref_or_schema["$ref"].split("/")[1:]:
            node = node[part]
        ref_or_schema = node
    return ref_or_schema


def _operations():
    for path, path_item in LIVE_SCHEMA["paths"].items():
        for method in METHODS:
            if method in path_item:
                yield method, path, path_item[method]


def _json_operations():
    for method, path, operation in _operations():
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            yield method, path, _resolve(content["application/json"]["schema"])


def _url(live_server, world: World, path: str, operation: dict, override=None) -> str:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            name = parameter["name"]
            sentinel = "00000000-0000-4000-8000-000000000001" if parameter["schema"].get("format") == "uuid" else SAME
            value = override if override is not None else world.resolve(path, name, sentinel)
            path = path.replace("{" + name + "}", str(value))
    return live_server.url + path


def _send(world, live_server, method, path, operation, *, body=None, params=None, override=None):
    headers = {**token(world.manager), "Content-Type": "application/json"}
    return requests.request(method.upper(), _url(live_server, world, path, operation, override), data=body,
                            params=params, headers=headers, timeout=60)


def _refused_cleanly(response) -> bool:
    """A 4xx with the API's error shape: what a user can act on."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return False
    return 400 <= response.status_code < 500 and bool(detail)


def _report(failures) -> str:
    return "\n".join(f"{method.upper()} {path} {what} -> {status}: {text[:300]}" for method, path, what, status, text
                     in failures)


@pytest.mark.parametrize("body", ["[" * 5000 + "]" * 5000, '{"a": ' * 5000 + "1" + "}" * 5000],
                         ids=["arrays", "objects"])
def test_json_nested_5000_deep_is_a_400_on_every_json_endpoint(live_server, world, body):
    failures = []
    for method, path, _ in _json_operations():
        operation = LIVE_SCHEMA["paths"][path][method]
        response = _send(world, live_server, method, path, operation, body=body)
        if response.status_code != 400 or not _refused_cleanly(response):
            failures.append((method, path, "5000 deep", response.status_code, response.text))
    assert not failures, _report(failures)


@pytest.mark.parametrize("body", ["[null, null]", '"text"', "1", "null", "true", "[]"])
def test_a_json_body_that_is_not_an_object_is_refused_cleanly(live_server, world, body):
    failures = []
    for method, path, body_schema in _json_operations():
        if body_schema.get("type") != "object":
            continue
        operation = LIVE_SCHEMA["paths"][path][method]
        response = _send(world, live_server, method, path, operation, body=body)
        if body == "[]" and response.status_code < 300:
            continue  # an empty batch where a list is also accepted (POST .../annotations/): nothing to do
        if not _refused_cleanly(response):
            failures.append((method, path, body, response.status_code, response.text))
    assert not failures, _report(failures)


def test_integers_past_64_bits_in_json_bodies_are_refused_cleanly(live_server, world):
    failures = []
    for method, path, body_schema in _json_operations():
        operation = LIVE_SCHEMA["paths"][path][method]
        for name, field in body_schema.get("properties", {}).items():
            field = _resolve(field)
            if field.get("type") == "integer":
                value = HUGE
            elif field.get("type") == "array" and _resolve(field.get("items", {})).get("type") == "integer":
                value = [HUGE]
            else:
                continue
            response = _send(world, live_server, method, path, operation, body=json.dumps({name: value}))
            if not _refused_cleanly(response) and response.status_code not in (200, 201, 202):
                failures.append((method, path, f"{name}={value}", response.status_code, response.text))
    assert not failures, _report(failures)


def test_integers_past_64_bits_in_query_parameters_get_no_server_error(live_server, world):
    failures = []
    for method, path, operation in _operations():
        for parameter in operation.get("parameters", []):
            schema = _resolve(parameter.get("schema", {}))
            types = (schema.get("type"), _resolve(schema.get("items", {})).get("type"))
            if parameter["in"] != "query" or "integer" not in types:
                continue
            response = _send(world, live_server, method, path, operation, params={parameter["name"]: str(HUGE)})
            if response.status_code >= 500:
                failures.append((method, path, f"?{parameter['name']}={HUGE}", response.status_code, response.text))
    assert not failures, _report(failures)


def test_ids_past_64_bits_in_paths_are_404(live_server, world):
    failures = []
    for method, path, operation in _operations():
        if "{" not in path or "{id}" in path and "/jobs/" in path:
            continue  # job ids are UUIDs: the URL pattern itself refuses numbers
        response = _send(world, live_server, method, path, operation, override=HUGE)
        if response.status_code != 404:
            failures.append((method, path, f"id={HUGE}", response.status_code, response.text))
    assert not failures, _report(failures)
