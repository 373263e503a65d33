"""Small helpers for running SQL on a DuckDB connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table: Any) -> Iterator[duckdb.DuckDBPyConnection]:
    """``table`` (an Arrow table) readable as ``name`` by ``con``'s statements inside the block:
    how a batch built in Python reaches SQL in one statement."""
    con.register(name, table)
    try:
        yield con
    finally:
        con.unregister(name)


def period(start: Any, end: Any, col: str) -> tuple[str, list[Any]]:
    """A WHERE clause keeping ``col`` in [start, end) (either end open when None), and its parameters."""
    where, args = [], []
    if start is not None:
        where.append(f"{col} >= ?")
        args.append(start)
    if end is not None:
        where.append(f"{col} < ?")
        args.append(end)
    return (" AND ".join(where) or "TRUE"), args
