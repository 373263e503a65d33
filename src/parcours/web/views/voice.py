"""Voice of the customer: the scores over time and the verbatims (recent comments with their
score). Themes and sentiment come with the text analytics (a later issue)."""

from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from parcours.auth import Principal
from parcours.store import Store
from parcours.web.deps import db, page_user
from parcours.web.render import language, render
from parcours.web.views.filters import PageFilters, page_filters, page_report
from parcours.web.views.overview import trend_specs

router = APIRouter()
SURVEYS = ("nps", "csat", "ces")


def verbatims(store: Store, f: PageFilters, metric: str | None, limit: int) -> list[dict[str, Any]]:
    """The latest answers with a comment, under the page's filters (a small read of the
    responses table; a text-analytics module will own this when themes arrive)."""
    where, args = ["r.comment IS NOT NULL", "trim(r.comment) <> ''"], []
    if metric:
        where.append("r.metric = ?")
        args.append(metric)
    if f.start:
        where.append("r.ts >= ?")
        args.append(datetime.combine(f.start, time.min, timezone.utc))
    if f.end:
        where.append("r.ts < ?")
        args.append(datetime.combine(f.end, time.min, timezone.utc))
    if f.channel:
        where.append("r.channel = ?")
        args.append(f.channel)
    if f.segment:
        where.append("r.person_id IN (SELECT person_id FROM persons WHERE segment = ?)")
        args.append(f.segment)
    sql = (f"SELECT r.ts, r.metric, r.score, r.scale_min, r.scale_max, r.channel, r.comment, r.person_id "
           f"FROM responses r WHERE {' AND '.join(where)} ORDER BY r.ts DESC, r.response_id LIMIT {int(limit)}")
    keys = ("ts", "metric", "score", "scale_min", "scale_max", "channel", "comment", "person_id")
    return [dict(zip(keys, r)) for r in store.query(sql, args)]


def tone(metric: str, score: float | None) -> str:
    """lo / mid / hi, to colour a score (detractor, passive, promoter and the like)."""
    if score is None:
        return "mid"
    lo, hi = {"nps": (6, 9), "csat": (2, 4), "ces": (3, 5)}.get(metric, (0, 1e9))
    return "lo" if score <= lo else "hi" if score >= hi else "mid"


@router.get("/voice")
def voice(request: Request, f: PageFilters = Depends(page_filters),
          metric: str | None = Query(None, max_length=10), limit: int = Query(50, ge=1, le=500),
          store: Store = Depends(db), who: Principal = Depends(page_user("metrics"))) -> Any:
    rep = page_report(request, f)
    metric = metric if metric in SURVEYS else None
    return render(request, "voice.html", rep=rep, filters=f,
                  **trend_specs(rep, language(request)), verbatims=verbatims(store, f, metric, limit),
                  metric=metric, surveys=SURVEYS, tone=tone, limit=limit)
