"""The purchase models behind one interface: P(active), conditional and unconditional
expected purchases, for a fit of either BG/NBD or Pareto/NBD (chosen by ``fit.model``)."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from parcours.value import bgnbd, pareto_nbd
from parcours.value.mle import Fit

#: Purchase models by name.
PURCHASE_MODELS: dict[str, ModuleType] = {"bgnbd": bgnbd, "pareto-nbd": pareto_nbd}


def _model(fit: Fit) -> ModuleType:
    try:
        return PURCHASE_MODELS[fit.model]
    except KeyError:
        raise ValueError(f"{fit.model!r} is not a purchase model; use one of: "
                         f"{', '.join(PURCHASE_MODELS)}") from None


def _arrays(*cols: object) -> list[np.ndarray]:
    out = [np.asarray(c, float) for c in cols]
    for name, c in zip(("frequency", "recency", "T"), out, strict=False):
        if not np.all(np.isfinite(c)):
            raise ValueError(f"{name} has missing or infinite values")
    x, t_x, T = out
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("a summary needs frequency ≥ 0 and 0 ≤ recency ≤ T")
    return out


def fit_bgnbd(frequency: object, recency: object, T: object) -> Fit:
    """BG/NBD (r, α, a, b) by maximum likelihood (Fader, Hardie & Lee 2005)."""
    return bgnbd.fit(*_arrays(frequency, recency, T))


def fit_pareto_nbd(frequency: object, recency: object, T: object) -> Fit:
    """Pareto/NBD (r, α, s, β) by maximum likelihood (Schmittlein et al. 1987)."""
    return pareto_nbd.fit(*_arrays(frequency, recency, T))


def p_alive(fit: Fit, frequency: object, recency: object, T: object) -> np.ndarray:
    """Probability that each customer is still active at the end of her observation (T)."""
    return _model(fit).p_alive(fit.params, *_arrays(frequency, recency, T))


def expected_purchases(fit: Fit, t: float, frequency: object, recency: object, T: object) -> np.ndarray:
    """Expected purchases of each customer in (T, T+t], given her history (x, t_x, T)."""
    return _model(fit).expected_purchases(fit.params, float(t), *_arrays(frequency, recency, T))


def expected_purchases_new(fit: Fit, t: object) -> np.ndarray:
    """Expected repeat purchases in (0, t] of a customer acquired at 0 (tracking plots)."""
    return _model(fit).expected_purchases_new(fit.params, np.asarray(t, float))


def expected_cohort_purchases(fit: Fit, first_purchase: object, times: object) -> np.ndarray:
    """Cumulative expected repeat purchases of a cohort at each of ``times``:
    Σᵢ E[X(t − sᵢ)] over the customers whose first purchase sᵢ is before t (same unit)."""
    starts, counts = np.unique(np.asarray(first_purchase, float), return_counts=True)
    out = []
    for t in np.asarray(times, float):
        born = starts < t
        out.append(float(np.sum(counts[born] * expected_purchases_new(fit, t - starts[born]))))
    return np.asarray(out)
