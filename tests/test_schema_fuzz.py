"""Schemathesis against the API's own OpenAPI schema, over real HTTP to a live server: no request,
however malformed, may get a 500.

Bounded for CI on two cores: a fixed seed, ``derandomize``, a few generated cases per operation on
top of schemathesis' deterministic coverage cases (boundaries and malformed values for every
parameter and body field), no shrinking and no example database (nothing is kept between runs).

Real objects behind path parameters: see tests/api_world.py (sentinels swapped for the ids of a
world of real objects; ``0`` and an id past 64 bits exist nowhere; negative generation still sends
anything else). Every operation is its own pytest item with a fresh database (``live_server``
flushes between tests) and a fresh world; DELETE gets a fresh throwaway world for every single
case, so it always has something to destroy and the item's world stays whole for the others.

Only ``not_a_server_error`` is checked: the schema documents success responses only, and the
response-schema mismatches found are listed for their owners rather than failing this run.
"""

import uuid

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.config import SchemathesisConfig

from .api_world import World, fuzz_manager, project_creator, served_schema, token, with_sentinels, world  # noqa: F401
from .factories import UserFactory

SEED = 20261125
FUZZ_EXAMPLES = 8  # generated cases per operation, on top of the coverage cases
OUTSIDER_EXAMPLES = 4

LIVE_SCHEMA = served_schema()
schema = schemathesis.openapi.from_dict(with_sentinels(LIVE_SCHEMA), config=SchemathesisConfig.from_dict({
    "seed": SEED,
    "generation": {"mode": "all", "max-examples": FUZZ_EXAMPLES, "no-shrink": True, "deterministic": True,
                   "with-security-parameters": False},  # we authenticate; random Authorization headers only 401
    "phases": {"stateful": {"enabled": False}},
}))

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


def test_the_fuzzed_schema_is_the_one_the_server_serves(live_server, fuzz_manager):
    served = requests.get(f"{live_server.url}/api/schema/?format=json", headers=token(fuzz_manager), timeout=60)
    assert served.status_code == 200
    assert served.json() == LIVE_SCHEMA


@schema.parametrize()
@HYPOTHESIS
def test_no_request_gets_a_server_error(case, live_server, world):
    """As a manager of a project full of objects: every operation, valid and invalid input."""
    if case.method.upper() == "DELETE":
        world = World(project_creator(f"fuzz-deleter-{uuid.uuid4().hex[:8]}"))
    response = _call(case, world, live_server, token(world.manager))
    assert response.status_code < 500, _describe(case, response)
    assert response.status_code != 429, "throttled: the fuzzing no longer reaches the views"
    case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])


# Outsiders: everything reached through a project (its id, or an image, annotation or job id).
outsider_schema = schemathesis.openapi.from_dict(with_sentinels(LIVE_SCHEMA), config=SchemathesisConfig.from_dict({
    "seed": SEED,
    "generation": {"mode": "positive", "max-examples": OUTSIDER_EXAMPLES, "no-shrink": True, "deterministic": True,
                   "with-security-parameters": False},
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
})).include(path_regex=r"^/api/(images|annotations|jobs|projects/\{project_id\})/")


@outsider_schema.parametrize()
@HYPOTHESIS
def test_an_outsider_finds_nothing_and_no_server_error(case, live_server, world):
    """A user of no project: everything in a project is 404 for them, never a 500 (nor a 2xx)."""
    response = _call(case, world, live_server, token(UserFactory(username="fuzz-outsider")))
    assert response.status_code == 404, _describe(case, response)
