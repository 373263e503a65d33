"""Loyalty and segments: retention, churn, cohorts, loyalty beside satisfaction, RFM, behaviour.

The small world below is computed by hand in the comments; each test reads its figures back.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import ibis
import pytest
from statsmodels.stats.proportion import proportion_confint

from conftest import write_csv
from parcours.ingest.importer import import_files
from parcours.metrics import loyalty, segments
from parcours.store import Store

UTC = timezone.utc

# P1 customer since 2024, buys Jan, Feb, Apr (and gets a refund in Apr), cancels on 10 March.
# P2 customer since Dec 2024, buys Jan and Mar; three contacts on three channels in January.
# P3 signs up 10 Feb, buys Feb, Mar, Mar, cancels 25 Feb (joined and left in February).
# P4 known since 5 Jan, never buys, calls once in April.  P5 created 1 March, nothing else.
PERSONS = [["P1", "2024-06-01T00:00:00Z", "a"], ["P2", "2024-12-15T00:00:00Z", "a"],
           ["P3", "2025-02-10T00:00:00Z", "b"], ["P4", "2025-01-05T00:00:00Z", "b"],
           ["P5", "2025-03-01T00:00:00Z", "b"]]
ORDERS = [["O1", "P1", "2025-01-10T10:00:00Z", "100"], ["O2", "P1", "2025-02-05T10:00:00Z", "50"],
          ["O3", "P1", "2025-04-20T10:00:00Z", "30"], ["O3-R", "P1", "2025-04-25T10:00:00Z", "-30"],
          ["O4", "P2", "2025-01-20T10:00:00Z", "80"], ["O5", "P2", "2025-03-03T10:00:00Z", "20"],
          ["O6", "P3", "2025-02-14T10:00:00Z", "60"], ["O7", "P3", "2025-03-15T10:00:00Z", "40"],
          ["O8", "P3", "2025-03-20T10:00:00Z", "10"]]
TOUCHPOINTS = [
    ["t1", "2025-01-03T09:00:00Z", "P1", "web", "visit", "inbound", ""],
    ["t2", "2025-03-10T09:00:00Z", "P1", "email", "cancellation", "inbound", ""],
    ["t3", "2025-01-02T09:00:00Z", "P2", "web", "visit", "inbound", ""],
    ["t4", "2025-01-10T09:00:00Z", "P2", "chat", "contact", "inbound", "billing"],
    ["t5", "2025-01-11T09:00:00Z", "P2", "email", "contact", "inbound", "billing"],
    ["t6", "2025-01-12T09:00:00Z", "P2", "phone", "contact", "inbound", "billing"],
    ["t7", "2025-02-10T09:00:00Z", "P3", "web", "signup", "inbound", ""],
    ["t8", "2025-02-12T09:00:00Z", "P3", "chat", "contact", "inbound", "delivery"],
    ["t9", "2025-02-25T09:00:00Z", "P3", "web", "cancellation", "inbound", ""],
    ["t10", "2025-01-05T09:00:00Z", "P4", "web", "visit", "inbound", ""],
    ["t11", "2025-04-02T09:00:00Z", "P4", "phone", "contact", "inbound", "account"],
    ["t12", "2025-04-03T09:00:00Z", "P4", "email", "notification", "outbound", ""],
]
# P1's latest NPS is a 10 (after a 4); P2 says 2; P4 says 9 without buying; P3 only answers a CSAT.
RESPONSES = [["R1", "P1", "2025-01-15T10:00:00Z", "nps", "4"], ["R2", "P1", "2025-03-01T10:00:00Z", "nps", "10"],
             ["R3", "P2", "2025-02-01T10:00:00Z", "nps", "2"], ["R4", "P4", "2025-02-01T10:00:00Z", "nps", "9"],
             ["R5", "P3", "2025-03-01T10:00:00Z", "csat", "5"]]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("loyalty")
    files = [
        write_csv(d / "persons.csv", PERSONS, header=["person_id", "created_at", "segment"]),
        write_csv(d / "orders.csv", ORDERS, header=["order_id", "person_id", "ts", "amount"]),
        write_csv(d / "touchpoints.csv", TOUCHPOINTS,
                  header=["event_id", "ts", "person_id", "channel", "kind", "direction", "topic"]),
        write_csv(d / "responses.csv", RESPONSES, header=["response_id", "person_id", "ts", "metric", "score"]),
    ]
    store = Store(d / "store.duckdb")
    reports = import_files(store, files)
    assert all(r.quarantined == 0 for r in reports)
    yield store
    store.close()


def rows(expr, key=None):
    out = expr.to_pyarrow().to_pylist()
    return {key(r) if callable(key) else r[key]: r for r in out} if key else out


def t(world):
    return (world.table(n) for n in ("orders", "touchpoints", "persons", "responses"))


def wilson(k, n):
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return pytest.approx(100 * lo, abs=1e-6), pytest.approx(100 * hi, abs=1e-6)


# --- non-contractual retention ------------------------------------------------------------------------------
def test_monthly_purchase_retention_by_hand(world):
    orders, *_ = t(world)
    # buyers: Jan {P1, P2} · Feb {P1, P3} · Mar {P2, P3} · Apr {P1} (the refund is not a purchase)
    r = rows(loyalty.retention(orders, period="month"), "period")
    assert list(r) == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]  # April has no next month yet
    assert [(x["n"], x["retained"]) for x in r.values()] == [(2, 1), (2, 1), (2, 0)]
    jan = r[date(2025, 1, 1)]
    assert jan["retention"] == 50.0 and jan["churn"] == 50.0
    assert (jan["retention_low"], jan["retention_high"]) == wilson(1, 2)
    assert (jan["churn_low"], jan["churn_high"]) == (pytest.approx(100 - jan["retention_high"]),
                                                     pytest.approx(100 - jan["retention_low"]))
    assert r[date(2025, 3, 1)]["churn"] == 100.0 and all(x["complete"] for x in r.values())


def test_quarterly_retention_and_any_activity(world):
    orders, touchpoints, *_ = t(world)
    q = rows(loyalty.retention(orders, period="quarter"))
    assert [(x["period"], x["n"], x["retained"]) for x in q] == [(date(2025, 1, 1), 3, 1)]
    assert q[0]["retention"] == pytest.approx(100 / 3)
    # any inbound activity (cancellations and outbound notifications excluded):
    # Jan {P1, P2, P4} · Feb {P1, P3} · Mar {P2, P3} · Apr {P1, P4}
    a = rows(loyalty.retention(orders, touchpoints, activity_kind="any"), "period")
    assert [(x["n"], x["retained"]) for x in a.values()] == [(3, 1), (2, 1), (2, 0)]


def test_until_cuts_the_data_and_flags_the_incomplete_next_period(world):
    orders, *_ = t(world)
    r = rows(loyalty.retention(orders, until=datetime(2025, 4, 15, tzinfo=UTC)), "period")
    assert [x["complete"] for x in r.values()] == [True, True, False]  # April not fully observed
    assert r[date(2025, 3, 1)]["retained"] == 0
    full = rows(loyalty.retention(orders, until=datetime(2025, 5, 1, tzinfo=UTC)), "period")
    assert all(x["complete"] for x in full.values())
    late = rows(loyalty.retention(orders, since=datetime(2025, 1, 15, tzinfo=UTC)), "period")
    jan = late[date(2025, 1, 1)]  # only P2's purchase of 20 January is left in January
    assert (jan["n"], jan["retained"], jan["complete"]) == (1, 0, False)


def test_retention_by_person_segment_keeps_empty_groups_explicit(world):
    orders, _, persons, _ = t(world)
    r = rows(loyalty.retention(orders, persons=persons, by=["segment"]), lambda x: (x["period"], x["segment"]))
    assert r[(date(2025, 1, 1), "a")]["n"] == 2 and r[(date(2025, 1, 1), "a")]["retained"] == 1
    b_jan = r[(date(2025, 1, 1), "b")]  # nobody of segment b bought in January: n = 0, no rate
    assert b_jan["n"] == 0 and b_jan["retention"] is None and b_jan["churn"] is None


# --- contractual churn ---------------------------------------------------------------------------------------
def test_contractual_churn_by_hand(world):
    orders, touchpoints, persons, _ = t(world)
    c = rows(loyalty.contractual_churn(touchpoints, persons, orders), "period")
    # at the start of Jan: P1, P2 · Feb: P1, P2, P4 · Mar: P1, P2, P4 (P3 came and went in Feb) · Apr: P2, P4, P5
    got = [(x["n"], x["lost"], x["new"], x["lost_new"]) for x in c.values()]
    assert got == [(2, 0, 1, 0), (3, 0, 1, 1), (3, 1, 1, 0), (3, 0, 0, 0)]
    mar = c[date(2025, 3, 1)]
    assert mar["churn"] == pytest.approx(100 / 3) and mar["retention"] == pytest.approx(200 / 3)
    assert (mar["churn_low"], mar["churn_high"]) == wilson(1, 3)
    by = rows(loyalty.contractual_churn(touchpoints, persons, period="quarter", by=["segment"]),
              lambda x: (x["period"].month, x["segment"]))
    assert (by[(1, "a")]["n"], by[(1, "a")]["lost"]) == (2, 1) and by[(1, "a")]["churn"] == 50.0
    assert (by[(1, "b")]["n"], by[(1, "b")]["new"], by[(1, "b")]["lost_new"]) == (0, 3, 1)
    assert by[(1, "b")]["churn"] is None  # nobody of segment b was a customer at the start of Q1
    assert (by[(4, "a")]["n"], by[(4, "b")]["n"]) == (1, 2)
    # the report hands over the relationships it computed once: the same rows
    rel = loyalty.relationships(touchpoints, persons, orders)
    assert rows(loyalty.contractual_churn(touchpoints, persons, orders, relationships_t=rel), "period") == c
    with pytest.raises(ValueError, match="without until"):
        loyalty.contractual_churn(touchpoints, persons, orders, relationships_t=rel, until=datetime(2025, 3, 1))


# --- cohorts ---------------------------------------------------------------------------------------------------
def test_cohort_matrix_by_hand(world):
    orders, *_ = t(world)
    m = rows(loyalty.cohort_retention(orders), lambda x: (x["cohort"], x["age"]))
    jan, feb = date(2025, 1, 1), date(2025, 2, 1)
    # January cohort {P1, P2}: Feb P1, Mar P2, Apr P1 · February cohort {P3}: Mar P3, Apr nobody
    assert {k: (v["n"], v["active"]) for k, v in m.items()} == {
        (jan, 0): (2, 2), (jan, 1): (2, 1), (jan, 2): (2, 1), (jan, 3): (2, 1),
        (feb, 0): (1, 1), (feb, 1): (1, 1), (feb, 2): (1, 0)}
    assert m[(feb, 2)]["retention"] == 0.0  # an explicit zero, the cohort is not empty
    assert m[(jan, 1)]["retention"] == 50.0 and m[(jan, 0)]["retention"] == 100.0
    assert m[(jan, 0)]["censored"] and not m[(feb, 0)]["censored"]


# --- loyalty beside satisfaction --------------------------------------------------------------------------------
def test_repeat_behaviour_keeps_persons_without_orders(world):
    orders, _, persons, _ = t(world)
    b = rows(loyalty.repeat_behaviour(orders, persons, as_of=datetime(2025, 5, 1, tzinfo=UTC)), "person_id")
    assert {p: (x["orders"], x["buyer"]) for p, x in b.items()} == {
        "P1": (3, "repeat"), "P2": (2, "repeat"), "P3": (3, "repeat"), "P4": (0, "no purchase"),
        "P5": (0, "no purchase")}
    p1 = b["P1"]
    assert p1["spend"] == 150.0  # 100 + 50 + 30 − 30
    assert p1["tenure_days"] == pytest.approx(110 + 14 / 24)  # 10 Jan 10:00 → 1 May
    assert p1["interpurchase_days"] == pytest.approx(100 / 2)  # 10 Jan → 20 Apr, two gaps
    assert p1["orders_per_year"] == pytest.approx(365.25 * 3 / p1["tenure_days"])
    assert b["P4"]["tenure_days"] is None and b["P4"]["orders_per_year"] is None


def test_loyalty_matrix_separates_what_people_say_from_what_they_do(world):
    orders, touchpoints, persons, responses = t(world)
    per = rows(loyalty.loyalty_satisfaction(persons, orders, responses, touchpoints), "person_id")
    assert per["P1"]["nps_score"] == 10.0 and per["P1"]["nps_category"] == "promoter"  # the latest answer
    assert per["P1"]["cancelled"] is True and per["P3"]["csat_satisfied"] is True
    assert per["P3"]["nps_category"] == "no answer" and per["P5"]["nps_category"] == "no answer"
    m = rows(loyalty.loyalty_matrix(loyalty.loyalty_satisfaction(persons, orders, responses, touchpoints)),
             lambda x: (x["nps_category"], x["buyer"]))
    assert {k: v["n"] for k, v in m.items()} == {
        ("promoter", "repeat"): 1, ("promoter", "no purchase"): 1, ("detractor", "repeat"): 1,
        ("no answer", "repeat"): 1, ("no answer", "no purchase"): 1}
    assert m[("detractor", "repeat")]["reading"] == "unsatisfied but staying"
    assert m[("promoter", "no purchase")]["reading"] == "satisfied but not buying"
    assert m[("promoter", "repeat")]["cancelled"] == 1  # satisfied, and still left
    assert m[("promoter", "repeat")]["row_share"] == 50.0 and m[("promoter", "repeat")]["share"] == 20.0
    assert (m[("promoter", "repeat")]["row_share_low"], m[("promoter", "repeat")]["row_share_high"]) == wilson(1, 2)


# --- segments ------------------------------------------------------------------------------------------------------
def test_rfm_scores_and_segments_by_hand(world):
    orders, _, persons, _ = t(world)
    r = rows(segments.rfm(orders, persons, as_of=datetime(2025, 5, 1, tzinfo=UTC)), "person_id")
    # recency: P1 11 d, P3 ~42 d, P2 ~59 d · frequency P1 3, P3 3, P2 2 · monetary P1 150, P3 110, P2 100
    # NTILE(5) over 3 buyers gives 1, 2, 3; F ties broken by person_id (P1 before P3)
    assert {p: r[p]["rfm_score"] for p in ("P1", "P2", "P3")} == {"P1": 323, "P2": 111, "P3": 232}
    assert {p: r[p]["segment"] for p in r} == {"P1": "about to sleep", "P2": "lost", "P3": "at risk",
                                               "P4": "no purchase", "P5": "no purchase"}
    assert r["P1"]["recency_days"] == pytest.approx(10 + 14 / 24)
    assert r["P4"]["frequency"] == 0 and r["P4"]["r"] is None and r["P4"]["monetary"] == 0.0
    sizes = rows(segments.segment_sizes(segments.rfm(orders, persons)), "segment")
    assert sizes["no purchase"]["n"] == 2 and sizes["no purchase"]["share"] == 40.0
    by = rows(segments.segment_sizes(segments.rfm(orders, persons), by=["segment_p"],
                                     persons=persons.mutate(segment_p=persons.segment)),
              lambda x: (x["segment"], x["segment_p"]))
    assert by[("no purchase", "b")]["n"] == 2 and by[("no purchase", "b")]["share"] == pytest.approx(200 / 3)


def test_rfm_quintiles_split_ten_buyers_two_by_two_and_name_the_grid():
    n = 10
    orders = ibis.memtable({
        "person_id": [f"C{i:02d}" for i in range(n)],
        "ts": [datetime(2025, 1, 1 + i, tzinfo=UTC) for i in range(n)],  # C09 bought last
        "amount": [10.0 * (i + 1) for i in range(n)]})
    r = rows(segments.rfm(orders, as_of=datetime(2025, 2, 1, tzinfo=UTC)), "person_id")
    assert [r[f"C{i:02d}"]["r"] for i in range(n)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [r[f"C{i:02d}"]["m"] for i in range(n)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert r["C09"]["segment"] == "champions"  # R5 F5 (frequency ties broken by id)
    assert r["C00"]["segment"] == "lost"
    cells = {(rr, ff): name for name, rs, fs in segments.RFM_GRID for rr in rs for ff in fs}
    assert len(cells) == 25 and sum(len(rs) * len(fs) for _, rs, fs in segments.RFM_GRID) == 25


def test_behaviour_segments_follow_their_rules(world):
    _, touchpoints, persons, _ = t(world)
    b = rows(segments.behaviour(touchpoints, persons), "person_id")
    assert {p: x["segment"] for p, x in b.items()} == {
        "P1": "silent", "P2": "multichannel", "P3": "digital-first", "P4": "phone-reliant", "P5": "silent"}
    assert (b["P2"]["contacts"], b["P2"]["channels"], b["P2"]["phone_share"]) == (3, 3, pytest.approx(1 / 3))
    assert b["P1"]["contacts"] == 0 and b["P1"]["phone_share"] is None
    stricter = rows(segments.behaviour(touchpoints, persons, multichannel=4), "person_id")
    assert stricter["P2"]["segment"] == "digital-first"  # 2 of 3 contacts written
    sizes = rows(segments.segment_sizes(segments.behaviour(touchpoints, persons)), "segment")
    assert sizes["silent"]["n"] == 2 and sizes["silent"]["share"] == 40.0


# --- bad and empty input ---------------------------------------------------------------------------------------
def test_bad_arguments_are_refused_with_a_reason(world):
    orders, touchpoints, persons, _ = t(world)
    with pytest.raises(ValueError, match="period"):
        loyalty.retention(orders, period="week")
    with pytest.raises(ValueError, match="activity"):
        loyalty.retention(orders, activity_kind="visits")
    with pytest.raises(ValueError, match="persons"):
        loyalty.retention(orders, by=["segment"])
    with pytest.raises(ValueError, match="not persons columns"):
        loyalty.contractual_churn(touchpoints, persons, by=["colour"])
    with pytest.raises(ValueError, match="orders table"):
        loyalty.activity()
    with pytest.raises(ValueError, match="multichannel"):
        segments.behaviour(touchpoints, multichannel=1)


def test_empty_tables_give_empty_or_explicit_results(world):
    orders, touchpoints, persons, responses = t(world)
    no_orders = orders.filter(orders.amount > 1e6)
    assert rows(loyalty.retention(no_orders)) == []
    assert rows(loyalty.cohort_retention(no_orders)) == []
    assert rows(loyalty.contractual_churn(touchpoints.filter(touchpoints.kind == "usage"))) == []
    r = rows(segments.rfm(no_orders, persons), "person_id")
    assert len(r) == 5 and {x["segment"] for x in r.values()} == {"no purchase"}
    silent = rows(loyalty.loyalty_matrix(loyalty.loyalty_satisfaction(
        persons, no_orders, responses.filter(responses.score > 100))))
    assert [(x["nps_category"], x["buyer"], x["n"], x["reading"]) for x in silent] == [
        ("no answer", "no purchase", 5, "silent (no answer)")]
