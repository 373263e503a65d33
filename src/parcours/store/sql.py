"""Small helpers for running SQL on a DuckDB connection."""

from __future__ import annotations

from typing import Any

import duckdb


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None
