"""Ingest: touchpoints, orders and survey answers, one or up to 10,000 per request.

Every row is checked with the importer's rules at once; the answer lists the bad rows
(row number, field, reason) and the good ones are kept — bad rows go to quarantine, as
with ``parcours import``. Rows are safe on disk when the answer (202) leaves; the writer
stores them within a second. ``?wait=true`` answers (200) once they are stored, with what
became of them (duplicates of stored ids are counted, never written twice).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from parcours.auth import Principal
from parcours.ingest.live import INGEST_TABLES, MAX_BATCH, BatchError, Receipt
from parcours.schema import TABLES, Column
from parcours.store import Store
from parcours.web.deps import db, require

router = APIRouter(tags=["ingest"])

_JSON_TYPE = {"int": "integer", "float": "number", "money": "number", "bool": "boolean"}


def _column_schema(c: Column) -> dict[str, Any]:
    s: dict[str, Any] = {"description": c.doc}
    if c.type == "json":
        s["type"] = ["object", "string", "null"]
    else:
        s["type"] = [_JSON_TYPE.get(c.type, "string"), "null"]
    if c.type == "timestamp":
        s["format"] = "date-time"
    if c.values:
        s["enum"] = [*c.values, None]
    if c.min is not None:
        s["minimum"] = c.min
    if c.max is not None:
        s["maximum"] = c.max
    return s


def _body_schema(table: str) -> dict[str, Any]:
    t = TABLES[table]
    row = {"type": "object", "title": f"{table} row", "description": t.doc,
           "properties": {c.name: _column_schema(c) for c in t.columns},
           "required": [c.name for c in t.columns if c.required]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "oneOf": [row, {"type": "array", "items": row, "minItems": 1, "maxItems": MAX_BATCH}]}}}}}


def _answer(receipt: Receipt | None, waited: bool) -> JSONResponse:
    assert receipt is not None
    body = receipt.as_dict()
    body["status_url"] = f"/api/v1/ingest/batches/{receipt.batch_id}"
    return JSONResponse(body, status_code=200 if (waited and receipt.status == "stored") else 202)


def _endpoint(table: str) -> Any:
    async def ingest(request: Request, rows: Any = Body(...),
                     wait: bool = Query(False, description="answer once the rows are stored (up to 60 s)"),
                     who: Principal = Depends(require("ingest"))) -> Any:
        batch = rows if isinstance(rows, list) else [rows]
        writer = request.app.state.writer
        try:
            receipt = await writer.submit_async(table, batch, actor=who.label)
        except BatchError as e:
            raise HTTPException(422, str(e)) from e
        if wait:
            receipt = await run_in_threadpool(writer.wait, receipt.batch_id)
        return _answer(receipt, wait)

    ingest.__name__ = f"ingest_{table}"
    ingest.__doc__ = (f"Send {table}: one JSON object or an array of up to {MAX_BATCH:,}. Idempotent on "
                      f"{', '.join(TABLES[table].key)}. Bad rows are listed in `errors` and quarantined; "
                      "the others are stored.")
    return ingest


for _table in INGEST_TABLES:
    router.add_api_route(f"/{_table}", _endpoint(_table), methods=["POST"], status_code=202,
                         openapi_extra=_body_schema(_table),
                         responses={200: {"description": "stored (with ?wait=true)"},
                                    401: {"description": "no token"}, 403: {"description": "role may not ingest"},
                                    422: {"description": "not JSON, empty, or more than 10,000 rows"}})


@router.get("/quarantine")
def quarantine(import_id: str | None = Query(None, max_length=64),
               table: str | None = Query(None, max_length=64), limit: int = Query(100, ge=1, le=10_000),
               store: Store = Depends(db), who: Principal = Depends(require("ingest"))) -> Any:
    """Rows not stored yet (open quarantine entries): source, row, field, reason."""
    from dataclasses import asdict

    from parcours.ingest.quarantine import entries

    return [asdict(e) for e in entries(store, table=table, import_id=import_id, limit=limit)]


@router.get("/ingest/batches/{batch_id}")
def batch_status(batch_id: str, request: Request, who: Principal = Depends(require("ingest"))) -> Any:
    """What became of a batch: queued, or stored (with the rows quarantined)."""
    got = request.app.state.writer.status(batch_id)
    if got is None:
        raise HTTPException(404, f"no batch {batch_id}")
    return got.as_dict() if isinstance(got, Receipt) else got
