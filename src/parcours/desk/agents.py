"""Teams and agents of the service desk: who may take which case, and how many at once.

An agent belongs to teams, has skills and languages, a capacity (how many active cases —
new, open or pending — routing gives them at most) and a status: only ``online`` agents
receive cases from routing; ``away`` and ``offline`` ones keep theirs and get no new ones.
An agent may be linked to a web-app user (``user_id``). Teams choose their routing strategy
and the topics they handle (a case's topic picks its team).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import duckdb

from parcours.store import Store

AGENT_STATUSES = ("online", "away", "offline")
STRATEGIES = ("round_robin", "least_loaded")
MAX_CAPACITY = 1000
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:-]{0,99}")


class AgentError(ValueError):
    """A team or agent that cannot be created or changed as asked (the message says why)."""


@dataclass(frozen=True)
class Team:
    team_id: str
    name: str
    strategy: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Agent:
    agent_id: str
    name: str
    email: str | None
    user_id: str | None
    teams: tuple[str, ...]
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    capacity: int
    status: str
    last_assigned_at: datetime | None
    disabled: bool
    load: int = 0  #: active cases assigned to the agent now


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _check_id(what: str, value: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise AgentError(f"{what} {value!r} is not valid: 1-100 letters, digits and . _ @ : - (starting with a "
                         "letter or digit)")
    return value


def _words(what: str, values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        raise AgentError(f"{what} must be a list, not the string {values!r}")
    out: list[str] = []
    for v in values:
        w = str(v).strip().lower()
        if not w or len(w) > 50 or re.search(r"\s", w):
            raise AgentError(f"{what}: {v!r} is not a word of 1-50 characters")
        if w not in out:
            out.append(w)
    return out


# -- teams -----------------------------------------------------------------------------------
def add_team(store: Store, team_id: str, name: str, *, strategy: str = "round_robin",
             topics: Iterable[str] = ()) -> Team:
    """A new team; ``topics``: the case topics it handles (a case takes the first team, by id,
    that lists its topic)."""
    _check_id("team id", team_id)
    if strategy not in STRATEGIES:
        raise AgentError(f"strategy {strategy!r} is unknown; allowed: {', '.join(STRATEGIES)}")
    tops = _words("topics", topics)
    with store.write_lock, store.transaction() as con:
        if con.execute("SELECT 1 FROM teams WHERE team_id = ?", [team_id]).fetchone():
            raise AgentError(f"team {team_id!r} already exists")
        con.execute("INSERT INTO teams VALUES (?, ?, ?, ?, ?)", [team_id, name.strip() or team_id, strategy, tops,
                                                                  _now()])
    store.touch()
    return Team(team_id, name.strip() or team_id, strategy, tuple(tops))


def list_teams(store: Store) -> list[Team]:
    return [Team(r[0], r[1], r[2], tuple(r[3])) for r in
            store.query("SELECT team_id, name, strategy, topics FROM teams ORDER BY team_id")]


def team_for_topic(con: duckdb.DuckDBPyConnection, topic: str | None) -> str | None:
    """The team handling ``topic`` (the first by id), if any."""
    if not topic:
        return None
    row = con.execute("SELECT team_id FROM teams WHERE list_contains(topics, ?) ORDER BY team_id LIMIT 1",
                      [topic.strip().lower()]).fetchone()
    return row[0] if row else None


# -- agents ----------------------------------------------------------------------------------
_AGENT_COLS = ("agent_id, name, email, user_id, teams, skills, languages, capacity, status, last_assigned_at, "
               "disabled_at IS NOT NULL")


def _agent(row: tuple[Any, ...], load: int = 0) -> Agent:
    return Agent(row[0], row[1], row[2], row[3], tuple(row[4]), tuple(row[5]), tuple(row[6]), row[7], row[8],
                 row[9], bool(row[10]), load)


def loads(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Active cases per assignee."""
    return dict(con.execute("SELECT assignee, count(*) FROM desk_inbox WHERE assignee IS NOT NULL "
                            "GROUP BY assignee").fetchall())


def mark_assigned(con: duckdb.DuckDBPyConnection, agent_id: str, ts: datetime) -> None:
    """Record that ``agent_id`` just received a case (round robin's clock). Stamps strictly
    increase, so several assignments at one instant keep their order."""
    last = con.execute("SELECT max(last_assigned_at) FROM agents").fetchone()
    stamp = ts if not last or last[0] is None or last[0] < ts else last[0] + timedelta(microseconds=1)
    con.execute("UPDATE agents SET last_assigned_at = ? WHERE agent_id = ?", [stamp, agent_id])


def add_agent(store: Store, agent_id: str, name: str, *, email: str | None = None, user_id: str | None = None,
              teams: Iterable[str] = (), skills: Iterable[str] = (), languages: Iterable[str] = (),
              capacity: int = 5, status: str = "offline") -> Agent:
    _check_id("agent id", agent_id)
    values = _agent_values(name=name, email=email, teams=teams, skills=skills, languages=languages,
                           capacity=capacity, status=status)
    with store.write_lock, store.transaction() as con:
        if con.execute("SELECT 1 FROM agents WHERE agent_id = ?", [agent_id]).fetchone():
            raise AgentError(f"agent {agent_id!r} already exists")
        _check_teams(con, values["teams"])
        if user_id is not None and not con.execute("SELECT 1 FROM users WHERE user_id = ?", [user_id]).fetchone():
            raise AgentError(f"no user {user_id!r}")
        con.execute("INSERT INTO agents (agent_id, user_id, name, email, teams, skills, languages, capacity, status, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [agent_id, user_id, values["name"], values["email"], values["teams"], values["skills"],
                     values["languages"], values["capacity"], values["status"], _now()])
    store.touch()
    found = get_agent(store, agent_id)
    assert found is not None
    return found


def update_agent(store: Store, agent_id: str, **changes: Any) -> Agent:
    """Change any of name, email, teams, skills, languages, capacity, status."""
    allowed = {"name", "email", "teams", "skills", "languages", "capacity", "status"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise AgentError(f"cannot change {', '.join(unknown)}; changeable: {', '.join(sorted(allowed))}")
    values = _agent_values(**changes)
    with store.write_lock, store.transaction() as con:
        if not con.execute("SELECT 1 FROM agents WHERE agent_id = ?", [agent_id]).fetchone():
            raise AgentError(f"no agent {agent_id!r}")
        if "teams" in values:
            _check_teams(con, values["teams"])
        for col, v in values.items():
            con.execute(f"UPDATE agents SET {col} = ? WHERE agent_id = ?", [v, agent_id])
    store.touch()
    found = get_agent(store, agent_id)
    assert found is not None
    return found


def set_status(store: Store, agent_id: str, status: str) -> Agent:
    """online, away or offline (only online agents receive cases from routing)."""
    return update_agent(store, agent_id, status=status)


def disable_agent(store: Store, agent_id: str) -> Agent:
    """The agent leaves: offline, never routed to again; their cases stay assigned until moved."""
    with store.write_lock, store.transaction() as con:
        con.execute("UPDATE agents SET disabled_at = ?, status = 'offline' WHERE agent_id = ?", [_now(), agent_id])
    store.touch()
    found = get_agent(store, agent_id)
    if found is None:
        raise AgentError(f"no agent {agent_id!r}")
    return found


def get_agent(store: Store, agent_id: str) -> Agent | None:
    row = store.con.execute(f"SELECT {_AGENT_COLS} FROM agents WHERE agent_id = ?", [agent_id]).fetchone()
    if row is None:
        return None
    return _agent(row, loads(store.con).get(agent_id, 0))


def agent_of(store: Store, kind: str, principal_id: str, name: str, *, create: bool = False) -> str | None:
    """The desk agent a caller acts as: for an API token (``kind`` "token"), the agent whose
    id is the token's name (``tokens create anne --role agent``); for a web user, the agent
    linked to the user, else the one with the user's e-mail — or, with ``create``, a new
    agent linked to the user (offline: routing gives them nothing until an admin sets them
    online). None when there is none; disabled agents do not act."""
    if kind == "token":
        row = store.con.execute("SELECT agent_id FROM agents WHERE agent_id = ? AND disabled_at IS NULL",
                                [name]).fetchone()
        return row[0] if row else None
    row = store.con.execute(
        """SELECT a.agent_id FROM agents a WHERE a.disabled_at IS NULL
             AND (a.user_id = ? OR a.email = (SELECT email FROM users WHERE user_id = ?))
           ORDER BY a.user_id = ? DESC NULLS LAST, a.agent_id LIMIT 1""",
        [principal_id, principal_id, principal_id]).fetchone()
    if row or not create:
        return row[0] if row else None
    try:
        return add_agent(store, principal_id, name, user_id=principal_id).agent_id
    except AgentError:  # added meanwhile by another request
        return principal_id


def list_agents(store: Store, *, team: str | None = None) -> list[Agent]:
    where, params = ("WHERE list_contains(teams, ?)", [team]) if team else ("", [])
    load = loads(store.con)
    return [_agent(r, load.get(r[0], 0)) for r in
            store.query(f"SELECT {_AGENT_COLS} FROM agents {where} ORDER BY agent_id", params)]


def _check_teams(con: duckdb.DuckDBPyConnection, teams: list[str]) -> None:
    known = {r[0] for r in con.execute("SELECT team_id FROM teams").fetchall()}
    missing = [t for t in teams if t not in known]
    if missing:
        raise AgentError(f"unknown team(s) {', '.join(missing)}; known: {', '.join(sorted(known)) or 'none yet'}")


def _agent_values(**given: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, v in given.items():
        if key == "name":
            if not isinstance(v, str) or not v.strip() or len(v) > 200:
                raise AgentError("an agent's name must be 1-200 characters")
            out[key] = v.strip()
        elif key == "email":
            if v is not None and (not isinstance(v, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v)):
                raise AgentError(f"email {v!r} is not an e-mail address")
            out[key] = v.strip().lower() if v else None
        elif key == "teams":
            if isinstance(v, str):
                raise AgentError(f"teams must be a list, not the string {v!r}")
            out[key] = [_check_id("team id", str(t).strip()) for t in dict.fromkeys(v)]
        elif key in ("skills", "languages"):
            out[key] = _words(key, v)
        elif key == "capacity":
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_CAPACITY:
                raise AgentError(f"capacity must be a whole number from 0 to {MAX_CAPACITY} (got {v!r})")
            out[key] = v
        elif key == "status":
            if v not in AGENT_STATUSES:
                raise AgentError(f"status {v!r} is unknown; allowed: {', '.join(AGENT_STATUSES)}")
            out[key] = v
    return out
