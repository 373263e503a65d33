"""Managers' rules end to end: conditions that explain their mistakes, back-tests that match what
fires live, a detractor answer that opens a case, a channel hop that alerts the escalation team,
broken rules that never stop ingestion, and outreach under the contact-pressure budget.

Live tests run ``parcours serve`` on a real store and send rows over HTTP, as another system would.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import Served, make_token, run_parcours
from parcours.act import engine, outreach, rules
from parcours.act.actions import Actions
from parcours.act.conditions import ConditionError, compile_condition
from parcours.act.subjects import SUBJECTS
from parcours.simulate.world import generate
from parcours.store import Store

HOP = "channels(48h) >= 2 and kind = 'contact' and direction = 'inbound'"


def api(base: str, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    req = urllib.request.Request(base + "/api/v1" + path, method=method,
                                 data=None if body is None else json.dumps(body, default=str).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait_for(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"still not true after {timeout} s")


# -- the condition language ---------------------------------------------------------------------
@pytest.mark.parametrize("text, says", [
    ("scroe <= 6", "unknown field 'scroe' for a response rule"),
    ("score <= 'six'", "score is a number, not 'six'"),
    ("metric = 'nsp'", "'nsp' is not a known metric (known: nps, csat, ces, custom)"),
    ("score <=", "a value is missing at the end"),
    ("score", "'score' is a value: compare it"),
    ("score <= 6 metric = 'nps'", "unexpected 'metric': join conditions with 'and' / 'or'"),
    ("comment > 'x'", "'comment' is not a number: use = or in"),
    ("score <= 6; DROP TABLE responses", "unexpected ';'"),
    ("", "the condition is empty"),
])
def test_a_bad_condition_says_where_and_why(text: str, says: str) -> None:
    with pytest.raises(ConditionError) as e:
        compile_condition(text, SUBJECTS["response"].fields, "response")
    assert says in str(e.value)


def test_conditions_become_sql_with_bound_values_only() -> None:
    c = compile_condition("metric = 'nps' and score <= 6 or comment contains 'rembours'",
                          SUBJECTS["response"].fields, "response")
    assert "'nps'" not in c.sql and "rembours" not in c.sql  # values are parameters
    assert c.params == ["nps", 6.0, "rembours"]
    d = compile_condition("age > 5d and not kept", SUBJECTS["promise"].fields, "promise")
    assert d.params == [5 * 86400.0] and [s[0] for s in d.shown] == ["age", "kept"]
    with pytest.raises(ConditionError, match="write 5h or 5d"):
        compile_condition("age > 5", SUBJECTS["promise"].fields, "promise")
    # a field named twice is one value: the engine computes each window once, condition and reason alike
    w = compile_condition("channels(48h) >= 2 and (channels(48h) <= 4 or channels(7d) > 5)",
                          SUBJECTS["touchpoint"].fields, "touchpoint")
    assert [s[0] for s in w.shown] == ["channels(48h)", "channels(7d)"]
    assert w.sql.count("_f0") == 2 and w.sql.count("_f1") == 1 and "touchpoints o" not in w.sql
    assert w.inline.count("touchpoints o") == 3  # the inline form, for a WHERE over the subject's own rows


def test_a_rule_names_the_field_at_fault() -> None:
    base = {"id": "r1", "name": "R", "subject": "response", "when": "detractor", "action": "open_case",
            "params": {"subject": "Call back"}}
    assert rules.check(base).action == "open_case"
    for change, field in [({"id": "Bad Id"}, "id"), ({"subject": "order"}, "subject"), ({"when": "score < "}, "when"),
                          ({"action": "email_ceo"}, "action"), ({"params": {}}, "params.subject"),
                          ({"params": {"subject": "x", "priority": "asap"}}, "params.priority"),
                          ({"repeat_after": "7d"}, "repeat_after")]:
        with pytest.raises(rules.RuleError) as e:
            rules.check({**base, **change})
        assert e.value.field == field, (change, e.value)


# -- back-test == live ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("act_world")
    generate(out, persons=1500, days=60, seed=11)
    return out


def _rows(path: Path) -> list[dict[str, Any]]:
    table = pq.read_table(path)
    rows = table.to_pylist()
    for r in rows:
        for k, v in list(r.items()):
            if isinstance(v, datetime):
                r[k] = v.isoformat()
            elif v is None:
                del r[k]
    return rows


def test_a_backtest_gives_the_count_the_rule_then_fires_live(small_world: Path, tmp_path: Path) -> None:
    # the past: the whole world in one store; the back-test counts channel hops in it
    past = tmp_path / "past.duckdb"
    run_parcours("--db", str(past), "import", *map(str, sorted(small_world.glob("*.parquet"))), check=True)
    hop = {"id": "hop", "name": "Channel hop", "subject": "touchpoint", "when": HOP, "action": "notify",
           "params": {"team": "escalations", "message": "Customer switching channels"}}
    with Store(past, read_only=True) as s:
        lo, hi = s.query("SELECT min(ts), max(ts) FROM touchpoints")[0]
        expected = engine.backtest(s, hop, lo, hi + timedelta(seconds=1))
    assert expected.fired > 20, "the world must have channel hops to test with"
    assert "channels(48h) = " in expected.examples[0]["reason"]

    # live: the same touchpoints arrive through the API on a store that has the rest
    live = tmp_path / "live.duckdb"
    run_parcours("--db", str(live), "import", *(str(small_world / f"{t}.parquet") for t in ("persons", "cases")),
                 check=True)
    token = make_token(live, "admin")
    server = Served(live)
    try:
        assert api(server.base, token, "PUT", "/rules/hop", hop)[0] == 200
        assert api(server.base, token, "POST", "/rules/hop/on")[1]["enabled"] is True
        rows = _rows(small_world / "touchpoints.parquet")
        for i in range(0, len(rows), 5000):
            status, receipt = api(server.base, token, "POST", "/touchpoints", rows[i:i + 5000])
            assert status == 202, receipt
        wait_for(lambda: api(server.base, token, "GET", "/rules")[1][0]["fired"] >= expected.fired, 120)
        time.sleep(1)  # nothing more may come
        firings = api(server.base, token, "GET", "/rules/firings?rule=hop&limit=10000")[1]
        notes = api(server.base, token, "GET", "/notifications?team=escalations&limit=1000")[1]
    finally:
        server.stop()
    assert len(firings) == expected.fired
    assert {f["subject_key"] for f in firings} == set(_backtest_keys(past, hop, lo, hi))
    assert all(f["status"] == "done" and f["reason"].startswith(HOP) for f in firings)
    assert all(datetime.fromisoformat(f["done_at"]) >= datetime.fromisoformat(f["fired_at"]) for f in firings)
    assert len(notes) >= min(expected.fired, 1000) and notes[0]["message"].startswith("Customer switching channels")


def _backtest_keys(db: Path, rule: dict[str, Any], lo: datetime, hi: datetime) -> list[str]:
    with Store(db, read_only=True) as s:
        return [f.subject_key for f in engine._matches(s, rules.check(rule), "t.ts >= ? AND t.ts < ?",
                                                       [lo, hi + timedelta(seconds=1)], hi, round_=0,
                                                       fresh_only=False)]


# -- a detractor answer opens a case; a broken rule never stops ingestion ------------------------------
def test_a_detractor_answer_fires_a_rule_that_opens_a_case_and_a_broken_rule_stops_nothing(
        demo_world: tuple[Path, Path], tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    shutil.copy(demo_world[0], db)
    token = make_token(db, "admin")
    with Store(db) as s:
        email = s.query("SELECT value FROM identities WHERE kind = 'email' ORDER BY value LIMIT 1")[0][0]
    os.environ["PARCOURS_VOICE_EVERY_S"] = "3600"  # the voice loop's sweep stays out of the way
    try:
        server = Served(db)
    finally:
        del os.environ["PARCOURS_VOICE_EVERY_S"]
    try:
        status, err = api(server.base, token, "PUT", "/rules/bad", {
            "name": "Typo", "subject": "response", "when": "scroe <= 6", "action": "open_case",
            "params": {"subject": "x"}})
        assert status == 422 and err["detail"].startswith("when: unknown field 'scroe'")
        assert api(server.base, token, "PUT", "/rules/detractor", {
            "name": "Call back a detractor", "subject": "response", "when": "detractor", "action": "open_case",
            "params": {"subject": "Call back: NPS detractor", "priority": "urgent"}, "enabled": True})[0] == 200
        # broken at run time: the survey it sends does not exist
        assert api(server.base, token, "PUT", "/rules/broken", {
            "name": "Survey a detractor", "subject": "response", "when": "detractor", "action": "send_survey",
            "params": {"survey_id": "no-such-survey"}, "enabled": True})[0] == 200
        now = datetime.now(timezone.utc)
        answers = [{"response_id": "R-act-1", "email": email, "ts": now.isoformat(), "metric": "nps", "score": 2,
                    "comment": "Trois appels et toujours rien"},
                   {"response_id": "R-act-2", "email": email, "ts": now.isoformat(), "metric": "nps", "score": 10}]
        assert api(server.base, token, "POST", "/responses", answers)[0] == 202
        done = wait_for(lambda: [f for f in api(server.base, token, "GET", "/rules/firings?rule=detractor")[1]
                                 if f["status"] != "pending"])
        broken = wait_for(lambda: api(server.base, token, "GET", "/rules/firings?rule=broken")[1])
        listed = {r["rule_id"]: r for r in api(server.base, token, "GET", "/rules")[1]}
        case_id = done[0]["result"].split()[-1]
        status, case = api(server.base, token, "GET", f"/desk/cases/{case_id}")
    finally:
        server.stop()
    assert [f["subject_key"] for f in done] == ["R-act-1"] and done[0]["status"] == "done"
    assert done[0]["result"].startswith("opened case ")
    assert status == 200 and case["case"]["priority"] == "urgent"
    assert case["case"]["subject"] == "Call back: NPS detractor"
    assert any("detractor" in (m.get("body") or "") for m in case["messages"])  # the reason, as a note
    assert broken[0]["status"] == "failed" and "no-such-survey" in broken[0]["error"]
    assert "no-such-survey" in listed["broken"]["last_error"]
    with Store(db, read_only=True) as s:  # both answers stored, whatever the broken rule did
        assert s.query("SELECT count(*) FROM responses WHERE response_id IN ('R-act-1', 'R-act-2')")[0][0] == 2
        assert s.query("SELECT response_id FROM voice_loops WHERE case_id = ?", [case_id]) == [("R-act-1",)]


# -- states swept against the clock ---------------------------------------------------------------------
def test_a_state_rule_fires_once_per_subject_and_again_after_its_repeat(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    (tmp_path / "promises.csv").write_text(
        "promise_id,email,made_at,kind,channel,due_at,kept_at\n"
        "P1,a@x.fr,2026-01-01T10:00:00Z,delivery,web,2026-01-04T10:00:00Z,\n"
        "P2,b@x.fr,2026-01-01T10:00:00Z,delivery,web,2026-01-04T10:00:00Z,2026-01-03T09:00:00Z\n"
        "P3,c@x.fr,2026-01-05T10:00:00Z,callback,phone,2026-01-05T15:00:00Z,\n", encoding="utf-8")
    run_parcours("--db", str(db), "import", str(tmp_path / "promises.csv"), check=True)
    with Store(db) as s:
        rules.save(s, {"id": "late", "name": "Late delivery", "subject": "promise", "action": "notify",
                       "when": "kind = 'delivery' and age > 5d", "params": {"team": "logistics"},
                       "repeat_after": "7d", "enabled": True}, actor="test")
        act = Actions(s)
        t0 = datetime(2026, 1, 7, 12, tzinfo=timezone.utc)
        assert [f.subject_key for f in engine.sweep(s, act, now=t0)] == ["P1"]  # P2 was kept
        assert engine.sweep(s, act, now=t0 + timedelta(minutes=1)) == []        # once per round
        again = engine.sweep(s, act, now=t0 + timedelta(days=7))
        assert [f.subject_key for f in again] == ["P1"] and "age = 13.1 d" in again[0].reason
        test = engine.backtest(s, rules.get(s, "late"), datetime(2026, 1, 1, tzinfo=timezone.utc),
                               datetime(2026, 1, 21, tzinfo=timezone.utc))
        assert test.fired == 2 and test.subjects == 1 and test.check_points == 20  # Jan 7 and 14, as live
        assert s.query("SELECT count(*) FROM notifications WHERE team_id = 'logistics'")[0][0] == 2


# -- outreach under the contact-pressure budget ------------------------------------------------------
def test_the_budget_keeps_the_best_rated_practices_and_says_why_the_others_wait(tmp_path: Path) -> None:
    with Store(tmp_path / "o.duckdb") as s:
        now = datetime(2026, 3, 1, tzinfo=timezone.utc)
        outreach.set_budget(s, outreach.Budget(per_person=3, period_days=30, reserve=1, welcome=3.0))
        practices = ["thank_you_email", "abandoned_cart_email", "personal_call_after_change", "social_reply",
                     "in_store_promotion"]
        outreach.queue(s, [{"person_id": "P1", "practice": p} for p in practices], now=now)
        sent = outreach.dispatch(s, now=now)
        # the call (3.7) takes a slot of the reserve; below 3.0 only two slots are open
        assert [x["practice"] for x in sent] == ["personal_call_after_change", "in_store_promotion"]
        held = dict(s.query("SELECT practice, reason FROM outreach WHERE status = 'held'"))
        assert set(held) == {"abandoned_cart_email", "social_reply", "thank_you_email"}
        assert "kept for practices rated 3+ (this one 2.3)" in held["thank_you_email"]
        # a month later the budget is free again
        outreach.queue(s, [{"person_id": "P1", "practice": "abandoned_cart_email"}], now=now + timedelta(days=31))
        assert len(outreach.dispatch(s, now=now + timedelta(days=31))) == 1
        assert {p["practice_id"]: p["sent"] for p in outreach.summary(s)}["personal_call_after_change"] == 1
        effect = {e["practice"]: e for e in outreach.effect(s)}
        assert effect["all"]["sent_persons"] == 1 and effect["all"]["sent_nps"] is None  # no answers: no figure
        # P1 (reached by the call, held back from three others) answers 10; P2, held back, answers 3
        outreach.queue(s, [{"person_id": "P2", "practice": "thank_you_email"}], now=now)
        s.con.execute("UPDATE outreach SET status = 'held', decided_at = ? WHERE person_id = 'P2'", [now])
        s.con.execute("INSERT INTO responses (response_id, person_id, ts, metric, score) VALUES "
                      "('a1', 'P1', ?, 'nps', 10), ('a2', 'P2', ?, 'nps', 3)", [now + timedelta(days=2)] * 2)
        effect = {e["practice"]: e for e in outreach.effect(s)}
        assert (effect["all"]["sent_nps"], effect["all"]["held_nps"], effect["all"]["difference"]) == (100, 0, 100)
        assert effect["all"]["held_n"] == 2  # P1's one answer counted once, whatever the practices it was held from
        assert effect["thank_you_email"]["held_persons"] == 2 and effect["thank_you_email"]["held_n"] == 2


def test_rules_from_a_file_are_all_or_nothing(tmp_path: Path) -> None:
    good = tmp_path / "rules.toml"
    good.write_text('[[rule]]\nid = "a"\nname = "A"\nsubject = "case"\nwhen = "age > 2d and not answered"\n'
                    'action = "notify"\nparams = { team = "desk" }\n', encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text() + '[[rule]]\nid = "b"\nname = "B"\nsubject = "case"\nwhen = "agee > 2d"\n'
                   'action = "notify"\nparams = { team = "desk" }\n', encoding="utf-8")
    with Store(tmp_path / "f.duckdb") as s:
        with pytest.raises(rules.RuleError, match=r"rule 2 \(b\) when: unknown field 'agee'"):
            rules.load_file(s, bad)
        assert rules.listed(s) == []
        assert [r.source for r in rules.load_file(s, good)] == ["file"]


def test_firing_keys_are_unique_even_if_two_sweeps_race(tmp_path: Path) -> None:
    with Store(tmp_path / "u.duckdb") as s:
        s.con.execute("INSERT INTO rule_firings (firing_id, rule_id, subject_key, round, fired_at, action, status) "
                      "VALUES ('f1', 'r', 'k', 0, now(), 'notify', 'done')")
        with pytest.raises(duckdb.ConstraintException):
            s.con.execute("INSERT INTO rule_firings (firing_id, rule_id, subject_key, round, fired_at, action, "
                          "status) VALUES ('f2', 'r', 'k', 0, now(), 'notify', 'done')")


def test_groups_nulls_and_limits_of_the_language() -> None:
    fields = SUBJECTS["response"].fields
    grouped = compile_condition("detractor and (channel = 'web' or channel = 'app')", fields, "response")
    assert grouped.sql.count("(") >= 3 and grouped.params == ["web", "app"]
    with Store(":memory:") as s:  # NOT of an unknown stays unknown: a skipped score never fires `not score >= 7`
        s.con.execute("INSERT INTO responses (response_id, ts, metric, score) VALUES ('a', now(), 'nps', NULL), "
                      "('b', now(), 'nps', 3), ('c', now(), 'nps', 9)")
        c = compile_condition("not score >= 7", fields, "response")
        got = s.query(f"SELECT t.response_id FROM responses t WHERE {c.inline} ORDER BY 1", c.params)
        assert got == [("b",)]
        like = compile_condition("comment contains '50%'", fields, "response")
        s.con.execute("UPDATE responses SET comment = CASE response_id WHEN 'a' THEN 'remise de 50% promise' "
                      "WHEN 'b' THEN 'remise de 50 euros' END")
        assert s.query(f"SELECT t.response_id FROM responses t WHERE {like.inline}", like.params) == [("a",)]
    for text, says in [("contacts(99999999999d) > 1", "longer than ten years"),
                       ("not " * 40 + "detractor", "too deeply nested"),
                       ("(detractor or promoter", r"'\)' closing the group")]:
        with pytest.raises(ConditionError, match=says):
            compile_condition(text, SUBJECTS["touchpoint" if "contacts" in text else "response"].fields, "x")
    with pytest.raises(rules.RuleError, match="repeat_after"):
        rules.check({"id": "n", "name": "N", "subject": "case", "when": "age > 1d", "action": "notify",
                     "params": {"team": "t"}, "repeat_after": float("nan")})
