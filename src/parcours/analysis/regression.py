"""Ordinary least squares and logistic regression with their inference, in numpy.

What the driver analysis needs and no more: coefficients, standard errors, 95 % intervals,
p-values and fit (R², McFadden's pseudo-R²). The textbook formulas (e.g. Greene, *Econometric
Analysis*, ch. 4 and 17), checked against statsmodels in the tests: a logit on 500,000
customers takes about 0.2 s, where loading statsmodels alone took over a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special


@dataclass
class Fit:
    """A fitted model; the design's first column is the intercept."""

    params: np.ndarray
    bse: np.ndarray             # standard errors
    pvalues: np.ndarray
    conf_int: np.ndarray        # (k, 2), at the level asked
    r2: float                   # OLS: R²; logit: McFadden's 1 − ll/ll₀
    adj_r2: float = math.nan
    linear: np.ndarray = field(default_factory=lambda: np.empty(0))  # X·b
    converged: bool = True
    separation: bool = False    # logit: the outcome is predicted perfectly


def ols(y: np.ndarray, x: np.ndarray, alpha: float = 0.05) -> Fit:
    """OLS of ``y`` on ``x`` (with its intercept column): t tests on n − k degrees of freedom."""
    n, k = x.shape
    q, r = np.linalg.qr(x)
    b = np.linalg.solve(r, q.T @ y)
    fitted = x @ b
    resid = y - fitted
    df = n - k
    sigma2 = float(resid @ resid) / df
    r_inv = np.linalg.inv(r)
    bse = np.sqrt(sigma2 * np.einsum("ij,ij->i", r_inv, r_inv))  # diag((XᵀX)⁻¹) = row norms of R⁻¹
    t = b / bse
    crit = special.stdtrit(df, 1 - alpha / 2)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - float(resid @ resid) / ss_tot
    return Fit(b, bse, 2 * special.stdtr(df, -np.abs(t)), np.column_stack([b - crit * bse, b + crit * bse]),
               r2, 1 - (n - 1) / df * (1 - r2), fitted)


def logit(y: np.ndarray, x: np.ndarray, alpha: float = 0.05, maxiter: int = 200, tol: float = 1e-8) -> Fit:
    """Logistic regression by Newton–Raphson (maximum likelihood), Wald intervals and z tests.
    Stops, flagged, when the outcome is predicted perfectly (separation) or after ``maxiter``
    steps without every coefficient moving less than ``tol``. Raises ``LinAlgError`` on a
    singular information matrix."""
    n, k = x.shape
    b = np.zeros(k)
    ybar = float(y.mean())
    if 0 < ybar < 1:  # from the intercept-only fit: a step or two fewer than from zero
        b[0] = math.log(ybar / (1 - ybar))
    converged = separation = False
    for _ in range(maxiter):
        p = special.expit(x @ b)
        if np.allclose(p, y):
            separation = True
            break
        step = np.linalg.solve(_information(x, p), x.T @ (y - p))
        b = b + step
        if np.all(np.abs(step) < tol):
            converged = True
            break
    eta = x @ b
    p = special.expit(eta)
    cov = np.linalg.inv(_information(x, p))
    bse = np.sqrt(np.diag(cov))
    ll = float((y * eta - np.logaddexp(0, eta)).sum())
    ll0 = n * (ybar * math.log(ybar) + (1 - ybar) * math.log(1 - ybar)) if 0 < ybar < 1 else 0.0
    crit = special.ndtri(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = b / bse
    return Fit(b, bse, 2 * special.ndtr(-np.abs(z)), np.column_stack([b - crit * bse, b + crit * bse]),
               1 - ll / ll0 if ll0 else math.nan, linear=eta, converged=converged, separation=separation)


def _information(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The logit's Fisher information XᵀWX, W = diag(p(1 − p))."""
    return x.T @ (x * (p * (1 - p))[:, None])


def with_intercept(x: np.ndarray) -> np.ndarray:
    """``x`` with a first column of ones."""
    x = np.asarray(x, float).reshape(len(x), -1)
    return np.column_stack([np.ones(len(x)), x])


__all__ = ["Fit", "logit", "ols", "with_intercept"]
