"""Customer 360: find a person by any identifier, with every identifier and one timeline.

The timeline merges touchpoints, cases, orders, survey answers and case messages, on
every channel, in time order: what an agent needs so that nobody asks twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from parcours.ingest.normalize import email_sql, phone_sql, social_sql
from parcours.store import Store


@dataclass
class Person:
    person_id: str
    attributes: dict[str, Any]
    identities: list[dict[str, Any]]
    timeline: list[dict[str, Any]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)


def candidates(store: Store, identifier: str, country: str = "FR") -> list[tuple[str, str]]:
    """The (kind, normalised value) pairs an identifier typed by a person may mean."""
    s = identifier.strip()
    out: list[tuple[str, str]] = []
    sql = []
    if "@" in s and not s.startswith("@"):
        sql.append(("email", email_sql("$1")))
    if re.fullmatch(r"[+0-9 ().\-/]{6,}", s):
        sql.append(("phone", phone_sql("$1", country)))
    sql.append(("social", social_sql("$1")))
    for kind, expr in sql:
        v = store.query(f"SELECT {expr}", [s])[0][0]
        if v:
            out.append((kind, v))
    out.append(("app", s))
    return out


def find(store: Store, identifier: str, country: str = "FR") -> str | None:
    """The person id an identifier (person id, e-mail, phone, handle, app id) belongs to."""
    s = identifier.strip()
    if store.query("SELECT 1 FROM persons WHERE person_id = ?", [s]):
        return s
    kept = store.query("SELECT kept_person_id FROM merges WHERE merged_person_id = ? ORDER BY ts DESC LIMIT 1", [s])
    if kept:
        return find(store, kept[0][0], country)
    for kind, value in candidates(store, s, country):
        r = store.query("SELECT person_id FROM identities WHERE kind = ? AND value = ?", [kind, value])
        if r:
            return r[0][0]
    return None


_TIMELINE = """
SELECT ts, 'touchpoint' AS what, channel, kind AS detail, coalesce(topic, '') AS topic,
       coalesce(outcome, '') AS outcome, case_id, event_id AS id, text
  FROM touchpoints WHERE person_id = $1
UNION ALL
SELECT opened_at, 'case', channel, status, coalesce(topic, ''), coalesce(priority, ''), case_id, case_id, subject
  FROM cases WHERE person_id = $1
UNION ALL
SELECT ts, 'order', channel, amount::VARCHAR || ' ' || currency, '', '', NULL, order_id, NULL
  FROM orders WHERE person_id = $1
UNION ALL
SELECT ts, 'answer', channel, metric || ' ' || coalesce(score::INT::VARCHAR, 'skipped'), '', '', case_id,
       response_id, comment
  FROM responses WHERE person_id = $1
UNION ALL
SELECT m.ts, 'message', m.channel, m.author, '', '', m.case_id, m.message_id, m.body
  FROM messages m JOIN cases c ON c.case_id = m.case_id WHERE c.person_id = $1
ORDER BY 1, 2
"""


def show(store: Store, identifier: str, *, country: str = "FR", limit: int | None = 500) -> Person | None:
    pid = find(store, identifier, country)
    if pid is None:
        return None
    cols = [d[0] for d in store.con.execute("SELECT * FROM persons LIMIT 0").description]
    row = store.query("SELECT * FROM persons WHERE person_id = ?", [pid])[0]
    attrs = {k: v for k, v in zip(cols, row) if k not in ("person_id",) and v is not None}
    ids = [dict(zip(("kind", "value", "first_seen", "source"), r)) for r in store.query(
        "SELECT kind, value, first_seen, source FROM identities WHERE person_id = ? ORDER BY kind, value", [pid])]
    sql = _TIMELINE + (f" LIMIT {int(limit)}" if limit else "")
    keys = ("ts", "what", "channel", "detail", "topic", "outcome", "case_id", "id", "text")
    timeline = [dict(zip(keys, r)) for r in store.con.execute(sql, [pid]).fetchall()]
    merges = [dict(zip(("ts", "merged_person_id", "evidence"), r)) for r in store.query(
        "SELECT ts, merged_person_id, evidence FROM merges WHERE kept_person_id = ? ORDER BY ts", [pid])]
    return Person(pid, attrs, ids, timeline, merges)
