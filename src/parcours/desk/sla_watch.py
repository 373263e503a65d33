"""SLA breach and at-risk events, found by a sweep and recorded once.

A clock turns at risk or breached with the mere passing of time, so nothing in the request
path notices it. :func:`sweep` (run every minute by the automations' thread) evaluates the
clocks of every active case, and of the cases changed since the previous sweep (a case
resolved one minute after its breach still had the breach), and for each event of
:func:`parcours.desk.sla.breaches` not yet seen:

* records it on the case as a ``case_events`` row of kind ``sla_breach`` or ``sla_at_risk``
  (actor ``sla``, no version: the case did not change, so an agent's pending reply does not
  conflict with it), with the stable key, target, clock instance and due time;
* hands it to ``on_event`` (the served app sends it to webhooks as ``desk.sla.breach`` /
  ``desk.sla.at_risk``; the rules of later issues subscribe there too).

The key (``case/target/instance/kind``) makes a sweep idempotent: run it twice, restart the
server, the same breach is recorded and sent once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from parcours.desk import clocks
from parcours.desk.records import _event
from parcours.desk.sla import SlaEvent, breaches
from parcours.store import Store

__all__ = ["ACTOR", "KINDS", "Swept", "payload", "recorded", "sweep", "to_webhooks"]

ACTOR = "sla"
KINDS = {"breach": "sla_breach", "at_risk": "sla_at_risk"}
CHUNK = 2000  # cases evaluated per query (the list of ids is a query parameter)


@dataclass(frozen=True)
class Swept:
    cases: int                 # cases whose clocks were evaluated
    events: list[SlaEvent]     # the new events recorded (and handed to on_event)


def sweep(store: Store, *, now: datetime | None = None, since: datetime | None = None,
          on_event: Callable[[SlaEvent], Any] | None = None) -> Swept:
    """Record the breach and at-risk events that have happened by ``now`` and were not yet
    recorded. ``since``: also look at cases changed after it (default: the last hour)."""
    at = now or datetime.now(timezone.utc)
    changed_after = since or at - timedelta(hours=1)
    ids = [r[0] for r in store.con.execute(
        "SELECT case_id FROM desk_inbox UNION SELECT case_id FROM desk_cases WHERE updated_at >= ? "
        "AND merged_into IS NULL ORDER BY 1", [changed_after]).fetchall()]
    new: list[SlaEvent] = []
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        found = breaches([(k, s) for k, s in clocks.states(store, part, now=at).items() if s is not None], at)
        if not found:
            continue
        seen = {r[0] for r in store.con.execute(
            "SELECT detail->>'key' FROM case_events WHERE list_contains(?, case_id) AND list_contains(?, kind)",
            [sorted({e.case_id for e in found}), list(KINDS.values())]).fetchall()}
        new += [e for e in found if e.key not in seen]
    if new:
        with store.write_lock, store.transaction() as con:
            for e in new:
                _event(con, e.case_id, None, e.at, ACTOR, KINDS[e.kind], payload(e))
        store.touch()
        for e in new:
            if on_event is not None:
                on_event(e)
    return Swept(len(ids), new)


def payload(e: SlaEvent) -> dict[str, Any]:
    """The event as recorded and as sent to webhooks."""
    return {"key": e.key, "kind": e.kind, "case_id": e.case_id, "target": e.target, "instance": e.instance,
            "at": e.at.isoformat(), "due_at": e.due_at.isoformat() if e.due_at else None}


def to_webhooks(hooks: Any) -> Callable[[SlaEvent], Any]:
    """The ``on_event`` that sends each event to webhook subscribers as ``desk.sla.<kind>``
    (``hooks``: a :class:`parcours.webhooks.Webhooks`)."""
    return lambda e: hooks.emit(f"desk.sla.{e.kind}", payload(e))


def recorded(store: Store, case_id: str) -> list[dict[str, Any]]:
    """The SLA events recorded on a case, oldest first."""
    rows = store.con.execute("SELECT detail FROM case_events WHERE case_id = ? AND list_contains(?, kind) ORDER BY seq",
                             [case_id, list(KINDS.values())]).fetchall()
    return [json.loads(r[0]) for r in rows]
