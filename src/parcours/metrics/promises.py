"""Promises kept: of the promises made to customers (a delivery date, a callback time, an SLA),
the share kept on time, by kind and by channel; what is open, due, overdue; how late the late ones were.

Every function takes the canonical ``promises`` table as an Ibis table and returns an Ibis
expression (no engine here: the same expressions run on DuckDB and Spark, checked by the
conformance suite).

Definitions, at the **data end** ``end`` (``as_of`` if given, else the latest ``made_at`` or
``kept_at`` in the table; a fulfilment recorded after ``end`` is not known at ``end``):

* a promise is **due** when ``due_at ≤ end``; the due promises are the denominator ``n``;
* **kept** (on time): fulfilled with ``kept_at ≤ due_at``;
* **late**: fulfilled after ``due_at`` (``due_at < kept_at ≤ end``);
* **overdue**: due and not fulfilled by ``end`` (an open promise past its time);
* ``kept_share`` = 100 · kept / n, with its Wilson 95 % interval (Wilson 1927); broken = late + overdue.

Promises not due yet are kept out of ``n`` and counted apart (``n_not_due``, of which
``n_kept_ahead`` already fulfilled): counting the early fulfilments of young promises while
their late peers cannot be seen yet would flatter the share (the same reasoning as the
pending contacts of first-contact resolution, :mod:`parcours.metrics.service`).

Lateness is ``kept_at − due_at`` of the late ones (median and p90, hours); the overdue ones'
age is ``end − due_at`` (median, hours). Quantiles are exact and interpolated (DuckDB
``percentile_cont`` = Spark ``percentile``).

Sources: seed 003 — Gartner's checklist of customer-centricity ("keep your promises") and
Temkin's brand values, promises the company makes; the on-time part of the supply chain's
OTIF measure (orders delivered by the date promised to the customer, over orders due:
McKinsey, "Defining 'on-time, in-full' in the consumer sector", 2014), generalised from
deliveries to every kind of promise. docs/metrics.md and docs/promises.md give the formulas.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import ibis

from parcours.metrics.stats import seconds_between, wilson, with_data_end

_HOUR = 3600.0
_UNITS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}

__all__ = ["kept_share", "overdue", "with_state"]


def with_state(promises: Any, *, as_of: datetime | None = None) -> Any:
    """Each promise with ``state`` at the data end — ``kept``, ``late``, ``overdue`` or ``open``
    (not due yet; ``kept_ahead`` when already fulfilled) — ``due`` (bool), ``_end``, and
    ``late_s`` (kept_at − due_at of a late one) / ``overdue_s`` (end − due_at of an overdue one).
    ``kind`` and ``channel`` as text (stored enums differ between engines)."""
    p = promises.mutate(kind=promises.kind.cast("string"), channel=promises.channel.cast("string"))
    p = with_data_end(p, as_of, (p, ["made_at", "kept_at"]))
    known = p.kept_at.notnull() & (p.kept_at <= p._end)      # fulfilled, as far as the data end knows
    due = (p.due_at <= p._end).fill_null(False)
    on_time = known & (p.kept_at <= p.due_at)
    state = ibis.cases((due & on_time, "kept"), (due & known, "late"), (due, "overdue"), (known, "kept_ahead"),
                       else_="open")
    late_s = ibis.ifelse(due & known & ~on_time, seconds_between(p.kept_at, p.due_at), ibis.null("float64"))
    overdue_s = ibis.ifelse(due & ~known, seconds_between(p._end, p.due_at), ibis.null("float64"))
    return p.mutate(state=state, due=due, late_s=late_s, overdue_s=overdue_s)


def _with_period(p: Any, by: Sequence[str] | None, period: str) -> Any:
    if by and "period" in by and "period" not in p.columns:
        if period not in _UNITS:
            raise ValueError(f"period must be one of {', '.join(_UNITS)}, not {period!r}")
        return p.mutate(period=p.made_at.truncate(_UNITS[period]))
    return p


def kept_share(promises: Any, by: list[str] | None = None, *, as_of: datetime | None = None,
               period: str = "month") -> Any:
    """Share of due promises kept on time, per group (``by``: ``kind``, ``channel``, ``period``
    — the month the promise was made, or ``period`` — or any column of the table).

    Columns: ``n`` (due promises), ``kept``, ``late``, ``overdue``, ``broken`` (late + overdue),
    ``kept_share`` with ``kept_share_low``/``kept_share_high`` (Wilson 95 %), ``n_not_due``
    (not due at the data end, out of ``n``), ``n_kept_ahead`` (of those, already fulfilled),
    ``late_median_h``/``late_p90_h`` (lateness of the late ones), ``overdue_median_h`` (how long
    the overdue ones have been past due at the data end). A channel left empty groups as
    ``(none)``. Without ``by``: one row, NULL figures when nothing is due; with ``by``: groups
    with at least one promise, ordered by ``by``.
    """
    p = with_state(promises, as_of=as_of)
    p = _with_period(p, by, period)
    if by and "channel" in by:
        p = p.mutate(channel=p.channel.fill_null("(none)"))

    def count(state: str) -> Any:
        return p.count(where=p.state == state).fill_null(0)

    agg = (p.group_by(by) if by else p).aggregate(
        n=p.count(where=p.due).fill_null(0), kept=count("kept"), late=count("late"), overdue=count("overdue"),
        n_not_due=p.count(where=~p.due).fill_null(0), n_kept_ahead=count("kept_ahead"),
        late_median_s=p.late_s.quantile(0.5), late_p90_s=p.late_s.quantile(0.9),
        overdue_median_s=p.overdue_s.quantile(0.5))
    share = 100 * agg.kept.cast("float64") / agg.n.nullif(0).cast("float64")
    out = agg.mutate(broken=agg.late + agg.overdue, kept_share=share, **wilson(agg.kept, agg.n, "kept_share"),
                     late_median_h=agg.late_median_s / _HOUR, late_p90_h=agg.late_p90_s / _HOUR,
                     overdue_median_h=agg.overdue_median_s / _HOUR)
    out = out.drop("late_median_s", "late_p90_s", "overdue_median_s")
    return out.order_by(by) if by else out


def overdue(promises: Any, *, as_of: datetime | None = None) -> Any:
    """The open promises past due at the data end, the longest overdue first: promise_id,
    person_id, kind, channel, made_at, due_at, order_id, case_id, detail, ``overdue_h``."""
    p = with_state(promises, as_of=as_of)
    p = p.filter(p.state == "overdue")
    return p.select("promise_id", "person_id", "kind", "channel", "made_at", "due_at", "order_id", "case_id",
                    "detail", overdue_h=p.overdue_s / _HOUR).order_by(["due_at", "promise_id"])
