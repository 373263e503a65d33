"""Fit a value model on orders, from a file or a store table (what ``parcours value fit`` calls).

The per-person summary is the Ibis expression :func:`parcours.metrics.value.rfm_summary`,
so a store table on DuckDB or Spark works the same; files (CSV or Parquet in the canonical
orders format: person_id, ts, amount) are read with an in-memory DuckDB.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from parcours.metrics.value import purchase_days, rfm_summary, unit_days
from parcours.value import gamma_gamma
from parcours.value.holdout import holdout_evaluation, spend_holdout_evaluation
from parcours.value.mle import Fit
from parcours.value.purchases import fit_bgnbd, fit_pareto_nbd

MODELS = ("bgnbd", "pareto-nbd", "gamma-gamma")
REQUIRED = ("person_id", "ts", "amount")


def _check_model(model: str) -> None:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; use one of: {', '.join(MODELS)}")


def _columns(summary: Any) -> dict[str, np.ndarray]:
    tbl = summary.to_pyarrow()
    return {name: tbl.column(name).to_numpy(zero_copy_only=False) for name in tbl.column_names}


def _empty_reason(orders: Any, calibration_end: date) -> str:
    first = purchase_days(orders).day.min().to_pyarrow().as_py()
    if first is None:
        return "no customers: the orders hold no purchase with a person (refunds do not count)"
    return (f"calibration end {calibration_end} is before the first order ({first}): "
            "no customer to fit")


def _fit(model: str, s: dict[str, np.ndarray]) -> Fit:
    if model == "gamma-gamma":
        return gamma_gamma.fit(s["frequency"], s["monetary_value"])
    fitter = fit_bgnbd if model == "bgnbd" else fit_pareto_nbd
    return fitter(s["frequency"], s["recency"], s["T"])


def fit_orders(orders: Any, *, calibration_end: date, unit: str, model: str,
               observation_end: date | None = None) -> dict[str, Any]:
    """Fit ``model`` on an Ibis orders table; JSON-ready result (see :func:`fit_file`)."""
    _check_model(model)
    k = unit_days(unit)
    s = _columns(rfm_summary(orders, calibration_end, observation_end, unit))
    if len(s["person_id"]) == 0:
        raise ValueError(_empty_reason(orders, calibration_end))
    f = _fit(model, s)
    out: dict[str, Any] = {
        "model": model, "unit": unit, "calibration_end": calibration_end.isoformat(),
        "observation_end": observation_end.isoformat() if observation_end else None,
        "customers": int(len(s["person_id"])), "repeat_customers": int(np.sum(s["frequency"] > 0)),
        **f.to_dict(),
    }
    if observation_end is not None:
        if model == "gamma-gamma":
            try:
                out["holdout"] = spend_holdout_evaluation(f, s["frequency"], s["monetary_value"],
                                                          s["holdout_purchases"], s["holdout_spend"])
            except ValueError as e:  # q ≤ 1: the fit stands, its expected spend does not
                out["holdout"] = {"note": str(e)}
        else:
            length = (observation_end - calibration_end).days / k
            out["holdout"] = holdout_evaluation(f, s["frequency"], s["recency"], s["T"],
                                                s["holdout_purchases"], length)
    return out


def read_orders(path: Path) -> Any:
    """An orders file (CSV or Parquet) as an Ibis table with person_id string, ts UTC, amount."""
    import ibis

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no orders file at {path}")
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        t = con.read_csv(str(path))
    elif suffix in (".parquet", ".pq"):
        t = con.read_parquet(str(path))
    else:
        raise ValueError(f"{path.name}: orders must be a .csv or .parquet file")
    missing = [c for c in REQUIRED if c not in t.columns]
    if missing:
        raise ValueError(f"{path.name} lacks the column(s) {', '.join(missing)}: an orders file needs "
                         f"{', '.join(REQUIRED)} (found: {', '.join(t.columns)})")
    t = t.mutate(person_id=t.person_id.cast("string"), ts=t.ts.try_cast("timestamp('UTC')"),
                 amount=t.amount.try_cast("float64"), _ts_raw=t.ts, _amount_raw=t.amount)
    for col in ("ts", "amount"):
        bad = t.filter(t[col].isnull() & t[f"_{col}_raw"].notnull())
        n_bad = int(bad.count().to_pyarrow().as_py())
        if n_bad:
            example = bad[f"_{col}_raw"].cast("string").first().to_pyarrow().as_py()
            raise ValueError(f"{path.name}: {n_bad} value(s) of {col} cannot be read (e.g. {example!r})")
    return t.drop("_ts_raw", "_amount_raw")


def fit_file(path: Path, *, calibration_end: date, unit: str, model: str,
             observation_end: date | None = None) -> dict[str, Any]:
    """Fit ``model`` (bgnbd | pareto-nbd | gamma-gamma) on an orders file.

    Returns model, unit, calibration_end, observation_end, customers, repeat_customers,
    n (customers in the likelihood), parameters {name: value}, standard_errors {name: se or
    None}, ci95 {name: [low, high] or None}, log_likelihood, converged, iterations, seconds,
    message and, with an observation end, ``holdout`` (predicted vs actual holdout purchases,
    or spend for gamma-gamma).
    """
    _check_model(model)
    unit_days(unit)
    return fit_orders(read_orders(path), calibration_end=calibration_end, unit=unit, model=model,
                      observation_end=observation_end)
