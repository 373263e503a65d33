"""Key-driver analysis: what moves scores (NPS, CSAT, CES) and what makes customers leave.

**Scores** — ordinary least squares of the score on the candidate drivers, with the score and
the numeric drivers standardised (z-scores, sample SD), so a coefficient reads "standard
deviations of score per standard deviation of the driver"; a category is one-hot coded
against a reference level (its coefficient reads "SD of score versus the reference").
``raw_coef`` gives the same effect in the score's own units per unit of the driver. Each
coefficient has its 95 % confidence interval and p-value (t test; OLS, ``regression.ols``).

**Churn** — logistic regression of a binary outcome (churned or not) on the drivers
(numeric drivers standardised by default, so odds ratios are per standard deviation;
categories against their reference), with odds ratios, their 95 % Wald intervals and
p-values (maximum likelihood, ``regression.logit``); fit is McFadden's pseudo-R² (1974).

**Importance** — how much of the explained variance each driver accounts for, as a share of
R² that adds up to 100 %:

* ``relative_weights`` (default): Johnson (2000), "A heuristic method for estimating the
  relative weight of predictor variables in multiple regression", *Multivariate Behavioral
  Research* 35(1). The predictors are replaced by their closest orthogonal counterparts Z
  (Z = X·R^(−1/2)); with Λ = R^(1/2) and β = the regression of y on Z,
  ``ε_j = Σ_k Λ_jk² β_k²`` and ``Σ ε_j = R²``. For churn, the extension of Tonidandel &
  LeBreton (2010), *Organizational Research Methods* 13(4): β from a logistic regression on
  Z, fully standardised (Menard 2004: ``b · R_O / sd(logit ŷ)``), whose weights add up to
  R²_O, the squared correlation between outcome and predicted probability.
* ``shapley``: the exact Shapley value of each driver in R² (LMG: Lindeman, Merenda & Gold
  1980; Grömping 2007, *The American Statistician* 61(2); Lipovetsky & Conklin 2001), the
  average gain in R² (McFadden's for churn) from adding the driver over all orders of entry;
  2^m models for m drivers, so at most 15 drivers (10 for churn).

With uncorrelated drivers both equal the squared standardised coefficients. A categorical
driver's importance is that of all its levels together (weights are additive).

**Checks and flags** (column ``flag``; nothing is dropped silently): rows with a missing value
are left out (``attrs['n_dropped']``); a constant driver, and a term that is a linear
combination of others (aliased), are reported and left out of the model; levels seen fewer
than 5 times are flagged ``rare level``; with too few observations to estimate (n < terms
+ 2, or no event or no non-event for churn) every row says so and carries no estimate; a
small sample is flagged (OLS: n < 30 or under 10 observations per term; churn: fewer than
10 events per term, Peduzzi et al. 1996); drivers with p ≥ ``alpha`` are ``significant =
False`` and flagged ``not significant``; estimation warnings (no convergence, perfect
separation) are reported.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from parcours.analysis import regression

Importance = Literal["relative_weights", "shapley"]
RARE_LEVEL = 5
MAX_SHAPLEY = {"ols": 15, "logit": 10}


class DriverError(ValueError):
    """The request cannot be analysed as asked (unknown column, non-binary outcome…)."""


# --- importance ---------------------------------------------------------------------------------------------
def _corr_root(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R^(1/2), standardised x) for the columns of x (sample SD)."""
    xs = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    r = np.atleast_2d(np.corrcoef(xs, rowvar=False))
    vals, vecs = np.linalg.eigh(r)
    if vals.min() <= 1e-10:
        raise DriverError("the drivers are linearly dependent: relative weights need a full-rank correlation matrix")
    return (vecs * np.sqrt(vals)) @ vecs.T, xs


def relative_weights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Johnson's (2000) relative weights of the columns of ``x`` for ``y`` (they sum to R²)."""
    x = np.asarray(x, float).reshape(len(y), -1)
    y = np.asarray(y, float)
    lam, xs = _corr_root(x)
    ys = (y - y.mean()) / y.std(ddof=1)
    rxy = xs.T @ ys / (len(y) - 1)
    beta = np.linalg.solve(lam, rxy)
    return (lam**2) @ (beta**2)


def relative_weights_logit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Relative weights for a logistic regression (Tonidandel & LeBreton 2010); they sum to R²_O,
    the squared correlation between ``y`` (0/1) and the predicted probability."""
    x = np.asarray(x, float).reshape(len(y), -1)
    y = np.asarray(y, float)
    lam, xs = _corr_root(x)
    z = xs @ np.linalg.inv(lam)
    fit = regression.logit(y, regression.with_intercept(z))
    b = fit.params[1:]
    lin = fit.linear
    r2_o = np.corrcoef(y, expit(lin))[0, 1] ** 2
    beta = b * math.sqrt(r2_o) / lin.std(ddof=1)
    return (lam**2) @ (beta**2)


def _r2_ols(corr: np.ndarray, cols: list[int]) -> float:
    """R² of y (last row/column of ``corr``) on the columns ``cols``, from correlations."""
    if not cols:
        return 0.0
    rxx = corr[np.ix_(cols, cols)]
    rxy = corr[cols, -1]
    return float(rxy @ np.linalg.solve(rxx, rxy))


def shapley_r2(x: np.ndarray, y: np.ndarray, groups: list[list[int]] | None = None,
               model: Literal["ols", "logit"] = "ols") -> np.ndarray:
    """Exact Shapley values of the column ``groups`` of ``x`` in R² (OLS) or McFadden's
    pseudo-R² (logit): ``φ_g = Σ_S |S|!(m−|S|−1)!/m! · (R²(S ∪ g) − R²(S))``. They sum to
    the full model's R²."""
    x = np.asarray(x, float).reshape(len(y), -1)
    y = np.asarray(y, float)
    groups = groups if groups is not None else [[j] for j in range(x.shape[1])]
    m = len(groups)
    if m > MAX_SHAPLEY[model]:
        raise DriverError(f"exact Shapley importance needs 2^{m} models: use at most {MAX_SHAPLEY[model]} drivers "
                          "or importance='relative_weights'")
    if model == "ols":
        corr = np.corrcoef(np.column_stack([x, y]), rowvar=False)

        def r2(cols: list[int]) -> float:
            return _r2_ols(corr, cols)
    else:
        def r2(cols: list[int]) -> float:
            return regression.logit(y, regression.with_intercept(x[:, cols])).r2 if cols else 0.0

    value = {}
    for size in range(m + 1):
        for subset in itertools.combinations(range(m), size):
            value[subset] = r2([c for g in subset for c in groups[g]])
    phi = np.zeros(m)
    for g in range(m):
        others = [h for h in range(m) if h != g]
        for size in range(m):
            w = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
            for s in itertools.combinations(others, size):
                phi[g] += w * (value[tuple(sorted((*s, g)))] - value[s])
    return phi


# --- design matrix ------------------------------------------------------------------------------------------
@dataclass
class _Term:
    feature: str
    term: str
    level: str | None = None
    reference: str | None = None
    numeric: bool = True
    flag: list[str] = field(default_factory=list)
    kept: bool = True


@dataclass
class _Design:
    x: pd.DataFrame          # kept terms (numeric, unstandardised)
    terms: list[_Term]       # every term, kept or not
    y: pd.Series
    n_dropped: int


def _frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "to_pandas"):
        return data.to_pandas()
    raise DriverError("data must be a pandas DataFrame or an Ibis table")


def _is_categorical(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def _design(df: pd.DataFrame, target: str, features: list[str], categorical: list[str] | None,
            reference: dict[str, Any] | None) -> _Design:
    missing = [c for c in [target, *features] if c not in df.columns]
    if missing:
        raise DriverError(f"columns not in the data: {', '.join(missing)} (have: {', '.join(map(str, df.columns))})")
    if not features:
        raise DriverError("no driver given")
    if len(set(features)) != len(features) or target in features:
        raise DriverError("drivers must be distinct and differ from the target")
    d = df[[target, *features]]
    complete = d.notna().all(axis=1)
    d = d[complete]
    cats = set(categorical if categorical is not None else [f for f in features if _is_categorical(d[f])])
    reference = reference or {}
    unknown = set(reference) - cats
    if unknown:
        raise DriverError(f"reference levels given for non-categorical drivers: {', '.join(sorted(unknown))}")
    cols: dict[str, pd.Series] = {}
    terms: list[_Term] = []
    for f in features:
        s = d[f]
        if f in cats:
            s = s.astype(str)
            counts = s.value_counts()
            levels = sorted(counts.index, key=lambda v: (-counts[v], v))
            if len(levels) < 2:
                terms.append(_Term(f, f, None, None, False, ["constant: left out"], False))
                continue
            ref = str(reference.get(f, levels[0]))
            if ref not in counts.index:
                raise DriverError(f"reference level {ref!r} of {f} not in the data (levels: {', '.join(levels)})")
            for lv in [v for v in levels if v != ref]:
                t = _Term(f, f"{f}={lv}", lv, ref, False)
                if counts[lv] < RARE_LEVEL:
                    t.flag.append(f"rare level (n={counts[lv]})")
                terms.append(t)
                cols[t.term] = (s == lv).astype(float)
        else:
            v = s.astype(float)
            if v.nunique() < 2:
                terms.append(_Term(f, f, flag=["constant: left out"], kept=False))
                continue
            terms.append(_Term(f, f))
            cols[f] = v
    x = pd.DataFrame(cols, index=d.index)
    _drop_aliased(x, terms)
    return _Design(x[[t.term for t in terms if t.kept]], terms, d[target], int((~complete).sum()))


def _drop_aliased(x: pd.DataFrame, terms: list[_Term]) -> None:
    """Leave out, in order, every term that is a linear combination of the intercept and the
    terms kept before it (its residual on them, by Gram–Schmidt, is numerically zero)."""
    basis = [np.full(len(x), 1 / math.sqrt(max(len(x), 1)))]
    for t in terms:
        if not t.kept:
            continue
        v = x[t.term].to_numpy(float)
        norm = np.linalg.norm(v)
        q = np.column_stack(basis)
        r = v - q @ (q.T @ v)
        r = r - q @ (q.T @ r)  # second pass: classical Gram–Schmidt, re-orthogonalised
        if norm > 0 and np.linalg.norm(r) > 1e-8 * norm:
            basis.append(r / np.linalg.norm(r))
        else:
            t.kept = False
            t.flag.append("aliased (a linear combination of other drivers): left out")


# --- output ---------------------------------------------------------------------------------------------
_COMMON = ["target", "model", "feature", "term", "level", "reference"]


def _table(design: _Design, model: str, target: str, rows: dict[str, dict[str, float]],
           importance: dict[str, float], model_flags: list[str], stats: dict[str, Any], alpha: float,
           extra_cols: list[str]) -> pd.DataFrame:
    total = sum(v for v in importance.values() if np.isfinite(v))
    out = []
    for t in design.terms:
        r = rows.get(t.term, {}) if t.kept else {}
        p = r.get("p_value", math.nan)
        sig = bool(np.isfinite(p) and p < alpha)
        flags = list(t.flag)
        if t.kept and np.isfinite(p) and not sig:
            flags.append(f"not significant (p={p:.2g})")
        flags += model_flags
        w = importance.get(t.feature, math.nan) if t.kept else math.nan
        out.append({"target": target, "model": model, "feature": t.feature, "term": t.term, "level": t.level,
                    "reference": t.reference, **{c: r.get(c, math.nan) for c in extra_cols},
                    "p_value": p, "significant": sig, "weight": w,
                    "share": 100 * w / total if total > 0 and np.isfinite(w) else math.nan,
                    **{k: v for k, v in stats.items() if not k.startswith("_")}, "flag": "; ".join(flags)})
    df = pd.DataFrame(out, columns=[*_COMMON, *extra_cols, "p_value", "significant", "weight", "share",
                                    *[k for k in stats if not k.startswith("_")], "flag"])
    df["_abs"] = df["coef"].abs()
    df = df.sort_values(["share", "_abs"], ascending=[False, False], na_position="last").drop(columns="_abs")
    df = df.reset_index(drop=True)
    df.attrs.update({k: v for k, v in stats.items()}, n_dropped=design.n_dropped, model_flags=model_flags)
    return df


def _importance(design: _Design, y: np.ndarray, method: Importance, model: str) -> tuple[dict[str, float], list[str]]:
    kept = [t for t in design.terms if t.kept]
    features = list(dict.fromkeys(t.feature for t in kept))
    x = design.x.to_numpy(float)
    if method == "shapley":
        groups = [[i for i, t in enumerate(kept) if t.feature == f] for f in features]
        phi = shapley_r2(x, y, groups, model)  # type: ignore[arg-type]
        return dict(zip(features, phi.tolist())), []
    try:
        eps = relative_weights(x, y) if model == "ols" else relative_weights_logit(x, y)
    except (DriverError, np.linalg.LinAlgError) as err:
        return {}, [f"importance not computed ({err})"]
    out: dict[str, float] = {}
    for t, weight in zip(kept, eps):
        out[t.feature] = out.get(t.feature, 0.0) + float(weight)
    return out, []


def _not_estimated(design: _Design, model: str, target: str, why: str, stats: dict[str, Any],
                   extra_cols: list[str]) -> pd.DataFrame:
    return _table(design, model, target, {}, {}, [f"not estimated: {why}"], stats, 0.05, extra_cols)


def _too_few(n: int, k: int) -> str:
    k = max(k, 1)
    return f"n={n} for {k} term{'s' if k > 1 else ''} (need at least {k + 2})"


def _check_method(importance: str) -> None:
    if importance not in ("relative_weights", "shapley"):
        raise DriverError(f"importance must be 'relative_weights' or 'shapley'; got {importance!r}")


OLS_COLUMNS = ["coef", "ci_low", "ci_high", "raw_coef"]
LOGIT_COLUMNS = ["coef", "ci_low", "ci_high", "odds_ratio", "or_low", "or_high"]


def score_drivers(data: Any, target: str, features: list[str], *, categorical: list[str] | None = None,
                  reference: dict[str, Any] | None = None, importance: Importance = "relative_weights",
                  alpha: float = 0.05) -> pd.DataFrame:
    """Drivers of a score (NPS 0–10, CSAT, CES…): standardised OLS plus relative importance.

    Model: ``z(y) = b0 + Σ_j b_j·x_j + e`` with numeric drivers as z-scores and categories as
    0/1 dummies against ``reference`` (default: each category's most frequent level). Rows,
    one per term, sorted by importance: target, model ('ols'), feature, term, level,
    reference, coef (standardised), ci_low, ci_high (95 %), raw_coef (score units per unit),
    p_value, significant (p < alpha), weight (the driver's part of R²), share (% of R²),
    n, r2, adj_r2, flag (see the module docstring). ``data``: a DataFrame or an Ibis table.
    """
    _check_method(importance)
    design = _design(_frame(data), target, features, categorical, reference)
    if not pd.api.types.is_numeric_dtype(design.y) or pd.api.types.is_bool_dtype(design.y):
        raise DriverError(f"the target {target} must be a numeric score (use churn_drivers for a yes/no outcome)")
    y = design.y.astype(float)
    k = design.x.shape[1]
    n = len(y)
    stats: dict[str, Any] = {"n": n, "r2": math.nan, "adj_r2": math.nan}
    if n < max(k, 1) + 2:
        return _not_estimated(design, "ols", target, _too_few(n, k), stats, OLS_COLUMNS)
    if k == 0:
        return _not_estimated(design, "ols", target, "no driver varies", stats, OLS_COLUMNS)
    if y.nunique() < 2:
        return _not_estimated(design, "ols", target, "the target is constant", stats, OLS_COLUMNS)
    sd_y = y.std(ddof=1)
    sd_x = design.x.std(ddof=1)
    numeric = {t.term for t in design.terms if t.kept and t.numeric}
    xz = design.x.copy()
    for c in numeric:
        xz[c] = (xz[c] - xz[c].mean()) / sd_x[c]
    yz = (y - y.mean()) / sd_y
    fit = regression.ols(yz.to_numpy(), regression.with_intercept(xz.to_numpy(float)))
    params, ci, pv = fit.params[1:], fit.conf_int[1:], fit.pvalues[1:]
    rows = {}
    for j, term in enumerate(design.x.columns):
        per_unit = sd_y / (sd_x[term] if term in numeric else 1.0)
        rows[term] = {"coef": params[j], "ci_low": ci[j, 0], "ci_high": ci[j, 1], "raw_coef": params[j] * per_unit,
                      "p_value": pv[j]}
    stats.update(r2=float(fit.r2), adj_r2=float(fit.adj_r2))
    flags = []
    if n < max(30, 10 * k):
        flags.append(f"small n (n={n}; at least {max(30, 10 * k)} advised for {k} terms)")
    imp, more = _importance(design, yz.to_numpy(), importance, "ols")
    return _table(design, "ols", target, rows, imp, flags + more, stats, alpha, OLS_COLUMNS)


def _binary(y: pd.Series, positive: Any) -> pd.Series:
    if positive is not None:
        if not (y == positive).any():
            raise DriverError(f"the outcome value {positive!r} does not occur")
        return (y == positive).astype(float)
    if pd.api.types.is_bool_dtype(y):
        return y.astype(float)
    values = set(pd.unique(y))
    if values <= {0, 1}:
        return y.astype(float)
    raise DriverError(f"the outcome must be 0/1 or boolean; got values {sorted(map(str, values))[:5]}: "
                      "say which one is the event with positive=…")


def churn_drivers(data: Any, target: str, features: list[str], *, positive: Any = None,
                  categorical: list[str] | None = None, reference: dict[str, Any] | None = None,
                  standardize: bool = True, importance: Importance = "relative_weights",
                  alpha: float = 0.05) -> pd.DataFrame:
    """Drivers of a binary outcome (churned or not): logistic regression plus relative importance.

    Model: ``logit P(y = 1) = b0 + Σ_j b_j·x_j`` (maximum likelihood), numeric drivers as
    z-scores when ``standardize`` (odds ratios per SD; per unit otherwise), categories as 0/1
    dummies against ``reference``. ``positive`` names the event value when the outcome is not
    0/1 or boolean (e.g. ``'Yes'``). Rows, one per term, sorted by importance: target, model
    ('logit'), feature, term, level, reference, coef (log-odds), ci_low, ci_high, odds_ratio,
    or_low, or_high (95 % Wald), p_value, significant, weight, share (% of the importance),
    n, events, r2 (McFadden's pseudo-R²), flag.
    """
    _check_method(importance)
    df = _frame(data)
    if target not in df.columns:
        raise DriverError(f"column not in the data: {target}")
    design = _design(df, target, features, categorical, reference)
    y = _binary(design.y, positive)
    k, n, events = design.x.shape[1], len(y), int(y.sum())
    stats: dict[str, Any] = {"n": n, "events": events, "r2": math.nan}
    if n < max(k, 1) + 2:
        return _not_estimated(design, "logit", target, _too_few(n, k), stats, LOGIT_COLUMNS)
    if k == 0:
        return _not_estimated(design, "logit", target, "no driver varies", stats, LOGIT_COLUMNS)
    if events in (0, n):
        return _not_estimated(design, "logit", target, "the outcome has a single value", stats, LOGIT_COLUMNS)
    numeric = {t.term for t in design.terms if t.kept and t.numeric}
    x = design.x.copy()
    if standardize:
        for c in numeric:
            x[c] = (x[c] - x[c].mean()) / x[c].std(ddof=1)
    flags: list[str] = []
    try:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            fit = regression.logit(y.to_numpy(), regression.with_intercept(x.to_numpy(float)))
    except np.linalg.LinAlgError as e:
        return _not_estimated(design, "logit", target, f"singular information matrix ({e})", stats, LOGIT_COLUMNS)
    if fit.separation:
        flags.append("perfect or quasi-perfect separation: estimates unreliable")
    elif not fit.converged:
        flags.append("did not converge")
    params, ci, pv = fit.params[1:], fit.conf_int[1:], fit.pvalues[1:]
    with np.errstate(over="ignore"):  # separated: the odds ratios run off to infinity, flagged above
        odds, odds_ci = np.exp(params), np.exp(ci)
    rows = {term: {"coef": params[j], "ci_low": ci[j, 0], "ci_high": ci[j, 1], "odds_ratio": float(odds[j]),
                   "or_low": float(odds_ci[j, 0]), "or_high": float(odds_ci[j, 1]), "p_value": pv[j]}
            for j, term in enumerate(design.x.columns)}
    stats["r2"] = float(fit.r2)
    epv = min(events, n - events) / k
    if epv < 10:
        flags.append(f"small n ({min(events, n - events)} events for {k} terms; 10 per term advised)")
    imp, more = _importance(design, y.to_numpy(), importance, "logit")
    return _table(design, "logit", target, rows, imp, list(dict.fromkeys(flags + more)), stats, alpha,
                  LOGIT_COLUMNS)


__all__ = ["DriverError", "churn_drivers", "relative_weights", "relative_weights_logit", "score_drivers",
           "shapley_r2"]
