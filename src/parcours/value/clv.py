"""Customer lifetime value over a horizon, discounted.

For a customer with history (x, t_x, T) and mean repeat spend m_x, with a purchase model
(BG/NBD or Pareto/NBD) and the Gamma-Gamma spend model, the horizon cut into K periods of
length Δ (K = horizon / Δ, in the summary's unit) and a discount rate d per period:

    CLV = Σ_{k=1..K} [E(Y(kΔ) | x, t_x, T) − E(Y((k−1)Δ) | x, t_x, T)] · E(M | x, m_x) / (1+d)^k

i.e. the expected purchases of each period times the expected spend per purchase, discounted
to the calibration end. This is lifetimes' ``customer_lifetime_value`` (Fader, Hardie & Lee
2005, "RFM and CLV", discuss the continuous-time version, discounted expected residual
transactions). Spend is revenue: apply a margin outside if value should be profit.
"""

from __future__ import annotations

import numpy as np

from parcours.value.gamma_gamma import expected_spend as _gg_spend
from parcours.value.mle import Fit, unique_rows
from parcours.value.purchases import expected_purchases


def expected_spend(fit: Fit, frequency: object, monetary_value: object) -> np.ndarray:
    """Expected spend per future purchase of each customer (Gamma-Gamma conditional mean)."""
    if fit.model != "gamma-gamma":
        raise ValueError(f"expected spend needs a gamma-gamma fit, not {fit.model!r}")
    x = np.asarray(frequency, float)
    m = np.asarray(monetary_value, float)
    if np.any(~np.isfinite(m) & (x > 0)):
        raise ValueError("monetary_value is missing for a customer with repeat purchases")
    return _gg_spend(fit.params, x, m)


def clv(purchases: Fit, spend: Fit, frequency: object, recency: object, T: object,
        monetary_value: object, *, horizon: float, period: float = 1.0,
        discount_rate: float = 0.0) -> np.ndarray:
    """Discounted expected value of each customer's purchases over ``horizon`` (see module doc)."""
    if horizon <= 0 or period <= 0:
        raise ValueError("horizon and period must be positive")
    k_float = horizon / period
    n_periods = round(k_float)
    if abs(k_float - n_periods) > 1e-9:
        raise ValueError(f"horizon {horizon} is not a whole number of periods of {period}")
    if discount_rate <= -1:
        raise ValueError("discount rate must be above −100 %")
    m = expected_spend(spend, frequency, monetary_value)
    # purchases depend on (x, t_x, T) alone, which customers share: computed once per history
    (x, t_x, TT), _, history = unique_rows(*(np.asarray(c, float) for c in (frequency, recency, T)))
    total = np.zeros_like(m)
    before = np.zeros_like(m)
    for k in range(1, n_periods + 1):
        upto = expected_purchases(purchases, k * period, x, t_x, TT)[history]
        total += (upto - before) * m / (1 + discount_rate) ** k
        before = upto
    return total
