"""Housekeeping: adopting cases imported from another tool, purging rows of erased cases."""

from __future__ import annotations

from parcours.desk.attachments import attachments_dir
from parcours.store import Store


# -- housekeeping -------------------------------------------------------------------------
def adopt_imported(store: Store) -> int:
    """Give the desk the cases imported from another tool (canonical rows without a desk
    row): version 1, and the active ones in the inbox. Returns how many. Idempotent."""
    with store.write_lock, store.transaction() as con:
        con.execute("""CREATE OR REPLACE TEMP TABLE _adopt AS
            SELECT c.* FROM cases c WHERE NOT EXISTS (SELECT 1 FROM desk_cases d WHERE d.case_id = c.case_id)""")
        n = con.execute("SELECT count(*) FROM _adopt").fetchone()
        con.execute("""INSERT INTO desk_cases (case_id, version, skills, waiting_since, last_customer_channel,
                                               updated_at, updated_by)
            SELECT case_id, 1, []::VARCHAR[], CASE WHEN status::VARCHAR IN ('new', 'open') THEN opened_at END,
                   channel::VARCHAR, now(), 'import' FROM _adopt""")
        con.execute("""INSERT INTO desk_inbox
            SELECT case_id, person_id, status::VARCHAR, coalesce(priority::VARCHAR, 'normal'),
                   CASE coalesce(priority::VARCHAR, 'normal') WHEN 'urgent' THEN 3 WHEN 'high' THEN 2
                        WHEN 'normal' THEN 1 ELSE 0 END,
                   NULL, assignee, channel::VARCHAR, subject, topic, NULL, []::VARCHAR[],
                   CASE WHEN status::VARCHAR IN ('new', 'open') THEN opened_at END, opened_at, now(), 1
            FROM _adopt WHERE status::VARCHAR IN ('new', 'open', 'pending')""")
        con.execute("DROP TABLE _adopt")
    store.touch()
    return int(n[0]) if n else 0


def purge_orphans(store: Store) -> dict[str, int]:
    """Delete the desk rows of cases that no longer exist (after ``persons.erase``, which
    deletes the canonical cases and messages): desk rows, inbox rows, events, message
    references, attachments and their files no other attachment shares."""
    counts: dict[str, int] = {}
    with store.write_lock, store.transaction() as con:
        missing = dict(con.execute("SELECT case_id, merged_into FROM desk_cases d WHERE NOT EXISTS "
                                   "(SELECT 1 FROM cases c WHERE c.case_id = d.case_id)").fetchall())
        gone = [cid for cid in missing if _final(cid, missing) in missing]  # the chain ends nowhere alive
        con.execute("CREATE OR REPLACE TEMP TABLE _gone AS SELECT unnest(?::VARCHAR[]) AS case_id", [gone])
        files = con.execute("""SELECT DISTINCT a.storage_path FROM attachments a
            WHERE a.storage_path IS NOT NULL AND a.message_id NOT IN (SELECT message_id FROM messages)""").fetchall()
        for table, where in (("attachments", "message_id NOT IN (SELECT message_id FROM messages)"),
                             ("message_refs", "message_id NOT IN (SELECT message_id FROM messages)"),
                             ("case_events", "case_id IN (SELECT case_id FROM _gone)"),
                             ("desk_inbox", "case_id IN (SELECT case_id FROM _gone)"),
                             ("desk_cases", "case_id IN (SELECT case_id FROM _gone)")):
            counts[table] = len(con.execute(f"DELETE FROM {table} WHERE {where} RETURNING 1").fetchall())
        still = {r[0] for r in con.execute("SELECT DISTINCT storage_path FROM attachments "
                                           "WHERE storage_path IS NOT NULL").fetchall()}
        con.execute("DROP TABLE _gone")
    removed = 0
    for (rel,) in files:
        if rel not in still:
            p = attachments_dir(store) / rel
            if p.exists():
                p.unlink()
                removed += 1
    counts["files"] = removed
    store.touch()
    return counts


def _final(case_id: str, merged_into: dict[str, str | None]) -> str:
    """Where a chain of merges ends (``case_id`` itself when not merged)."""
    seen = {case_id}
    while merged_into.get(case_id) and merged_into[case_id] not in seen:
        case_id = merged_into[case_id] or case_id
        seen.add(case_id)
    return case_id
