"""Customer value: buy-till-you-die models and CLV, by maximum likelihood with SciPy.

* BG/NBD (Fader, Hardie & Lee 2005) and Pareto/NBD (Schmittlein, Morrison & Colombo 1987)
  for the number of purchases; Gamma-Gamma (Colombo & Jiang 1999; Fader, Hardie & Lee 2005)
  for the spend per purchase;
* P(active), expected purchases (conditional and for a new customer), expected spend, CLV;
* calibration / holdout evaluation.

They work on the per-person summary of :func:`parcours.metrics.value.rfm_summary`
(frequency, recency, T, monetary_value); :func:`fit_file` and :func:`fit_orders` do it all.
Formulas and sources are in each module's docstring and in docs/metrics-value.md.
"""

from parcours.value.clv import clv, expected_spend
from parcours.value.fit import MODELS, fit_file, fit_orders, read_orders
from parcours.value.gamma_gamma import fit as fit_gamma_gamma
from parcours.value.holdout import holdout_evaluation, spend_holdout_evaluation
from parcours.value.mle import Fit
from parcours.value.purchases import (
    expected_cohort_purchases,
    expected_purchases,
    expected_purchases_new,
    fit_bgnbd,
    fit_pareto_nbd,
    p_alive,
)

__all__ = [
    "MODELS", "Fit", "clv", "expected_cohort_purchases", "expected_purchases",
    "expected_purchases_new", "expected_spend", "fit_bgnbd", "fit_file", "fit_gamma_gamma",
    "fit_orders", "fit_pareto_nbd", "holdout_evaluation", "p_alive", "read_orders",
    "spend_holdout_evaluation",
]
