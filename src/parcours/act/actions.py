"""What a rule does when it fires: each action sets the firing's status (done, skipped,
failed) and result (the case opened, the invitation, the webhook delivery…)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from parcours.act import outreach
from parcours.desk import cases, routing
from parcours.schema import PRIORITIES
from parcours.store import Store
from parcours.store.sql import registered

if TYPE_CHECKING:
    from parcours.act.engine import Firing
    from parcours.act.rules import Rule
    from parcours.webhooks import Webhooks

__all__ = ["ACTOR", "Actions"]

ACTOR = "rules"
log = logging.getLogger(__name__)


class Actions:
    """Carries out firings; ``webhooks`` (the served app's) for webhook, notify and outreach."""

    def __init__(self, store: Store, webhooks: Webhooks | None = None) -> None:
        self.store, self.webhooks = store, webhooks
        self._do: dict[str, Callable[[Rule, list[Firing], datetime], None]] = {
            "open_case": self._open_case, "update_case": self._update_case, "send_survey": self._send_survey,
            "send_message": self._send_message, "webhook": self._webhook, "notify": self._notify}

    def run(self, rule: Rule, found: list[Firing], now: datetime) -> None:
        try:
            self._do[rule.action](rule, found, now)
        except Exception as e:  # the whole action failed (a per-firing failure is set inside)
            log.exception("rule %s: %s failed", rule.rule_id, rule.action)
            for f in found:
                if f.status == "pending":
                    f.status, f.error = "failed", f"{type(e).__name__}: {str(e)[:500]}"
        for f in found:
            if f.status == "pending":
                f.status = "done"

    # -- one by one: desk changes ---------------------------------------------------------
    def _each(self, found: list[Firing], act: Callable[[Firing], str | None]) -> None:
        for f in found:
            try:
                f.result = act(f)
                f.status = "done"
            except _Skip as s:
                f.status, f.result = "skipped", str(s)
            except Exception as e:
                f.status, f.error = "failed", f"{type(e).__name__}: {str(e)[:500]}"

    def _open_case(self, rule: Rule, found: list[Firing], now: datetime) -> None:
        priority = rule.params.get("priority", "high")

        def act(f: Firing) -> str:
            if f.person_id is None:
                raise _Skip("no person to open a case for")
            note = "\n".join(x for x in (rule.params.get("note"), f"Rule « {rule.name} »: {f.reason}") if x)
            if rule.subject == "response":  # one case per answer, shared with the voice loop
                return self._loop_case(rule, f, note, priority, now)
            c = cases.open_for_feedback(self.store, f.person_id, actor=ACTOR, channel=_channel(self.store, f),
                                        subject=rule.params["subject"][:200], note=note, topic=rule.rule_id,
                                        priority=priority, follow_up_of=f.case_id, ts=now)
            _route(self.store, c)
            return f"opened case {c.case_id}"
        self._each(found, act)

    def _loop_case(self, rule: Rule, f: Firing, note: str, priority: str, now: datetime) -> str:
        with self.store.write_lock:
            had = self.store.query("SELECT case_id FROM voice_loops WHERE response_id = ?", [f.subject_key])
            if had:
                _add_note(self.store, had[0][0], note, priority, now)
                return f"updated case {had[0][0]} (opened for this answer by the voice loop)"
            c = cases.open_for_feedback(self.store, f.person_id, actor=ACTOR, channel=_channel(self.store, f),
                                        subject=rule.params["subject"][:200], note=note, topic=rule.rule_id,
                                        priority=priority, follow_up_of=f.case_id, ts=now)
            with self.store.transaction() as con:
                con.execute("INSERT INTO voice_loops VALUES (?, ?, ?, ?)",
                            [f.subject_key, c.case_id, f"rule {rule.rule_id}", now])
        _route(self.store, c)
        return f"opened case {c.case_id}"

    def _update_case(self, rule: Rule, found: list[Firing], now: datetime) -> None:
        def act(f: Firing) -> str:
            if not f.case_id:
                raise _Skip("no case to update")
            note = "\n".join(x for x in (rule.params.get("note"), f"Rule « {rule.name} »: {f.reason}") if x)
            return _add_note(self.store, f.case_id, note, rule.params.get("priority"), now)
        self._each(found, act)

    def _send_survey(self, rule: Rule, found: list[Firing], now: datetime) -> None:
        from parcours.voice import invitations

        people = [f.person_id for f in found if f.person_id]
        got = invitations.invite_persons(self.store, rule.params["survey_id"], people, now=now) if people else {}
        for f in found:
            if f.person_id is None:
                f.status, f.result = "skipped", "no person to survey"
            else:
                f.result = f"survey {rule.params['survey_id']}: " + ", ".join(f"{k} {v}" for k, v in got.items())

    def _send_message(self, rule: Rule, found: list[Firing], now: datetime) -> None:
        practice = rule.params["practice"]
        items, kept = [], []
        for f in found:
            if f.person_id is None:
                f.status, f.result = "skipped", "no person to contact"
                continue
            kept.append(f)
            items.append({"person_id": f.person_id, "practice": practice, "channel": rule.params.get("channel"),
                          "body": rule.params.get("text_fr") or rule.params.get("text_en"), "rule_id": rule.rule_id,
                          "firing_id": f.firing_id})
        with self.store.write_lock:
            ids = outreach.queue(self.store, items, now=now)
        for f, oid in zip(kept, ids):
            f.result = f"outreach {oid} queued ({practice}); the contact-pressure budget decides"

    def _webhook(self, rule: Rule, found: list[Firing], now: datetime) -> None:
        if self.webhooks is None:
            for f in found:
                f.status, f.result = "skipped", "webhooks are sent by the served app (parcours serve)"
            return
        event = rule.params.get("event", "rules.fired")
        n = self.webhooks.emit_many(event, [_payload(rule, f) for f in found])
        for f in found:
            if n is None:
                f.status, f.error = "failed", f"{event}: the deliveries could not be recorded (see the server log)"
            else:
                f.result = f"{event} sent to {n // len(found)} subscribers" if n else f"{event}: no subscriber"

    def _notify(self, rule: Rule, found: list[Firing], now: datetime) -> None:
        team = rule.params["team"]
        message = rule.params.get("message") or rule.name
        batch = uuid.uuid4().hex[:10]
        rows = [{"notification_id": f"n_{batch}{i:06x}", "team_id": team, "rule_id": rule.rule_id,
                 "firing_id": f.firing_id, "person_id": f.person_id, "case_id": f.case_id,
                 "message": f"{message} — {f.reason}"[:2000], "created_at": now, "read_at": None, "read_by": None}
                for i, f in enumerate(found)]
        with self.store.write_lock:
            with registered(self.store.con, "_notes", pa.Table.from_pylist(rows)):
                self.store.con.execute("INSERT INTO notifications SELECT * FROM _notes")
        for f, r in zip(found, rows):
            f.result = f"team {team} notified ({r['notification_id']})"
        if self.webhooks is not None:
            self.webhooks.emit_many("act.notify", [{"team": team, "message": r["message"], **_payload(rule, f)}
                                                   for f, r in zip(found, rows)])


class _Skip(Exception):
    """The firing has nothing to act on (no person, no case): recorded as skipped."""


def _payload(rule: Rule, f: Firing) -> dict[str, Any]:
    return {"rule_id": rule.rule_id, "rule": rule.name, "firing_id": f.firing_id, "subject": rule.subject,
            "key": f.subject_key, "person_id": f.person_id, "case_id": f.case_id, "reason": f.reason,
            "at": f.event_ts.isoformat() if f.event_ts else None}


def _channel(store: Store, f: Firing) -> str:
    rows = store.query("SELECT channel FROM cases WHERE case_id = ?", [f.case_id]) if f.case_id else []
    return rows[0][0] if rows and rows[0][0] else "web"


def _route(store: Store, c: Any) -> None:
    if c.assignee is None:
        try:
            routing.route(store, c.case_id)
        except Exception:  # nobody online: the case waits in its team's queue
            log.info("rule case %s waits for an agent", c.case_id)


def _add_note(store: Store, case_id: str, note: str, priority: str | None, now: datetime) -> str:
    try:
        c = cases.load(store.con, case_id)
    except cases.NotFoundError:
        raise _Skip(f"case {case_id} not in the desk") from None
    if c.status in ("resolved", "closed"):
        raise _Skip(f"case {case_id} is {c.status}")
    done = []
    if priority and PRIORITIES.index(priority) > PRIORITIES.index(c.priority):
        c = cases.set_priority(store, case_id, ACTOR, priority, expected_version=c.version, ts=now)
        done.append(f"priority {priority}")
    cases.note(store, case_id, ACTOR, note, expected_version=c.version, ts=now)
    return f"updated case {case_id}: " + ", ".join([*done, "note added"])
