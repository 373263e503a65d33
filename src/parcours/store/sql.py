"""Small helpers for running SQL on a DuckDB connection."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import duckdb


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = execute(con, sql, params).fetchone()
    return row[0] if row else None


def execute(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
            ) -> duckdb.DuckDBPyConnection:
    """``con.execute(sql, params)`` with the parameters written into the statement (see
    :func:`bind`); bound as usual when one has no literal form."""
    try:
        return con.execute(bind(sql, params))
    except _NoLiteral:
        return con.execute(sql, list(params or []))


#: a longer list is bound: parsed as a literal it costs ~3 µs an item (0.33 s for 100,000
#: numbers, against 0.09 s bound), more than the one-off import of pandas that binding brings
LONGEST_LIST = 1000


class _NoLiteral(TypeError):
    """A value with no literal form here (bound as a parameter instead)."""


def literal(v: Any) -> str:
    """``v`` written as a SQL literal of the type a bound parameter would have."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, float):  # a bare 0.1 would be read as a DECIMAL
        r = float.__repr__(v)
        return f"{r}::DOUBLE" if math.isfinite(v) else f"'{r}'::DOUBLE"
    if isinstance(v, str) and "\x00" not in v:  # the parser would stop at a NUL
        return "'" + v.replace("'", "''") + "'::VARCHAR"
    if isinstance(v, datetime):
        return f"'{v.isoformat()}'::{'TIMESTAMPTZ' if v.tzinfo else 'TIMESTAMP'}"
    if isinstance(v, date):
        return f"'{v.isoformat()}'::DATE"
    if isinstance(v, (list, tuple)) and 0 < len(v) <= LONGEST_LIST:
        return "[" + ", ".join(literal(x) for x in v) + "]"
    raise _NoLiteral(f"no SQL literal for {type(v).__name__} {v!r}")


_TOKENS = re.compile(r"'[^']*'|\"[^\"]*\"|--[^\n]*|\?|\$(\d+)")  # quoted text, comments: skipped whole


def bind(sql: str, params: Sequence[Any] | None) -> str:
    """``sql`` with each placeholder outside quotes and comments (``?``, or ``$1``, ``$2``…) replaced by its
    parameter written as a literal.

    Why not bind them: DuckDB's Python client imports pandas (0.2-0.4 s) at the first bound
    parameter of a process, which an import or a CLI command otherwise never needs.
    """
    if not params:
        return sql
    nth, used = iter(range(len(params) + 1)), set()

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token[0] in "'\"-":
            return token
        i = int(m.group(1)) - 1 if m.group(1) else next(nth)
        if not 0 <= i < len(params):
            raise ValueError(f"a placeholder beyond the {len(params)} parameters: {sql}")
        used.add(i)
        return literal(params[i])

    out = _TOKENS.sub(sub, sql)
    if len(used) != len(params):
        raise ValueError(f"{len(params)} parameters for {len(used)} placeholders: {sql}")
    return out


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
