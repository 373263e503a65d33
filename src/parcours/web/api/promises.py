"""Promises kept, as JSON: ``GET /promises`` (the report's promises section for the filters, and
the open promises past due now). Promises come in through ``POST /promises`` (the ingest API) or
``parcours import``; the desk's SLA clocks add theirs (parcours.act.promises)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from parcours.act import promises as act
from parcours.auth import Principal
from parcours.store import Store
from parcours.web.api.metrics import filters
from parcours.web.deps import db, require

router = APIRouter(tags=["metrics"])


@router.get("/promises")
def promises_kept(request: Request, f: dict[str, Any] = Depends(filters),
                  overdue_limit: int = Query(100, ge=0, le=10_000, description="open promises past due listed"),
                  store: Store = Depends(db), who: Principal = Depends(require("metrics"))) -> Any:
    """Share of due promises kept on time — overall, `by_kind`, `by_channel`, each with its n and
    Wilson 95 % interval (`kept_share_low`/`_high`), late, overdue, not due yet — judged at `as_of`
    (`to`, else the data end), and `overdue`: the open promises past due now, longest first
    (filtered by `channel` when given). docs/promises.md defines every figure."""
    rep = request.app.state.figures.report(**(f | {"by": ()}))
    now = datetime.now(timezone.utc)
    late = act.overdue(store, now, channel=f["channel"], limit=overdue_limit) if overdue_limit else []
    return {**(rep.get("promises") or {}), "computed_at": rep.get("computed_at"),
            "now": now.isoformat(timespec="seconds"), "overdue": late}
