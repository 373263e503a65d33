"""The API's Python check of clean rows never accepts what the importer's SQL rules refuse.

``plainly_valid`` may say "unsure" as often as it likes (the SQL check then runs), but when it
says valid, the importer's own query must find nothing wrong: a property over rows mixing
clean values with the shapes that trip importers (spaces, case, naive or far timestamps,
decimal commas, numbers in strings, exponents, out-of-range scores, bad identifiers).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcours.ingest.live import check_rows
from parcours.ingest.plain import plainly_valid
from parcours.schema import TABLES, Column

NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect(config={"threads": 1})
    c.execute("SET TimeZone = 'UTC'")
    yield c, set()
    c.close()


def _timestamps() -> st.SearchStrategy[str]:
    moment = st.datetimes(min_value=datetime(1890, 1, 1), max_value=datetime(2100, 1, 1))
    offset = st.sampled_from(["Z", "+00:00", "+01:00", "-05:00", "+14:00", "+15:00", "-23:59", ""])
    shapes = st.sampled_from(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S.%f", "%d/%m/%Y %H:%M"])
    built = st.builds(lambda t, f, o: t.strftime(f) + o, moment, shapes, offset)
    near_now = st.builds(lambda s: (NOW + timedelta(seconds=s)).isoformat(),
                         st.integers(-10**8, 3 * 86_400))
    odd = st.sampled_from(["2026-02-30T10:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z",
                           " 2026-01-01T10:00:00Z", "2026-01-01T10:00:00+0100", "2026-01-01T10:00:00 UTC",
                           "1900-01-01T00:00:00Z", "1899-12-31T23:59:59-01:00", "yesterday"])
    return st.one_of(built, near_now, odd)


def _numbers(col: Column) -> st.SearchStrategy[object]:
    return st.one_of(
        st.integers(-10**13, 10**13), st.floats(allow_nan=True, allow_infinity=True),
        st.floats(-1e-5, 1e-5), st.sampled_from([0, -1, 1e-7, 123.456789, 1e11, 1e12, 2**31, 0.1, 10, 11, 5]),
        st.sampled_from(["12", "-3", "1,5", "1 000", "1e3", "0x10", " 7", "07", "3.0", "abc", "", "12.5"]),
        st.booleans())


def _values(col: Column) -> st.SearchStrategy[object]:
    t = col.type
    if t == "timestamp":
        base: st.SearchStrategy[object] = _timestamps()
    elif t in ("int", "float", "money"):
        base = _numbers(col)
    elif t == "enum":
        base = st.one_of(st.sampled_from(col.values), st.sampled_from([v.upper() for v in col.values]),
                         st.sampled_from([" " + col.values[0], "unknown", "", "Email", "é"]))
    elif t == "bool":
        base = st.one_of(st.booleans(), st.sampled_from(["true", "oui", "Non", "2", "", "yes ", 1, 0]))
    elif t == "identifier":
        base = st.sampled_from(["ana@exemple.fr", "Ana@Exemple.fr", "ana@exemple", "<a@b.fr>", "a b@c.fr",
                                "+33612345678", "+3361234567", "06 12 34 56 78", "+14155550123", "0033612345678",
                                "ANA@EXEMPLE.FR", "06.12.34.56.78", "06-12-34-56-78", "0612345678", "+33 6 12 34 56 78",
                                "06 12 34 56 7", "+33 6 12 34 56 7", "00 33 6 12 34 56 78", "0 612345678", "6 12 34 56 78",
                                "06  12 34 56 78", "+1 415 555 0123", "06 12 34 56 78 ", "Ana.Ç@exemple.fr",
                                "@ana", "insta:ana", "@Ana", "@", "@@ana", "@" + "a" * 200, "a" * 200, "Ana", "dev-1", "dev 1", "x" * 201, "é", "\t", ""])
    elif t == "json":
        base = st.one_of(st.just({"a": 1}), st.just([1]), st.sampled_from(['{"a": 1}', "{nope", "3"]))
    else:  # id, text
        base = st.one_of(st.text(max_size=20), st.sampled_from([" a", "a ", "", "\ud800", "x" * 100_001]),
                         st.integers(), st.just({"k": "v"}))
    return st.one_of(st.none(), base)


def _rows(table: str) -> st.SearchStrategy[dict]:
    """A clean row with up to three of its fields changed or removed: rows the fast path may
    take, with one odd value hiding among clean ones."""
    cols = TABLES[table].columns
    change = st.sampled_from(cols).flatmap(lambda c: st.tuples(st.just(c.name), _values(c)))
    return st.builds(lambda i, changes: _clean(table, i) | dict(changes),
                     st.integers(0, 10**6), st.lists(change, max_size=3))


@pytest.mark.parametrize("table", ["touchpoints", "orders", "responses"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_plainly_valid_rows_pass_the_importers_rules(con, table, data):
    rows = data.draw(st.lists(_rows(table), min_size=1, max_size=30))
    sure = [i for i, r in enumerate(rows, 1) if plainly_valid(table, r)]
    problems = check_rows(con[0], table, rows, con[1])
    wrong = [p for p in problems if p["row"] in sure]
    assert not wrong, f"said valid, but the importer refuses: {wrong} in {json.dumps(rows, default=str)[:2000]}"


def _clean(table: str, i: int) -> dict:
    ts = (NOW - timedelta(hours=i)).isoformat()
    return {
        "touchpoints": {"event_id": f"e{i}", "ts": ts, "email": f"ana{i}@exemple.fr", "channel": "chat",
                        "kind": "contact", "stage": "support", "topic": "livraison", "wait_s": 12.5,
                        "outcome": "resolved", "text": "Où est mon colis ?"},
        "orders": {"order_id": f"o{i}", "ts": ts, "phone": "+33612345678", "amount": 49.9, "currency": "EUR"},
        "responses": {"response_id": f"r{i}", "ts": ts.replace("+00:00", "Z"), "person_id": "p1",
                      "metric": "nps", "score": 9, "comment": "Très bien"},
    }[table]


@pytest.mark.parametrize("table", ["touchpoints", "orders", "responses"])
def test_clean_rows_take_the_fast_path(con, table):
    rows = [_clean(table, i) for i in range(50)]
    assert all(plainly_valid(table, r) for r in rows)
    assert check_rows(con[0], table, rows, con[1]) == []


def test_unsure_is_not_invalid():
    """What the fast path leaves to the SQL check (it may well be valid)."""
    row = _clean("touchpoints", 1)
    for change in ({"ts": "2026-01-01 10:00"}, {"channel": "Chat"}, {"wait_s": "12,5"},
                   {"email": "<ana@exemple.fr>"}, {"phone": "0033 6 12 34 56 78"}, {"phone": "(0)6 12 34 56 78"},
                   {"unknown_column": 1}, {"event_id": None}):
        assert not plainly_valid("touchpoints", row | change), change
    assert not plainly_valid("responses", _clean("responses", 1) | {"score": 11})
    assert not plainly_valid("responses", _clean("responses", 1) | {"metric": "custom"})


def test_identifiers_as_people_type_them_take_the_fast_path(con):
    """Upper-case addresses and phone numbers with spaces, dots or dashes (national French ones
    included) are what most systems send; the importer normalises them, so no SQL check is needed."""
    typed = [{"email": "Ana.Martin@Exemple.FR"}, {"phone": "06 12 34 56 78"}, {"phone": "06.12.34.56.78"},
             {"phone": "06-12-34-56-78"}, {"phone": "0612345678"}, {"phone": "+33 6 12 34 56 78"},
             {"phone": "+1 415-555-0123"}, {"social": "@Ana_M"}, {"social": "insta:Ana"}]
    rows = [{k: v for k, v in _clean("touchpoints", i).items() if k != "email"} | change
            for i, change in enumerate(typed)]
    assert [plainly_valid("touchpoints", r) for r in rows] == [True] * len(rows)
    assert check_rows(con[0], "touchpoints", rows, con[1]) == []
    for bad in ("06 12 34 56 7", "6 12 34 56 78", "+33 6 12 34 56 7"):
        assert not plainly_valid("touchpoints", rows[1] | {"phone": bad}), bad
