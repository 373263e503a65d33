"""Time-based automations: a quiet pending case is resolved, an unassigned waiting case is
escalated once, and a case an agent touches meanwhile is left alone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from parcours.desk import agents, automations, cases
from parcours.desk.automations import Automations
from parcours.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "desk.duckdb")
    agents.add_agent(s, "alice", "Alice", languages=["fr"], status="online")
    yield s
    s.close()


def email(store: Store, who: str, ts: datetime = T0, text: str = "Ma commande 12345 n'est pas arrivée."):
    r = cases.receive(store, channel="email", identifiers={"email": who}, ts=ts, subject="Commande", text=text)
    return current(store, r.case_id)


def current(store: Store, case_id: str) -> cases.Case:
    return cases.get(store, case_id).case


def test_a_pending_case_the_customer_left_quiet_is_resolved_after_the_delay(store):
    c = email(store, "marie@exemple.fr")
    c = cases.reply(store, c.case_id, "alice", "Pouvez-vous nous donner votre adresse ?", expected_version=c.version,
                    status="pending", ts=T0 + timedelta(hours=1)).case
    assert c.status == "pending"
    rules = Automations(resolve_pending_after=timedelta(days=7), escalate_unassigned_after=None)
    assert automations.run(store, rules, now=T0 + timedelta(days=6)) == []  # not yet
    [done] = automations.run(store, rules, now=T0 + timedelta(days=8))
    assert (done.case_id, done.rule) == (c.case_id, "resolve_pending")
    assert current(store, c.case_id).status == "resolved"
    assert automations.run(store, rules, now=T0 + timedelta(days=9)) == []  # nothing left to do


def test_an_unassigned_case_waiting_too_long_is_escalated_once(store):
    c = email(store, "paul@exemple.fr")
    assert c.assignee is None and c.priority == "normal"
    rules = Automations(resolve_pending_after=None, escalate_unassigned_after=timedelta(minutes=30))
    assert automations.run(store, rules, now=T0 + timedelta(minutes=20)) == []
    [done] = automations.run(store, rules, now=T0 + timedelta(minutes=45))
    assert done.rule == "escalate_unassigned" and current(store, c.case_id).priority == "high"
    assert automations.run(store, rules, now=T0 + timedelta(hours=5)) == []  # once, not every run
    events = [e for e in cases.get(store, c.case_id).events if e.kind == "priority"]
    assert [e.actor for e in events] == [automations.ACTOR]


def test_an_assigned_case_is_not_escalated_and_an_agents_change_wins(store):
    taken = email(store, "lea@exemple.fr")
    cases.assign(store, taken.case_id, "alice", actor="alice", expected_version=taken.version)
    rules = Automations(resolve_pending_after=None, escalate_unassigned_after=timedelta(minutes=30))
    assert automations.run(store, rules, now=T0 + timedelta(hours=2)) == []
    # a stale read is skipped, not forced: the automation acts with the version it read
    other = email(store, "noe@exemple.fr", text="Facture en double, merci de corriger.")
    real = cases.set_priority
    calls = []

    def agent_first(*args, **kw):  # an agent changes the case between the read and the write
        if not calls:
            calls.append(1)
            cases.note(store, other.case_id, "alice", "je regarde", expected_version=other.version)
        return real(*args, **kw)

    cases.set_priority = agent_first
    try:
        assert automations.run(store, rules, now=T0 + timedelta(hours=2)) == []
    finally:
        cases.set_priority = real
    assert current(store, other.case_id).priority == "normal"
    [done] = automations.run(store, rules, now=T0 + timedelta(hours=3))  # looked at again next run
    assert done.case_id == other.case_id


def test_the_runner_applies_the_rules_in_the_background_and_stops(store):
    import time

    old = datetime.now(timezone.utc) - timedelta(days=10)
    c = email(store, "ines@exemple.fr", ts=old)
    cases.reply(store, c.case_id, "alice", "Votre adresse ?", expected_version=c.version, status="pending", ts=old)
    runner = automations.Runner(store, Automations(escalate_unassigned_after=None), every_s=0.05).start()
    try:
        for _ in range(100):
            if runner.done:
                break
            time.sleep(0.05)
    finally:
        runner.stop()
    assert [a.case_id for a in runner.done] == [c.case_id] and current(store, c.case_id).status == "resolved"


def test_a_backlog_is_worked_off_a_few_cases_a_run(store):
    for who in ("a", "b", "c"):
        c = email(store, f"{who}@exemple.fr")
        cases.reply(store, c.case_id, "alice", "Votre adresse ?", expected_version=c.version, status="pending",
                    ts=T0 + timedelta(hours=1))
    rules = Automations(escalate_unassigned_after=None, max_actions=2)
    later = T0 + timedelta(days=30)
    assert len(automations.run(store, rules, now=later)) == 2
    assert len(automations.run(store, rules, now=later)) == 1
    assert automations.run(store, rules, now=later) == []
