"""Journeys: channel switching (heat map), the most frequent paths (Sankey), avoidable
contacts, give-up, continuing after a call, peak–end, the funnel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from parcours.auth import Principal
from parcours.web.deps import page_user
from parcours.web.i18n import CHANNEL_NAMES, STRINGS
from parcours.web.render import language, render
from parcours.web.views import charts
from parcours.web.views.filters import PageFilters, page_filters, page_report

router = APIRouter()
PATH_SEPARATOR = " > "


def sankey(top_paths: list[dict[str, Any]], names: dict[str, str], end: str) -> dict[str, Any]:
    """ECharts Sankey nodes and links of the top paths: node "2 · phone" is the second contact
    of an episode on the phone, so the graph has no cycle; every path flows into ``end``."""
    links: dict[tuple[str, str], int] = {}
    for p in top_paths:
        steps = [f"{i} · {names.get(c, c)}" for i, c in enumerate(p["path"].split(PATH_SEPARATOR), 1)] + [end]
        for a, b in zip(steps, steps[1:]):
            links[(a, b)] = links.get((a, b), 0) + p["n"]
    nodes = sorted({n for pair in links for n in pair}, key=lambda n: (n == end, n))
    return {"nodes": [{"name": n} for n in nodes],
            "links": [{"source": a, "target": b, "value": v} for (a, b), v in links.items()]}


def specs(rep: dict[str, Any], lang: str) -> dict[str, Any]:
    t, names = STRINGS[lang], CHANNEL_NAMES[lang]
    j = rep["journeys"]
    order = [names.get(c, c) for c in j.get("channels", [])]
    cells = [{"from": names.get(a, a), "to": names.get(b, b), "share": share, "n": j["switch_matrix"][a][b]}
             for a, row in j.get("switch_share", {}).items() for b, share in row.items()]
    funnel = [dict(r, label=t.get(f"stage_{r['stage']}", r["stage"])) for r in j.get("funnel", [])]
    return {
        "heatmap": charts.heatmap(t["heatmap"], cells, x="to", x_title=t["next_channel"], y="from",
                                  y_title=t["channel_from"], value="share", value_title=t["share_of_row"] + " %",
                                  x_sort=order, y_sort=order),
        "funnel": charts.bars_ci(t["funnel"], funnel, cat="label", cat_title=t["stage"], value="conversion",
                                 value_title=t["conversion"] + " %", low="conversion_low", high="conversion_high",
                                 sort=None, domain=[0, 100]),
        "sankey": sankey(j.get("top_paths", []), names, t["end_episode"]),
    }


@router.get("/journeys")
def journeys(request: Request, f: PageFilters = Depends(page_filters),
             who: Principal = Depends(page_user("metrics"))) -> Any:
    rep = page_report(request, f)
    j = rep["journeys"]
    cells = {(a, b): {"n": n, "share": j["switch_share"][a][b]}
             for a, row in j.get("switch_matrix", {}).items() for b, n in row.items()}
    return render(request, "journeys.html", rep=rep, j=j, cells=cells, filters=f,
                  specs=specs(rep, language(request)), sep=PATH_SEPARATOR)
