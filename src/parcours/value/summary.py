"""The value section of the report: BG/NBD + Gamma-Gamma on the store's orders, CLV per person.

Calibration ends at the report period's end (else the day after the last order); weeks are the unit.
CLV is over the next 52 weeks, discounted at 1 % a month (≈ 0.23 % a week), as in the
lifetimes convention of a monthly discount rate. When the data cannot support a model (no
repeat buyer, no order), the section says why instead of showing zeros.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from parcours.metrics.value import rfm_summary
from parcours.value import gamma_gamma
from parcours.value.clv import clv
from parcours.value.purchases import expected_purchases, fit_bgnbd, p_alive

HORIZON_WEEKS = 52
MONTHLY_DISCOUNT = 0.01
WEEKLY_DISCOUNT = (1 + MONTHLY_DISCOUNT) ** (12 / 52) - 1


def value_inputs(orders: Any, calibration_end: date | None = None) -> dict[str, Any]:
    """The engine's part: the per-person summary (frequency, recency, T, monetary_value) as
    numpy arrays, with ``calibration_end`` (that of the period, else the day after the last order)."""
    if calibration_end is None:
        last = orders.ts.max().to_pyarrow().as_py()
        if last is None:
            return {}
        calibration_end = last.date() + timedelta(days=1)
    # in person order: the fits then see the same arrays, and give the same digits, on every engine
    tbl = rfm_summary(orders, calibration_end, None, "week").order_by("person_id").to_pyarrow()
    return {"calibration_end": calibration_end} | {c: tbl.column(c).to_numpy(zero_copy_only=False)
                                                  for c in tbl.column_names}


def value_of(s: dict[str, Any]) -> dict[str, Any]:
    """The models' part, in numpy only (no engine): the section from :func:`value_inputs`."""
    if not s:
        return {"customers": 0, "note": "no orders: no value model"}
    calibration_end = s["calibration_end"]
    n = len(s.get("person_id", []))
    out: dict[str, Any] = {"calibration_end": calibration_end.isoformat(), "unit": "week", "customers": n,
                           "repeat_customers": int(np.sum(s["frequency"] > 0)) if n else 0}
    if n == 0 or out["repeat_customers"] == 0:
        out["note"] = "no repeat buyer yet: purchase models need customers who bought more than once"
        return out
    x, tx, T = s["frequency"].astype(float), s["recency"].astype(float), s["T"].astype(float)
    bg = fit_bgnbd(x, tx, T)
    out["bgnbd"] = _fit_dict(bg)
    alive = p_alive(bg, x, tx, T)
    future = expected_purchases(bg, HORIZON_WEEKS, x, tx, T)
    out["p_alive"] = {"mean": float(np.mean(alive)), "share_below_50": float(100 * np.mean(alive < 0.5)), "n": n}
    out["expected_purchases_52w"] = {"total": float(np.sum(future)), "per_customer": float(np.mean(future)), "n": n}
    # a mean of amounts differs in its last bits with the order of the sum (engines differ): to the
    # micro-unit, so that the fit, and its numerical Hessian, see the same numbers everywhere
    m = np.round(s["monetary_value"].astype(float), 6)
    repeat = x > 0
    try:
        gg = gamma_gamma.fit(x[repeat], m[repeat])
    except ValueError as e:
        out["gamma_gamma"] = {"note": str(e)}
        return out
    out["gamma_gamma"] = _fit_dict(gg)
    if gg["q"] <= 1:  # a valid fit, but the expected spend (hence CLV) is infinite
        out["clv_52w"] = {"note": f"gamma-gamma q = {gg['q']:.3g} ≤ 1: the expected spend is infinite, no CLV"}
        return out
    values = clv(bg, gg, x, tx, T, np.where(repeat, m, 0.0), horizon=HORIZON_WEEKS, period=4.0,
                 discount_rate=(1 + WEEKLY_DISCOUNT) ** 4 - 1)
    top = np.sort(values)[::-1]
    decile = max(1, n // 10)
    total = float(np.sum(values))
    out["clv_52w"] = {"total": total, "mean": float(np.mean(values)), "median": float(np.median(values)),
                      "top_decile_share": float(100 * np.sum(top[:decile]) / total) if total > 0 else None,
                      "n": n, "discount_per_month": MONTHLY_DISCOUNT, "deciles": deciles(top, total)}
    return out


def deciles(descending: np.ndarray, total: float) -> list[dict[str, Any]]:
    """The distribution of customer value: customers ranked by CLV in ten groups of equal size
    (1 = the most valuable tenth), each with its range, mean and share of the total — how
    concentrated value is, which a mean and a median alone do not show."""
    out = []
    for k, part in enumerate(np.array_split(descending, 10), 1):
        if len(part):
            out.append({"decile": k, "customers": int(len(part)), "min": float(part[-1]), "max": float(part[0]),
                        "mean": float(np.mean(part)),
                        "share": float(100 * np.sum(part) / total) if total > 0 else None})
    return out


def _fit_dict(f: Any) -> dict[str, Any]:
    d = f.to_dict()
    return {k: d.get(k) for k in ("parameters", "standard_errors", "log_likelihood", "converged", "n")}
