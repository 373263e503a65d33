"""BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative
to the Pareto/NBD model", *Marketing Science* 24(2), 275–284.

While active, a customer buys as a Poisson process of rate λ ~ Gamma(r, α); after each
purchase she drops out with probability p ~ Beta(a, b). For a customer with ``x`` repeat
purchases, the last at ``t_x``, observed for ``T`` since her first purchase (eq. 6):

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
      + δ(x>0) · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

computed on the log scale: ``ln L = A1 + A2 + ln(e^A3 + δ e^A4)`` with A1 = lnΓ(r+x) − lnΓ(r)
+ r ln α, A2 = ln B(a, b+x) − ln B(a, b), A3 = −(r+x) ln(α+T) and
A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x) (FHL's note "Implementing the BG/NBD model").
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from parcours.value.mle import Fit, compress, maximise

NAMES = ("r", "alpha", "a", "b")


def _log_terms(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r, alpha, a, b = params
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                      - (r + x) * np.log(alpha + t_x), -np.inf)
    return base, a3, a4


def log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                   weights: np.ndarray | None = None) -> float:
    """Total log-likelihood of (r, α, a, b) for the customers (x, t_x, T)."""
    base, a3, a4 = _log_terms(np.asarray(params, float), x, t_x, T)
    ll = base + np.logaddexp(a3, a4)
    return float(np.sum(ll if weights is None else weights * ll))


def gradient(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
             weights: np.ndarray | None = None) -> np.ndarray:
    """d ln L / d(r, α, a, b), summed over the customers: the derivatives of A1 + A2 and, for
    ln(e^A3 + δ e^A4), those of A3 and A4 weighted by their shares s3 and s4 = 1 − s3."""
    r, alpha, a, b = np.asarray(params, float)
    base, a3, a4 = _log_terms(np.asarray(params, float), x, t_x, T)
    both = np.logaddexp(a3, a4)
    s3, s4 = np.exp(a3 - both), np.exp(a4 - both)  # s4 = 0 where x = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        d_b4 = np.where(x > 0, s4 / (b + x - 1), 0.0)
    d = np.stack([
        digamma(r + x) - digamma(r) + np.log(alpha) - s3 * np.log(alpha + T) - s4 * np.log(alpha + t_x),
        r / alpha - (r + x) * (s3 / (alpha + T) + s4 / (alpha + t_x)),
        digamma(a + b) - digamma(a + b + x) + s4 / a,
        digamma(b + x) - digamma(a + b + x) - digamma(b) + digamma(a + b) - d_b4,
    ])
    return d @ (np.ones(len(x)) if weights is None else weights)


def fit(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> Fit:
    """Maximum-likelihood (r, α, a, b) with standard errors."""
    (x, t_x, TT), w = compress(frequency, recency, T)
    return maximise("bgnbd", NAMES, lambda p: log_likelihood(p, x, t_x, TT, w), len(frequency),
                    gradient=lambda p: gradient(p, x, t_x, TT, w))


def p_alive(params: dict[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(active | x, t_x, T) = 1 / (1 + δ(x>0) a/(b+x−1) ((α+T)/(α+t_x))^(r+x)) (FHL 2005, eq. 11)."""
    r, alpha, a, b = (params[k] for k in NAMES)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = (np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return np.where(x > 0, expit(-log_odds), 1.0)


def expected_purchases(params: dict[str, float], t: float, x: np.ndarray, t_x: np.ndarray,
                       T: np.ndarray) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] (FHL 2005, eq. 10):

        (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))] · P(active)
    """
    r, alpha, a, b = (params[k] for k in NAMES)
    z = t / (alpha + T + t)
    bracket = 1 - np.exp((r + x) * np.log1p(-z)) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * bracket * p_alive(params, x, t_x, T)


def expected_purchases_new(params: dict[str, float], t: np.ndarray | float) -> np.ndarray:
    """E[X(t)] for a customer just acquired (FHL 2005, eq. 9):

        (a+b−1)/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))]
    """
    r, alpha, a, b = (params[k] for k in NAMES)
    t = np.asarray(t, float)
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - np.exp(r * np.log1p(-z)) * hyp2f1(r, b, a + b - 1, z))
