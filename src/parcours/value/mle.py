"""Maximum likelihood shared by the value models: optimiser, Hessian, standard errors.

Parameters are all positive and are optimised on the log scale, ``φ = log θ``: the mean
negative log-likelihood is minimised with L-BFGS-B (with the model's analytic gradient when it
has one, else central differences), then with Nelder–Mead from where it stopped when L-BFGS-B
reports no convergence.

**Standard errors** come from the observed information: the Hessian ``H`` of the negative
log-likelihood in ``φ`` by central finite differences, ``Var(φ) = H⁻¹``, and by the delta
method ``se(θ) = θ·se(φ)``. The 95 % interval is ``exp(φ ± 1.96·se(φ))`` (always positive).
When ``H`` is not positive definite (a flat or boundary optimum) the standard errors and
intervals are ``None`` and ``converged`` is False: never a silent NaN. ``converged`` is also
False when a parameter runs off to 0 or ∞ (|log θ| > 11.5): the data do not identify the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from parcours.metrics.stats import Z95

#: |log θ| beyond which a parameter is taken as run off to 0 or ∞ (θ < 1e-5 or θ > 1e5).
EDGE = 11.5

#: A log-likelihood: (parameters on their natural scale) → total log-likelihood.
LogLik = Callable[[np.ndarray], float]
#: Its gradient: (parameters on their natural scale) → d log-likelihood / d parameter.
Gradient = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Fit:
    """A fitted model: its parameters with standard errors, and how the fit went."""

    model: str
    params: dict[str, float]
    se: dict[str, float | None]
    ci95: dict[str, tuple[float, float] | None]
    log_likelihood: float
    n: int
    converged: bool
    iterations: int
    seconds: float
    message: str = ""

    def __getitem__(self, name: str) -> float:
        return self.params[name]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: parameters, standard_errors and ci95 ([low, high]) keyed by parameter name."""
        return {"model": self.model, "n": self.n, "parameters": dict(self.params),
                "standard_errors": dict(self.se),
                "ci95": {k: None if v is None else list(v) for k, v in self.ci95.items()},
                "log_likelihood": self.log_likelihood, "converged": self.converged,
                "iterations": self.iterations, "seconds": round(self.seconds, 3),
                "message": self.message}


def unique_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """The unique rows of the columns in lexicographic order, their counts, and for each row the
    index of its unique row (``np.unique(..., axis=0)``, by one ``lexsort``: 6× faster)."""
    cols = [np.asarray(c) for c in columns]
    order = np.lexsort(cols[::-1])
    ordered = [c[order] for c in cols]
    new = np.ones(len(order), bool)  # a row that differs from the one before it starts a group
    if len(order) > 1:
        new[1:] = np.any([c[1:] != c[:-1] for c in ordered], axis=0)
    starts = np.flatnonzero(new)
    inverse = np.empty(len(order), np.intp)
    inverse[order] = np.cumsum(new) - 1
    return [c[starts] for c in ordered], np.diff(np.append(starts, len(order))), inverse


def compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of the columns and their counts (the likelihood is a weighted sum over them)."""
    uniq, counts, _ = unique_rows(*columns)
    return uniq, counts.astype(float)


def hessian(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x``."""
    k = len(x)
    out = np.empty((k, k))
    f0 = f(x)
    e = np.eye(k) * h
    for i in range(k):
        out[i, i] = (f(x + e[i]) - 2 * f0 + f(x - e[i])) / h**2
        for j in range(i):
            out[i, j] = out[j, i] = (f(x + e[i] + e[j]) - f(x + e[i] - e[j])
                                     - f(x - e[i] + e[j]) + f(x - e[i] - e[j])) / (4 * h**2)
    return out


def maximise(model: str, names: tuple[str, ...], loglik: LogLik, n: int,
             start: np.ndarray | None = None, gradient: Gradient | None = None) -> Fit:
    """Maximum-likelihood fit of ``loglik`` over positive parameters ``names``."""
    t0 = time.perf_counter()

    def nll(phi: np.ndarray) -> float:  # mean negative log-likelihood, scaled for the optimiser
        if np.any(np.abs(phi) > 30):
            return np.inf
        v = -loglik(np.exp(phi)) / n
        return v if np.isfinite(v) else np.inf

    # central differences cost 2k likelihoods a step; an analytic gradient about two
    jac: Callable[[np.ndarray], np.ndarray] | str = "3-point"
    if gradient is not None:
        def jac(phi: np.ndarray) -> np.ndarray:  # d/dφ = θ·d/dθ (chain rule on the log scale)
            theta = np.exp(np.clip(phi, -30, 30))
            g = -theta * gradient(theta) / n
            return g if np.all(np.isfinite(g)) else np.zeros_like(g)

    phi0 = np.log(start) if start is not None else np.zeros(len(names))
    with np.errstate(all="ignore"):
        res = minimize(nll, phi0, method="L-BFGS-B", jac=jac,
                       options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9})
        iterations = int(res.nit)
        if not res.success:
            res = minimize(nll, res.x, method="Nelder-Mead",
                           options={"maxiter": 20000, "xatol": 1e-9, "fatol": 1e-12})
            iterations += int(res.nit)
        phi = res.x
        ll = -nll(phi) * n
        H = hessian(lambda p: -loglik(np.exp(p)), phi)
    if not np.isfinite(ll):
        raise ValueError(f"{model}: the likelihood is not finite at any tried parameters; "
                         "check the summary (negative or missing recency/T?)")
    params = dict(zip(names, map(float, np.exp(phi)), strict=True))
    se: dict[str, float | None] = dict.fromkeys(names)
    ci: dict[str, tuple[float, float] | None] = dict.fromkeys(names)
    converged = bool(res.success)
    message = str(res.message)
    edge = [name for name, v in zip(names, phi, strict=True) if abs(v) > EDGE]
    if edge:
        converged = False
        message += (f"; {', '.join(edge)} went to the edge of the parameter space: the data do not "
                    "identify the model (too few customers or repeat purchases?)")
    try:
        cov = np.linalg.inv(H)
        ok = bool(np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0)
                  and np.all(np.linalg.eigvalsh(H) > 0))
    except np.linalg.LinAlgError:
        ok = False
    if ok:
        for i, name in enumerate(names):
            s = float(np.sqrt(cov[i, i]))
            se[name] = params[name] * s
            ci[name] = (float(np.exp(phi[i] - Z95 * s)), float(np.exp(phi[i] + Z95 * s)))
    else:
        converged = False
        message += "; the Hessian is not positive definite at the optimum (no standard errors)"
    return Fit(model, params, se, ci, float(ll), n, converged, iterations,
               time.perf_counter() - t0, message)
