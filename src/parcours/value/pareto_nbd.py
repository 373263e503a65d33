"""Pareto/NBD: Schmittlein, Morrison & Colombo (1987), "Counting your customers: who are they
and what will they do next?", *Management Science* 33(1), 1–24; likelihood as derived in
Fader & Hardie (2005), "A note on deriving the Pareto/NBD model and related expressions".

While active, a customer buys as a Poisson process of rate λ ~ Gamma(r, α); her lifetime is
exponential with rate μ ~ Gamma(s, β). For ``x`` repeat purchases, the last at ``t_x``, and
``T`` since the first purchase (Fader & Hardie 2005, eq. 22):

    L = Γ(r+x) α^r β^s / Γ(r) · { 1 / ((α+T)^(r+x) (β+T)^s) + s/(r+s+x) · A0 }

with, if α ≥ β,

    A0 = ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+t_x)) / (α+t_x)^(r+s+x)
       − ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+T))  / (α+T)^(r+s+x)

and, if α < β, the same with (α, s+1) replaced by (β, r+x) (the argument becoming
(β−α)/(β+·)), which keeps the argument of ₂F₁ in [0, 1). Everything is computed on the log
scale: A0 as ``l1 + log(1 − exp(l2 − l1))``, the braces with ``logaddexp``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from parcours.value.mle import Fit, compress, maximise

NAMES = ("r", "alpha", "s", "beta")


def _log_a0(r: float, alpha: float, s: float, beta: float, x: np.ndarray, t_x: np.ndarray,
            T: np.ndarray) -> np.ndarray:
    rsx = r + s + x
    big, b2 = (alpha, s + 1 + 0 * x) if alpha >= beta else (beta, r + x)
    diff = abs(alpha - beta)

    def term(t: np.ndarray) -> np.ndarray:
        return np.log(hyp2f1(rsx, b2, rsx + 1, diff / (big + t))) - rsx * np.log(big + t)

    l1, l2 = term(t_x), term(T)
    with np.errstate(divide="ignore", invalid="ignore"):
        return l1 + np.log1p(-np.exp(np.minimum(l2 - l1, 0.0)))  # −inf when t_x = T


def _log_parts(params: dict[str, float] | np.ndarray, x: np.ndarray, t_x: np.ndarray,
               T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ln of the two terms in the braces: 1/((α+T)^(r+x)(β+T)^s) and s/(r+s+x)·A0."""
    r, alpha, s, beta = (params[k] for k in NAMES) if isinstance(params, dict) else params
    first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    second = np.log(s) - np.log(r + s + x) + _log_a0(r, alpha, s, beta, x, t_x, T)
    return first, second


def log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                   weights: np.ndarray | None = None) -> float:
    """Total log-likelihood of (r, α, s, β) for the customers (x, t_x, T)."""
    r, alpha, s, beta = params
    first, second = _log_parts(params, x, t_x, T)
    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + np.logaddexp(first, second)
    return float(np.sum(ll if weights is None else weights * ll))


def fit(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> Fit:
    """Maximum-likelihood (r, α, s, β) with standard errors."""
    (x, t_x, TT), w = compress(frequency, recency, T)
    return maximise("pareto-nbd", NAMES, lambda p: log_likelihood(p, x, t_x, TT, w), len(frequency))


def p_alive(params: dict[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(active | x, t_x, T) = 1 / (1 + s/(r+s+x) (α+T)^(r+x) (β+T)^s A0) (Fader & Hardie 2005, eq. 18)."""
    first, second = _log_parts(params, x, t_x, T)
    return expit(first - second)


def expected_purchases(params: dict[str, float], t: float, x: np.ndarray, t_x: np.ndarray,
                       T: np.ndarray) -> np.ndarray:
    """E[Y(t) | x, t_x, T] (Schmittlein et al. 1987, eq. 22; Fader & Hardie 2005, eq. 27):

        (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(active)

    (the bracket over s−1 tends to ln((β+T+t)/(β+T)) as s → 1).
    """
    r, alpha, s, beta = (params[k] for k in NAMES)
    ratio = np.log(beta + T + t) - np.log(beta + T)
    growth = ratio if abs(s - 1) < 1e-9 else -np.expm1(-(s - 1) * ratio) / (s - 1)
    return (r + x) * (beta + T) / (alpha + T) * growth * p_alive(params, x, t_x, T)


def expected_purchases_new(params: dict[str, float], t: np.ndarray | float) -> np.ndarray:
    """E[X(t)] for a customer just acquired: rβ/(α(s−1)) · [1 − (β/(β+t))^(s−1)] (Fader & Hardie 2005, eq. 17)."""
    r, alpha, s, beta = (params[k] for k in NAMES)
    ratio = np.log(beta + np.asarray(t, float)) - np.log(beta)
    growth = ratio if abs(s - 1) < 1e-9 else -np.expm1(-(s - 1) * ratio) / (s - 1)
    return r * beta / alpha * growth
