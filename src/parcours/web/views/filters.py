"""The dashboards' filters (period, channel, segment, stage) read from a GET form, and the
report they select (one cached report per filter set, shared by every dashboard page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, Request

from parcours.schema import CHANNELS, STAGES
from parcours.store import Store
from parcours.web.deps import db

#: every dashboard reads the same report: monthly trends and the per-agent table come with it
BY = ("period", "agent")


@dataclass
class PageFilters:
    start: date | None = None
    end: date | None = None
    channel: str | None = None
    segment: str | None = None
    stage: str | None = None
    segments: list[str] = field(default_factory=list)   # the choices the form offers
    channels: tuple[str, ...] = CHANNELS
    stages: tuple[str, ...] = STAGES
    ignored: list[str] = field(default_factory=list)    # fields given but not understood

    def report_kw(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "channel": self.channel, "segment": self.segment,
                "stage": self.stage}

    @property
    def active(self) -> bool:
        return any(self.report_kw().values())

    @property
    def query(self) -> str:
        """The filters as a query string (for links between the dashboards)."""
        kw = {"from": self.start, "to": self.end, "channel": self.channel, "segment": self.segment,
              "stage": self.stage}
        return urlencode({k: str(v) for k, v in kw.items() if v})


def day_start(d: date | None) -> datetime | None:
    """Midnight UTC of a day given by a filter (periods are [from, to) in UTC)."""
    return datetime.combine(d, time.min, timezone.utc) if d else None


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def page_filters(request: Request, store: Store = Depends(db)) -> PageFilters:
    """Filters from the query string; an empty field means no filter, a wrong one is ignored
    (and named on the page) rather than failing the whole page."""
    q = request.query_params
    f = PageFilters(segments=[r[0] for r in store.query(
        "SELECT DISTINCT segment FROM persons WHERE segment IS NOT NULL ORDER BY 1 LIMIT 100")])
    f.start, f.end = _day(q.get("from")), _day(q.get("to"))
    for name, got in (("from", f.start), ("to", f.end)):
        if q.get(name) and got is None:
            f.ignored.append(name)
    if f.start and f.end and f.end <= f.start:
        f.end = None
        f.ignored.append("to")
    for name, allowed in (("channel", CHANNELS), ("stage", STAGES), ("segment", f.segments)):
        value = (q.get(name) or "").strip()
        if value and value in allowed:
            setattr(f, name, value)
        elif value:
            f.ignored.append(name)
    return f


def page_report(request: Request, f: PageFilters) -> dict[str, Any]:
    return request.app.state.figures.report(by=BY, **f.report_kw())


def breakdown(rep: dict[str, Any], dim: str) -> dict[str, dict[str, Any]]:
    """The report's rows for one dimension (value → figures), in the value's order."""
    for b in rep.get("breakdowns", []):
        if b["dimension"] == dim:
            return dict(sorted(b["rows"].items()))
    return {}
