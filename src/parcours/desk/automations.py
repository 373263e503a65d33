"""Time-based automations of the desk: what must happen when nothing happens.

* **Auto-resolve**: a case pending (waiting on the customer) with no customer message for
  ``resolve_pending_after`` is resolved — the customer went quiet; a new message within the
  reopen window reopens it (cases.receive). Zendesk and Zammad ship the same rule as a
  default automation ("pending → solved after N days").
* **Escalate unassigned**: a new or open case that nobody has taken and whose customer has
  waited ``escalate_unassigned_after`` gets its priority raised one step (urgent stays
  urgent) — once per case, so a case is never escalated twice by the same rule.

Each action is an ordinary desk change made by the actor ``automation`` with the version it
read: a case an agent changes at the same moment is skipped (ConflictError) and looked at
again on the next run. :func:`run` is idempotent and safe to call every minute.

The :class:`Runner` also sweeps the SLA clocks each time (``sla_watch``): breaches and
at-risk warnings are recorded on their cases and handed to ``on_sla_event``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial

from parcours.act import promises as act_promises
from parcours.desk import cases, sla_watch
from parcours.desk.sla import SlaEvent
from parcours.schema import PRIORITIES
from parcours.store import Store

__all__ = ["ACTOR", "Action", "Automations", "Runner", "run"]

ACTOR = "automation"


@dataclass(frozen=True)
class Automations:
    """The rules' settings; None switches a rule off."""

    resolve_pending_after: timedelta | None = timedelta(days=7)
    escalate_unassigned_after: timedelta | None = timedelta(minutes=30)
    #: changes per rule and run: a backlog (an imported history) is worked off over several
    #: runs instead of holding the store's write lock while agents wait to save their replies
    max_actions: int = 25


@dataclass(frozen=True)
class Action:
    case_id: str
    rule: str          # "resolve_pending" or "escalate_unassigned"
    detail: str


def run(store: Store, rules: Automations = Automations(), *, now: datetime | None = None) -> list[Action]:
    """Apply the rules to the cases they concern now; the actions taken."""
    now = now or datetime.now(timezone.utc)
    done: list[Action] = []
    if rules.resolve_pending_after is not None:
        done += _resolve_pending(store, now - rules.resolve_pending_after, now, rules.max_actions)
    if rules.escalate_unassigned_after is not None:
        done += _escalate_unassigned(store, now - rules.escalate_unassigned_after, now, rules.max_actions)
    return done


def _resolve_pending(store: Store, before: datetime, now: datetime, limit: int) -> list[Action]:
    # pending since the agent's last word: the customer's silence counts from then
    rows = store.con.execute(
        """SELECT i.case_id, i.version FROM desk_inbox i JOIN desk_cases d USING (case_id)
           WHERE i.status = 'pending' AND greatest(coalesce(d.last_agent_at, i.opened_at),
                                                  coalesce(d.last_customer_at, i.opened_at)) < ?
           ORDER BY i.case_id LIMIT ?""",
        [before, limit]).fetchall()
    out = []
    for case_id, version in rows:
        if _try(partial(cases.set_status, store, case_id, ACTOR, "resolved", expected_version=version, ts=now)):
            out.append(Action(case_id, "resolve_pending", f"the customer silent since before {before:%Y-%m-%d}"))
    return out


def _escalate_unassigned(store: Store, before: datetime, now: datetime, limit: int) -> list[Action]:
    rows = store.con.execute(
        """SELECT i.case_id, i.version, i.priority FROM desk_inbox i
           WHERE i.status IN ('new', 'open') AND i.assignee IS NULL AND i.waiting_since < ?
             AND NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = i.case_id AND e.kind = 'priority'
                             AND e.actor = ? AND e.ts >= i.waiting_since)
             AND i.priority <> 'urgent'
           ORDER BY i.waiting_since, i.case_id LIMIT ?""",
        [before, ACTOR, limit]).fetchall()
    out = []
    for case_id, version, priority in rows:
        higher = PRIORITIES[min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)]
        if higher == priority:
            continue
        if _try(partial(cases.set_priority, store, case_id, ACTOR, higher, expected_version=version, ts=now)):
            out.append(Action(case_id, "escalate_unassigned", f"{priority} → {higher}: unassigned, waiting since "
                                                              f"before {before:%H:%M}"))
    return out


def _try(change: Callable[[], object]) -> bool:
    """Make the change; False if the case moved meanwhile (the next run looks again)."""
    try:
        change()
    except (cases.ConflictError, cases.ClosedCaseError, cases.MergedCaseError):
        return False
    return True


class Runner:
    """Runs the automations and the SLA sweep every ``every_s`` seconds in a thread of the
    served process (the store's one writer); a failing run is logged and the next one tries again."""

    def __init__(self, store: Store, rules: Automations = Automations(), every_s: float = 60.0,
                 on_sla_event: Callable[[SlaEvent], object] | None = None) -> None:
        self.store, self.rules, self.every_s, self.on_sla_event = store, rules, every_s, on_sla_event
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="parcours-automations", daemon=True)
        self.done: list[Action] = []  # the latest actions taken (up to 1,000), for /health and tests

    def start(self) -> Runner:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _loop(self) -> None:
        view = self.store.cursor()
        since: datetime | None = None  # the first sweep looks back an hour (sla_watch's default)
        try:
            while not self._stop.wait(self.every_s):
                started = datetime.now(timezone.utc)
                try:
                    self.done = (self.done + run(view, self.rules, now=started))[-1000:]
                except Exception:
                    logging.getLogger("parcours.desk").exception("desk automations failed; next run in %s s",
                                                                 self.every_s)
                try:  # on its own: a failing rule must not silence the SLA events
                    sla_watch.sweep(view, now=started, since=since, on_event=self.on_sla_event)
                except Exception:
                    logging.getLogger("parcours.desk").exception("SLA sweep failed; next run in %s s", self.every_s)
                try:  # the SLA clocks as promises kept or not (parcours.act.promises)
                    act_promises.from_desk(view, now=started, since=since)
                except Exception:
                    logging.getLogger("parcours.desk").exception("desk promises failed; next run in %s s", self.every_s)
                since = started - timedelta(seconds=self.every_s)  # overlap: a slow sweep misses nothing
        finally:
            view.close()
