"""The quarantine: rows an import could not accept, with file, row, field and reason.

Entries stay until a later import stores the same record (same natural key) or a
corrected export names them (its ``_quarantine_id`` column); they are then marked resolved.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parcours.store import Store


@dataclass(frozen=True)
class Entry:
    quarantine_id: str
    table: str
    source: str
    row: int | None
    field: str | None
    reason: str
    record_key: str | None
    resolved: bool


def entries(store: Store, *, table: str | None = None, include_resolved: bool = False,
            limit: int | None = None, import_id: str | None = None) -> list[Entry]:
    sql = ("SELECT quarantine_id, table_name, source, row_number, field, reason, record_key, "
           "resolved_at IS NOT NULL FROM quarantine WHERE (? IS NULL OR table_name = ?) "
           "AND (? IS NULL OR import_id = ?) "
           + ("" if include_resolved else "AND resolved_at IS NULL ")
           + "ORDER BY created_at, source, row_number, field" + (f" LIMIT {int(limit)}" if limit else ""))
    return [Entry(*r) for r in store.query(sql, [table, table, import_id, import_id])]


def summary(store: Store) -> list[tuple[str, str, int, int]]:
    """(table, source, open rows, resolved rows) per file."""
    return store.query("""SELECT table_name, source,
        count(DISTINCT row_number) FILTER (WHERE resolved_at IS NULL),
        count(DISTINCT row_number) FILTER (WHERE resolved_at IS NOT NULL)
        FROM quarantine GROUP BY ALL ORDER BY 1, 2""")


def export(store: Store, path: Path, *, table: str | None = None) -> int:
    """Write the open quarantined rows, one per record, for correction and re-import.

    The file keeps the original columns, plus ``_errors`` (what to fix) and
    ``_quarantine_id`` (lets the re-import mark the entries resolved). CSV or JSON lines,
    by the file's suffix. Returns the number of rows written.
    """
    tables = [t for (t,) in store.query(
        "SELECT DISTINCT table_name FROM quarantine WHERE resolved_at IS NULL AND (? IS NULL OR table_name = ?)",
        [table, table])]
    if len(tables) > 1:
        raise ValueError(f"open quarantine holds rows of {', '.join(sorted(tables))}: "
                         "export one table at a time with --table")
    rows = store.query("""SELECT string_agg(quarantine_id, ' ' ORDER BY field), any_value(raw)::VARCHAR,
        string_agg(coalesce(field, 'row') || ': ' || reason, '; ' ORDER BY field)
        FROM quarantine WHERE resolved_at IS NULL AND (? IS NULL OR table_name = ?)
        GROUP BY source_sha256, row_number ORDER BY min(created_at), min(row_number)""", [table, table])
    records = [_record(json.loads(raw) if raw else {}, qid, errs) for qid, raw, errs in rows]
    columns = list(dict.fromkeys(k for r in records for k in r if k not in ("_errors", "_quarantine_id", "_line")))
    for r in records:  # an unreadable line: spread its fields over the columns, best effort
        if "_line" in r:
            fields = next(csv.reader(io.StringIO(r.pop("_line"))), [])
            r.update({c: v for c, v in zip(columns, fields)})
    columns += ["_errors", "_quarantine_id"]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with path.open("w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps({c: r.get(c) for c in columns}, ensure_ascii=False) + "\n")
    else:
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=columns)
            w.writeheader()
            for r in records:
                w.writerow({c: _cell(r.get(c)) for c in columns})
    return len(records)


def _record(raw: dict[str, Any], qid: str, errors: str) -> dict[str, Any]:
    return {**raw, "_errors": errors, "_quarantine_id": qid}


def _cell(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return v
