"""Receiving a contact: the person, the case it belongs to (thread, link, or new), the message,
the touchpoint (docs/desk.md, "Receiving a contact").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import duckdb

from parcours import persons
from parcours.desk import clocks, linking
from parcours.desk.attachments import _store_attachments
from parcours.desk.checks import _choice, _text, _topic, _ts
from parcours.desk.errors import DeskError
from parcours.desk.model import (
    ACTIVE,
    DEFAULT_CONFIG,
    EXCERPT_CHARS,
    MAX_EXTERNAL_ID,
    MAX_SUBJECT,
    AttachmentIn,
    Case,
    ContactFacts,
    DeskConfig,
    Received,
    RefusedIn,
)
from parcours.desk.records import _add_message, _add_ref, _event, _load, _open, _resolve_merged, _write
from parcours.schema import CHANNELS, MAX_TEXT_CHARS, OUTCOMES, STAGES
from parcours.store import Store


# -- receiving ------------------------------------------------------------------------------
def receive(store: Store, *, channel: str, identifiers: dict[str, str | None], text: str | None, ts: datetime,
            subject: str | None = None, topic: str | None = None, external_id: str | None = None,
            in_reply_to_case: str | None = None, attachments: Sequence[AttachmentIn | RefusedIn] = (),
            language: str | None = None, stage: str = "support", entered_by: str | None = None,
            facts: ContactFacts | None = None, config: DeskConfig = DEFAULT_CONFIG) -> Received:
    """A contact from a customer (or prospect) on any channel.

    Resolves the person from ``identifiers`` (``email``, ``phone``, ``social``, ``app_id`` or
    ``person_id``; an unknown sender becomes a new person), then finds the case: the one it
    answers (``in_reply_to_case``, e.g. from e-mail threading — honoured when it belongs to
    the same person), else an open case of the person about the same issue on any channel
    (:mod:`.linking`), else a new case. Appends the message (author customer), records a
    channel hop, writes an inbound ``touchpoints`` contact (one per contact: messages on one
    channel within ``config.contact_gap`` are one contact), reopens a resolved case within
    the reopen window. ``external_id`` (e.g. an e-mail Message-ID) makes a redelivery a no-op.
    ``entered_by``: the agent who typed a phone or store contact in; ``facts``: its wait,
    handling time and outcome (a call record)."""
    channel = _choice(channel, "channel", CHANNELS)
    facts = _facts(facts)
    when = _ts(ts)
    text = _text(text, "text", MAX_TEXT_CHARS, required=not attachments)
    subject = _text(subject, "subject", MAX_SUBJECT)
    topic = _topic(topic)
    stage = _choice(stage, "stage", STAGES)
    external_id = _text(external_id, "external_id", MAX_EXTERNAL_ID)
    language = (_text(language, "language", 10) or "").strip().lower() or None
    if not isinstance(identifiers, dict):
        raise DeskError("identifiers must be a dict such as {'email': 'a@b.fr'}")
    with store.write_lock, store.transaction() as con:
        if external_id:
            dup = con.execute("SELECT r.message_id, r.case_id, c.person_id, coalesce(d.version, 0) FROM message_refs r "
                              "LEFT JOIN cases c USING (case_id) LEFT JOIN desk_cases d USING (case_id) "
                              "WHERE r.external_id = ? AND r.direction = 'in' LIMIT 1", [external_id]).fetchone()
            if dup is not None:
                return Received(dup[1], dup[0], dup[2], dup[3], "duplicate")
        try:
            who = persons.ensure(con, identifiers, ts=when, source=f"desk:{channel}", country=config.country)
        except persons.PersonError as e:
            raise DeskError(f"identifiers: {e}") from None
        got = _receive_locked(store, con, who.person_id, channel, when, text, subject, topic, external_id,
                              in_reply_to_case, attachments, language, stage, entered_by, config, facts)
    store.touch()
    return replace(got, person_created=who.created)


def _facts(facts: ContactFacts | None) -> ContactFacts | None:
    if facts is None:
        return None
    for name in ("wait_s", "handle_s"):
        v = getattr(facts, name)
        if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v < 10**7):
            raise DeskError(f"{name}: {v!r} is not a number of seconds (0 or more)")
    if facts.outcome is not None:
        _choice(facts.outcome, "outcome", OUTCOMES)
    return facts


def _receive_locked(store: Store, con: duckdb.DuckDBPyConnection, person_id: str, channel: str, ts: datetime,
                    text: str | None, subject: str | None, topic: str | None, external_id: str | None,
                    in_reply_to: str | None, attachments: Sequence[AttachmentIn | RefusedIn], language: str | None,
                    stage: str, entered_by: str | None, config: DeskConfig,
                    facts: ContactFacts | None) -> Received:
    events: list[tuple[str, dict[str, Any]]] = []
    case: Case | None = None
    how, score, suggested, follow_up = "new", None, None, None
    if in_reply_to:
        case, follow_up = _thread(con, person_id, in_reply_to, ts, config)
        how = "thread" if case else how
    if case is None and follow_up is None:
        d = linking.decide(con, person_id, ts=ts, topic=topic, subject=subject, text=text, policy=config.link)
        score = d.score if d.case_id else None
        if d.action == "link" and d.case_id:
            case, how = _load(con, d.case_id), "linked"
            events.append(("linked_contact", {"channel": channel, "score": d.score}))
        elif d.action == "suggest":
            how, suggested = "suggested", d.case_id
    created = case is None
    if case is None:
        how = "follow_up" if follow_up else how
        case = _open(con, person_id, channel, ts, subject, topic, language)
        case = replace(case, sla_snapshot=clocks.policy_for(store.path, case.priority, case.team_id,
                                                            channel).snapshot())
        events.append(("opened", {"channel": channel, "by": entered_by or "customer", "follow_up_of": follow_up}))
        if suggested:
            case = replace(case, suggested_link=suggested)
            events.append(("suggested_link", {"case_id": suggested, "score": score}))
        if follow_up:
            case = replace(case, follow_up_of=follow_up)
    case, more, hop, reopened, new_contact = _customer_message(case, channel, ts, subject, text, config)
    events += more
    message_id = _add_message(con, case.case_id, ts, "customer", channel, True, None, text)
    if external_id:
        _add_ref(con, message_id, case.case_id, channel, external_id, "in", ts)
    files = _store_attachments(store, con, message_id, attachments, ts) if attachments else ()
    if new_contact or facts is not None:
        f = facts or ContactFacts()
        con.execute("INSERT INTO touchpoints (event_id, ts, person_id, channel, direction, kind, stage, topic, "
                    "case_id, agent_id, text, wait_s, handle_s, outcome, import_id) VALUES (?, ?, ?, ?, 'inbound', "
                    "'contact', ?, ?, ?, ?, ?, ?, ?, ?, 'desk')",
                    [f"desk:{message_id}", ts, person_id, channel, stage, case.topic or topic, case.case_id,
                     case.assignee, (text or subject or "")[:EXCERPT_CHARS] or None, f.wait_s, f.handle_s, f.outcome])
    events.append(("message", {"message_id": message_id, "channel": channel, "author": "customer",
                               "attachments": len(files)}))
    actor = entered_by or "customer"
    case = replace(case, version=1 if created else case.version + 1, updated_at=ts, updated_by=actor)
    _write(con, case, new=created)
    for kind, detail in events:
        _event(con, case.case_id, case.version, ts, actor, kind, detail)
    return Received(case.case_id, message_id, person_id, case.version, how, case_created=created, score=score,
                    suggested_case=suggested, follow_up_of=follow_up, channel_hop=hop, reopened=reopened,
                    attachments=files)


def _thread(con: duckdb.DuckDBPyConnection, person_id: str, case_id: str, ts: datetime,
            config: DeskConfig) -> tuple[Case | None, str | None]:
    """(the case a reply belongs to, or None; the case a new one follows up, or None)."""
    target = _resolve_merged(con, case_id)
    try:
        case = _load(con, target)
    except DeskError:
        return None, None
    if case.person_id != person_id:  # someone else's thread: never written into (privacy); linking decides
        return None, None
    if case.status in ACTIVE:
        return case, None
    if case.status == "resolved" and case.closed_at is not None and ts - case.closed_at <= config.link.reopen_window:
        return case, None
    return None, case.case_id


def _customer_message(case: Case, channel: str, ts: datetime, subject: str | None, text: str | None,
                      config: DeskConfig) -> tuple[Case, list[tuple[str, dict[str, Any]]], tuple[str, str] | None,
                                                   bool, bool]:
    """The case after a customer message: (case, events, hop, reopened, is a new contact)."""
    events: list[tuple[str, dict[str, Any]]] = []
    reopened = False
    if case.status == "resolved":
        case = replace(case, status="open", reopen_count=case.reopen_count + 1, closed_at=None)
        events.append(("reopened", {"by": "customer message", "reopen_count": case.reopen_count}))
        reopened = True
    elif case.status == "pending":
        case = replace(case, status="open")
        events.append(("status", {"from": "pending", "to": "open", "why": "the customer replied"}))
    # the channel the customer used last (an imported case, or one an agent opened: its channel)
    prev, last = case.last_customer_channel or case.channel, case.last_customer_at
    hop = (prev, channel) if prev != channel else None
    if hop:
        events.append(("channel_hop", {"from": prev, "to": channel}))
    new_contact = last is None or hop is not None or abs(ts - last) > config.contact_gap
    latest = last is None or ts >= last
    case = replace(case, waiting_since=case.waiting_since or ts,
                   last_customer_at=ts if latest else last,
                   last_customer_channel=channel if latest else prev,
                   link_terms=tuple(linking.merge_terms(case.link_terms,
                                                        linking.terms(f"{subject or ''} {text or ''}"))))
    return case, events, hop, reopened, new_contact
