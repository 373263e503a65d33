"""Property-based fuzz of the published OpenAPI schema (schemathesis) against a running
server: whatever it sends, the API answers without a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

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


def test_no_server_error(fuzzed):
    """Every operation of the schema, with generated valid and invalid inputs, as an admin."""
    base, token = fuzzed
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) > 20
    for op in operations:
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def fuzz(case):
            response = case.call(base_url=base, headers=headers, timeout=120)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:200]}: "
                                f"{response.status_code} {response.text[:200]}")

        fuzz()
    assert not failures, "\n".join(failures[:20])
