"""Metric formulas against their published definitions and worked examples."""

from __future__ import annotations

import math

import ibis
import pytest

from conftest import write_csv
from parcours import metrics, report
from parcours.store import Store


def _responses(rows: list[tuple[str, float | None]], scale: tuple[int, int] | None = None):
    lo_hi = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
    return ibis.memtable({
        "metric": [m for m, _ in rows],
        "score": [s for _, s in rows],
        "scale_min": [(scale or lo_hi[m])[0] for m, _ in rows],
        "scale_max": [(scale or lo_hi[m])[1] for m, _ in rows],
        "channel": ["email" if i % 2 else "phone" for i in range(len(rows))],
    }, schema={"metric": "string", "score": "float64", "scale_min": "int32", "scale_max": "int32",
               "channel": "string"})


def test_nps_is_promoters_minus_detractors_with_its_margin_of_error():
    # 50 promoters, 30 passives, 20 detractors, 7 skipped answers
    rows = [("nps", 10.0)] * 30 + [("nps", 9.0)] * 20 + [("nps", 8.0)] * 15 + [("nps", 7.0)] * 15 \
        + [("nps", 6.0)] * 10 + [("nps", 0.0)] * 10 + [("nps", None)] * 7
    r = metrics.nps(_responses(rows)).to_pyarrow().to_pylist()[0]
    assert (r["n"], r["promoters"], r["passives"], r["detractors"], r["skipped"]) == (100, 50, 30, 20, 7)
    assert r["nps"] == pytest.approx(30.0)
    p, d = 0.5, 0.2
    assert r["moe95"] == pytest.approx(1.959964 * 100 * math.sqrt((p + d - (p - d) ** 2) / 100), rel=1e-6)
    assert r["moe95"] == pytest.approx(15.31, abs=0.01)  # 1.96·100·√(0.61/100)


def test_nps_by_group_keeps_each_group_apart():
    rows = [("nps", 10.0), ("nps", 0.0)] * 10
    out = {r["channel"]: r for r in metrics.nps(_responses(rows), by=["channel"]).to_pyarrow().to_pylist()}
    assert out["phone"]["nps"] == 100.0 and out["email"]["nps"] == -100.0


@pytest.mark.parametrize("k, n, low, high", [(81, 263, 25.53, 36.62), (15, 148, 6.24, 16.05),
                                             (0, 20, 0.0, 16.11), (1, 29, 0.61, 17.18)])
def test_csat_wilson_interval_matches_newcombe_1998(k, n, low, high):
    rows = [("csat", 5.0)] * k + [("csat", 2.0)] * (n - k)
    r = metrics.csat(_responses(rows)).to_pyarrow().to_pylist()[0]
    assert r["csat"] == pytest.approx(100 * k / n)
    assert (round(r["csat_low"], 2), round(r["csat_high"], 2)) == (low, high)


def test_csat_counts_the_top_two_boxes_and_ces_the_upper_half():
    csat = metrics.csat(_responses([("csat", s) for s in (1.0, 2.0, 3.0, 4.0, 5.0, None)])).to_pyarrow().to_pylist()[0]
    assert (csat["n"], csat["satisfied"], csat["skipped"]) == (5, 2, 1)
    ces = metrics.ces(_responses([("ces", s) for s in (1.0, 4.0, 5.0, 6.0, 7.0)])).to_pyarrow().to_pylist()[0]
    assert (ces["n"], ces["easy"], ces["mean"]) == (5, 3, 4.6)
    ten = metrics.csat(_responses([("csat", s) for s in (8.0, 9.0, 10.0, 3.0)], scale=(1, 10))).to_pyarrow().to_pylist()[0]
    assert ten["satisfied"] == 2  # top two boxes of a stated 1–10 scale: 9 and 10


def _contacts_db(tmp_path, cli):
    header = ["event_id", "ts", "email", "channel", "kind", "topic", "case_id", "outcome"]
    rows = [
        # Anne: email → chat → phone about delivery (one episode by case), then an unrelated visit
        ["a1", "2025-01-01T09:00:00Z", "anne@x.fr", "email", "contact", "delivery", "K1", "unresolved"],
        ["a2", "2025-01-02T09:00:00Z", "anne@x.fr", "chat", "contact", "delivery", "K1", "unresolved"],
        ["a3", "2025-01-02T10:00:00Z", "anne@x.fr", "phone", "contact", "delivery", "K1", "resolved"],
        ["a4", "2025-01-03T10:00:00Z", "anne@x.fr", "web", "visit", "", "", ""],
        # Bob, no case ids: email then phone two days later (same episode), phone again 30 days later (new)
        ["b1", "2025-01-01T09:00:00Z", "bob@x.fr", "email", "contact", "billing", "", "unresolved"],
        ["b2", "2025-01-03T09:00:00Z", "bob@x.fr", "phone", "contact", "billing", "", "resolved"],
        ["b3", "2025-02-02T09:00:00Z", "bob@x.fr", "phone", "contact", "billing", "", "resolved"],
        ["b4", "2025-02-02T12:00:00Z", "bob@x.fr", "phone", "contact", "billing", "", "resolved"],
    ]
    write_csv(tmp_path / "touchpoints.csv", rows, header=header)
    cli("import", str(tmp_path / "touchpoints.csv"))


def test_episodes_and_the_channel_switching_matrix(tmp_path, cli, db):
    _contacts_db(tmp_path, cli)
    with Store(db) as s:
        eps = metrics.episodes(metrics.contacts(s.table("touchpoints"))).to_pyarrow().to_pylist()
        assert len({e["episode_id"] for e in eps}) == 3
        steps = {e["event_id"]: e["step"] for e in eps}
        assert steps == {"a1": 1, "a2": 2, "a3": 3, "b1": 1, "b2": 2, "b3": 1, "b4": 2}
        m = {(r["from_channel"], r["to_channel"]): r for r in
             metrics.channel_switching(metrics.episodes(metrics.contacts(s.table("touchpoints"))))
             .to_pyarrow().to_pylist()}
    assert set(m) == {("email", "chat"), ("chat", "phone"), ("email", "phone"), ("phone", "phone")}
    assert m[("email", "chat")]["n"] == 1 and m[("email", "chat")]["share"] == 0.5
    assert m[("phone", "phone")]["switch"] is False and m[("email", "phone")]["switch"] is True


def test_report_json_and_text(tmp_path, cli, db):
    _contacts_db(tmp_path, cli)
    write_csv(tmp_path / "responses.csv", [[f"r{i}", "2025-01-05T10:00:00Z", "anne@x.fr", "nps", str(i % 11)]
                                           for i in range(40)], header=["response_id", "ts", "email", "metric", "score"])
    cli("import", str(tmp_path / "responses.csv"))
    code, out, data = cli("report", "--json")
    assert code == 0
    assert data["nps"]["n"] == 40 and data["nps"]["small_n"] is False
    assert data["csat"]["small_n"] is True and data["csat"]["score"] is None  # no answers: no score, not 0
    assert data["journeys"]["channels"] == ["email", "chat", "phone"]
    code, out, _ = cli("report")
    assert "NPS" in out and "±" in out and "Channel switching" in out
    with Store(db) as s:
        assert report.build(s)["counts"]["responses"] == 40


def test_the_store_reads_zoned_times_without_a_time_zone_conversion(tmp_path):
    """On the store, ``epoch_seconds`` compiles to ``epoch(ts)`` and a cast to wall-clock time
    to ``make_timestamp(epoch_us(ts))``, not Ibis' casts (a time-zone conversion, 5–15× the
    cost): the same values as DuckDB's own conversion in the store's UTC session."""
    from datetime import datetime, timedelta, timezone

    import ibis.expr.datatypes as dt

    start = datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=timezone.utc)
    instants = [start + timedelta(days=97.3 * i, microseconds=i) for i in range(400)]
    with Store(tmp_path / "s.duckdb") as s:
        t = ibis.memtable({"ts": instants}, schema={"ts": "timestamp('UTC')"})
        expr = t.select(e=t.ts.epoch_seconds().cast("float64"), w=t.ts.cast(dt.Timestamp(scale=6)), y=t.ts.cast("timestamp").year())
        sql = str(s.ibis().compile(expr)).upper()
        assert "AS TIMESTAMP" not in sql and "EPOCH(\"T0\".\"TS\")" in sql and "MAKE_TIMESTAMP(EPOCH_US(" in sql
        got = s.ibis().to_pyarrow(expr).to_pydict()
        assert got["e"] == pytest.approx([i.timestamp() for i in instants], abs=1e-6)
        assert got["w"] == [i.replace(tzinfo=None) for i in instants]
        assert got["y"] == [i.year for i in instants]
        # the store's compiler, Ibis' own: the same table
        assert s.ibis().to_pyarrow(expr) == ibis.duckdb.from_connection(s.con).to_pyarrow(expr)
