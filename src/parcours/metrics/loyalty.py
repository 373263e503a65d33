"""Loyalty: churn and retention per period, cohort retention, loyalty beside satisfaction.

Two settings, after Fader & Hardie (2009, "Probability Models for Customer-Base Analysis",
*Journal of Interactive Marketing* 23(1); Schmittlein, Morrison & Colombo 1987):

* **Contractual** — the end of the relationship is observed: a person is *lost* when a
  ``cancellation`` touchpoint ends it. Churn rate of period k = persons active at the start
  of k who cancel during k ÷ persons active at the start of k; retention = 1 − churn
  (Fader & Hardie 2007, "How to project customer retention", *J. Interactive Marketing*
  21(1): r_t = S(t) / S(t − 1)).
* **Non-contractual** — nobody says goodbye, so a person is *retained* when active in period
  k and again in k + 1 (a purchase, or any activity; configurable). Retention of k =
  persons active in k and in k + 1 ÷ persons active in k; churn = 1 − retention. This is the
  period-to-period retention rate of Reichheld & Sasser (1990, "Zero Defections: Quality
  Comes to Services", *HBR*) and Reichheld (1996, *The Loyalty Effect*).

Rates are in % with a Wilson 95 % interval (Wilson 1927) and their ``n`` (the denominator).
Periods are calendar months, quarters or years in UTC; ``period`` is the first day.

**Observation window.** ``since`` and ``until`` (exclusive) bound the data used. Without
``until`` the last period holding data is taken as complete; with ``until`` a rate that needs
a period not fully observed before ``until`` is flagged ``complete = False`` (a retention
row needs the *next* period), and periods starting at or after ``until`` are not reported.
A ``since`` inside a period makes that first period partial: its retention row is flagged too.

Loyalty is kept apart from satisfaction (seed 004: "il ne faut pas confondre fidélité et
satisfaction"; silent customers are not satisfied customers): :func:`loyalty_satisfaction`
puts repeat behaviour beside the latest NPS / CSAT answers and :func:`loyalty_matrix`
crosses them, so satisfied-but-leaving and unsatisfied-but-staying customers show up.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt

from parcours.metrics.stats import wilson

Period = Literal["month", "quarter", "year"]
Activity = Literal["purchase", "any"]
PERIODS: tuple[str, ...] = ("month", "quarter", "year")
ACTIVITIES: tuple[str, ...] = ("purchase", "any")
DAY_S = 86_400.0


# --- periods -------------------------------------------------------------------------------------
def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}; got {period!r}")


def period_index(ts: Any, period: Period) -> Any:
    """Integer index of the calendar period of ``ts`` (consecutive periods differ by 1)."""
    _check_period(period)
    ts = ts.cast(dt.Timestamp(scale=6))  # wall-clock time in the session's zone (UTC in the store)
    if period == "month":
        return ts.year() * 12 + ts.month() - 1
    if period == "quarter":
        return ts.year() * 4 + ts.quarter() - 1
    return ts.year()


def _index_of(dt: datetime, period: Period) -> int:
    """:func:`period_index` of a Python datetime (UTC)."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc)
    if period == "month":
        return dt.year * 12 + dt.month - 1
    if period == "quarter":
        return dt.year * 4 + (dt.month - 1) // 3
    return dt.year


def _start_of(idx: int, period: Period) -> datetime:
    per = {"month": 12, "quarter": 4, "year": 1}[period]
    year, rest = divmod(idx, per)
    return datetime(year, 1 + rest * (12 // per), 1, tzinfo=timezone.utc)


def period_start(idx: Any, period: Period) -> Any:
    """First day (a date) of the period with index ``idx``."""
    if period == "month":
        return ibis.date(idx // 12, idx % 12 + 1, 1)
    if period == "quarter":
        return ibis.date(idx // 4, (idx % 4) * 3 + 1, 1)
    return ibis.date(idx, 1, 1)


def _utc(dt_: datetime) -> datetime:
    return dt_ if dt_.tzinfo else dt_.replace(tzinfo=timezone.utc)


def _window(since: datetime | None, until: datetime | None,
            period: Period) -> tuple[int | None, bool, int | None, bool]:
    """(first index, first period complete, last index, last period complete) of the window."""
    lo = _index_of(since, period) if since else None
    lo_complete = since is None or _start_of(_index_of(since, period), period) == _utc(since)
    if until is None:
        return lo, lo_complete, None, True
    u = _utc(until)
    last = _index_of(u - timedelta(microseconds=1), period)
    return lo, lo_complete, last, _start_of(last + 1, period) <= u


_TS = dt.Timestamp(timezone="UTC", scale=6)


def _events(t: Any, ts: str = "ts") -> Any:
    """(person_id, ts) with one schema whatever the source table (for unions)."""
    return t.select(person_id=t.person_id.cast(dt.string), ts=t[ts].cast(_TS))


def _clip(t: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        t = t.filter(t.ts >= since)
    if until is not None:
        t = t.filter(t.ts < until)
    return t


def _frame(events: Any, since: datetime | None, until: datetime | None, period: Period) -> Any:
    """One row: lo, hi (first and last period index observed), lo_complete and hi_complete.

    The period index grows with time, so it is taken of the first and last ``ts`` only (one
    min/max instead of converting every event's time)."""
    lo, lo_complete, hi, hi_complete = _window(since, until, period)
    f = events.aggregate(_first=events.ts.min(), _last=events.ts.max())
    f = f.mutate(lo=period_index(f._first, period), hi=period_index(f._last, period)).drop("_first", "_last")
    return f.mutate(lo=ibis.literal(lo, "int64") if lo is not None else f.lo.cast("int64"),
                    hi=ibis.literal(hi, "int64") if hi is not None else f.hi.cast("int64"),
                    lo_complete=ibis.literal(lo_complete), hi_complete=ibis.literal(hi_complete))


def _periods(frame: Any) -> Any:
    """Every period index from lo to hi (one row each, column ``idx``), plus the frame's columns."""
    r = frame.filter(frame.lo.notnull() & frame.hi.notnull() & (frame.lo <= frame.hi))
    r = r.mutate(_r=ibis.range(r.lo, r.hi + 1))
    return r.mutate(idx=r._r.unnest().cast("int64")).select("idx", "lo", "hi", "lo_complete", "hi_complete")


def _rate(t: Any, k: str, n: str, name: str) -> Any:
    """``name`` = 100·k/n (null when n = 0) with its Wilson 95 % interval."""
    n_safe = t[n].nullif(0)
    return t.mutate(**{name: 100 * t[k].cast("float64") / n_safe.cast("float64")},
                    **wilson(t[k], n_safe, name))


def _complement(t: Any, src: str, name: str) -> Any:
    """``name`` = 100 − ``src`` and its interval mirrored (churn from retention and back)."""
    return t.mutate(**{name: 100 - t[src], f"{name}_low": 100 - t[f"{src}_high"],
                       f"{name}_high": 100 - t[f"{src}_low"]})


# --- who was active when ----------------------------------------------------------------------------
def activity(orders: Any | None = None, touchpoints: Any | None = None, kind: Activity = "purchase") -> Any:
    """Activity events (person_id, ts) that make a person *active*.

    ``purchase``: orders with a positive amount (refunds are not purchases); without an
    orders table, touchpoints of kind ``purchase``. ``any``: those plus every inbound
    touchpoint (visit, contact, usage, survey, payment…) except ``cancellation``;
    outbound touchpoints (notifications, deliveries) are the brand's acts, not the
    customer's, and do not count.
    """
    if kind not in ACTIVITIES:
        raise ValueError(f"activity must be one of {', '.join(ACTIVITIES)}; got {kind!r}")
    parts = []
    if orders is not None:
        o = orders.filter((orders.amount > 0) & orders.person_id.notnull())
        parts.append(_events(o))
    if touchpoints is not None:
        t = touchpoints.filter(touchpoints.person_id.notnull())
        if kind == "purchase" and orders is None:
            parts.append(_events(t.filter(t.kind == "purchase")))
        elif kind == "any":
            inbound = t.direction.isnull() | (t.direction == "inbound")
            parts.append(_events(t.filter(inbound & (t.kind != "cancellation"))))
    if not parts:
        raise ValueError("activity needs an orders table, or touchpoints")
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def _with_by(t: Any, persons: Any | None, by: list[str] | None) -> Any:
    """Attach the person-level ``by`` columns (from ``persons``), cast to string."""
    if not by:
        return t
    if persons is None:
        raise ValueError(f"by={by} needs the persons table (the columns are person attributes)")
    missing = [c for c in by if c not in persons.columns]
    if missing:
        raise ValueError(f"by columns {missing} are not persons columns ({', '.join(persons.columns)})")
    p = persons.select(_pid=persons.person_id, **{c: persons[c].cast("string") for c in by})
    return t.left_join(p, t.person_id == p._pid).drop("_pid")


def _grid(periods: Any, groups: Any | None) -> Any:
    return periods.cross_join(groups) if groups is not None else periods


# --- non-contractual retention --------------------------------------------------------------------
def retention(orders: Any | None = None, touchpoints: Any | None = None, *, period: Period = "month",
              activity_kind: Activity = "purchase", persons: Any | None = None, by: list[str] | None = None,
              since: datetime | None = None, until: datetime | None = None) -> Any:
    """Non-contractual retention and churn per period.

    Formula (Reichheld & Sasser 1990; the non-contractual setting of Fader & Hardie 2009):
    ``retention_k = |A_k ∩ A_{k+1}| / |A_k|`` where ``A_k`` is the set of persons active in
    period k (see :func:`activity`); ``churn_k = 1 − retention_k``. Denominator ``n = |A_k|``.

    Rows: period (first day), [by…], n (active in the period), retained (active again in the
    next one), retention and churn in % with Wilson 95 % intervals (``*_low``, ``*_high``),
    complete (the next period was fully observed). Every period from the first to the one
    before the last observed appears; a period with nobody active has n = 0 and null rates.
    """
    _check_period(period)
    acts = _clip(activity(orders, touchpoints, activity_kind), since, until)
    acts = acts.mutate(idx=period_index(acts.ts, period).cast("int64"))
    frame = _frame(acts, since, until, period)
    active = _with_by(acts.select("person_id", "idx").distinct(), persons, by)
    keys = list(by or [])
    nxt = acts.select("person_id", "idx").distinct().rename(_pid="person_id", _idx="idx")
    j = active.left_join(nxt, (active.person_id == nxt._pid) & (nxt._idx == active.idx + 1))
    j = j.mutate(_kept=j._pid.notnull().cast("int64"))
    agg = j.group_by(["idx", *keys]).aggregate(n=j.person_id.count(), retained=j._kept.sum())
    groups = active.select(*keys).distinct() if keys else None
    grid = _grid(_periods(frame), groups)
    grid = grid.filter(grid.idx + 1 <= grid.hi)
    out = grid.left_join(agg, ["idx", *keys]).drop(*[f"{c}_right" for c in ["idx", *keys]])
    out = out.mutate(n=out.n.fill_null(0), retained=out.retained.fill_null(0),
                     complete=((out.idx + 1 < out.hi) | out.hi_complete) & ((out.idx > out.lo) | out.lo_complete))
    out = _complement(_rate(out, "retained", "n", "retention"), "retention", "churn")
    out = out.mutate(period=period_start(out.idx, period))
    cols = ["period", *keys, "n", "retained", "retention", "retention_low", "retention_high",
            "churn", "churn_low", "churn_high", "complete"]
    return out.select(cols).order_by(["period", *keys])


# --- contractual churn -------------------------------------------------------------------------------
def relationships(touchpoints: Any, persons: Any | None = None, orders: Any | None = None) -> Any:
    """Per person: ``start`` of the relationship and its ``end`` (first cancellation, or null).

    start = earliest of persons.created_at, the first inbound touchpoint and the first order;
    end = the first ``cancellation`` touchpoint. A person who comes back after cancelling
    stays counted as lost at the first cancellation (win-backs are not modelled).
    """
    tp = touchpoints.filter(touchpoints.person_id.notnull())
    inbound = tp.direction.isnull() | (tp.direction == "inbound")
    starts = [_events(tp.filter(inbound))]
    if persons is not None:
        starts.append(_events(persons.filter(persons.created_at.notnull()), "created_at"))
    if orders is not None:
        starts.append(_events(orders.filter(orders.person_id.notnull())))
    s = ibis.union(*starts, distinct=False) if len(starts) > 1 else starts[0]
    s = s.group_by("person_id").aggregate(start=s.ts.min())
    c = tp.filter(tp.kind == "cancellation")
    e = c.group_by("person_id").aggregate(end=c.ts.min()).rename(_pid="person_id")
    j = s.left_join(e, s.person_id == e._pid)
    return j.select("person_id", "start", "end")


def contractual_churn(touchpoints: Any, persons: Any | None = None, orders: Any | None = None, *,
                      period: Period = "month", by: list[str] | None = None,
                      since: datetime | None = None, until: datetime | None = None,
                      relationships_t: Any | None = None) -> Any:
    """Contractual churn and retention per period (a ``cancellation`` ends the relationship).

    Formula (Fader & Hardie 2007, 2009): ``churn_k = L_k / S_k`` with ``S_k`` the persons
    whose relationship started before period k and had not ended by its start (``n``), and
    ``L_k`` those of them whose first cancellation falls in k (``lost``); ``retention_k =
    1 − churn_k``. Persons who join during k are not in its denominator: they are counted
    in ``new`` (and ``lost_new`` if they also cancel during k). Start and end per person: see
    :func:`relationships`. Persons who started before ``since`` count as active at ``since``.

    Rows: period, [by…], n, lost, new, lost_new, churn and retention in % with Wilson 95 %
    intervals, complete (the whole period was observed). The first observed period usually
    has n = 0 (nobody is known to have started before it) unless persons.created_at says so.
    ``relationships_t``: :func:`relationships` of the same tables if computed already (the
    report shares it with the churn drivers); only without ``until``, which clips them.
    """
    _check_period(period)
    if relationships_t is not None and until is not None:
        raise ValueError("relationships_t is of the unclipped tables: give it without until")
    kept_orders = _clip(orders, None, until) if orders is not None else None
    rel = relationships_t if relationships_t is not None else relationships(
        _clip(touchpoints, None, until), persons, kept_orders)
    if until is not None:
        rel = rel.mutate(end=ibis.ifelse(rel.end < until, rel.end, ibis.null("timestamp")))
    rel = rel.mutate(s_idx=period_index(rel.start, period).cast("int64"),
                     e_idx=period_index(rel.end, period).cast("int64"))
    frame = _frame(_clip(touchpoints, since, until), since, until, period)
    rel = _with_by(rel, persons, by)
    keys = list(by or [])
    periods = _periods(frame)
    groups = rel.select(*keys).distinct() if keys else None
    grid = _grid(periods, groups)
    # persons counted per (start, end) period pair first: the join with the periods then has a
    # few thousand rows, not persons × periods
    pairs = rel.filter(rel.person_id.notnull()).group_by(["s_idx", "e_idx", *keys]).aggregate(_k=ibis._.count())
    j = periods.select("idx").join(pairs, pairs.s_idx <= periods.idx)
    before = j.s_idx < j.idx  # started before the period: in its denominator if not yet ended
    active = before & (j.e_idx.isnull() | (j.e_idx >= j.idx))
    ends_now = (j.e_idx == j.idx).fill_null(False)
    counts = j.group_by(["idx", *keys]).aggregate(
        n=ibis.ifelse(active, j._k, 0).sum(), lost=ibis.ifelse(before & ends_now, j._k, 0).sum(),
        new=ibis.ifelse(~before, j._k, 0).sum(), lost_new=ibis.ifelse(~before & ends_now, j._k, 0).sum())
    out = grid.left_join(counts, ["idx", *keys]).drop(*[f"{c}_right" for c in ["idx", *keys]])
    out = out.mutate(n=out.n.fill_null(0), lost=out.lost.fill_null(0), new=out.new.fill_null(0),
                     lost_new=out.lost_new.fill_null(0), complete=(out.idx < out.hi) | out.hi_complete)
    out = _complement(_rate(out, "lost", "n", "churn"), "churn", "retention")
    out = out.mutate(period=period_start(out.idx, period))
    cols = ["period", *keys, "n", "lost", "new", "lost_new", "churn", "churn_low", "churn_high",
            "retention", "retention_low", "retention_high", "complete"]
    return out.select(cols).order_by(["period", *keys])


# --- cohorts ------------------------------------------------------------------------------------------------
def cohort_retention(orders: Any | None = None, touchpoints: Any | None = None, *, period: Period = "month",
                     activity_kind: Activity = "purchase", persons: Any | None = None,
                     by: list[str] | None = None, since: datetime | None = None,
                     until: datetime | None = None) -> Any:
    """Cohort retention matrix, in long form (one row per cohort × age).

    Cohort of a person = the period of their first activity in the data (first purchase, or
    first activity: see :func:`activity`). Cell (c, k): ``active_{c,k} / n_c``, the share of
    cohort c active in period c + k, with ``n_c`` the cohort size (Fader & Hardie 2007 use
    such cohort survival curves; the layout is the classic acquisition-cohort table).

    Rows: cohort (first day), [by…], age (k = 0, 1, …; 0 is 100 % by definition), n (cohort
    size), active, retention (%) with Wilson 95 % interval, complete, censored. Cells up
    to the last observed period; cells with nobody active are explicit zeros. ``censored``
    marks the first observed cohort: it may hold customers acquired before the data start
    (their first purchase is older than the data).
    """
    _check_period(period)
    acts = _clip(activity(orders, touchpoints, activity_kind), since, until)
    acts = acts.mutate(idx=period_index(acts.ts, period).cast("int64"))
    frame = _frame(acts, since, until, period)
    act = acts.select("person_id", "idx").distinct()
    first = act.group_by("person_id").aggregate(cohort=act.idx.min())
    first = _with_by(first, persons, by)
    keys = list(by or [])
    sizes = first.group_by(["cohort", *keys]).aggregate(n=first.person_id.count())
    a = act.join(first, "person_id")
    a = a.mutate(age=a.idx - a.cohort)
    cells = a.group_by(["cohort", *keys, "age"]).aggregate(active=a.person_id.count())
    periods = _periods(frame)
    grid = sizes.join(periods, periods.idx >= sizes.cohort)
    grid = grid.mutate(age=grid.idx - grid.cohort, censored=grid.cohort == grid.lo)
    out = grid.left_join(cells, ["cohort", *keys, "age"]).drop(*[f"{c}_right" for c in ["cohort", *keys, "age"]])
    out = out.mutate(active=out.active.fill_null(0), complete=(out.idx < out.hi) | out.hi_complete)
    out = _rate(out, "active", "n", "retention")
    out = out.mutate(cohort=period_start(out.cohort, period))
    cols = ["cohort", *keys, "age", "n", "active", "retention", "retention_low", "retention_high",
            "complete", "censored"]
    return out.select(cols).order_by(["cohort", *keys, "age"])


# --- loyalty beside satisfaction --------------------------------------------------------------------------
def repeat_behaviour(orders: Any, persons: Any | None = None, *, as_of: datetime | None = None) -> Any:
    """Per person: purchase behaviour (loyalty as behaviour, not attitude).

    * ``orders``: purchases (positive amounts; refunds are not purchases);
    * ``buyer``: ``repeat`` (≥ 2 orders), ``one-time`` (1) or ``no purchase`` (0: persons of
      ``persons`` without orders are kept, with 0 orders, never dropped);
    * ``tenure_days``: as_of − first order (as_of defaults to the last order in the data);
    * ``orders_per_year``: 365.25 · orders / tenure_days, null when the tenure is under 30 days
      (too recent for a rate);
    * ``interpurchase_days``: (last − first order) / (orders − 1), null for one order;
    * ``spend``: net amount (refunds deducted).
    """
    o = orders.filter(orders.person_id.notnull())
    buy = o.amount > 0
    agg = o.group_by("person_id").aggregate(
        orders=buy.cast("int64").sum(), spend=o.amount.sum().cast("float64"),
        first_order=o.ts.min(where=buy), last_order=o.ts.max(where=buy))
    if persons is not None:
        base = persons.select("person_id").distinct()
        agg = base.left_join(agg, base.person_id == agg.person_id).drop("person_id_right")
        agg = agg.mutate(orders=agg.orders.fill_null(0), spend=agg.spend.fill_null(0.0))
    ref = ibis.literal(as_of) if as_of is not None else o.ts.max(where=o.amount > 0).as_scalar()
    tenure = (ref.epoch_seconds() - agg.first_order.epoch_seconds()).cast("float64") / DAY_S
    span = (agg.last_order.epoch_seconds() - agg.first_order.epoch_seconds()).cast("float64") / DAY_S
    return agg.mutate(
        buyer=ibis.cases((agg.orders >= 2, "repeat"), (agg.orders == 1, "one-time"), else_="no purchase"),
        tenure_days=tenure,
        orders_per_year=ibis.ifelse(tenure >= 30, 365.25 * agg.orders.cast("float64") / tenure.nullif(0),
                                    ibis.null("float64")),
        interpurchase_days=span / (agg.orders - 1).nullif(0).cast("float64"),
    ).select("person_id", "orders", "buyer", "first_order", "last_order", "tenure_days",
             "orders_per_year", "interpurchase_days", "spend")


def latest_answers(responses: Any) -> Any:
    """Per person: the latest answered NPS and CSAT (score, time, NPS category, CSAT satisfied).

    NPS category (Reichheld 2003): promoter 9–10, passive 7–8, detractor 0–6. CSAT satisfied:
    the two top boxes (4–5 on 1–5), as in :func:`parcours.metrics.csat`. Skipped answers
    (no score) are ignored; a person who never answered has no row.
    """
    r = responses.filter(responses.person_id.notnull() & responses.score.notnull())

    def last(metric: str) -> Any:
        m = r.filter(r.metric == metric)
        w = ibis.window(group_by=m.person_id, order_by=[ibis.desc(m.ts), ibis.desc(m.response_id)])
        m = m.mutate(_rk=ibis.row_number().over(w))
        return m.filter(m._rk == 0)

    n = last("nps")
    n = n.select("person_id", nps_score=n.score, nps_ts=n.ts, nps_category=ibis.cases(
        (n.score >= 9, "promoter"), (n.score >= 7, "passive"), else_="detractor"))
    c = last("csat")
    c = c.select(_pid=c.person_id, csat_score=c.score, csat_ts=c.ts,
                 csat_satisfied=c.score >= c.scale_max.fill_null(5) - 1)
    who = r.filter(r.metric.isin(["nps", "csat"])).select("person_id").distinct()
    out = who.left_join(n, "person_id").drop("person_id_right")
    out = out.left_join(c, out.person_id == c._pid).drop("_pid")
    return out


def loyalty_satisfaction(persons: Any, orders: Any, responses: Any, touchpoints: Any | None = None, *,
                         as_of: datetime | None = None) -> Any:
    """Per person: repeat behaviour (:func:`repeat_behaviour`) beside the latest NPS / CSAT
    answers (:func:`latest_answers`), and ``cancelled`` (a ``cancellation`` touchpoint).

    Every person of ``persons`` has a row: persons without orders are ``no purchase``, persons
    who never answered have ``nps_category = 'no answer'`` (silent is not satisfied, seed 004).
    The two are not merged into one score on purpose: loyalty (what people do) and
    satisfaction (what they say) diverge (seed 004; Reichheld 2003 reports the link is weak in
    several industries).
    """
    base = repeat_behaviour(orders, persons, as_of=as_of)
    ans = latest_answers(responses).rename(_pid="person_id")
    out = base.left_join(ans, base.person_id == ans._pid).drop("_pid")
    out = out.mutate(nps_category=out.nps_category.fill_null("no answer"))
    if touchpoints is not None:
        c = touchpoints.filter(touchpoints.kind == "cancellation")
        c = c.group_by("person_id").aggregate(cancelled_at=c.ts.min()).rename(_pid="person_id")
        out = out.left_join(c, out.person_id == c._pid).drop("_pid")
        out = out.mutate(cancelled=out.cancelled_at.notnull())
    return out


READINGS = {
    ("promoter", "repeat"): "satisfied and loyal",
    ("promoter", "one-time"): "satisfied but not buying again",
    ("promoter", "no purchase"): "satisfied but not buying",
    ("detractor", "repeat"): "unsatisfied but staying",
    ("detractor", "one-time"): "unsatisfied and not buying again",
    ("detractor", "no purchase"): "unsatisfied and not buying",
}


def loyalty_matrix(per_person: Any, by: list[str] | None = None) -> Any:
    """Cross-table NPS category × buyer status from :func:`loyalty_satisfaction`.

    Cells: nps_category (promoter, passive, detractor, no answer) × buyer (repeat, one-time,
    no purchase), [by…]; ``n`` persons, ``share`` = n / all persons of the group (%),
    ``row_share`` = n / persons of the NPS category (%) with its Wilson 95 % interval,
    ``cancelled`` (persons of the cell who cancelled, when known) and ``reading`` (e.g.
    "satisfied but not buying again", "unsatisfied but staying"). Only non-empty cells.
    """
    keys = list(by or [])
    p = per_person
    has_cancel = "cancelled" in p.columns
    agg = p.group_by(["nps_category", "buyer", *keys]).aggregate(
        n=p.person_id.count(),
        **({"cancelled": p.cancelled.cast("int64").sum()} if has_cancel else {}))
    tot = ibis.window(group_by=keys) if keys else ibis.window()
    row = ibis.window(group_by=["nps_category", *keys])
    agg = agg.mutate(_total=agg.n.sum().over(tot), _row=agg.n.sum().over(row))
    agg = agg.mutate(share=100 * agg.n.cast("float64") / agg._total.cast("float64"))
    agg = _rate(agg, "n", "_row", "row_share")
    reading = ibis.cases(*[((agg.nps_category == k) & (agg.buyer == b), v) for (k, b), v in READINGS.items()],
                         (agg.nps_category == "passive", "passive"), else_="silent (no answer)")
    agg = agg.mutate(reading=reading, category_n=agg._row)
    cols = ["nps_category", "buyer", *keys, "n", "share", "row_share", "row_share_low", "row_share_high",
            "category_n", *(["cancelled"] if has_cancel else []), "reading"]
    return agg.select(cols).order_by([*keys, "nps_category", "buyer"])


__all__ = [
    "activity", "cohort_retention", "contractual_churn", "latest_answers", "loyalty_matrix",
    "loyalty_satisfaction", "period_index", "period_start", "relationships", "repeat_behaviour", "retention",
]
