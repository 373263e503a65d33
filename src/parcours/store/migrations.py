"""Versioned schema migrations of the embedded store.

Each migration runs once, inside a transaction, and is recorded in
``schema_migrations``. Append new ones at the end; never edit a released one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from parcours.schema import TABLES
from parcours.store.sql import scalar

#: Columns every canonical table gets on top of the contract: the import that wrote the row.
SYSTEM_COLUMNS = (("import_id", "VARCHAR"),)


def canonical_ddl(name: str) -> str:
    t = TABLES[name]
    cols = [f"{c.name} {c.sql}{' NOT NULL' if c.required else ''}" for c in t.columns]
    cols += [f"{n} {typ}" for n, typ in SYSTEM_COLUMNS]
    # No PRIMARY KEY: uniqueness of natural keys is enforced by the importer with
    # set-based anti-joins, which is much cheaper than an ART index on 10M strings.
    return f"CREATE TABLE {name} (\n  " + ",\n  ".join(cols) + "\n)"


def _v1(con: duckdb.DuckDBPyConnection) -> None:
    for name in TABLES:
        con.execute(canonical_ddl(name))
    con.execute("""
        CREATE TABLE imports (
          import_id VARCHAR NOT NULL, source VARCHAR NOT NULL, sha256 VARCHAR, table_name VARCHAR,
          started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, rows_read BIGINT, accepted BIGINT,
          updated BIGINT, duplicates BIGINT, quarantined BIGINT, naive_timestamps BIGINT,
          timezone VARCHAR, persons_created BIGINT, persons_merged BIGINT
        )""")
    con.execute("""
        CREATE TABLE quarantine (
          quarantine_id VARCHAR NOT NULL, import_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
          source VARCHAR NOT NULL, source_sha256 VARCHAR, row_number BIGINT, field VARCHAR,
          reason VARCHAR NOT NULL, record_key VARCHAR, raw JSON, created_at TIMESTAMPTZ,
          resolved_at TIMESTAMPTZ, resolved_by VARCHAR
        )""")
    con.execute("""
        CREATE TABLE merges (
          merge_id VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL, kept_person_id VARCHAR NOT NULL,
          merged_person_id VARCHAR NOT NULL, evidence VARCHAR, import_id VARCHAR, reason VARCHAR
        )""")


def _v2(con: duckdb.DuckDBPyConnection) -> None:
    for name, t in TABLES.items():
        for c in t.columns:
            if c.type == "enum":
                con.execute(f"ALTER TABLE {name} ALTER COLUMN {c.name} SET DATA TYPE {c.storage}")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "canonical tables, imports journal, quarantine, merge audit", _v1),
    Migration(2, "enum columns stored as DuckDB ENUM types", _v2),
)


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations; returns the versions applied."""
    con.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER NOT NULL, description VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())""")
    done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for m in MIGRATIONS:
        if m.version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            m.apply(con)
            con.execute("INSERT INTO schema_migrations (version, description) VALUES (?, ?)",
                        [m.version, m.description])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        applied.append(m.version)
    return applied


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest migration applied; 0 for a DuckDB file that is not a Parcours store."""
    if not scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations'"):
        return 0
    return scalar(con, "SELECT coalesce(max(version), 0) FROM schema_migrations")
