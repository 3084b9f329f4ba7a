"""Schemathesis against the live OpenAPI document: every operation, a bounded number of generated requests.

The document is loaded from the app itself (WSGI, no server), the requests are an administrator's (a bearer
token), and a little data is seeded first so that path ids sometimes name real rows. Each response must not be a
server error and must match the document: a documented status code, content type, headers and body schema;
every problem body must be in Chinese (the run uses the default language, zh-CN).

Bounded and deterministic: a fixed seed, derandomized Hypothesis, no example database, and MAX_EXAMPLES generated
cases per operation (plus the document's own examples and a few coverage cases), so a run costs well under a minute
per database.

Generating the cases is three quarters of the test's CPU, and they are the same on both databases (they depend on
the document, the seed and the seeded rows' keys only). Under `make test` (``tests/passes.py`` sets
``INVENTORY_TESTS_SHARED``) the first database's run keeps the cases it sent, and the other database's run sends
exactly those, in the same order, with the same checks. Run alone, the test generates its cases as always.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core import NOT_SET
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.extensions import db
from inventory.accounts import create_token, create_user
from inventory.db import intends_to_write
from tests.api.helpers import API, PROBLEM_JSON
from tests.api.test_messages import english_leaks
from tests.conftest import SHARED_DIRECTORY

MAX_EXAMPLES = 10
SEED = 20260101


@schemathesis.check
def problems_in_chinese(ctx, response, case) -> None:
    """Under zh-CN (the run's default language) no problem body says anything in English."""
    if response.headers.get("content-type", [""])[0].startswith(PROBLEM_JSON):
        leaks = english_leaks(response.json())
        assert not leaks, f"English under zh-CN: {leaks}"


# The document's promises. Not positive_data_acceptance: a schema cannot say that a region code must exist, or
# that a PATCH must change something, so schema-valid requests are rightly refused with 422.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    problems_in_chinese,
]
# ignored_auth probes each successful case again without and with a wrong credential (three requests for one):
# test_every_operation_but_the_public_ones_refuses_an_anonymous_caller checks the same, once per operation.

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("server_errors_become_responses")]

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)


@pytest.fixture
def seeded(app, stocked_line, token_for):
    """Rows for path ids to hit: a warehouse with a stock line, and a user (not the caller) with a token."""
    line = stocked_line(warehouse=None)
    with intends_to_write():
        user = create_user(db.session, "tester", username="fuzz-target", role="viewer")
        token, _ = create_token(db.session, "tester", username=user.username)
        db.session.commit()
    return {
        "code": line.warehouse.code,
        "stock_line_id": line.id,
        "username": user.username,
        "token_id": token.id,
        "admin_token": token_for("admin", username="fuzzer"),
    }


@pytest.fixture
def api_schema(app, seeded):
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app, config=CONFIG)
    known = {
        "/warehouses/{code}": {"code": seeded["code"]},
        "/items/{code}": {"code": "PD-001"},
        "/regions/{code}": {"code": "110101"},
        "/stock-lines/{stock_line_id}": {"stock_line_id": seeded["stock_line_id"]},
        "/users/{username}": {"username": seeded["username"]},
        "/tokens/{token_id}": {"token_id": seeded["token_id"]},
    }

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        """Half of the cases keep the generated ids, the other half name a seeded row."""
        path = context.operation.path.removeprefix(API)
        for prefix, values in known.items():
            if path.startswith(prefix):
                return st.sampled_from([path_parameters, {**path_parameters, **values}])
        return st.just(path_parameters)

    schema.admin_token = seeded["admin_token"]
    return schema


# --- the cases, generated once per `make test` -----------------------------------------------------------------


class _CasePickler(pickle.Pickler):
    """A case as it was handed to the test: every field, its generation metadata included. The operation and
    schemathesis' "not set" marker are written by name, so they come back as the reading run's own objects."""

    def __init__(self, file, operations: list) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.labels = {id(operation): operation.label for operation in operations}

    def persistent_id(self, obj):
        if obj is NOT_SET:
            return ("not set",)
        label = self.labels.get(id(obj))
        return None if label is None else ("operation", label)


class _CaseUnpickler(pickle.Unpickler):
    def __init__(self, file, operations: list) -> None:
        super().__init__(file)
        self.operations = {operation.label: operation for operation in operations}

    def persistent_load(self, pid):
        return NOT_SET if pid[0] == "not set" else self.operations[pid[1]]


def _frozen(case: Case, operations: list) -> bytes:
    import io

    out = io.BytesIO()
    _CasePickler(out, operations).dump({slot: getattr(case, slot) for slot in Case.__slots__})
    return out.getvalue()


def _thawed(data: bytes, operations: list) -> Case:
    import io

    case = object.__new__(Case)
    for slot, value in _CaseUnpickler(io.BytesIO(data), operations).load().items():
        object.__setattr__(case, slot, value)
    return case


def _shared_cases_file(app, seeded: dict) -> Path | None:
    """Where this run's cases are kept: named by everything they depend on (the document, this file, the
    libraries' versions, the seeded rows' keys), so a run whose cases would differ never reads them."""
    directory = os.environ.get(SHARED_DIRECTORY)
    if not directory:
        return None
    key = hashlib.sha256()
    key.update(app.test_client().get(f"{API}/openapi.json").get_data())
    key.update(Path(__file__).read_bytes())
    key.update(f"{schemathesis.__version__} {hypothesis.__version__}".encode())
    key.update(repr(sorted((name, value) for name, value in seeded.items() if name != "admin_token")).encode())
    return Path(directory) / f"openapi-fuzz-cases-{key.hexdigest()[:20]}.pickle"


def test_every_operation_answers_as_documented_and_never_with_a_server_error(app, api_schema, seeded):
    app.config["DEFAULT_LANGUAGE"] = "zh-CN"  # the shipped default: problems_in_chinese checks every answer
    # One test drives every operation (schemathesis' own pytest parametrization needs pytest < 9).
    headers = {"Authorization": f"Bearer {api_schema.admin_token}"}
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 60
    shared = _shared_cases_file(app, seeded)
    generated: dict[tuple[str, str], list[bytes] | None] | None = None
    if shared is not None and shared.exists():
        generated = pickle.loads(shared.read_bytes())
    sent: dict[tuple[str, str], list[bytes] | None] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if generated is not None:
                # The other database's cases, sent in the same order; the first failure ends the operation's
                # run, as it ends Hypothesis' (no shrinking, one bug reported).
                for data in generated[(operation.label, mode.value)] or ():
                    try:
                        _thawed(data, operations).call_and_validate(headers=headers, checks=CHECKS)
                    except (Exception, BaseExceptionGroup) as error:
                        failures.append(f"{operation.label} [{mode.value}]: {error}")
                        break
                continue
            cases: list[bytes] = []
            sent[(operation.label, mode.value)] = cases

            @hypothesis.given(case=operation.as_strategy(mode, hooks=api_schema.hooks))
            @hypothesis.settings(
                max_examples=MAX_EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                suppress_health_check=list(HealthCheck),
                report_multiple_bugs=False,
            )
            def run(case):
                cases.append(_frozen(case, operations))  # noqa: B023 (run in this iteration) - as generated
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                sent[(operation.label, mode.value)] = None
                continue  # nothing to negate: an operation without parameters or body
            except (Exception, BaseExceptionGroup) as error:  # a failure group, or an exception out of the app
                failures.append(f"{operation.label} [{mode.value}]: {error}")
    assert not failures, "\n\n".join(failures)
    if shared is not None and generated is None:
        # Kept only from a run that passed (a failing run's last case is Hypothesis' replay of its failure).
        partial = shared.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(pickle.dumps(sent, protocol=pickle.HIGHEST_PROTOCOL))
        partial.replace(shared)


def test_every_operation_but_the_public_ones_refuses_an_anonymous_caller(app):
    """The document's ``security``: an operation without ``security: []`` answers 401 problem JSON to nobody."""
    spec = app.test_client().get(f"{API}/openapi.json").get_json()
    client = app.test_client()
    public, refused = set(), set()
    for path, operations in spec["paths"].items():
        url = re.sub(r"\{[^}]+\}", "1", path)  # any id or code: authentication comes first
        for method, operation in operations.items():
            if method == "parameters":
                continue
            response = client.open(url, method=method.upper())
            if operation.get("security") == []:
                public.add(f"{method.upper()} {path.removeprefix(API)}")
                assert response.status_code != 401, (method, path)
            else:
                assert response.status_code == 401, (method, path, response.status_code)
                assert response.mimetype == PROBLEM_JSON
                refused.add(path)
    assert public == {"GET /health", "POST /auth/login", "GET /page-config", "GET /page/session", "GET /page/base-map"}
    assert len(refused) > 40


def test_a_page_beyond_any_table_is_a_422_not_a_database_overflow(client):
    """Found by the fuzz test: OFFSET (page - 1) × page_size beyond 64 bits overflowed SQLite's integer (a 500)."""
    response = client.get(f"{API}/users", query_string={"page": 10**18})

    assert response.status_code == 422
    assert "page" in response.get_json()["errors"]


def test_the_problem_responses_are_documented_as_problem_json(app):
    spec = app.test_client().get(f"{API}/openapi.json").get_json()
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    warehouse = spec["paths"][f"{API}/warehouses/{{code}}"]
    assert {"200", "401", "403", "404", "422", "503"} <= set(warehouse["get"]["responses"])
    assert {"400", "409", "413"} <= set(warehouse["patch"]["responses"])
    assert "default" not in warehouse["get"]["responses"]
    not_found = warehouse["get"]["responses"]["404"]["content"]
    assert not_found == {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "429" in spec["paths"][f"{API}/auth/login"]["post"]["responses"]
    health = spec["paths"][f"{API}/health"]["get"]
    assert health["security"] == [] and "200" in health["responses"]
    assert "X-Pagination" in spec["paths"][f"{API}/warehouses"]["get"]["responses"]["200"]["headers"]
