"""Merging duplicates, splitting a thread in two, and accepting or rejecting a suggested link."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import duckdb

from parcours.desk import linking
from parcours.desk.actions import _not_closed
from parcours.desk.checks import _text, _topic, _ts
from parcours.desk.errors import DeskError, NotFoundError
from parcours.desk.model import MAX_SUBJECT, PRIORITY_RANK, Case
from parcours.desk.records import Change, _event, _load, _lock, _mutate, _open, _write, _write_desk
from parcours.store import Store

# -- merge, split, links ------------------------------------------------------------------
_ACTIVITY = """
WITH m AS (SELECT ts, author::VARCHAR AS author, channel::VARCHAR AS channel, public FROM messages WHERE case_id = $1),
     r AS (SELECT max(ts) AS last_reply FROM m WHERE author IN ('agent', 'bot') AND coalesce(public, true))
SELECT (SELECT max(ts) FROM m WHERE author = 'customer'),
       (SELECT arg_max(channel, ts) FROM m WHERE author = 'customer'),
       (SELECT max(ts) FROM m WHERE author = 'agent' AND coalesce(public, true)),
       (SELECT min(m.ts) FROM m, r WHERE m.author = 'customer' AND (r.last_reply IS NULL OR m.ts > r.last_reply)),
       (SELECT min(ts) FROM m WHERE author = 'agent' AND coalesce(public, true))
"""


@dataclass(frozen=True)
class _Activity:
    last_customer_at: datetime | None
    last_customer_channel: str | None
    last_agent_at: datetime | None
    waiting_since: datetime | None  #: the first customer message after the last public answer
    first_response_at: datetime | None


def _activity(con: duckdb.DuckDBPyConnection, case_id: str) -> _Activity:
    row = con.execute(_ACTIVITY, [case_id]).fetchone()
    assert row is not None
    return _Activity(*row)


def _recompute(con: duckdb.DuckDBPyConnection, c: Case) -> Case:
    """Who waits since when, from the case's messages (after messages moved in or out)."""
    a = _activity(con, c.case_id)
    return replace(c, last_customer_at=a.last_customer_at, last_customer_channel=a.last_customer_channel,
                   last_agent_at=a.last_agent_at,
                   waiting_since=a.waiting_since if c.status in ("new", "open") else None)


def merge(store: Store, source_case: str, target_case: str, actor: str, *, expected_version: int,
          target_version: int | None = None, ts: datetime | None = None) -> Case:
    """Merge a duplicate into the case that stays: every message, reference, touchpoint and
    survey answer of ``source_case`` moves to ``target_case``; the source leaves the
    canonical ``cases`` (one issue is one case for the metrics), its desk row remembers
    ``merged_into`` and its events keep a copy of its record. The target reopens if the
    customer now waits on it. Both cases must belong to one person and neither be closed.
    Returns the target."""
    when = _ts(ts)
    with store.write_lock, store.transaction() as con:
        s = _lock(con, source_case, expected_version)
        t = _lock(con, target_case, target_version) if target_version is not None else _load(con, target_case)
        merged, events = _merge_locked(con, s, t, when)
        s_after = replace(s, merged_into=t.case_id, suggested_link=None, version=s.version + 1, updated_at=when,
                          updated_by=actor)
        _write_desk(con, s_after)
        _event(con, s.case_id, s_after.version, when, actor, "merged_into", {"case_id": t.case_id,
                                                                             "record": _record(con, s.case_id)})
        con.execute("DELETE FROM cases WHERE case_id = ?", [s.case_id])
        con.execute("DELETE FROM desk_inbox WHERE case_id = ?", [s.case_id])
        merged = replace(merged, version=t.version + 1, updated_at=when, updated_by=actor)
        _write(con, merged)
        for kind, detail in events:
            _event(con, t.case_id, merged.version, when, actor, kind, detail)
    store.touch()
    return merged


def _record(con: duckdb.DuckDBPyConnection, case_id: str) -> Any:
    row = con.execute("SELECT to_json(c) FROM cases c WHERE case_id = ?", [case_id]).fetchone()
    return json.loads(row[0]) if row else None


def _merge_locked(con: duckdb.DuckDBPyConnection, s: Case, t: Case, ts: datetime) -> Change:
    if s.case_id == t.case_id:
        raise DeskError(f"cannot merge case {s.case_id} into itself")
    if s.person_id != t.person_id:
        raise DeskError(f"cases {s.case_id} and {t.case_id} belong to different persons ({s.person_id}, "
                        f"{t.person_id}): merge the persons first if they are one customer")
    for c in (s, t):
        _not_closed(c, "merge it")
    moved = [r[0] for r in con.execute("UPDATE messages SET case_id = ? WHERE case_id = ? RETURNING message_id",
                                       [t.case_id, s.case_id]).fetchall()]
    for table in ("message_refs", "touchpoints", "responses"):
        con.execute(f"UPDATE {table} SET case_id = ? WHERE case_id = ?", [t.case_id, s.case_id])
    older = s.opened_at < t.opened_at
    responses = [x for x in (s.first_response_at, t.first_response_at) if x is not None]
    m = replace(t, opened_at=min(s.opened_at, t.opened_at), channel=s.channel if older else t.channel,
                first_response_at=min(responses) if responses else None,
                priority=max(s.priority, t.priority, key=PRIORITY_RANK.__getitem__),
                assignee=t.assignee or s.assignee, link_terms=tuple(linking.merge_terms(t.link_terms, s.link_terms)),
                suggested_link=None if t.suggested_link == s.case_id else t.suggested_link)
    events: list[tuple[str, dict[str, Any]]] = [("merged", {"case_id": s.case_id, "messages": len(moved)})]
    if _activity(con, t.case_id).waiting_since is not None:  # the customer now waits on the target
        if t.status == "resolved":
            m = replace(m, status="open", closed_at=None, reopen_count=m.reopen_count + 1)
            events.append(("reopened", {"by": f"merge of {s.case_id}", "reopen_count": m.reopen_count}))
        elif t.status == "pending":
            m = replace(m, status="open")
            events.append(("status", {"from": "pending", "to": "open", "why": f"merge of {s.case_id}"}))
    return _recompute(con, m), events


def split(store: Store, case_id: str, message_ids: Sequence[str], actor: str, *, expected_version: int,
          subject: str | None = None, topic: str | None = None, ts: datetime | None = None) -> Case:
    """Move ``message_ids`` (with their references and the contacts they started) to a new
    case of the same person — two issues in one thread. At least one message stays. The new
    case is open, with the source's priority, assignee and routing. Returns the new case."""
    ids = list(dict.fromkeys(message_ids)) if not isinstance(message_ids, str) else [message_ids]
    if not ids:
        raise DeskError("split: name at least one message to move")
    subj = _text(subject, "subject", MAX_SUBJECT)
    top = _topic(topic)
    when = _ts(ts)
    with store.write_lock, store.transaction() as con:
        s = _lock(con, case_id, expected_version)
        _not_closed(s, "split it")
        have = {r[0]: r[1:] for r in con.execute(
            "SELECT message_id, ts, channel::VARCHAR FROM messages WHERE case_id = ? ORDER BY ts, message_id",
            [case_id]).fetchall()}
        unknown = [m for m in ids if m not in have]
        if unknown:
            raise NotFoundError(f"message(s) {', '.join(unknown)} are not in case {case_id}")
        if len(ids) >= len(have):
            raise DeskError(f"split: at least one message must stay in case {case_id}")
        first = min(ids, key=lambda m: (have[m][0], m))
        n = _open(con, s.person_id or "", have[first][1], have[first][0], subj or s.subject, top or s.topic,
                  s.language)
        con.execute("UPDATE messages SET case_id = ? WHERE list_contains(?, message_id)", [n.case_id, ids])
        con.execute("UPDATE message_refs SET case_id = ? WHERE list_contains(?, message_id)", [n.case_id, ids])
        con.execute("UPDATE touchpoints SET case_id = ? WHERE list_contains(?, event_id)",
                    [n.case_id, [f"desk:{m}" for m in ids]])
        bodies = con.execute("SELECT string_agg(body, ' ' ORDER BY ts) FROM messages WHERE case_id = ? "
                             "AND author = 'customer'", [n.case_id]).fetchone()
        n = replace(n, status="open", priority=s.priority, assignee=s.assignee, team_id=s.team_id, skills=s.skills,
                    version=1, updated_at=when, updated_by=actor,
                    link_terms=tuple(linking.merge_terms(linking.terms(f"{n.subject or ''} "
                                                                       f"{(bodies or [''])[0] or ''}"))))
        n = replace(_recompute(con, n), first_response_at=_activity(con, n.case_id).first_response_at)
        s_after = replace(_recompute(con, s), version=s.version + 1, updated_at=when, updated_by=actor)
        _write(con, n, new=True)
        _write(con, s_after)
        _event(con, n.case_id, 1, when, actor, "opened", {"channel": n.channel, "by": actor, "split_from": case_id,
                                                          "messages": ids})
        _event(con, case_id, s_after.version, when, actor, "split", {"case_id": n.case_id, "messages": ids})
    store.touch()
    return n


def accept_link(store: Store, case_id: str, actor: str, *, expected_version: int, ts: datetime | None = None) -> Case:
    """Accept the case's suggested link: merge this case into the suggested one (returned)."""
    with store.write_lock:
        c = _load(store.con, case_id)
        if c.suggested_link is None:
            raise DeskError(f"case {case_id} has no suggested link to accept")
        return merge(store, case_id, c.suggested_link, actor, expected_version=expected_version, ts=ts)


def reject_link(store: Store, case_id: str, actor: str, *, expected_version: int, ts: datetime | None = None) -> Case:
    """The suggested case is another issue: the suggestion goes (recorded)."""

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        if c.suggested_link is None:
            raise DeskError(f"case {case_id} has no suggested link to reject")
        return replace(c, suggested_link=None), [("link_rejected", {"case_id": c.suggested_link})]

    return _mutate(store, case_id, expected_version, actor, ts, change)
