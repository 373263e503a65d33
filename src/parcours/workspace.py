"""Parcours in a notebook: the tables of a store (or of a lake on Spark) and every metric as a
pandas DataFrame.

    import parcours
    ws = parcours.connect("parcours.duckdb")          # or connect(engine="spark", lake="lake/")
    ws.metric("preceded_by_other_channel")            # any name of ws.metrics()
    ws.nps(by=["channel"])                             # the voice metrics, sliced
    ws.frame(parcours.metrics.journeys.paths(ws.episodes(), top=20))   # any Ibis expression
    ws.report(start=date(2025, 7, 1), end=date(2025, 10, 1))          # the report's dict
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from parcours import report as _report
from parcours.engines import tables as _tables
from parcours.metrics import journeys, voc
from parcours.metrics.catalog import CATALOG
from parcours.metrics.dimensions import add_dimension


class Workspace:
    """Canonical tables on one engine, with the metrics as DataFrames."""

    def __init__(self, db: str | Path | None = None, *, engine: str = "duckdb", lake: str | Path | None = None,
                 master: str | None = None) -> None:
        self.engine = engine
        self._store = None
        if engine == "duckdb":
            from parcours.store import Store

            self._store = Store(db, read_only=True)
            self.tables = _tables("duckdb", store=self._store)
        else:
            self.tables = _tables(engine, lake=Path(lake) if lake else None, master=master)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- any expression, any metric ----------------------------------------------------
    @staticmethod
    def frame(expr: Any) -> Any:
        """Execute an Ibis expression; a pandas DataFrame."""
        return expr.to_pandas()

    @staticmethod
    def metrics() -> list[str]:
        """Names of the catalogue's metrics (docs/metrics.md defines them)."""
        return sorted(CATALOG)

    def metric(self, name: str) -> Any:
        """One metric of the catalogue, with its default options, as a DataFrame."""
        if name not in CATALOG:
            raise KeyError(f"unknown metric {name!r}; known: {', '.join(self.metrics())}")
        return CATALOG[name](self.tables).to_pandas()

    def table(self, name: str) -> Any:
        """A canonical table as an Ibis table (to filter, join or slice before a metric)."""
        return self.tables[name]

    # -- the most used, sliceable ------------------------------------------------------
    def _answers(self, by: list[str] | None) -> Any:
        r = self.tables["responses"]
        for dim in by or []:
            r = add_dimension(r, dim, self.tables["persons"])
        return r

    def nps(self, by: list[str] | None = None) -> Any:
        return voc.nps(self._answers(by), by=by).to_pandas()

    def csat(self, by: list[str] | None = None) -> Any:
        return voc.csat(self._answers(by), by=by).to_pandas()

    def ces(self, by: list[str] | None = None) -> Any:
        return voc.ces(self._answers(by), by=by).to_pandas()

    def episodes(self) -> Any:
        """The service contacts with their episode (an Ibis table: feed it to journey metrics)."""
        return journeys.episodes(journeys.contacts(self.tables["touchpoints"]))

    def report(self, start: date | None = None, end: date | None = None, by: list[str] | None = None) -> dict[str, Any]:
        return _report.build_tables(self.tables, start=start, end=end, by=by)


def connect(db: str | Path | None = None, *, engine: str = "duckdb", lake: str | Path | None = None,
            master: str | None = None) -> Workspace:
    """Open a store read-only (default: ``$PARCOURS_DB`` or ./parcours.duckdb), or a lake on Spark."""
    return Workspace(db, engine=engine, lake=lake, master=master)
