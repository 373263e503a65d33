"""Overview: NPS, CSAT, CES with their margins, and the channel-switching matrix."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from parcours.auth import Principal
from parcours.web.deps import page_user
from parcours.web.render import render

router = APIRouter()


@router.get("/")
def overview(request: Request, who: Principal = Depends(page_user("metrics"))) -> Any:
    request.state.user = who
    rep = request.app.state.figures.report()
    j = rep["journeys"]
    cells = {(a, b): {"n": n, "share": j["switch_share"][a][b]}
             for a, row in j["switch_matrix"].items() for b, n in row.items()}
    return render(request, "overview.html", rep=rep, cells=cells)
