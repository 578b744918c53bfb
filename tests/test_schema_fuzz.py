"""Schemathesis against the API's own OpenAPI schema, over real HTTP to a live server: no request,
however malformed, may get a 500.

Bounded for CI on two cores: a fixed seed, ``derandomize``, a few generated cases per operation on
top of schemathesis' deterministic coverage cases (boundaries and malformed values for every
parameter and body field), no shrinking and no example database (no case is replayed from an
earlier run).

The schema is fetched over HTTP from the live server, as a client would. Real objects behind path
parameters: see tests/api_world.py (sentinels swapped for the ids of a world of real objects; ``0``
and an id past 64 bits exist nowhere; negative generation still sends anything else). Each
operation gets its own world (its own project and manager), built on first use, so what one
operation changes cannot blind another; DELETE gets a fresh throwaway world for every single case,
so it always has something to destroy. All operations run in one pytest test (one database flush:
the flush, not the requests, dominated a test per operation on PostgreSQL); a failure is reported
per operation as a subtest.

Only ``not_a_server_error`` is checked: the schema documents success responses only, and the
response-schema mismatches found are listed for their owners rather than failing this run.
"""

import os
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok

from .api_world import World, fuzz_manager, project_creator, token, with_sentinels, world  # noqa: F401
from .factories import UserFactory

# CI runs these fixed figures; a deeper hunt: FUZZ_SEED=1 FUZZ_EXAMPLES=200 pytest tests/test_schema_fuzz.py
SEED = int(os.environ.get("FUZZ_SEED", 20261125))
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 8))  # generated cases per operation, besides coverage cases
OUTSIDER_EXAMPLES = 4
# Everything reached through a project (its id, or an image, annotation or job id): an outsider's 404s.
OUTSIDER_PATHS = r"^/api/(images|annotations|jobs|projects/\{project_id\})/"


def _config(mode: str, max_examples: int, coverage: bool) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        "generation": {"mode": mode, "max-examples": max_examples, "no-shrink": True, "deterministic": True,
                       "with-security-parameters": False},  # we authenticate; random Authorization headers only 401
        "phases": {"coverage": {"enabled": coverage}, "stateful": {"enabled": False}},
    })


def _fetch_live_schema(live_server, user) -> dict:
    """The schema as a client gets it: over HTTP from the running server."""
    served = requests.get(f"{live_server.url}/api/schema/?format=json", headers=token(user), timeout=60)
    assert served.status_code == 200, served.text
    return served.json()


@pytest.fixture
def manager_schema(live_server, fuzz_manager):
    return schemathesis.openapi.from_dict(
        with_sentinels(_fetch_live_schema(live_server, fuzz_manager)), config=_config("all", FUZZ_EXAMPLES, True)
    )


@pytest.fixture
def outsider_schema(live_server, fuzz_manager):
    return schemathesis.openapi.from_dict(
        with_sentinels(_fetch_live_schema(live_server, fuzz_manager)),
        config=_config("positive", OUTSIDER_EXAMPLES, False),
    ).include(path_regex=OUTSIDER_PATHS)


@pytest.fixture
def world_of():
    """One world per operation, each with its own manager: what one operation changes (a project's
    kinds, a member's role, the manager's token) cannot blind the next one. Built on first use."""
    worlds = {}

    def get(label: str) -> World:
        if label not in worlds:
            worlds[label] = World(project_creator(f"fuzz-manager-{len(worlds)}"))
        return worlds[label]

    return get


HYPOTHESIS = settings(
    deadline=None,
    database=None,
    derandomize=True,
    print_blob=False,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    suppress_health_check=list(HealthCheck),
)


def _call(case, world: World, live_server, headers: dict):
    case.path_parameters = {
        name: world.resolve(case.operation.path, name, value) for name, value in (case.path_parameters or {}).items()
    }
    return case.call(base_url=live_server.url, headers=headers, timeout=60)


def _describe(case, response) -> str:
    return (
        f"{case.method} {case.formatted_path} -> {response.status_code}\n"
        f"query={case.query!r}\nbody={str(case.body)[:2000]!r}\nresponse={response.text[:2000]}"
    )


def _run_every_operation(schema, check) -> None:
    """Each operation's seeded Hypothesis test (coverage cases, then generated ones), all of them
    run even when one fails, then one assertion naming every failing operation.

    (schemathesis' own lazy-schema runner does this too, but needs an attribute pytest 9 dropped;
    its test builder is used here as it uses it, version pinned in requirements-test.txt.)"""
    from schemathesis.checks import load_all_checks
    from schemathesis.pytest.lazy import get_all_tests

    load_all_checks()
    failures, ran = [], 0
    for result in get_all_tests(schema=schema, test_func=check, settings=HYPOTHESIS, given_kwargs={}):
        if not isinstance(result, Ok):
            failures.append(f"schema error: {result.err()}")
            continue
        operation, operation_test = result.ok()
        ran += 1
        try:
            operation_test()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all are reported below, per operation
            parts = exc.exceptions if isinstance(exc, BaseExceptionGroup) else [exc]
            failures.append(f"{operation.label}: " + "\n".join(f"{type(e).__name__}: {e}" for e in parts)[:4000])
    assert ran, "no operation in the schema"
    assert not failures, f"{len(failures)} of {ran} operations failed:\n\n" + "\n\n".join(failures)


def test_no_request_gets_a_server_error(live_server, manager_schema, world_of):
    """As a manager of a project full of objects: every operation, valid and invalid input."""

    def check(case):
        if case.method.upper() == "DELETE":
            world = World(project_creator(f"fuzz-deleter-{uuid.uuid4().hex[:8]}"))
        else:
            world = world_of(case.operation.label)
        response = _call(case, world, live_server, token(world.manager))
        assert response.status_code < 500, _describe(case, response)
        assert response.status_code != 429, "throttled: the fuzzing no longer reaches the views"

    _run_every_operation(manager_schema, check)


def test_an_outsider_finds_nothing_and_no_server_error(live_server, outsider_schema, world):
    """A user of no project: everything in a project is 404 for them, never a 500 (nor a 2xx)."""
    outsider = UserFactory(username="fuzz-outsider")

    def check(case):
        response = _call(case, world, live_server, token(outsider))
        assert response.status_code == 404, _describe(case, response)

    _run_every_operation(outsider_schema, check)
