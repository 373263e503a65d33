"""Engines: where the metric expressions run. Nothing outside this package names one.

* ``duckdb`` — the embedded store (default);
* ``spark`` — a Parquet lake written by ``parcours export --parquet DIR``, read by Spark
  (local mode, or a cluster given by ``--spark-master``).

Each gives the canonical tables as Ibis tables, so :mod:`parcours.metrics` and
:mod:`parcours.report` never know which engine runs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ENGINES = ("duckdb", "spark")


def tables(engine: str, *, store: Any = None, lake: Path | None = None, master: str | None = None) -> dict[str, Any]:
    """The canonical tables (name → Ibis table) on ``engine``."""
    if engine == "duckdb":
        from parcours.engines import duckdb_store

        return duckdb_store.tables(store)
    if engine == "spark":
        from parcours.engines import spark

        if lake is None:
            raise ValueError("the Spark engine reads a Parquet lake: give --lake DIR "
                             "(write one with `parcours export --parquet DIR`)")
        return spark.tables(lake, master=master)
    raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
