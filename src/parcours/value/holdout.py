"""Calibration / holdout evaluation (Fader, Hardie & Lee 2005, "Counting your customers the
easy way", figure 4 and table: conditional expectations against actual holdout purchases).

The models are fitted on the calibration period; for each customer, the expected purchases
in the holdout period (length t*, in the summary's unit) given her calibration history are
compared with the purchases she actually made there:

* per person: MAE and RMSE of predicted − actual;
* in total: predicted vs actual repeat purchases of the cohort, and the relative error;
* by calibration frequency x = 0, 1, …, 6, 7+ (FHL's figure 4): mean actual vs predicted.

For spend (Gamma-Gamma), customers with repeat purchases in both periods: their expected
spend per purchase against their actual mean holdout spend per purchase.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from parcours.value.clv import expected_spend
from parcours.value.mle import Fit
from parcours.value.purchases import expected_purchases


def _errors(pred: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    err = pred - actual
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2)))}


def holdout_evaluation(fit: Fit, frequency: object, recency: object, T: object,
                       holdout_purchases: object, holdout_length: float,
                       max_frequency: int = 7) -> dict[str, Any]:
    """Predicted vs actual holdout purchases: totals, MAE/RMSE per person, by frequency."""
    x = np.asarray(frequency, float)
    actual = np.asarray(holdout_purchases, float)
    if len(x) == 0:
        raise ValueError("no customers to evaluate")
    if holdout_length <= 0:
        raise ValueError("the holdout period must have a positive length")
    pred = expected_purchases(fit, holdout_length, x, recency, T)
    if not np.all(np.isfinite(pred)):
        raise ValueError(f"{fit.model}: some holdout predictions are not finite")
    groups = []
    for k in range(max_frequency + 1):
        sel = x >= k if k == max_frequency else x == k
        if sel.any():
            groups.append({"frequency": f"{k}+" if k == max_frequency else str(k), "n": int(sel.sum()),
                           "actual_mean": float(actual[sel].mean()), "predicted_mean": float(pred[sel].mean()),
                           "actual_total": float(actual[sel].sum()), "predicted_total": float(pred[sel].sum())})
    total_a, total_p = float(actual.sum()), float(pred.sum())
    return {"holdout_length": float(holdout_length), "n": int(len(x)), "actual_total": total_a,
            "predicted_total": total_p,
            "relative_error": (total_p - total_a) / total_a if total_a else None,
            **_errors(pred, actual), "by_frequency": groups}


def spend_holdout_evaluation(fit: Fit, frequency: object, monetary_value: object,
                             holdout_purchases: object, holdout_spend: object) -> dict[str, Any]:
    """Expected spend per purchase vs actual mean holdout spend, for customers repeat-buying in both."""
    x = np.asarray(frequency, float)
    hp = np.asarray(holdout_purchases, float)
    sel = (x > 0) & (hp > 0)
    if not sel.any():
        return {"n": 0, "note": "no customer bought again in both periods"}
    pred = expected_spend(fit, x[sel], np.asarray(monetary_value, float)[sel])
    actual = np.asarray(holdout_spend, float)[sel] / hp[sel]
    return {"n": int(sel.sum()), "actual_mean": float(actual.mean()),
            "predicted_mean": float(pred.mean()), **_errors(pred, actual)}
