"""SLA clocks on the desk's cases: which policy a case gets, and how its clocks stand now.

``sla.py`` is pure (a policy, a history, an instant); this module ties it to the store:

* :data:`DEFAULT_POLICY` ships with Parcours (Europe/Paris, Mon–Fri 09:00–18:00, French
  public holidays); a TOML file beside the store (``<store>.sla.toml``, or the path in the
  ``PARCOURS_SLA`` environment variable) may add policies picked by priority, team or channel;
* a new case stores the chosen policy's snapshot (``desk_cases.sla_snapshot``), so editing a
  policy later never moves an open case's due times;
* :func:`clock` replays one case's ``case_events``; :func:`states` does many cases with one
  query for all their events (an inbox page shows up to 200 countdowns; the SLA watch
  sweeps every active case).
"""

from __future__ import annotations

import functools
import json
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import duckdb

from parcours.desk.calendar import BusinessCalendar
from parcours.desk.sla import CaseEvent, SlaError, SlaPolicy, SlaState, TargetState, evaluate
from parcours.schema import PRIORITIES
from parcours.store import Store

ENV = "PARCOURS_SLA"

#: business minutes per clock and priority. A normal case gets its first answer within one
#: business hour (Friday 17:30 → Monday 09:30) and is solved within two business days
#: (18 h = 2 × 9 h); urgent within 15 minutes and half a day; low within half a day and a
#: week. A next response may take twice the first response's time.
DEFAULT_TARGETS: dict[str, dict[str, float]] = {
    "first_response": {"urgent": 15, "high": 30, "normal": 60, "low": 240},
    "next_response": {"urgent": 30, "high": 60, "normal": 120, "low": 480},
    "resolution": {"urgent": 240, "high": 540, "normal": 1080, "low": 2700},
}
DEFAULT_CALENDAR = BusinessCalendar.from_dict({
    "name": "Parcours Paris", "timezone": "Europe/Paris", "country": "FR",
    "hours": {"mon-fri": ["09:00-18:00"]}})
DEFAULT_POLICY = SlaPolicy("Parcours standard", DEFAULT_CALENDAR, DEFAULT_TARGETS, at_risk_fraction=0.8,
                           at_risk_minutes=30)
STATE_ORDER = {"breached": 0, "at_risk": 1, "running": 2, "paused": 3, "met": 4, "none": 5}


class _HasCase(Protocol):
    @property
    def case_id(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def team_id(self) -> str | None: ...
    @property
    def channel(self) -> str | None: ...


@dataclass(frozen=True)
class Rule:
    """A policy and the cases it applies to (None: any)."""

    policy: SlaPolicy
    priorities: tuple[str, ...] | None = None
    teams: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None

    def matches(self, priority: str | None, team: str | None, channel: str | None) -> bool:
        return all(allowed is None or value in allowed for allowed, value in
                   ((self.priorities, priority), (self.teams, team), (self.channels, channel)))


@dataclass(frozen=True)
class Due:
    """The clock an inbox row shows: the running (or breached) target that falls due first."""

    target: str | None
    state: str
    due_at: datetime | None
    remaining_s: float | None


# -- policies ------------------------------------------------------------------------------
def policy_file(store_path: Path | None) -> Path | None:
    """Where the policies live: ``$PARCOURS_SLA``, else ``<store>.sla.toml``."""
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    return store_path.with_name(store_path.name + ".sla.toml") if store_path else None


def read_rules(text: str) -> list[Rule]:
    """Rules from TOML: ``[[policy]]`` tables, each a policy (as in docs/sla.md) with optional
    ``priorities``, ``teams``, ``channels`` lists; the first that matches a case wins."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SlaError(f"SLA policies: not TOML: {e}") from None
    rules = []
    for i, raw in enumerate(data.get("policy", [])):
        spec = dict(raw)
        picks = {k: spec.pop(k, None) for k in ("priorities", "teams", "channels")}
        for k, v in picks.items():
            if v is not None and (not isinstance(v, list) or not all(isinstance(x, str) for x in v)):
                raise SlaError(f"policy[{i}].{k}: expected a list of names")
        if picks["priorities"] and set(picks["priorities"]) - set(PRIORITIES):
            raise SlaError(f"policy[{i}].priorities: unknown priority (known: {', '.join(PRIORITIES)})")
        try:
            policy = SlaPolicy.from_snapshot({"version": 1, **spec})
        except SlaError as e:
            raise SlaError(f"policy[{i}]: {e}") from None
        rules.append(Rule(policy, *(tuple(v) if v is not None else None for v in picks.values())))
    return rules


_RULES: dict[tuple[str, float], list[Rule]] = {}


def rules(store_path: Path | None) -> list[Rule]:
    """The configured rules (cached until the file changes); none without a file."""
    path = policy_file(store_path)
    if path is None or not path.exists():
        return []
    key = (str(path), path.stat().st_mtime)
    if key not in _RULES:
        _RULES.clear()
        _RULES[key] = read_rules(path.read_text(encoding="utf-8"))
    return _RULES[key]


def policy_for(store_path: Path | None, priority: str | None = None, team: str | None = None,
               channel: str | None = None) -> SlaPolicy:
    """The first configured policy matching the case, else :data:`DEFAULT_POLICY`."""
    for rule in rules(store_path):
        if rule.matches(priority, team, channel):
            return rule.policy
    return DEFAULT_POLICY


# -- events --------------------------------------------------------------------------------
def sla_event(kind: str, ts: datetime, detail: Mapping[str, Any]) -> CaseEvent | None:
    """A ``case_events`` row as the SLA clocks see it (None: nothing for the clocks).
    The mapping is docs/desk.md's: a customer message, a public agent reply, status changes,
    reopen, priority; notes, routing, links and hops change no clock."""
    if kind == "opened":
        return CaseEvent(ts, "opened")
    if kind == "message":
        author = detail.get("author")
        if author == "customer":
            return CaseEvent(ts, "customer_message")
        if author == "agent" and detail.get("public", True):
            return CaseEvent(ts, "agent_reply")
        return None
    if kind == "status" and detail.get("to"):
        return CaseEvent(ts, "status", status=str(detail["to"]))
    if kind == "closed":
        return CaseEvent(ts, "status", status="closed")
    if kind == "reopened":
        return CaseEvent(ts, "reopened")
    if kind == "priority" and detail.get("to") in PRIORITIES:
        return CaseEvent(ts, "priority", priority=str(detail["to"]))
    return None


def _history(rows: Iterable[tuple[str, datetime, str | None]], current_priority: str
             ) -> tuple[list[CaseEvent], str]:
    """(SLA events, the priority the case opened with) from (kind, ts, detail JSON) rows."""
    events: list[CaseEvent] = []
    first_priority: str | None = None
    for kind, ts, raw in rows:
        detail = json.loads(raw) if raw else {}
        if kind == "priority" and first_priority is None and detail.get("from") in PRIORITIES:
            first_priority = detail["from"]
        e = sla_event(kind, ts, detail)
        if e is not None:
            events.append(e)
    return events, first_priority or current_priority


def _evaluate(snapshot: SlaPolicy | Mapping[str, Any] | None, events: list[CaseEvent], priority: str,
              now: datetime) -> SlaState | None:
    if not events or events[0].kind != "opened":
        return None  # an imported case: its history is not the desk's
    policy: SlaPolicy | Mapping[str, Any] = snapshot if snapshot else DEFAULT_POLICY
    return evaluate(policy, priority, events, max(now, events[0].ts))


def clock(store: Store | duckdb.DuckDBPyConnection, case: _HasCase, *, now: datetime | None = None,
          snapshot: Mapping[str, Any] | None = None) -> SlaState | None:
    """The case's clocks at ``now`` from its ``case_events`` (None for a case with no desk
    history). ``snapshot`` defaults to the case's own (``Case.sla_snapshot``), then the default."""
    con = store.con if isinstance(store, Store) else store
    rows = con.execute("SELECT kind, ts, detail FROM case_events WHERE case_id = ? ORDER BY seq",
                       [case.case_id]).fetchall()
    events, opened_priority = _history(rows, case.priority)
    snap = snapshot if snapshot is not None else getattr(case, "sla_snapshot", None)
    return _evaluate(snap, events, opened_priority, now or datetime.now(timezone.utc))


def due(state: SlaState | None) -> Due:
    """The one clock to show: breached first, then the running one that falls due first."""
    if state is None:
        return Due(None, "none", None, None)
    live = [t for t in state.targets.values() if t.state in ("running", "at_risk", "paused")
            or (t.state == "breached" and t.stopped_at is None)]
    if not live:
        return Due(None, "none", None, None)

    def key(t: TargetState) -> tuple[int, float]:
        return STATE_ORDER[t.state], t.remaining_s if t.remaining_s is not None else float("inf")

    best = min(live, key=key)
    return Due(best.target, best.state, best.due_at, best.remaining_s)


def inbox_clocks(store: Store, case_ids: Sequence[str], *, now: datetime | None = None) -> dict[str, Due]:
    """Each listed case's next due clock (see :func:`states`)."""
    return {case_id: due(state) for case_id, state in states(store, case_ids, now=now).items()}


def states(store: Store | duckdb.DuckDBPyConnection, case_ids: Sequence[str], *, now: datetime | None = None
           ) -> dict[str, SlaState | None]:
    """The listed cases' clocks at ``now``, reading their snapshots and every event in two
    queries (policies rebuilt from snapshots are cached by ``_policy``)."""
    if not case_ids:
        return {}
    con = store.con if isinstance(store, Store) else store
    at = now or datetime.now(timezone.utc)
    ids = list(case_ids)
    meta = {r[0]: (r[1], r[2]) for r in con.execute(
        "SELECT d.case_id, d.sla_snapshot, coalesce(c.priority::VARCHAR, 'normal') FROM desk_cases d "
        "JOIN cases c USING (case_id) WHERE list_contains(?, d.case_id)", [ids]).fetchall()}
    rows: dict[str, list[tuple[str, datetime, str | None]]] = {}
    for case_id, kind, ts, detail in con.execute(
            "SELECT case_id, kind, ts, detail FROM case_events WHERE list_contains(?, case_id) AND kind IN "
            "('opened', 'message', 'status', 'closed', 'reopened', 'priority') ORDER BY case_id, seq",
            [ids]).fetchall():
        rows.setdefault(case_id, []).append((kind, ts, detail))
    out: dict[str, SlaState | None] = {}
    for case_id in ids:
        raw, priority = meta.get(case_id, (None, "normal"))
        events, opened = _history(rows.get(case_id, []), priority)
        out[case_id] = _evaluate(_policy(raw) if raw else None, events, opened, at)
    return out


@functools.lru_cache(maxsize=64)
def _policy(raw: str) -> SlaPolicy:
    """A stored snapshot's policy, by its JSON text: an inbox page mostly holds the same few,
    and rebuilding (or even re-serialising) one per row would cost more than the clocks."""
    return SlaPolicy.from_snapshot(json.loads(raw))
