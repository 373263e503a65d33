"""SLA breach and at-risk events: found by the sweep when time alone moves a clock, recorded
once on the case (without bumping its version), handed on, and sent to webhooks by the runner."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from parcours.desk import agents, automations, cases, sla_watch
from parcours.desk.automations import Automations
from parcours.store import Store

# T0 is Monday 2 March 2026, 10:00 in Paris (a business day): a normal case's first response is
# due in 60 business minutes, at risk when 30 remain (the default policy's minutes_before)
from test_desk_automations import T0, email  # noqa: E402


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "desk.duckdb")
    agents.add_agent(s, "alice", "Alice", languages=["fr"], status="online")
    yield s
    s.close()


def test_time_alone_turns_a_clock_at_risk_then_breached_each_recorded_once(store):
    c = email(store, "ines@exemple.fr")
    assert sla_watch.sweep(store, now=T0 + timedelta(minutes=20)).events == []

    seen: list = []
    swept = sla_watch.sweep(store, now=T0 + timedelta(minutes=40), on_event=seen.append)
    assert [(e.kind, e.target) for e in swept.events] == [("at_risk", "first_response")]
    assert seen == swept.events and swept.events[0].at == T0 + timedelta(minutes=30)
    assert sla_watch.sweep(store, now=T0 + timedelta(minutes=45)).events == []  # already recorded

    swept = sla_watch.sweep(store, now=T0 + timedelta(hours=2))
    assert [(e.kind, e.target, e.due_at) for e in swept.events] == [
        ("breach", "first_response", T0 + timedelta(hours=1))]
    recorded = sla_watch.recorded(store, c.case_id)
    assert [(r["kind"], r["target"], r["key"]) for r in recorded] == [
        ("at_risk", "first_response", f"{c.case_id}/first_response/1/at_risk"),
        ("breach", "first_response", f"{c.case_id}/first_response/1/breach")]

    # the case itself did not change: an agent's reply written on the version read before the
    # sweep goes through, and the events are in the case's history under the actor "sla"
    after = cases.get(store, c.case_id)
    assert after.case.version == c.version
    cases.reply(store, c.case_id, "alice", "Nous regardons.", expected_version=c.version, ts=T0 + timedelta(hours=2))
    kinds = [(e.actor, e.kind) for e in cases.get(store, c.case_id).events]
    assert ("sla", "sla_at_risk") in kinds and ("sla", "sla_breach") in kinds
    assert sla_watch.sweep(store, now=T0 + timedelta(hours=3)).events == []


def test_a_case_resolved_after_its_breach_still_gets_the_breach_recorded(store):
    c = email(store, "paul@exemple.fr")
    late = T0 + timedelta(hours=3)
    cases.reply(store, c.case_id, "alice", "Voici le suivi.", expected_version=c.version, status="resolved", ts=late)
    assert cases.get(store, c.case_id).case.status == "resolved"
    swept = sla_watch.sweep(store, now=late + timedelta(minutes=1), since=late - timedelta(minutes=1))
    assert ("breach", "first_response") in [(e.kind, e.target) for e in swept.events]
    # a case changed before the look-back and no longer active is not evaluated again
    assert sla_watch.sweep(store, now=late + timedelta(days=2), since=late + timedelta(days=1)).cases == 0


def test_cases_without_desk_history_and_quiet_weekends_give_no_event(store):
    friday_evening = datetime(2026, 3, 6, 17, 55, tzinfo=timezone.utc)  # 18:55 in Paris: closed
    email(store, "zoe@exemple.fr", ts=friday_evening)
    # the clock does not run over the weekend: Sunday night nothing is due yet
    assert sla_watch.sweep(store, now=datetime(2026, 3, 8, 22, 0, tzinfo=timezone.utc)).events == []
    monday = sla_watch.sweep(store, now=datetime(2026, 3, 9, 8, 45, tzinfo=timezone.utc))  # 09:45 Paris
    assert [e.kind for e in monday.events] == ["at_risk"]


def test_the_runner_sweeps_in_the_background_and_hands_events_on(store):
    old = datetime.now(timezone.utc) - timedelta(days=10)  # ten days span at least six business days
    c = email(store, "lea@exemple.fr", ts=old)
    got: list = []
    runner = automations.Runner(store, Automations(resolve_pending_after=None, escalate_unassigned_after=None),
                                every_s=0.05, on_sla_event=got.append).start()
    try:
        for _ in range(100):
            if {e.target for e in got if e.kind == "breach"} >= {"first_response", "resolution"}:
                break
            time.sleep(0.05)
        time.sleep(0.2)  # a few more runs: nothing is handed on twice
    finally:
        runner.stop()
    breaches = sorted(e.target for e in got if e.kind == "breach" and e.case_id == c.case_id)
    assert breaches == ["first_response", "resolution"]
    assert len({e.key for e in got}) == len(got)
