"""Journey metrics: hand-computed episodes, the demo world's calibration recovered, bad input."""

from __future__ import annotations

from datetime import date, datetime, timezone

import ibis
import pytest

from conftest import write_csv
from parcours import metrics, report
from parcours.metrics import journeys as J
from parcours.store import Store

HEADER = ["event_id", "ts", "email", "channel", "kind", "topic", "case_id", "outcome", "wait_s", "stage"]


def _store(tmp_path, cli, rows):
    write_csv(tmp_path / "touchpoints.csv", rows, header=HEADER)
    code, out, _ = cli("import", str(tmp_path / "touchpoints.csv"))
    assert code == 0, out


# Anne: one case, email (unresolved) → phone (transferred) → chat (resolved).
# Bob: no case, topic billing: phone (resolved); 10 days later phone (unresolved): two episodes (gap 7 days).
# Chloé: one case, phone (abandoned) → phone (unresolved): gave up.
ROWS = [
    ["a1", "2025-03-01T09:00:00Z", "anne@x.fr", "email", "contact", "billing", "C1", "unresolved", "3600", "support"],
    ["a2", "2025-03-02T09:00:00Z", "anne@x.fr", "phone", "contact", "billing", "C1", "transferred", "300", "support"],
    ["a3", "2025-03-02T10:00:00Z", "anne@x.fr", "chat", "contact", "billing", "C1", "resolved", "30", "support"],
    ["b1", "2025-03-01T09:00:00Z", "bob@x.fr", "phone", "contact", "billing", "", "resolved", "60", "support"],
    ["b2", "2025-03-11T09:00:00Z", "bob@x.fr", "phone", "contact", "billing", "", "unresolved", "60", "support"],
    ["c1", "2025-03-05T09:00:00Z", "chloe@x.fr", "phone", "contact", "delivery", "C2", "abandoned", "900", "support"],
    ["c2", "2025-03-05T11:00:00Z", "chloe@x.fr", "phone", "contact", "delivery", "C2", "unresolved", "120", "support"],
    ["v1", "2025-02-01T09:00:00Z", "anne@x.fr", "web", "visit", "", "", "", "", "discover"],
    ["v2", "2025-02-03T09:00:00Z", "anne@x.fr", "web", "visit", "", "", "", "", "consider"],
    ["v3", "2025-02-02T09:00:00Z", "bob@x.fr", "web", "visit", "", "", "", "", "discover"],
]


def _one(expr):
    return report.rows(expr)[0]


def test_hand_computed_episode_figures(tmp_path, cli, db):
    _store(tmp_path, cli, ROWS)
    with Store(db, read_only=True) as s:
        e = J.episodes(J.contacts(s.table("touchpoints")))
        f = J.contact_flags(e)
        summary = J.episode_summary(e)
        assert _one(summary.aggregate(n=summary.count()))["n"] == 4  # C1, C2, Bob twice
        # phone contacts: a2 (after an email: yes), b1, b2, c1, c2 (phone before: not another channel)
        pre = {r["channel"]: r for r in report.rows(J.preceded_by_other_channel(f))}
        assert (pre["phone"]["n"], pre["phone"]["k"]) == (5, 1) and pre["phone"]["share"] == pytest.approx(20.0)
        assert (pre["chat"]["n"], pre["chat"]["k"]) == (1, 1) and (pre["email"]["k"]) == 0
        by = {(r["channel"], r["earlier_channel"]): r for r in report.rows(J.preceded_by(f))}
        assert by[("chat", "email")]["k"] == 1 and by[("chat", "phone")]["k"] == 1 and by[("phone", "email")]["k"] == 1
        # avoidable: a2 (after unresolved a1), a3 (after a1, a2), c2 (after abandoned c1) = 3 of 7
        av = _one(J.avoidable_contacts(f))
        assert (av["n"], av["k"]) == (7, 3)
        # on another channel only: a2 (email before), a3 (email, phone before); c2's was on the phone too
        assert _one(J.avoidable_contacts(f, other_channel=True))["k"] == 2
        # calls followed by another channel: a2 (chat after) only, of 5 calls
        calls = _one(J.continue_after(f, "phone"))
        assert (calls["n"], calls["k"], calls["then_chat"]) == (5, 1, 1)
        # given up: C2 (last unresolved) and Bob's second episode (unresolved) = 2 of 4
        gu = _one(J.give_up(summary))
        assert (gu["n"], gu["k"]) == (4, 2)
        eff = _one(J.effort(summary))
        assert eff["contacts_mean"] == pytest.approx(7 / 4) and eff["channels_mean"] == pytest.approx(6 / 4)
        assert eff["contacts_median"] == pytest.approx(1.5) and eff["multichannel"] == pytest.approx(25.0)
        paths = {r["path"]: r["n"] for r in report.rows(J.paths(e))}
        assert paths == {"email > phone > chat": 1, "phone": 2, "phone > phone": 1}
        sw = {(r["from_channel"], r["to_channel"]): r for r in report.rows(J.channel_switching(e))}
        assert sw[("email", "phone")]["n"] == 1 and sw[("phone", "chat")]["share"] == pytest.approx(0.5)
        # funnel: 3 persons with staged touchpoints; discover: Anne and Bob; consider after discover: Anne
        fun = {r["stage"]: r for r in report.rows(J.stage_funnel(s.table("touchpoints")))}
        assert (fun["discover"]["n"], fun["discover"]["reached"]) == (3, 2)
        assert (fun["consider"]["n"], fun["consider"]["conversion"], fun["consider"]["days_from_previous"]) == (2, 50.0, 2.0)


def test_demo_world_calibration_is_recovered_by_the_journey_metrics(demo_world):
    """The generator is calibrated on NICE–BCG (seed 003); docs/demo-world.md gives the targets."""
    db, _ = demo_world
    with Store(db, read_only=True) as s:
        rep = report.journey_section(s.table("touchpoints"), s.table("responses"))
        e = J.episodes(J.contacts(s.table("touchpoints")))
        f = J.contact_flags(e)
        email_before = {r["earlier_channel"]: r for r in report.rows(J.preceded_by(f)) if r["channel"] == "phone"}["email"]
        # within sampling error (about 800 calls here) plus the generator's own ±3 points
        assert abs(email_before["share"] - 15.1) <= 4, email_before
        # "avoidable call" per call: an earlier contact on another channel was not resolved
        calls = _one(J.avoidable_contacts(f.filter(f.channel == "phone"), other_channel=True))
        assert abs(calls["share"] - 70.0) <= 7
        assert abs(rep["continue_after_call"]["share"] - 40.0) <= 4
        assert abs(rep["chat_after_call_share"] - 6.4) <= 3
        assert abs(rep["give_up_calls"]["share"] - 3.2) <= 3
        # peak–end: the worst contact predicts the CSAT better than the average contact does
        pe = {r["predictor"]: r for r in rep["peak_end"]}
        assert pe["peak"]["n"] > 200 and pe["peak"]["r"] < -0.3
        assert pe["peak"]["r"] < pe["mean"]["r"]


def test_empty_store_gives_explicit_empty_results(tmp_path, cli, db):
    with Store(db):
        pass
    code, out, data = cli("report", "--json")
    assert code == 0, out
    assert data["nps"] == {**data["nps"], "score": None, "n": 0, "small_n": True}
    assert data["csat"]["score"] is None and data["ces"]["share_easy"] is None
    j = data["journeys"]
    assert j["episodes"] == 0 and j["avoidable_share"] is None and j["give_up"]["n"] == 0
    assert j["switch_matrix"] == {} and j["top_paths"] == [] and j["peak_end"][0]["n"] == 0
    code, out, _ = cli("report")
    assert "No survey answers" in out and "No service contacts" in out


def test_single_respondent_and_an_empty_period_are_flagged(tmp_path, cli, db):
    _store(tmp_path, cli, ROWS)
    write_csv(tmp_path / "responses.csv", [["r1", "2025-03-03T10:00:00Z", "anne@x.fr", "nps", "9"]],
              header=["response_id", "ts", "email", "metric", "score"])
    cli("import", str(tmp_path / "responses.csv"))
    with Store(db, read_only=True) as s:
        rep = report.build(s)
        assert rep["nps"]["n"] == 1 and rep["nps"]["score"] == 100.0 and rep["nps"]["small_n"]
        assert rep["nps"]["moe95"] == 0.0  # one answer: no variance to estimate; flagged as too few
        empty = report.build(s, start=date(2024, 1, 1), end=date(2024, 2, 1))
        assert empty["nps"]["n"] == 0 and empty["journeys"]["episodes"] == 0
        assert empty["nps"]["change"]["delta"] is None  # no answers on either side: no invented change
        # a period longer than the calendar before it (found by the API fuzz test: an overflow, a 500)
        vast = report.build(s, start=date(1626, 7, 15), end=date(3879, 3, 20))
        assert vast["nps"]["n"] == 1 and "change" not in vast["nps"]


def test_report_period_and_breakdowns(tmp_path, cli, db):
    _store(tmp_path, cli, ROWS)
    code, out, data = cli("report", "--from", "2025-03-01", "--to", "2025-03-06", "--by", "channel", "--by", "period",
                          "--json")
    assert code == 0, out
    assert data["counts"]["touchpoints"] == 6  # b2 (11 March) and the February visits are outside
    by_channel = data["breakdowns"][0]
    assert by_channel["dimension"] == "channel" and by_channel["rows"]["phone"]["avoidable"]["n"] == 4
    # no answers in this store: no NPS row for phone, and the two phone contacts out of four after
    # an unresolved one are flagged as a small sample
    assert by_channel["rows"]["phone"] == {"avoidable": {"share": 50.0, "n": 4, "small_n": True}}
    code, out, _ = cli("report", "--by", "colour")
    assert code != 0 and "unknown dimension colour" in out
    code, out, _ = cli("report", "--from", "2025-03-06", "--to", "2025-03-01")
    assert code != 0 and "must be after" in out


def test_html_report_is_self_contained(tmp_path, cli, db):
    _store(tmp_path, cli, ROWS)
    html = tmp_path / "r.html"
    code, out, _ = cli("report", "--html", str(html), "--lang", "fr")
    assert code == 0, out
    text = html.read_text(encoding="utf-8")
    assert "<svg" in text and "Changements de canal" in text and "<script" not in text
    assert "http://" not in text and "https://" not in text  # nothing fetched from a CDN


def test_life_stage_and_tenure_year_slice_rows():
    persons = ibis.memtable({"person_id": ["p1", "p2"], "birth_year": [1990, None],
                             "created_at": [datetime(2020, 6, 1, tzinfo=timezone.utc)] * 2})
    rows = ibis.memtable({"person_id": ["p1", "p2"], "ts": [datetime(2025, 3, 1, tzinfo=timezone.utc)] * 2})
    out = {r["person_id"]: r for r in report.rows(J.with_tenure_year(J.with_life_stage(rows, persons), persons))}
    assert out["p1"]["life_stage"] == "35-49" and out["p2"]["life_stage"] == "unknown"
    assert out["p1"]["tenure_year"] == 5  # 4 years and 9 months in: the fifth year


def test_nps_change_between_periods():
    before = {"nps": 20.0, "se": 3.0, "n": 500}
    after = {"nps": 30.0, "se": 4.0, "n": 400}
    ch = metrics.nps_change(before, after)
    assert ch["delta"] == 10.0 and ch["se"] == pytest.approx(5.0) and ch["z"] == pytest.approx(2.0)
    assert ch["p_value"] == pytest.approx(0.0455, abs=1e-4) and ch["significant"]
