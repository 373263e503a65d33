"""Loyalty & value: cohort retention, retention and churn per quarter, customer value,
segments, loyalty × satisfaction."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from parcours.auth import Principal
from parcours.web.deps import page_user
from parcours.web.i18n import STRINGS
from parcours.web.render import language, render
from parcours.web.views import charts
from parcours.web.views.filters import PageFilters, page_filters, page_report

router = APIRouter()


def specs(loyalty: dict[str, Any], value: dict[str, Any], lang: str) -> dict[str, Any]:
    t = STRINGS[lang]
    deciles = [dict(r, group=t["decile_label"].format(k=r["decile"]))
               for r in (value.get("clv_52w") or {}).get("deciles", [])]
    cohorts = [dict(r, cohort=r["cohort"][:7]) for r in loyalty.get("cohorts", [])]
    quarters = [dict(r, quarter=r["period"][:7]) for r in loyalty.get("retention", [])]
    churn = [dict(r, quarter=r["period"][:7]) for r in loyalty.get("contractual_churn", [])]
    seg = loyalty.get("segments") or {}
    return {
        "cohorts": charts.heatmap(t["cohorts"], cohorts, x="age", x_title=t["age"], y="cohort",
                                  y_title=t["cohort"], value="retention", value_title=t["retention"] + " %",
                                  ordinal_x=True, scheme="greens"),
        "retention": charts.bars_ci(t["retention"], quarters, cat="quarter", cat_title=t["quarter"],
                                    value="retention", value_title=t["retention"] + " %", low="retention_low",
                                    high="retention_high", color=charts.GREEN, domain=[0, 100]),
        "churn": charts.bars_ci(t["churn_period"], churn, cat="quarter", cat_title=t["quarter"], value="churn",
                                value_title=t["churn"] + " %", low="churn_low", high="churn_high",
                                color=charts.RED),
        "clv_deciles": charts.bars_ci(t["clv_deciles"], deciles, cat="group", cat_title=t["customers"],
                                      value="share", value_title=t["clv_share"] + " %", color=charts.GREEN),
        "rfm": charts.bars_ci(t["rfm"], seg.get("rfm", []), cat="segment", cat_title=t["segment"],
                              value="share", value_title=t["share"] + " %", sort="descending"),
        "behaviour": charts.bars_ci(t["behaviour"], seg.get("behaviour", []), cat="segment",
                                    cat_title=t["segment"], value="share", value_title=t["share"] + " %",
                                    sort="descending"),
    }


@router.get("/loyalty")
def loyalty(request: Request, f: PageFilters = Depends(page_filters),
            who: Principal = Depends(page_user("metrics"))) -> Any:
    rep = page_report(request, f)
    loy, value = rep.get("loyalty") or {}, rep.get("value") or {}
    return render(request, "loyalty.html", rep=rep, loy=loy, value=value, filters=f,
                  specs=specs(loy, value, language(request)))
