"""Routing: who gets a waiting case.

The queue is the unassigned active cases (new or open; a pending case waits on the
customer and enters the queue again when they write), urgent first, then longest-waiting
first, then by case id. An agent is **eligible** for a case when they are

* ``online`` (``away`` and ``offline`` agents never get cases from routing) and not disabled;
* below capacity: active cases (new, open, pending) assigned to them < ``capacity``;
* in the case's team, if the case has one;
* skilled: the case's skills are a subset of theirs;
* speaking the case's language, if the case has one.

Among eligible agents the strategy chooses (the case's team's, else ``DEFAULT_STRATEGY``):

* ``round_robin``: the agent assigned least recently (never assigned first);
* ``least_loaded``: the fewest active cases, then as round robin.

Remaining ties go to the smallest agent id, so the same state always gives the same choice.
Each assignment is its own short transaction (agents keep working while the queue is
routed) and re-checks the agent's load inside it, so no agent ever goes over capacity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb

from parcours.desk import cases
from parcours.desk.agents import STRATEGIES
from parcours.store import Store

DEFAULT_STRATEGY = "least_loaded"
ROUTING_ACTOR = "routing"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Slot:
    """An agent as routing sees them."""

    agent_id: str
    teams: tuple[str, ...]
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    capacity: int
    load: int
    last_assigned_at: datetime | None

    def eligible(self, team: str | None, skills: Sequence[str], language: str | None) -> bool:
        return (self.load < self.capacity and (team is None or team in self.teams)
                and set(skills) <= set(self.skills) and (language is None or language in self.languages))


@dataclass(frozen=True)
class Assignment:
    case_id: str
    agent_id: str
    strategy: str
    version: int


def _slots(con: duckdb.DuckDBPyConnection) -> list[Slot]:
    rows = con.execute("""
        SELECT a.agent_id, a.teams, a.skills, a.languages, a.capacity, coalesce(l.n, 0), a.last_assigned_at
        FROM agents a LEFT JOIN (SELECT assignee, count(*) AS n FROM desk_inbox WHERE assignee IS NOT NULL
                                 GROUP BY assignee) l ON l.assignee = a.agent_id
        WHERE a.status = 'online' AND a.disabled_at IS NULL ORDER BY a.agent_id""").fetchall()
    return [Slot(r[0], tuple(r[1]), tuple(r[2]), tuple(r[3]), r[4], r[5], r[6]) for r in rows]


def choose(slots: Sequence[Slot], *, team: str | None, skills: Sequence[str], language: str | None,
           strategy: str) -> Slot | None:
    """The agent a case goes to, or None when nobody eligible has room."""
    if strategy not in STRATEGIES:
        raise cases.DeskError(f"strategy {strategy!r} is unknown; allowed: {', '.join(STRATEGIES)}")
    ok = [s for s in slots if s.eligible(team, skills, language)]
    if not ok:
        return None

    def recency(s: Slot) -> datetime:
        return s.last_assigned_at or _EPOCH

    if strategy == "least_loaded":
        return min(ok, key=lambda s: (s.load, recency(s), s.agent_id))
    return min(ok, key=lambda s: (recency(s), s.agent_id))


def _strategy(con: duckdb.DuckDBPyConnection, team: str | None, default: str) -> str:
    if team is None:
        return default
    row = con.execute("SELECT strategy FROM teams WHERE team_id = ?", [team]).fetchone()
    return row[0] if row else default


def _assign_one(store: Store, case_id: str, *, strategy: str | None, ts: datetime) -> Assignment | None:
    """Route one case in its own transaction; None if it is not routable now."""
    with store.write_lock, store.transaction() as con:
        try:
            c = cases.load(con, case_id)
        except cases.DeskError:
            return None
        if c.assignee is not None or c.status not in ("new", "open"):
            return None
        how = strategy or _strategy(con, c.team_id, DEFAULT_STRATEGY)
        slot = choose(_slots(con), team=c.team_id, skills=c.skills, language=c.language, strategy=how)
        if slot is None:
            return None
        after = cases.assign_in(con, c, slot.agent_id, actor=ROUTING_ACTOR, ts=ts,
                                detail={"strategy": how, "load": slot.load, "capacity": slot.capacity})
    store.touch()
    return Assignment(case_id, slot.agent_id, how, after.version)


def route(store: Store, case_id: str, *, strategy: str | None = None, ts: datetime | None = None) -> str | None:
    """Assign one unassigned new or open case to the agent routing chooses; returns the
    agent, or None when no eligible agent has room. A case already assigned is refused
    (unassign it first to re-route)."""
    when = cases.check_ts(ts)
    c = cases.load(store.con, case_id)
    if c.assignee is not None:
        raise cases.DeskError(f"case {case_id} is already assigned to {c.assignee}; unassign it first to re-route")
    if c.status not in ("new", "open"):
        raise cases.DeskError(f"case {case_id} is {c.status}: routing takes new and open cases")
    got = _assign_one(store, case_id, strategy=strategy, ts=when)
    return got.agent_id if got else None


def queue(store: Store, *, limit: int | None = None) -> list[str]:
    """The unassigned new and open cases, in the order routing serves them."""
    sql = ("SELECT case_id FROM desk_inbox WHERE assignee IS NULL AND status IN ('new', 'open') "
           "ORDER BY priority_rank DESC, coalesce(waiting_since, 'infinity'::TIMESTAMPTZ), case_id")
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [r[0] for r in store.con.execute(sql).fetchall()]


def assign_waiting(store: Store, *, strategy: str | None = None, limit: int | None = None,
                   ts: datetime | None = None) -> list[Assignment]:
    """Route the queue, in order, to available agents until no eligible agent has room for
    any remaining case (a case nobody can take does not block the ones behind it)."""
    when = cases.check_ts(ts)
    done = []
    for case_id in queue(store, limit=limit):
        with store.write_lock:
            if not any(s.load < s.capacity for s in _slots(store.con)):
                break
            got = _assign_one(store, case_id, strategy=strategy, ts=when)
        if got is not None:
            done.append(got)
    return done
