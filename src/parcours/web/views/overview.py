"""Overview: NPS, CSAT, CES with their margins and monthly trends, service reactivity, churn."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from parcours.auth import Principal
from parcours.web.deps import page_user
from parcours.web.i18n import STRINGS
from parcours.web.render import language, render
from parcours.web.views import charts
from parcours.web.views.filters import PageFilters, breakdown, page_filters, page_report

router = APIRouter()

#: (report key, score field) of each survey's monthly figures
SCORES = (("nps", "score"), ("csat", "score"), ("ces", "share_easy"))


def monthly(rep: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per survey, its months as chart rows (month, score, n, small_n, and the 95 % interval
    low–high: NPS ± its margin of error, CSAT and CES their Wilson intervals)."""
    out: dict[str, list[dict[str, Any]]] = {key: [] for key, _ in SCORES}
    for month, figures in breakdown(rep, "period").items():
        for key, field in SCORES:
            s = figures.get(key)
            if s and s.get("n") and s.get(field) is not None:
                moe = s.get("moe95")
                low, high = (s[field] - moe, s[field] + moe) if moe is not None else (s.get("low"), s.get("high"))
                out[key].append({"month": f"{month}-01", "label": month, "score": s[field], "n": s["n"],
                                 "small_n": s.get("small_n", False), "moe95": moe, "low": low, "high": high})
    return out


def last_complete(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last period marked complete (the report flags periods the data does not cover)."""
    done = [r for r in rows or [] if r.get("complete")]
    return done[-1] if done else None


def trend_specs(rep: dict[str, Any], lang: str) -> dict[str, Any]:
    """The monthly score charts (and their tables' rows) of the overview and the voice page."""
    t = STRINGS[lang]
    months = monthly(rep)
    counts: dict[str, dict[str, int]] = {}
    for key, rows in months.items():
        for r in rows:
            counts.setdefault(r["label"], {})[key] = r["n"]
    specs = {
        "nps": charts.trend(t["nps_trend"], months["nps"], y_title="NPS", month_title=t["month"]),
        "csat": charts.trend(t["csat_trend"], months["csat"], y_title="CSAT %", month_title=t["month"],
                             color=charts.GREEN),
        "ces": charts.trend(t["ces_trend"], months["ces"], y_title="CES %", month_title=t["month"],
                            color="#8a6100"),
        "counts": charts.stacked_counts(t["counts_trend"], [
            {"month": r["month"], "series": key.upper(), "n": r["n"]} for key, rows in months.items() for r in rows],
            month_title=t["month"], n_title=t["answers"], series_title=t["metric"]),
    }
    return {"months": months, "specs": specs, "counts": sorted(counts.items())}


@router.get("/")
def overview(request: Request, f: PageFilters = Depends(page_filters),
             who: Principal = Depends(page_user("metrics"))) -> Any:
    rep = page_report(request, f)
    loyalty = rep.get("loyalty") or {}
    return render(request, "overview.html", rep=rep, filters=f,
                  **trend_specs(rep, language(request)), churn=last_complete(loyalty.get("contractual_churn", [])),
                  retention=last_complete(loyalty.get("retention", [])))
