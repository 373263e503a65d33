"""Routing of the service desk: capacity, skills, languages, teams, presence, priorities and
oldest-waiting first, with deterministic choices. A real store file in tmp_path."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from parcours.desk import agents, cases, routing
from parcours.desk.agents import AgentError
from parcours.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "desk.duckdb")
    agents.add_team(s, "sales", "Ventes", strategy="round_robin", topics=["presale"])
    agents.add_team(s, "care", "Service client", strategy="least_loaded", topics=["delivery", "billing"])
    yield s
    s.close()


def case(store: Store, n: int, *, minutes: float = 0, priority: str = "normal", topic: str | None = None,
         language: str | None = None, skills: tuple[str, ...] = ()) -> str:
    r = cases.receive(store, channel="chat", identifiers={"app_id": f"dev-{n}"}, text=f"question {n}",
                      ts=at(minutes), topic=topic, language=language)
    v = r.version
    if priority != "normal":
        v = cases.set_priority(store, r.case_id, "lead", priority, expected_version=v).version
    if skills:
        c = cases.get(store, r.case_id).case
        cases.set_routing(store, r.case_id, "lead", expected_version=v, team=c.team_id, skills=skills,
                          language=c.language)
    return r.case_id


def assigned(store: Store) -> dict[str, str | None]:
    return dict(store.query("SELECT case_id, assignee FROM cases ORDER BY case_id"))


def loads(store: Store) -> dict[str, int]:
    return {a.agent_id: a.load for a in agents.list_agents(store)}


def test_no_agent_ever_goes_over_capacity_and_freed_room_is_used(store):
    agents.add_agent(store, "ana", "Ana", capacity=1, status="online")
    agents.add_agent(store, "ben", "Ben", capacity=2, status="online")
    ids = [case(store, i, minutes=i) for i in range(5)]
    got = routing.assign_waiting(store, ts=at(10))
    assert len(got) == 3 and loads(store) == {"ana": 1, "ben": 2}
    assert routing.queue(store) == ids[3:]  # the two oldest left waiting are next
    assert routing.assign_waiting(store, ts=at(11)) == []
    done = got[0]
    cases.close(store, done.case_id, done.agent_id, "solved", True, expected_version=done.version)
    again = routing.assign_waiting(store, ts=at(12))
    assert [(a.case_id, a.agent_id) for a in again] == [(ids[3], done.agent_id)]
    assert all(a.load <= a.capacity for a in agents.list_agents(store))


def test_pending_cases_count_in_the_load_and_wait_outside_the_queue(store):
    agents.add_agent(store, "ana", "Ana", capacity=2, status="online")
    first = case(store, 1)
    [a] = routing.assign_waiting(store, ts=at(1))
    cases.set_status(store, first, "ana", "pending", expected_version=a.version)
    case(store, 2, minutes=2)
    case(store, 3, minutes=3)
    assert len(routing.assign_waiting(store, ts=at(4))) == 1 and loads(store) == {"ana": 2}


def test_offline_away_and_disabled_agents_never_get_cases(store):
    agents.add_agent(store, "off", "Off", capacity=10, status="offline")
    agents.add_agent(store, "away", "Away", capacity=10, status="away")
    agents.add_agent(store, "gone", "Gone", capacity=10, status="online")
    agents.disable_agent(store, "gone")
    for i in range(3):
        case(store, i, minutes=i)
    assert routing.assign_waiting(store, ts=at(5)) == []
    assert set(assigned(store).values()) == {None}
    agents.set_status(store, "away", "online")
    assert {a.agent_id for a in routing.assign_waiting(store, ts=at(6))} == {"away"}


def test_skills_languages_and_teams_are_respected_and_an_unroutable_case_blocks_nobody(store):
    agents.add_agent(store, "fr_care", "FR", teams=["care"], languages=["fr"], skills=["billing"], status="online")
    agents.add_agent(store, "en_sales", "EN", teams=["sales"], languages=["en"], status="online")
    german = case(store, 1, minutes=0, topic="delivery", language="de")         # nobody speaks German
    billing_fr = case(store, 2, minutes=1, topic="billing", language="fr", skills=("billing",))
    presale_en = case(store, 3, minutes=2, topic="presale", language="en")
    legal = case(store, 4, minutes=3, topic="delivery", language="fr", skills=("legal",))  # nobody has the skill
    assert cases.get(store, billing_fr).case.team_id == "care"
    got = {a.case_id: a.agent_id for a in routing.assign_waiting(store, ts=at(5))}
    assert got == {billing_fr: "fr_care", presale_en: "en_sales"}
    assert routing.queue(store) == [german, legal]
    assert routing.route(store, german, ts=at(6)) is None


def test_urgent_first_then_the_longest_waiting(store):
    agents.add_agent(store, "ana", "Ana", capacity=1, status="online")
    old = case(store, 1, minutes=0)
    older = case(store, 2, minutes=-30)
    urgent = case(store, 3, minutes=20, priority="urgent")
    low_oldest = case(store, 4, minutes=-60, priority="low")
    assert routing.queue(store) == [urgent, older, old, low_oldest]
    assert [a.case_id for a in routing.assign_waiting(store, ts=at(30))] == [urgent]
    agents.update_agent(store, "ana", capacity=3)
    assert [a.case_id for a in routing.assign_waiting(store, ts=at(31))] == [older, old]


def test_round_robin_takes_turns_and_least_loaded_evens_out(store):
    for name in ("carla", "ana", "ben"):
        agents.add_agent(store, name, name, teams=["sales"], capacity=10, status="online")
    sales = [case(store, i, minutes=i, topic="presale") for i in range(6)]
    got = routing.assign_waiting(store, ts=at(10))
    assert [(a.case_id, a.agent_id, a.strategy) for a in got] == [
        (cid, who, "round_robin") for cid, who in zip(sales, ["ana", "ben", "carla"] * 2)]

    agents.add_agent(store, "dan", "Dan", teams=["care"], capacity=10, status="online")
    agents.add_agent(store, "eve", "Eve", teams=["care"], capacity=10, status="online")
    first = case(store, 10, minutes=11, topic="delivery")
    cases.assign(store, first, "eve", actor="lead", expected_version=cases.get(store, first).case.version,
                 ts=at(11.5))
    care = [case(store, 11 + i, minutes=12 + i, topic="billing") for i in range(3)]
    got = routing.assign_waiting(store, ts=at(20))
    # dan has none, then both have one and eve's is older (a manual assignment counts), then dan again
    assert [(a.case_id, a.agent_id, a.strategy) for a in got] == [
        (care[0], "dan", "least_loaded"), (care[1], "eve", "least_loaded"), (care[2], "dan", "least_loaded")]
    assert loads(store)["dan"] == loads(store)["eve"] == 2


def test_routing_is_deterministic(tmp_path):
    def run(path: Path) -> list[tuple[str, str]]:
        with Store(path) as s:
            for name in ("b", "a", "c"):
                agents.add_agent(s, name, name, capacity=2, status="online")
            for i in range(5):
                cases.receive(s, channel="email", identifiers={"app_id": f"x{i}"}, text="?", ts=at(i))
            return [(a.case_id, a.agent_id) for a in routing.assign_waiting(s, ts=at(10))]

    assert run(tmp_path / "one.duckdb") == run(tmp_path / "two.duckdb") == [
        ("D1", "a"), ("D2", "b"), ("D3", "c"), ("D4", "a"), ("D5", "b")]


def test_route_one_case_and_manual_assignment(store):
    agents.add_agent(store, "ana", "Ana", capacity=1, status="online")
    agents.add_agent(store, "ben", "Ben", capacity=1, status="offline")
    a, b = case(store, 1), case(store, 2, minutes=1)
    assert routing.route(store, a, ts=at(2)) == "ana"
    c = cases.get(store, a).case
    assert (c.status, c.assignee) == ("open", "ana")
    assert [e.kind for e in cases.history(store, a)][-2:] == ["assigned", "status"]
    with pytest.raises(cases.DeskError, match="already assigned to ana"):
        routing.route(store, a)
    assert routing.route(store, b, ts=at(3)) is None  # ana is full, ben offline
    # a supervisor may go past capacity or presence: the event says so
    c = cases.assign(store, b, "ana", actor="lead", expected_version=cases.get(store, b).case.version)
    assert cases.history(store, b)[-2].detail == {"from": None, "to": "ana", "over_capacity": True}
    c = cases.assign(store, b, "ben", actor="lead", expected_version=c.version)
    assert cases.history(store, b)[-1].detail == {"from": "ana", "to": "ben", "agent_status": "offline"}
    with pytest.raises(cases.NotFoundError, match="no agent 'zoe'"):
        cases.assign(store, b, "zoe", actor="lead", expected_version=c.version)


def test_agents_and_teams_are_checked(store):
    with pytest.raises(AgentError, match="unknown team"):
        agents.add_agent(store, "x", "X", teams=["nope"])
    with pytest.raises(AgentError, match="status 'busy' is unknown; allowed: online, away, offline"):
        agents.add_agent(store, "x", "X", status="busy")
    with pytest.raises(AgentError, match="capacity must be a whole number"):
        agents.add_agent(store, "x", "X", capacity=-1)
    with pytest.raises(AgentError, match="strategy 'random' is unknown"):
        agents.add_team(store, "t", "T", strategy="random")
    agents.add_agent(store, "x", "X", skills=["Billing", "billing"], languages=["FR"])
    assert agents.get_agent(store, "x") is not None
    a = agents.get_agent(store, "x")
    assert a is not None and a.skills == ("billing",) and a.languages == ("fr",) and a.status == "offline"
    with pytest.raises(AgentError, match="already exists"):
        agents.add_agent(store, "x", "X")


def test_a_hand_over_changes_team_and_agent_together_or_not_at_all(store):
    agents.add_agent(store, "ana", "Ana", teams=["care"], status="online")
    agents.add_agent(store, "bo", "Bo", teams=["sales"], status="online")
    agents.disable_agent(store, "bo")
    cid = case(store, 1, topic="delivery")
    c = cases.get(store, cid).case
    assert c.team_id == "care"
    with pytest.raises(cases.DeskError, match="disabled"):
        cases.hand_over(store, cid, "lead", team="sales", assignee="bo", expected_version=c.version)
    after = cases.get(store, cid).case
    assert (after.team_id, after.assignee, after.version) == ("care", None, c.version)  # nothing half-done
    done = cases.hand_over(store, cid, "lead", team="sales", assignee="ana", expected_version=c.version)
    assert (done.team_id, done.assignee, done.status, done.version) == ("sales", "ana", "open", c.version + 1)
    kinds = [e.kind for e in cases.get(store, cid).events if e.version == done.version]
    assert kinds == ["routing", "assigned", "status"]
    with pytest.raises(cases.ConflictError):  # checked against the version the caller read
        cases.hand_over(store, cid, "lead", team=None, assignee=None, expected_version=c.version)
