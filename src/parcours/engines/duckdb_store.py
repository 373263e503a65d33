"""The embedded DuckDB store as Ibis tables."""

from __future__ import annotations

from typing import Any

from ibis.backends.sql.compilers.duckdb import DuckDBCompiler

from parcours.schema import TABLES


class StoreCompiler(DuckDBCompiler):
    """Ibis' DuckDB compiler, with the epoch of a zoned time taken directly.

    Ibis compiles ``ts.epoch_seconds()`` as ``epoch(CAST(ts AS TIMESTAMP))``: for a zoned time
    the cast is a time-zone conversion (ICU), five times the cost of the epoch itself (0.1 s
    per million rows; the report takes it on millions). ``epoch(ts)`` is the instant's own
    epoch, the same number in the store's UTC session."""

    def visit_ExtractEpochSeconds(self, op: Any, *, arg: Any) -> Any:
        if op.arg.dtype.is_timestamp() and op.arg.dtype.timezone is not None:
            return self.f.epoch(arg)
        return super().visit_ExtractEpochSeconds(op, arg=arg)


def tables(store: Any) -> dict[str, Any]:
    return {name: store.table(name) for name in TABLES}
