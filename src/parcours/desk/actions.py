"""Agents' actions on a case: replies and notes, status, priority, assignment, routing,
closing, and cases an agent opens.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import duckdb

from parcours import persons
from parcours.desk import clocks, linking
from parcours.desk.agents import mark_assigned
from parcours.desk.attachments import _store_attachments, check_uploads
from parcours.desk.checks import _choice, _text, _topic, _ts
from parcours.desk.errors import ClosedCaseError, DeskError, NotFoundError
from parcours.desk.model import (
    ACTIVE,
    AUTHORS,
    DISPOSITIONS,
    MAX_EXTERNAL_ID,
    MAX_SUBJECT,
    TRANSITIONS,
    AttachmentIn,
    Case,
    Posted,
    RefusedIn,
)
from parcours.desk.records import Change, _add_message, _add_ref, _event, _load, _mutate, _open, _resolve_merged, _write
from parcours.schema import CHANNELS, MAX_TEXT_CHARS, PRIORITIES
from parcours.store import Store


# -- agents' actions ----------------------------------------------------------------------
def _check_agent(con: duckdb.DuckDBPyConnection, agent_id: str) -> None:
    row = con.execute("SELECT disabled_at FROM agents WHERE agent_id = ?", [agent_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no agent {agent_id!r}: add the agent first (desk.agents.add_agent)")
    if row[0] is not None:
        raise DeskError(f"agent {agent_id!r} is disabled")


def reply(store: Store, case_id: str, agent_id: str, body: str, *, expected_version: int, public: bool = True,
          channel: str | None = None, status: str | None = None, external_id: str | None = None,
          attachments: Sequence[AttachmentIn | RefusedIn] = (), author: str = "agent",
          ts: datetime | None = None) -> Posted:
    """A message on the case: public (to the customer, on ``channel``, by default the channel
    the customer last used) or an internal note (``public=False``). A public agent reply is
    the first response if none came before, answers whoever was waiting, and opens a new
    case; ``status`` sets the status in the same change (e.g. ``pending``). ``author``
    ``bot`` or ``system`` write as the bot or an automation (``agent_id`` is then a label).
    A closed case takes notes but no reply (:class:`ClosedCaseError`)."""
    body_ = _text(body, "body", MAX_TEXT_CHARS, required=not attachments)
    author = _choice(author, "author", AUTHORS)
    chan = _choice(channel, "channel", CHANNELS) if channel is not None else None
    ext = _text(external_id, "external_id", MAX_EXTERNAL_ID)
    if status is not None:
        status = _choice(status, "status", tuple(TRANSITIONS))
    if author == "agent":
        check_uploads([f for f in attachments if isinstance(f, AttachmentIn)])
    posted: dict[str, Any] = {}

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        if author == "agent":
            _check_agent(con, agent_id)
        if c.status == "closed" and public:
            raise ClosedCaseError(
                f"case {c.case_id} is closed ({_closed_how(con, c)}): a closed case is final and takes no reply. "
                f"Write to the customer in a new case that follows it up: "
                f"desk.cases.open_case(..., follow_up_of={c.case_id!r}); internal notes are still accepted")
        via = chan or c.last_customer_channel or c.channel
        mid = _add_message(con, c.case_id, ts_, author, via, public, agent_id if author == "agent" else None, body_)
        if ext:
            _add_ref(con, mid, c.case_id, via, ext, "out", ts_)
        posted["id"] = mid
        posted["files"] = _store_attachments(store, con, mid, attachments, ts_) if attachments else ()
        events: list[tuple[str, dict[str, Any]]] = [
            ("message" if public else "note", {"message_id": mid, "channel": via, "author": author,
                                               "public": public, "attachments": len(posted["files"])})]
        if public:
            c = replace(c, waiting_since=None)
            if author == "agent":
                c = replace(c, last_agent_at=ts_, first_response_at=c.first_response_at or ts_)
                if c.status == "new":
                    c = replace(c, status="open")
                    events.append(("status", {"from": "new", "to": "open", "why": "answered"}))
        if status is not None and status != c.status:
            c, more = _transition(c, status, ts_)
            events += more
        return c, events

    case = _mutate(store, case_id, expected_version, agent_id, ts, change)
    return Posted(posted["id"], case, posted["files"])


def note(store: Store, case_id: str, agent_id: str, body: str, *, expected_version: int,
         attachments: Sequence[AttachmentIn] = (), ts: datetime | None = None) -> Posted:
    """An internal note (never shown to the customer)."""
    return reply(store, case_id, agent_id, body, expected_version=expected_version, public=False,
                 attachments=attachments, ts=ts)


def _closed_how(con: duckdb.DuckDBPyConnection, c: Case) -> str:
    row = con.execute("SELECT ts, actor FROM case_events WHERE case_id = ? AND kind = 'closed' ORDER BY seq DESC "
                      "LIMIT 1", [c.case_id]).fetchone()
    when = row[0] if row else c.closed_at
    by = f" by {row[1]}" if row else ""
    return f"since {when:%Y-%m-%d %H:%M} UTC{by}" + (f", disposition {c.disposition}" if c.disposition else "") \
        if when else "closed"


def _transition(c: Case, to: str, ts: datetime) -> Change:
    if to == "closed":
        raise DeskError("closing records the disposition and whether the customer was asked \"anything else?\": "
                        "use desk.cases.close()")
    if to not in TRANSITIONS.get(c.status, ()):
        allowed = ", ".join(TRANSITIONS.get(c.status, ())) or "none (closed is final)"
        raise DeskError(f"case {c.case_id} is {c.status}: it cannot become {to}; allowed from {c.status}: {allowed}")
    events: list[tuple[str, dict[str, Any]]] = [("status", {"from": c.status, "to": to})]
    if to == "resolved":
        c = replace(c, status=to, closed_at=ts, waiting_since=None)
    elif c.status == "resolved":  # reopened by an agent
        c = replace(c, status=to, closed_at=None, reopen_count=c.reopen_count + 1)
        events.append(("reopened", {"by": "agent", "reopen_count": c.reopen_count}))
    elif to == "pending":
        c = replace(c, status=to, waiting_since=None)
    else:
        c = replace(c, status=to)
    return c, events


def set_status(store: Store, case_id: str, actor: str, status: str, *, expected_version: int,
               ts: datetime | None = None) -> Case:
    """new → open ⇄ pending → resolved; resolved → open reopens (reopen_count + 1).
    Closing is :func:`close`. Setting the current status again changes nothing."""
    to = _choice(status, "status", tuple(TRANSITIONS))

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        return (c, []) if to == c.status else _transition(c, to, ts_)

    return _mutate(store, case_id, expected_version, actor, ts, change)


def set_priority(store: Store, case_id: str, actor: str, priority: str, *, expected_version: int,
                 ts: datetime | None = None) -> Case:
    p = _choice(priority, "priority", PRIORITIES)

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        if p == c.priority:
            return c, []
        _not_closed(c, "change its priority")
        return replace(c, priority=p), [("priority", {"from": c.priority, "to": p})]

    return _mutate(store, case_id, expected_version, actor, ts, change)


def _not_closed(c: Case, what: str) -> None:
    if c.status == "closed":
        raise ClosedCaseError(f"case {c.case_id} is closed: a closed case is final, you cannot {what}")


def assign(store: Store, case_id: str, assignee: str | None, *, actor: str, expected_version: int,
           ts: datetime | None = None) -> Case:
    """Give the case to an agent (None: to nobody). A manual assignment may exceed the
    agent's capacity or reach an agent who is not online (a supervisor's decision; the
    event says so); routing never does. Assigning a new case opens it."""

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        return _assigned(con, c, assignee, ts_)

    return _mutate(store, case_id, expected_version, actor, ts, change)


def _assigned(con: duckdb.DuckDBPyConnection, c: Case, assignee: str | None, ts: datetime) -> Change:
    if assignee == c.assignee:
        return c, []
    _not_closed(c, "assign it")
    detail: dict[str, Any] = {"from": c.assignee, "to": assignee}
    if assignee is not None:
        _check_agent(con, assignee)
        cap, status = con.execute("SELECT capacity, status FROM agents WHERE agent_id = ?", [assignee]).fetchone() \
            or (0, "offline")
        load = con.execute("SELECT count(*) FROM desk_inbox WHERE assignee = ?", [assignee]).fetchone()
        if load is not None and c.status in ACTIVE and load[0] >= cap:
            detail["over_capacity"] = True
        if status != "online":
            detail["agent_status"] = status
    events: list[tuple[str, dict[str, Any]]] = [("assigned", detail)]
    c = replace(c, assignee=assignee)
    if assignee is not None:
        mark_assigned(con, assignee, ts)
    if assignee is not None and c.status == "new":
        c = replace(c, status="open")
        events.append(("status", {"from": "new", "to": "open", "why": "assigned"}))
    return c, events


def hand_over(store: Store, case_id: str, actor: str, *, team: str | None, assignee: str | None,
              expected_version: int, ts: datetime | None = None) -> Case:
    """Give the case to a team and/or an agent (None: none) in one change: both or neither
    (an agent who cannot take it leaves the team unchanged too)."""

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        events: list[tuple[str, dict[str, Any]]] = []
        if team != c.team_id:
            _not_closed(c, "hand it over")
            c, events = _routed(con, c, team, c.skills, c.language)
        c, more = _assigned(con, c, assignee, ts_)
        return c, events + more

    return _mutate(store, case_id, expected_version, actor, ts, change)


def assign_in(con: duckdb.DuckDBPyConnection, c: Case, agent_id: str, *, actor: str, ts: datetime,
              detail: dict[str, Any]) -> Case:
    """Write an assignment decided inside the caller's transaction (under the write lock):
    the case goes to ``agent_id`` (a new case opens), version + 1, events written."""
    after = replace(c, assignee=agent_id, status="open" if c.status == "new" else c.status, version=c.version + 1,
                    updated_at=ts, updated_by=actor)
    _write(con, after)
    _event(con, c.case_id, after.version, ts, actor, "assigned", {"from": c.assignee, "to": agent_id, **detail})
    if c.status == "new":
        _event(con, c.case_id, after.version, ts, actor, "status", {"from": "new", "to": "open", "why": "assigned"})
    mark_assigned(con, agent_id, ts)
    return after


def set_routing(store: Store, case_id: str, actor: str, *, expected_version: int, team: str | None,
                skills: Sequence[str] = (), language: str | None = None, ts: datetime | None = None) -> Case:
    """The team, required skills and language routing matches agents against."""
    if isinstance(skills, str):
        raise DeskError("skills must be a list of words, not a string")
    sk = tuple(dict.fromkeys(s.strip().lower() for s in skills if s and s.strip()))
    lang = language.strip().lower() if language else None

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        return _routed(con, c, team, sk, lang)

    return _mutate(store, case_id, expected_version, actor, ts, change)


def _routed(con: duckdb.DuckDBPyConnection, c: Case, team: str | None, sk: tuple[str, ...], lang: str | None
            ) -> Change:
    if team is not None and not con.execute("SELECT 1 FROM teams WHERE team_id = ?", [team]).fetchone():
        raise NotFoundError(f"no team {team!r}")
    if (team, sk, lang) == (c.team_id, c.skills, c.language):
        return c, []
    return replace(c, team_id=team, skills=sk, language=lang), [
        ("routing", {"team": team, "skills": list(sk), "language": lang})]


def close(store: Store, case_id: str, agent_id: str, disposition: str, anything_else_asked: bool,
          opportunity: dict[str, Any] | None = None, *, expected_version: int, ts: datetime | None = None) -> Case:
    """Close the case for good: the disposition (one of :data:`DISPOSITIONS`), whether the
    agent asked "anything else I can do?" (seed 003), and a sales opportunity spotted during
    the contact (seed 004), listed by :func:`opportunities`. ``closed_at`` keeps the
    resolution time if the case was resolved before."""
    disp = _choice(disposition, "disposition", DISPOSITIONS)
    if not isinstance(anything_else_asked, bool):
        raise DeskError("anything_else_asked must be true or false: did you ask \"anything else I can do?\"")
    opp = _opportunity(opportunity)

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        _not_closed(c, "close it again")
        events: list[tuple[str, dict[str, Any]]] = [
            ("closed", {"from": c.status, "disposition": disp, "anything_else_asked": anything_else_asked})]
        if opp is not None:
            events.append(("opportunity", opp))
        return replace(c, status="closed", closed_at=c.closed_at if c.status == "resolved" else ts_,
                       waiting_since=None, disposition=disp, anything_else_asked=anything_else_asked), events

    return _mutate(store, case_id, expected_version, agent_id, ts, change)


def _opportunity(o: dict[str, Any] | None) -> dict[str, Any] | None:
    if o is None:
        return None
    if not isinstance(o, dict) or not o:
        raise DeskError("opportunity must be a non-empty dict, e.g. {'product': 'premium plan', 'amount': 120}")
    if "amount" in o and (isinstance(o["amount"], bool) or not isinstance(o["amount"], (int, float))
                          or o["amount"] < 0):
        raise DeskError(f"opportunity amount {o['amount']!r} must be a number ≥ 0")
    try:
        text = json.dumps(o, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise DeskError(f"opportunity must hold plain values (text, numbers): {e}") from None
    if len(text) > 4000:
        raise DeskError("opportunity is too long (4,000 characters of JSON at most)")
    out: dict[str, Any] = json.loads(text)
    return out


def _opened_by_us(store: Store, con: duckdb.DuckDBPyConnection, person_id: str, channel: str, when: datetime,
                  subject: str | None, text: str | None, topic: str | None, priority: str, actor: str,
                  follow_up_of: str | None) -> Case:
    """A new case the company opens (not a customer's contact), version 1, with its link terms
    and the SLA policy of its priority, team and channel."""
    c = _open(con, person_id, channel, when, subject, _topic(topic), None)
    return replace(c, priority=priority, follow_up_of=follow_up_of, version=1, updated_at=when, updated_by=actor,
                   link_terms=tuple(linking.merge_terms(linking.terms(f"{subject or ''} {text or ''}"))),
                   sla_snapshot=clocks.policy_for(store.path, priority, c.team_id, channel).snapshot())


def open_case(store: Store, person: str, agent_id: str, *, channel: str, subject: str, body: str,
              topic: str | None = None, priority: str = "normal", follow_up_of: str | None = None,
              ts: datetime | None = None) -> Posted:
    """A case an agent opens by writing to a person (any identifier), e.g. to follow up a
    closed case. The case is pending (the customer has the word) and assigned to the agent."""
    chan = _choice(channel, "channel", CHANNELS)
    subj = _text(subject, "subject", MAX_SUBJECT, required=True)
    text = _text(body, "body", MAX_TEXT_CHARS, required=True)
    prio = _choice(priority, "priority", PRIORITIES)
    when = _ts(ts)
    with store.write_lock, store.transaction() as con:
        _check_agent(con, agent_id)
        pid = persons.find(store, person) if isinstance(person, str) else None
        if pid is None:
            raise NotFoundError(f"no person known by {person!r}")
        if follow_up_of is not None:
            _load(con, _resolve_merged(con, follow_up_of))
        c = replace(_opened_by_us(store, con, pid, chan, when, subj, text, topic, prio, agent_id, follow_up_of),
                    assignee=agent_id, status="pending", first_response_at=when, last_agent_at=when)
        mid = _add_message(con, c.case_id, when, "agent", chan, True, agent_id, text)
        _write(con, c, new=True)
        _event(con, c.case_id, 1, when, agent_id, "opened", {"channel": chan, "by": agent_id,
                                                             "follow_up_of": follow_up_of})
        _event(con, c.case_id, 1, when, agent_id, "message", {"message_id": mid, "channel": chan, "author": "agent",
                                                              "public": True, "attachments": 0})
    store.touch()
    return Posted(mid, c)


def open_for_feedback(store: Store, person_id: str, *, actor: str, channel: str, subject: str, note: str,
                      topic: str | None = None, priority: str = "high", follow_up_of: str | None = None,
                      owner: str | None = None, ts: datetime | None = None) -> Case:
    """A case the company opens to act on what a person said elsewhere — a detractor's survey
    answer (closing the loop). The person did not contact us, so no customer message and no
    contact touchpoint are written (the service metrics count none); what they said is an
    internal note. The case waits for us from ``ts``: the SLA's first-response clock runs until
    the owner (an agent, else routing) gets back to them."""
    chan = _choice(channel, "channel", CHANNELS)
    subj = _text(subject, "subject", MAX_SUBJECT, required=True)
    text = _text(note, "note", MAX_TEXT_CHARS, required=True)
    prio = _choice(priority, "priority", PRIORITIES)
    when = _ts(ts)
    with store.write_lock, store.transaction() as con:
        c = replace(_opened_by_us(store, con, person_id, chan, when, subj, text, topic, prio, actor, follow_up_of),
                    waiting_since=when)
        events: list[tuple[str, dict[str, Any]]] = [("opened", {"channel": chan, "by": actor,
                                                                 "follow_up_of": follow_up_of})]
        known = owner is not None and con.execute("SELECT count(*) FROM agents WHERE agent_id = ? AND "
                                                  "disabled_at IS NULL", [owner]).fetchall()[0][0]
        if known:
            c, more = _assigned(con, c, owner, when)
            events += more
        mid = _add_message(con, c.case_id, when, "system", chan, False, None, text)
        events.append(("message", {"message_id": mid, "channel": chan, "author": "system", "public": False,
                                   "attachments": 0}))
        _write(con, c, new=True)
        for kind, detail in events:
            _event(con, c.case_id, 1, when, actor, kind, detail)
    store.touch()
    return c
