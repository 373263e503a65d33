"""Figures out: every section of the report (the CLI's filters), any catalogue metric, and
CSV or Parquet export of any canonical table or metric."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse

from parcours.auth import Principal
from parcours.metrics import dimensions
from parcours.metrics.catalog import CATALOG
from parcours.metrics.dimensions import DIMENSIONS
from parcours.schema import CHANNELS, STAGES, TABLES
from parcours.store import Store
from parcours.web.deps import db, require
from parcours.web.figures import SECTIONS

router = APIRouter(tags=["metrics"])
Format = Literal["json", "csv", "parquet"]


def filters(start: date | None = Query(None, alias="from", description="first day (inclusive)"),
            end: date | None = Query(None, alias="to", description="last day (exclusive)"),
            by: list[str] = Query([], description=f"break down by: {', '.join(DIMENSIONS)}"),
            channel: str | None = Query(None, description=f"one of {', '.join(CHANNELS)}"),
            segment: str | None = Query(None, max_length=200, description="customer segment"),
            stage: str | None = Query(None, description=f"one of {', '.join(STAGES)}"),
            fresh: bool = Query(False, description="wait for figures of the data as it is now; otherwise the "
                                                   "last computed ones may be served while new ones are "
                                                   "computed (`computed_at` says when)")) -> dict[str, Any]:
    """The report's filters, as ``parcours report`` takes them."""
    bad = [d for d in by if d not in DIMENSIONS]
    if bad:
        raise HTTPException(422, f"by: unknown dimension {', '.join(bad)}; known: {', '.join(DIMENSIONS)}")
    if channel is not None and channel not in CHANNELS:
        raise HTTPException(422, f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    if stage is not None and stage not in STAGES:
        raise HTTPException(422, f"stage: {stage!r} is not one of {', '.join(STAGES)}")
    if start and end and end <= start:
        raise HTTPException(422, f"to ({end}) must be after from ({start})")
    try:
        dimensions.check_filters(segment=segment)
    except ValueError as e:
        raise HTTPException(422, str(e)) from e
    return {"start": start, "end": end, "by": tuple(by), "channel": channel, "segment": segment, "stage": stage,
            "fresh": fresh}


@router.get("/report")
def whole_report(request: Request, f: dict[str, Any] = Depends(filters),
                 who: Principal = Depends(require("metrics"))) -> Any:
    """The whole report: voice, journeys, service, loyalty, value (and breakdowns with ``by``)."""
    return request.app.state.figures.report(**f)


@router.get("/metrics")
def list_metrics(who: Principal = Depends(require("metrics"))) -> Any:
    """The report's sections and the catalogue's metrics (each exportable as CSV or Parquet)."""
    return {"sections": list(SECTIONS), "metrics": sorted(CATALOG), "tables": list(TABLES)}


@router.get("/metrics/{name}")
def metric(name: str, request: Request, background: BackgroundTasks, f: dict[str, Any] = Depends(filters),
           format: Format = Query("json"), store: Store = Depends(db),
           who: Principal = Depends(require("metrics"))) -> Any:
    """A report section (voice, journeys, service, loyalty, value) or a catalogue metric
    (rows; ``format=csv|parquet`` to download)."""
    if name in SECTIONS:
        if format != "json":
            raise HTTPException(422, f"{name} is a report section (nested figures): JSON only; export its "
                                     "catalogue metrics as CSV or Parquet instead")
        return request.app.state.figures.section(name, **f)
    if name not in CATALOG:
        raise HTTPException(404, f"no metric {name!r}; sections: {', '.join(SECTIONS)}; metrics: "
                                 f"{', '.join(sorted(CATALOG))}")
    from parcours.engines import duckdb_store
    from parcours.metrics.dimensions import restrict

    where = {k: f[k] for k in ("channel", "segment", "stage") if f[k]}
    t = restrict(duckdb_store.tables(store), **where)
    arrow = CATALOG[name](t).to_pyarrow()
    if format == "json":
        return {"metric": name, "filters": where, "rows": arrow.to_pylist()}
    return _download(arrow, name, format, background)


@router.get("/export/{table}")
def export_table(table: str, background: BackgroundTasks, format: Literal["csv", "parquet"] = Query("csv"),
                 store: Store = Depends(db), who: Principal = Depends(require("metrics"))) -> Any:
    """A canonical table, whole, as CSV or Parquet."""
    if table not in TABLES:
        raise HTTPException(404, f"no table {table!r}; tables: {', '.join(TABLES)}")
    arrow = store.con.execute(f"SELECT * EXCLUDE (import_id) FROM {table}").to_arrow_table()
    return _download(arrow, table, format, background)


def _download(arrow: Any, name: str, format: str, background: BackgroundTasks) -> FileResponse:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    tmp = Path(tempfile.mkdtemp(prefix="parcours-export-"))
    path = tmp / f"{name}.{format}"
    if format == "csv":
        pcsv.write_csv(arrow, path)
        media = "text/csv; charset=utf-8"
    else:
        pq.write_table(arrow, path)
        media = "application/vnd.apache.parquet"
    background.add_task(lambda: (path.unlink(missing_ok=True), tmp.rmdir()))
    return FileResponse(path, media_type=media, filename=path.name)
