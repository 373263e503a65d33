"""Customer 360: find a person by any identifier, with every identifier and one timeline.

The timeline merges touchpoints, cases, orders, survey answers and case messages, on
every channel, in time order: what an agent needs so that nobody asks twice.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import duckdb

from parcours.ingest.identity import record_key_sql, resync_person_copies
from parcours.ingest.normalize import email_sql, phone_sql, social_sql
from parcours.ingest.validate import lit
from parcours.schema import TABLES
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


def typed(store: Store, identifier: str, country: str = "FR") -> dict[str, str | None]:
    """An e-mail address or a phone number typed by an agent, as identifiers (``{"email": …}``
    or ``{"phone": …}``, normalised); raises :class:`PersonError` saying what to type."""
    found = dict((k, v) for k, v in candidates(store, identifier or "", country) if k in ("email", "phone"))
    if not found:
        raise PersonError(f"{identifier!r} is neither an e-mail address nor a phone number: type one of them")
    kind = "email" if "email" in found else "phone"
    out: dict[str, str | None] = {kind: found[kind]}
    return out


def find(store: Store, identifier: str, country: str = "FR") -> str | None:
    """The person id an identifier (person id, e-mail, phone, handle, app id) belongs to."""
    s = identifier.strip()
    current = _current_person(store.con, s)  # a person id, or one merged into another
    if current is not None:
        return current
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
    """The person an identifier names, with the ``limit`` first events of their timeline
    (0: none, None: all)."""
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
    timeline = [] if limit == 0 else [dict(zip(keys, r)) for r in store.con.execute(sql, [pid]).fetchall()]
    merges = [dict(zip(("ts", "merged_person_id", "evidence"), r)) for r in store.query(
        "SELECT ts, merged_person_id, evidence FROM merges WHERE kept_person_id = ? ORDER BY ts", [pid])]
    return Person(pid, attrs, ids, timeline, merges)


# -- merge, unmerge, erase (each audited) -------------------------------------------------
class PersonError(ValueError):
    """A merge, unmerge or erasure that cannot be done (the message says why)."""


def merge(store: Store, keep: str, other: str, *, actor: str, reason: str = "") -> str:
    """Merge person ``other`` into ``keep`` (both given by any identifier); returns the merge id.

    Every row of ``other`` moves to ``keep``; the rows moved and ``other``'s record are kept
    with the merge, so :func:`unmerge` can undo it."""
    from parcours.auth import audit
    from parcours.ingest.identity import move_rows

    a, b = find(store, keep), find(store, other)
    for given, pid in ((keep, a), (other, b)):
        if pid is None:
            raise PersonError(f"no person known by {given!r}")
    if a == b:
        raise PersonError(f"{keep!r} and {other!r} are already the same person ({a})")
    merge_id = uuid.uuid4().hex[:16]
    with store.write_lock, store.transaction() as con:
        con.execute("""INSERT INTO merges (merge_id, ts, kept_person_id, merged_person_id, evidence, import_id, reason,
                                           record)
                       SELECT ?, now(), ?, ?, ?, NULL, ?, to_json(p) FROM persons p WHERE p.person_id = ?""",
                    [merge_id, a, b, f"merged by {actor}", reason or "merged by hand", b])
        con.execute("CREATE OR REPLACE TEMP TABLE _manual_merge AS SELECT ?::VARCHAR AS merged, ?::VARCHAR AS kept",
                    [b, a])
        move_rows(con, "_manual_merge", lit(merge_id))
        con.execute("DROP TABLE _manual_merge")
    store.touch()
    audit(store, actor, "person.merge", a, {"merge_id": merge_id, "merged_person_id": b, "reason": reason})
    return merge_id


def unmerge(store: Store, merged_person_id: str, *, actor: str, reason: str = "") -> str:
    """Undo the latest merge of ``merged_person_id``: its record and its rows come back."""
    from parcours.auth import audit

    found = store.query("SELECT merge_id, kept_person_id, record FROM merges WHERE merged_person_id = ? "
                        "ORDER BY ts DESC LIMIT 1", [merged_person_id])
    if not found:
        raise PersonError(f"{merged_person_id!r} was not merged into anyone")
    merge_id, kept, record = found[0]
    if record is None:
        raise PersonError(f"the merge of {merged_person_id} into {kept} predates reversible merges (store "
                          "version 3); it cannot be undone automatically")
    with store.write_lock, store.transaction() as con:
        cols = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'persons' "
                                          "ORDER BY column_index").fetchall()]
        _restore_person(con, record, cols)
        for name in TABLES:
            if name != "persons" and "person_id" in TABLES[name].column_names:
                key = record_key_sql(name, name)
                con.execute(f"UPDATE {name} SET person_id = ? WHERE {key} IN "
                            f"(SELECT record_key FROM merge_rows WHERE merge_id = ? AND table_name = ?)",
                            [merged_person_id, merge_id, name])
        con.execute("DELETE FROM merge_rows WHERE merge_id = ?", [merge_id])
        con.execute("DELETE FROM merges WHERE merge_id = ?", [merge_id])
        resync_person_copies(con)
    store.touch()
    audit(store, actor, "person.unmerge", merged_person_id, {"merge_id": merge_id, "kept_person_id": kept,
                                                             "reason": reason})
    return merge_id


def _restore_person(con: Any, record: str, cols: list[str]) -> None:
    import json

    values = json.loads(record)
    con.execute(f"INSERT INTO persons ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                [values.get(c) for c in cols])


def erase(store: Store, identifier: str, *, actor: str) -> dict[str, int]:
    """Right to erasure (GDPR art. 17): delete the person and everything that names them —
    rows of every table, identifiers, merges, quarantined rows that carry their identifiers,
    webhook payloads, web chat conversations — then checkpoint so the deleted values leave
    the file. The audit log keeps only a hash of the person id and the counts."""
    import hashlib

    from parcours.auth import audit

    pid = find(store, identifier)
    if pid is None:
        raise PersonError(f"no person known by {identifier!r}")
    from parcours.desk.cases import purge_orphans  # the desk builds on persons

    with store.write_lock:
        with store.transaction() as con:
            counts = _erase_rows(con, pid)
        # the desk's own rows of the erased cases: events, inbox, message references, attachments
        counts |= {f"desk.{k}": n for k, n in purge_orphans(store).items()}
        # the deleted values leave the file at the next checkpoint: ask for it now (if a
        # reader is busy, DuckDB's automatic checkpoint does it later)
        try:
            store.con.execute("CHECKPOINT")
        except duckdb.Error:
            pass
    store.touch()
    digest = hashlib.sha256(pid.encode()).hexdigest()[:16]
    audit(store, actor, "person.erase", f"sha256:{digest}", {"rows": counts})
    return counts


def names(store: Store, identifier: str) -> set[str]:
    """Everything that names the person ``identifier`` finds: their id, the ids merged into
    them, every identifier value (what erasure searches for outside the person's own rows,
    and what a process holding them in memory must forget)."""
    pid = find(store, identifier)
    return set(_names(store.con, pid)) if pid else set()


def _names(con: Any, pid: str) -> list[str]:
    merged = [r[0] for r in con.execute("SELECT merged_person_id FROM merges WHERE kept_person_id = ?",
                                        [pid]).fetchall()]
    values = [v for (v,) in con.execute("SELECT value FROM identities WHERE person_id = ?", [pid]).fetchall()]
    return [pid, *merged, *values]


def _erase_rows(con: Any, pid: str) -> dict[str, int]:
    needles = _names(con, pid)
    counts: dict[str, int] = {}

    def delete(table: str, where: str, params: list[Any]) -> None:
        n = con.execute(f"DELETE FROM {table} WHERE {where} RETURNING 1", params).fetchall()
        counts[table] = counts.get(table, 0) + len(n)

    delete("messages", "case_id IN (SELECT case_id FROM cases WHERE person_id = ?)", [pid])
    for name in ("verbatim_analysis", "voice_loops"):  # what was read in their answers
        delete(name, "response_id IN (SELECT response_id FROM responses WHERE person_id = ?)", [pid])
    for name in ("survey_invitations", "survey_quiet"):
        delete(name, "person_id = ?", [pid])
    for name in ("touchpoints", "cases", "orders", "responses", "identities", "persons"):
        delete(name, "person_id = ?", [pid])
    delete("merge_rows", "merge_id IN (SELECT merge_id FROM merges WHERE kept_person_id = ? "
           "OR merged_person_id = ?)", [pid, pid])
    delete("merges", "kept_person_id = ? OR merged_person_id = ?", [pid, pid])
    # rows kept aside that name them: quarantined rows, webhook payloads, chat conversations
    delete("quarantine", " OR ".join("contains(raw::VARCHAR, ?)" for _ in needles), needles)
    delete("webhook_deliveries", " OR ".join("contains(payload::VARCHAR, ?)" for _ in needles), needles)
    delete("chat_sessions", " OR ".join("contains(state::VARCHAR, ?)" for _ in needles), needles)
    return counts


# -- one contact arriving live (the service desk) ------------------------------------------
@dataclass(frozen=True)
class Ensured:
    """The person a live contact's identifiers name: created or not, and merges it caused."""

    person_id: str
    created: bool
    identities_added: int
    merged: tuple[str, ...] = ()


def ensure(con: duckdb.DuckDBPyConnection, identifiers: dict[str, str | None], *, ts: Any, source: str,
           country: str = "FR") -> Ensured:
    """The person these identifiers (``email``, ``phone``, ``social``, ``app_id``, and/or a
    ``person_id``) name, created with its identities when none is known: a prospect with no
    order is a person like any other.

    The rules are the importer's (docs/identity.md), applied to one row: identifiers seen
    together belong to one person, so identifiers known under two persons merge them (kept:
    the oldest; audited in ``merges``). The common case — every identifier already known,
    under one person — is one read. Runs on ``con`` inside the caller's transaction, which
    holds the store's write lock. Raises :class:`PersonError` naming a value that cannot be
    normalised, or a ``person_id`` nobody has."""
    from parcours.ingest import identity
    from parcours.ingest.normalize import identifier_sql
    from parcours.schema import IDENTIFIER_COLUMNS

    given = {k: v.strip() for k, v in identifiers.items() if v is not None and v.strip()}
    unknown = sorted(set(given) - {"person_id", *IDENTIFIER_COLUMNS})
    if unknown:
        raise PersonError(f"unknown identifier kind(s) {', '.join(unknown)}; "
                          f"known: person_id, {', '.join(IDENTIFIER_COLUMNS)}")
    cols = [c for c in IDENTIFIER_COLUMNS if c in given]
    if not cols and "person_id" not in given:
        raise PersonError(f"no identifier given: name the person by {', '.join(IDENTIFIER_COLUMNS)} or person_id")
    normal: dict[str, str] = {}
    if cols:
        row = con.execute("SELECT " + ", ".join(identifier_sql(c, f"${i + 1}", country) for i, c in enumerate(cols)),
                          [given[c] for c in cols]).fetchone()
        assert row is not None
        for c, v in zip(cols, row):
            if v is None:
                raise PersonError(f"{c} {given[c]!r} is not a valid {c.replace('_id', ' id')}")
            normal[c] = v
    pid = None
    if "person_id" in given:
        pid = _current_person(con, given["person_id"])
        if pid is None:
            raise PersonError(f"no person {given['person_id']!r}")
    nodes = [(IDENTIFIER_COLUMNS[c], v) for c, v in normal.items()]
    owners = [r[0] for r in con.execute(
        "SELECT person_id FROM identities WHERE " + " OR ".join("(kind = ? AND value = ?)" for _ in nodes),
        [x for n in nodes for x in n]).fetchall()] if nodes else []
    everyone = set(owners) | ({pid} if pid else set())
    if len(everyone) == 1 and len(owners) == len(nodes):  # (kind, value) is the key of identities
        return Ensured(everyone.pop(), False, 0)
    # anything else (a new person, a new identifier, two persons to merge): the importer's resolution
    import_id = f"desk-{uuid.uuid4().hex[:12]}"
    con.execute("CREATE OR REPLACE TEMP TABLE _desk_rows (_node VARCHAR, person_id VARCHAR, email VARCHAR, "
                "phone VARCHAR, social VARCHAR, app_id VARCHAR, ts TIMESTAMPTZ)")
    con.execute("INSERT INTO _desk_rows VALUES (?, ?, ?, ?, ?, ?, ?)",
                [f"p:{pid}" if pid else f"{nodes[0][0]}:{nodes[0][1]}", pid,
                 *(normal.get(c) for c in IDENTIFIER_COLUMNS), ts])
    try:
        res = identity.resolve(con, "_desk_rows", import_id=import_id, ts_col="ts")
        created = identity.create_new_persons(con, import_id=import_id)
        identity.apply(con, import_id=import_id, source=source)
        found = con.execute("SELECT w.person_id FROM _who w JOIN _desk_rows r USING (_node)").fetchone()
        merged = tuple(sorted(r[0] for r in con.execute("SELECT merged FROM _merge_map WHERE known").fetchall()))
    finally:
        for name in _RESOLUTION_SCRATCH:
            con.execute(f"DROP TABLE IF EXISTS {name}")
    assert found is not None
    return Ensured(found[0], created > 0, res.identities_added, merged)


#: temporary tables of one live resolution (``identity.resolve`` drops the others itself)
_RESOLUTION_SCRATCH = ("_desk_rows", "_bnodes", "_merged_away", "_comp", "_persons_in", "_kept", "_comp_person",
                       "_who", "_merge_map", "_new_identities")


def _current_person(con: duckdb.DuckDBPyConnection, person_id: str) -> str | None:
    """``person_id``, or the person it was merged into; None if nobody has it."""
    seen = set()
    while person_id not in seen:
        seen.add(person_id)
        if con.execute("SELECT 1 FROM persons WHERE person_id = ?", [person_id]).fetchone():
            return person_id
        kept = con.execute("SELECT kept_person_id FROM merges WHERE merged_person_id = ? ORDER BY ts DESC LIMIT 1",
                           [person_id]).fetchone()
        if kept is None:
            return None
        person_id = kept[0]
    return None
