"""Reading cases: one case with its messages and history, the inbox (keyset pages), the case
an external reference answers, sales opportunities.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from parcours import persons
from parcours.desk.checks import _choice
from parcours.desk.errors import DeskError
from parcours.desk.model import (
    ACTIVE,
    TRANSITIONS,
    UNASSIGNED,
    AttachmentInfo,
    CaseView,
    Event,
    InboxRow,
    Message,
    Opportunity,
)
from parcours.desk.records import _events, _load, _resolve_merged
from parcours.schema import CHANNELS, PRIORITIES
from parcours.store import Store

_INFINITY = "infinity"


def opportunities(store: Store, *, limit: int = 200) -> list[Opportunity]:
    """Sales opportunities flagged by agents when closing cases, newest first."""
    rows = store.con.execute(
        "SELECT e.case_id, c.person_id, e.ts, e.actor, e.detail FROM case_events e "
        "LEFT JOIN cases c USING (case_id) WHERE e.kind = 'opportunity' ORDER BY e.ts DESC, e.seq DESC LIMIT ?",
        [max(1, int(limit))]).fetchall()
    return [Opportunity(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def pipeline_totals(store: Store) -> tuple[int, int, float]:
    """All flagged opportunities: how many, how many with an amount, and their sum."""
    row = store.con.execute(
        "SELECT count(*), count(TRY_CAST(detail->>'amount' AS DOUBLE)), "
        "coalesce(sum(TRY_CAST(detail->>'amount' AS DOUBLE)), 0) FROM case_events WHERE kind = 'opportunity'"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), float(row[2])


# -- reading --------------------------------------------------------------------------------
def get(store: Store, case_id: str, *, timeline_limit: int | None = 1000) -> CaseView:
    """The case with its messages, events and the person's whole timeline across channels
    (a merged case's id leads to the case it was merged into)."""
    con = store.con
    target = _resolve_merged(con, case_id)
    case = _load(con, target)
    rows = con.execute("SELECT message_id, case_id, ts, author::VARCHAR, channel::VARCHAR, coalesce(public, true), "
                       "agent_id, body FROM messages WHERE case_id = ? ORDER BY ts, message_id", [target]).fetchall()
    ids = [r[0] for r in rows]
    files: dict[str, list[AttachmentInfo]] = {}
    refs: dict[str, list[str]] = {}
    if ids:
        for a in con.execute("SELECT attachment_id, message_id, filename, content_type, size, sha256, storage_path, "
                             "refused FROM attachments WHERE list_contains(?, message_id) ORDER BY created_at, "
                             "attachment_id", [ids]).fetchall():
            files.setdefault(a[1], []).append(AttachmentInfo(*a))
        for mid, ext in con.execute("SELECT message_id, external_id FROM message_refs WHERE case_id = ? "
                                    "ORDER BY created_at", [target]).fetchall():
            refs.setdefault(mid, []).append(ext)
    messages = [Message(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], tuple(refs.get(r[0], ())),
                        tuple(files.get(r[0], ()))) for r in rows]
    person = persons.show(store, case.person_id, limit=timeline_limit) if case.person_id else None
    return CaseView(case, messages, _events(con, target), person, case_id if target != case_id else None)


def case_for_refs(store: Store, external_ids: Sequence[str]) -> str | None:
    """The case a message answers, from the external ids it names (e-mail In-Reply-To and
    References, newest first): the case of the first one known (merges followed)."""
    for ext in external_ids:
        row = store.con.execute("SELECT case_id FROM message_refs WHERE external_id = ? ORDER BY created_at DESC "
                                "LIMIT 1", [ext]).fetchone()
        if row:
            return _resolve_merged(store.con, row[0])
    return None


def history(store: Store, case_id: str) -> list[Event]:
    return _events(store.con, case_id)


_INBOX_ACTIVE = """SELECT case_id, person_id, subject, status, priority, assignee, team_id, channel, topic, language,
       waiting_since, opened_at, updated_at, version, priority_rank FROM desk_inbox"""
_INBOX_ALL = """SELECT c.case_id, c.person_id, c.subject, c.status::VARCHAR AS status,
       coalesce(c.priority::VARCHAR, 'normal') AS priority, c.assignee, d.team_id,
       coalesce(d.last_customer_channel, c.channel::VARCHAR) AS channel, c.topic, d.language, d.waiting_since,
       c.opened_at, d.updated_at, coalesce(d.version, 0) AS version,
       CASE coalesce(c.priority::VARCHAR, 'normal') WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1
            ELSE 0 END AS priority_rank
  FROM cases c LEFT JOIN desk_cases d USING (case_id)"""
_WAIT_KEY = f"coalesce(waiting_since, '{_INFINITY}'::TIMESTAMPTZ)"


def inbox(store: Store, *, status: str | Sequence[str] | None = None, team: str | None = None,
          assignee: str | None = None, channel: str | None = None, priority: str | None = None,
          q: str | None = None, limit: int = 50, cursor: str | None = None) -> list[InboxRow]:
    """Cases by priority (urgent first), then longest-waiting first (cases nobody waits on
    last), then id. ``status`` defaults to the active ones (new, open, pending), read from
    ``desk_inbox`` — a table the size of the open workload, so the inbox costs the same with
    1M cases in the history; other statuses read the whole history. ``assignee``:
    :data:`UNASSIGNED` for cases nobody has. ``q``: a case id, a person's identifier, or
    words of the subject. Keyset pagination: pass the last row's ``cursor`` for the next page."""
    statuses = [_choice(s, "status", tuple(TRANSITIONS))
                for s in ([status] if isinstance(status, str) else list(status or ACTIVE))]
    if not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise DeskError(f"limit must be 1 to 1000 (got {limit})")
    active = set(statuses) <= set(ACTIVE)
    where = ["status IN (" + ", ".join("?" for _ in statuses) + ")"]
    params: list[Any] = list(statuses)
    for col, value, allowed in (("team_id", team, None), ("channel", channel, CHANNELS),
                                ("priority", priority, PRIORITIES)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(_choice(value, col, allowed) if allowed else value)
    if assignee == UNASSIGNED:
        where.append("assignee IS NULL")
    elif assignee is not None:
        where.append("assignee = ?")
        params.append(assignee)
    if q and q.strip():
        needle = q.strip()
        who = persons.find(store, needle)
        where.append("(case_id = ? OR person_id = ? OR subject ILIKE ? ESCAPE '\\')")
        params += [needle, who or "", "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                   + "%"]
    if cursor:
        rank, wait, last_id = _decode_cursor(cursor)
        where.append(f"(priority_rank < ? OR (priority_rank = ? AND ({_WAIT_KEY} > ?::TIMESTAMPTZ "
                     f"OR ({_WAIT_KEY} = ?::TIMESTAMPTZ AND case_id > ?))))")
        params += [rank, rank, wait, wait, last_id]
    sql = (f"SELECT * FROM ({_INBOX_ACTIVE if active else _INBOX_ALL}) WHERE {' AND '.join(where)} "
           f"ORDER BY priority_rank DESC, {_WAIT_KEY}, case_id LIMIT {int(limit)}")
    out = []
    for r in store.con.execute(sql, params).fetchall():
        out.append(InboxRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
                            _encode_cursor(r[14], r[10], r[0])))
    return out


def _encode_cursor(rank: int, waiting: datetime | None, case_id: str) -> str:
    raw = json.dumps([rank, waiting.astimezone(timezone.utc).isoformat() if waiting else _INFINITY, case_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str, str]:
    try:
        rank, wait, case_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if wait != _INFINITY:
            datetime.fromisoformat(wait)
        if not isinstance(rank, int) or not isinstance(case_id, str):
            raise ValueError
    except (ValueError, TypeError) as e:
        raise DeskError(f"cursor {cursor[:40]!r} is not one this inbox gave: start from the first page") from e
    return rank, wait, case_id
