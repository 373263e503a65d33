"""Service: first response, resolution, FCR across channels vs the same channel, SLA
attainment, reopening, bot containment, by channel and by agent."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from parcours.auth import Principal
from parcours.web.deps import page_user
from parcours.web.i18n import CHANNEL_NAMES, STRINGS
from parcours.web.render import language, render
from parcours.web.views import charts
from parcours.web.views.filters import PageFilters, breakdown, page_filters, page_report

router = APIRouter()
AGENTS_SHOWN = 40


def agents(rep: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The agents with the most contacts first (contacts without an agent last)."""
    rows = [(a, r) for a, r in breakdown(rep, "agent").items() if a != "(none)"]
    rows.sort(key=lambda ar: -((ar[1].get("avoidable") or {}).get("n") or 0))
    return rows[:AGENTS_SHOWN]


@router.get("/service")
def service(request: Request, f: PageFilters = Depends(page_filters),
            who: Principal = Depends(page_user("metrics"))) -> Any:
    rep = page_report(request, f)
    lang = language(request)
    t, names = STRINGS[lang], CHANNEL_NAMES[lang]
    s = rep.get("service") or {}
    by_channel = [dict(r, label=names.get(r["channel"], r["channel"])) for r in s.get("fcr_by_channel", [])
                  if r.get("fcr") is not None]
    spec = charts.bars_ci(t["fcr_by_channel"], by_channel, cat="label", cat_title=t["channel"], value="fcr",
                          value_title="FCR %", low="fcr_low", high="fcr_high", sort="descending", domain=[0, 100])
    moments = sorted((rep["journeys"].get("moments") or {}).items(), key=lambda cm: -(cm[1].get("n") or 0))
    return render(request, "service.html", rep=rep, s=s, filters=f,
                  spec=spec, by_channel=s.get("fcr_by_channel", []), agents=agents(rep), moments=moments,
                  agents_shown=AGENTS_SHOWN)
