"""Gamma-Gamma spend: Colombo & Jiang (1999), "A stochastic RFM model", *Journal of
Interactive Marketing* 13(3); as used in Fader, Hardie & Lee (2005), "RFM and CLV: using
iso-value curves for customer base analysis", *Journal of Marketing Research* 42(4), 415–430.

A customer's spends are Gamma(p, ν) with ν ~ Gamma(q, γ) across customers, independent of
the purchase process. For a customer with ``x`` repeat purchases of mean value ``m_x``
(FHL 2005 RFM/CLV, eq. 3, as the density of the mean):

    f(m_x | p, q, γ; x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m_x^(px−1) x^(px) / (γ + x m_x)^(px+q)

Fitted on the customers with x ≥ 1 (the first purchase is left out: its spend differs).
The expected spend of a customer (eq. 5) is a weighted mean of the population mean
pγ/(q−1) and her own mean m_x:

    E(M | p, q, γ, m_x, x) = p(γ + x m_x) / (px + q − 1)

which is finite only for q > 1. For x = 0 it is the population mean.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from parcours.value.mle import Fit, compress, maximise

NAMES = ("p", "q", "gamma")


def log_likelihood(params: np.ndarray, x: np.ndarray, m_x: np.ndarray,
                   weights: np.ndarray | None = None) -> float:
    """Total log-likelihood of (p, q, γ) for the repeat customers (x ≥ 1, m_x > 0)."""
    p, q, g = params
    px = p * x
    ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * np.log(m_x)
          + px * np.log(x) - (px + q) * np.log(g + x * m_x))
    return float(np.sum(ll if weights is None else weights * ll))


def gradient(params: np.ndarray, x: np.ndarray, m_x: np.ndarray, weights: np.ndarray | None = None
             ) -> np.ndarray:
    """d ln L / d(p, q, γ), summed over the repeat customers."""
    p, q, g = params
    px, spent = p * x, np.log(g + x * m_x)
    d = np.stack([x * (digamma(px + q) - digamma(px) + np.log(m_x) + np.log(x) - spent),
                  digamma(px + q) - digamma(q) + np.log(g) - spent,
                  q / g - (px + q) / (g + x * m_x)])
    return d @ (np.ones(len(x)) if weights is None else weights)


def fit(frequency: np.ndarray, monetary_value: np.ndarray) -> Fit:
    """Maximum-likelihood (p, q, γ) on the customers with frequency ≥ 1 (others ignored)."""
    keep = np.asarray(frequency) > 0
    x, m_x = np.asarray(frequency, float)[keep], np.asarray(monetary_value, float)[keep]
    if len(x) == 0:
        raise ValueError("gamma-gamma needs repeat customers (frequency ≥ 1); there are none")
    if not np.all(np.isfinite(m_x)) or np.any(m_x <= 0):
        raise ValueError("gamma-gamma needs a positive mean spend (monetary_value) for every "
                         "repeat customer")
    (xx, mm), w = compress(x, m_x)
    return maximise("gamma-gamma", NAMES, lambda prm: log_likelihood(prm, xx, mm, w), len(x),
                    gradient=lambda prm: gradient(prm, xx, mm, w))


def expected_spend(params: dict[str, float], x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    """E(M | x, m_x) = p(γ + x·m_x)/(px + q − 1); m_x is ignored (may be NaN) where x = 0."""
    p, q, g = (params[k] for k in NAMES)
    if q <= 1:
        raise ValueError(f"gamma-gamma q = {q:.3g} ≤ 1: the expected spend is infinite")
    x = np.asarray(x, float)
    m = np.where(x > 0, np.asarray(m_x, float), 0.0)
    return p * (g + x * m) / (p * x + q - 1)
