"""Property-based fuzz of the published OpenAPI schema (schemathesis) against a running
server: whatever it sends, the API answers without a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from conftest import Served, make_token, write_csv


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    db = tmp / "fuzz.duckdb"
    write_csv(tmp / "touchpoints.csv", [
        ["e1", "2025-01-01T09:00:00Z", "anne@x.fr", "", "email", "contact", "delivery", "unresolved", "", ""],
        ["e2", "2025-01-02T09:00:00Z", "anne@x.fr", "0611223344", "phone", "contact", "delivery", "resolved", "30", ""],
    ])
    from conftest import run_parcours

    run_parcours("--db", str(db), "import", str(tmp / "touchpoints.csv"), check=True)
    token = make_token(db, "admin")
    server = Served(db)
    yield server.base, token
    server.stop()
    assert "Traceback" not in server.output or "failed" not in server.output, server.output[-3000:]


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    base, token = fuzzed
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    schema.config.headers = {"Authorization": f"Bearer {token}"}
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error(case, fuzzed):
    base, token = fuzzed
    response = case.call(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    case.validate_response(response, checks=[not_a_server_error])
