"""Customer value: the per-person RFM summary the buy-till-you-die models are fitted on.

From the ``orders`` table, a calibration end and a time unit, one row per person who bought
at least once up to the calibration end (included):

* **frequency** ``x``: the number of *repeat* purchase occasions, i.e. distinct purchase days
  after the first one. Several orders on the same calendar day are one occasion.
* **recency** ``t_x``: time from the first to the last purchase occasion (0 when x = 0).
* **T**: time from the first purchase occasion to the calibration end.
* **monetary_value**: mean spend of the repeat occasions (each occasion's orders summed, the
  first occasion left out); NULL when there is no repeat occasion.
* **n**: the orders behind those occasions (before same-day merging).
* **first_purchase**: the day of the first occasion.

and, given an observation end, **holdout_purchases** (purchase days in the holdout period
(calibration end, observation end]) and **holdout_spend** (their amount).

Times are in the chosen ``unit``: ``day``, or ``week`` = days / 7, the convention of the
papers and of the CDNOW summaries (Fader, Hardie & Lee 2005, "Counting your customers the
easy way", *Marketing Science* 24(2); lifetimes' ``summary_data_from_transaction_data``).
Days are calendar days in the engine session's time zone (UTC in the Parcours store; set
``spark.sql.session.timeZone`` to UTC on Spark).

**Refunds** (negative amounts) are not purchases: they neither count as an occasion nor
reduce the spend. Zero-amount orders (free items, full discounts) are purchases, as in the
CDNOW data the models were published on. Orders without a person are left out; persons without
a purchase up to the calibration end do not appear (customers acquired during the holdout
period belong to a later cohort).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis

#: Days per time unit.
UNITS: dict[str, int] = {"day": 1, "week": 7}


def unit_days(unit: str) -> int:
    """Days in ``unit``; ValueError naming the known units otherwise."""
    try:
        return UNITS[unit]
    except KeyError:
        raise ValueError(f"unknown unit {unit!r}; use one of: {', '.join(UNITS)}") from None


def purchase_days(orders: Any) -> Any:
    """Purchase occasions: person_id, day, spend (sum of that day's purchases), orders (count)."""
    o = orders.filter(orders.person_id.notnull() & (orders.amount >= 0))
    o = o.mutate(day=o.ts.date())
    return o.group_by(["person_id", "day"]).aggregate(
        spend=o.amount.sum().cast("float64"), orders=o.count())


def rfm_summary(orders: Any, calibration_end: date, observation_end: date | None = None,
                unit: str = "week") -> Any:
    """Per person: first_purchase, frequency, recency, T, monetary_value, n (+ holdout columns)."""
    k = float(unit_days(unit))
    if observation_end is not None and observation_end <= calibration_end:
        raise ValueError(f"observation end {observation_end} must be after the calibration end "
                         f"{calibration_end}")
    days = purchase_days(orders)
    cal = days.filter(days.day <= calibration_end)
    cal = cal.mutate(_first=cal.day.min().over(ibis.window(group_by=cal.person_id)))
    agg = cal.group_by("person_id").aggregate(
        first_purchase=cal.day.min(), _last=cal.day.max(), _occasions=cal.count(),
        n=cal.orders.sum(), _repeat_spend=cal.spend.sum(where=cal.day > cal._first))
    frequency = agg._occasions - 1
    out = agg.mutate(
        frequency=frequency,
        recency=agg._last.delta(agg.first_purchase, unit="day").cast("float64") / k,
        T=ibis.date(calibration_end).delta(agg.first_purchase, unit="day").cast("float64") / k,
        monetary_value=agg._repeat_spend / frequency.nullif(0).cast("float64"),
    ).select("person_id", "first_purchase", "frequency", "recency", "T", "monetary_value", "n")
    if observation_end is None:
        return out
    h = days.filter((days.day > calibration_end) & (days.day <= observation_end))
    hold = h.group_by(h.person_id.name("_pid")).aggregate(_hp=h.count(), _hs=h.spend.sum())
    j = out.left_join(hold, out.person_id == hold._pid)
    return j.select(*out.columns, holdout_purchases=j._hp.fill_null(0),
                    holdout_spend=j._hs.fill_null(0.0))


__all__ = ["UNITS", "purchase_days", "rfm_summary", "unit_days"]
