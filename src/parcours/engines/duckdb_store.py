"""The embedded DuckDB store as Ibis tables."""

from __future__ import annotations

from typing import Any

from parcours.schema import TABLES


def tables(store: Any) -> dict[str, Any]:
    return {name: store.table(name) for name in TABLES}
