"""The churn model: an additive logistic model (a GAM with binned shape functions), calibrated.

Each feature j enters the log-odds through its own shape function g_j:

    logit P(churn | x) = b + Σ_j g_j(x_j)

* a numeric feature: ``g_j(x) = w_j · z(x) + v_{j, bin(x)}`` — a linear term on the
  standardised value plus one weight per quantile bin (up to :data:`BINS` bins cut at the
  training quantiles; a missing value has a bin of its own and a linear term of 0). The bins
  let the shape bend (recency, tenure and spend act on churn in steps and plateaus); the
  linear term carries the trend when bins are penalised away;
* a categorical feature: one weight per level seen in training (an unseen level adds 0).

Weights are fitted by penalised maximum likelihood (L2: ``λ_lin/2‖w‖² + λ_bin/2‖v‖²``, the
intercept free) with L-BFGS on a sparse design. With λ_bin large the model is a plain
logistic regression on one-hot + standardised features, so choosing (λ_lin, λ_bin) by
cross-validation, as :func:`fit` does, nests the tuned logistic regression it is compared
with. This is the "GA²M without pairs" of Lou, Caruana & Gehrke (2012, "Intelligible models
for classification and regression", KDD) with the spline of Hastie & Tibshirani (1990,
*Generalized Additive Models*) replaced by bins.

**Calibration.** A penalised model shrinks log-odds towards the base rate, so probabilities
are re-mapped with Platt scaling (Platt 1999): ``P = σ(a·f(x) + c)``, with a and c fitted on
out-of-fold predictions of the tuning folds (no data is held back from the fit). Platt is
monotone (AUC unchanged) and linear in f, so the per-feature contributions stay exact on the
calibrated log-odds scale.

**Reasons.** Person i's contribution of feature j is ``a · (g_j(x_ij) − mean_train g_j)``, in
log-odds: what this feature adds to the person's risk compared with the average customer. They
sum, with ``a·mean_train f + c``, to the calibrated logit, so the top three positive ones are the
exact reasons the model gives, not an approximation (unlike SHAP on a tree ensemble).

Only numpy and scipy: scikit-learn is used as the *peer* in tests and benchmarks, not here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from scipy.stats import rankdata

from parcours.analysis.threads import one_blas_thread

#: Quantile bins per numeric feature (fewer when the values have fewer distinct quantiles).
BINS = 10
#: (λ_lin, λ_bin) grid searched by cross-validation (per training row, as the loss is a mean).
GRID_LIN = (1e-5, 1e-4, 1e-3)
GRID_BIN = (1e-4, 1e-3, 1e-2, 1e-1)
#: Rows used to tune on large data: the choice of λ is stable well before a million rows.
TUNE_ROWS = 100_000

Columns = Mapping[str, np.ndarray]


class ModelError(ValueError):
    """The data cannot support a model (one class only, no rows, a column missing…)."""


# --- design ----------------------------------------------------------------------------------------------
@dataclass
class _Numeric:
    name: str
    median: float
    mean: float
    sd: float
    edges: np.ndarray          # inner bin edges (len = bins − 1)
    has_missing: bool

    @property
    def width(self) -> int:    # linear + bins + missing bin
        return 1 + len(self.edges) + 1 + 1

    def encode(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(column offsets, values) of the two non-zeros of each row: the linear term and the bin."""
        x = np.asarray(x, float)
        miss = np.isnan(x)
        z = np.where(miss, 0.0, (np.where(miss, self.mean, x) - self.mean) / self.sd)
        b = np.searchsorted(self.edges, np.where(miss, 0.0, x), side="right")
        b = np.where(miss, len(self.edges) + 1, b)
        return np.zeros(len(x), np.int64), z, 1 + b


@dataclass
class _Categorical:
    name: str
    levels: list[str]

    @property
    def width(self) -> int:
        return len(self.levels)


def _as_str(x: np.ndarray) -> np.ndarray:
    """Category values as a numpy string array (None → ""), vectorised: a million rows in ~0.1 s."""
    x = np.asarray(x)
    if x.dtype.kind in "US":
        return x.astype(str)
    return np.where(x == None, "", x).astype(str)  # noqa: E711 - element-wise test for None


@dataclass
class Design:
    """The encoding of raw columns into the sparse design (learnt on the training rows)."""

    numeric: list[_Numeric]
    categorical: list[_Categorical]

    @classmethod
    def learn(cls, X: Columns, numeric: Sequence[str], categorical: Sequence[str], bins: int = BINS) -> Design:
        nums = []
        for name in numeric:
            x = np.asarray(X[name], float)
            ok = x[~np.isnan(x)]
            if len(ok) == 0:
                ok = np.zeros(1)
            q = np.unique(np.quantile(ok, np.linspace(0, 1, bins + 1)[1:-1]))
            sd = float(np.std(ok)) or 1.0
            nums.append(_Numeric(name, float(np.median(ok)), float(np.mean(ok)), sd, q, bool(np.isnan(x).any())))
        cats = [_Categorical(name, [str(v) for v in np.unique(_as_str(X[name]))]) for name in categorical]
        return cls(nums, cats)

    def _all(self) -> list[_Numeric | _Categorical]:
        return [*self.numeric, *self.categorical]

    @property
    def features(self) -> list[str]:
        return [f.name for f in self.numeric] + [f.name for f in self.categorical]

    def blocks(self) -> list[tuple[str, int, int]]:
        """(feature, first column, width) of each feature's block in the design."""
        out, at = [], 0
        for f in self._all():
            out.append((f.name, at, f.width))
            at += f.width
        return out

    @property
    def width(self) -> int:
        return sum(f.width for f in self._all())

    def linear_mask(self) -> np.ndarray:
        """True for columns penalised with λ_lin (numeric linear terms and categorical levels)."""
        m = np.zeros(self.width, bool)
        for f, (_, start, width) in zip(self._all(), self.blocks(), strict=True):
            if isinstance(f, _Numeric):
                m[start] = True
            else:
                m[start:start + width] = True
        return m

    def matrix(self, X: Columns) -> sparse.csr_matrix:
        """The sparse design: the same number of entries on every row (two per numeric feature,
        one per category; an unseen level is an explicit 0), so the CSR arrays are built directly,
        without the sort of a COO conversion (a million rows in ~2 s instead of ~10)."""
        n = len(next(iter(X.values())))
        cols, vals = [], []
        for f, (_, start, _w) in zip(self._all(), self.blocks(), strict=True):
            if f.name not in X:
                raise ModelError(f"column {f.name!r} is missing (the model was trained with it)")
            if isinstance(f, _Numeric):
                lin, z, b = f.encode(X[f.name])
                cols += [start + lin, start + b]
                vals += [z, np.ones(n)]
            else:
                levels = np.asarray(f.levels).astype(str)      # sorted when learnt
                v = _as_str(X[f.name])
                code = np.minimum(np.searchsorted(levels, v), len(levels) - 1)
                cols.append(start + code)
                vals.append((levels[code] == v).astype(float))
        per_row = len(cols)
        indices = np.column_stack(cols).astype(np.int32).ravel()
        data = np.column_stack(vals).ravel()
        indptr = np.arange(0, n * per_row + 1, per_row, dtype=np.int64)
        return sparse.csr_matrix((data, indices, indptr), shape=(n, self.width))


# --- penalised logistic regression ---------------------------------------------------------------------
def _fit_logit(A: sparse.csr_matrix, y: np.ndarray, penalty: np.ndarray,
               start: np.ndarray | None = None) -> np.ndarray:
    """Weights (intercept last) minimising mean log-loss + ½ Σ penalty·w² (L-BFGS).

    The optimiser works on centred, unit-variance columns, implicitly (``w = u / sd``, ``A w −
    μ·w``, the intercept absorbing ``μ·w``, the penalty carried over as ``penalty / sd²``): the
    same optimum exactly, but sparse one-hot bins are no longer collinear with the intercept nor
    on another scale than the linear terms, and L-BFGS needs several times fewer iterations.
    The design stays sparse."""
    n, k = A.shape
    At = A.T.tocsr()
    mu = np.asarray(A.mean(axis=0)).ravel()
    sd = np.sqrt(np.maximum(np.asarray(A.multiply(A).mean(axis=0)).ravel() - mu * mu, 0.0))
    d = 1.0 / np.maximum(sd, 0.1)  # rare columns (sd → 0) are not blown up: any d > 0 is exact
    s = 2.0 * y - 1.0

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = d * theta[:k], theta[k]
        f = A @ w + (b - mu @ w)
        val = -np.mean(log_expit(s * f)) + 0.5 * float(np.sum(penalty * w * w))
        r = (expit(f) - y) / n
        rs = r.sum()
        return val, np.concatenate([d * (At @ r - mu * rs + penalty * w), [rs]])

    if start is None:
        p = min(max(float(np.mean(y)), 1e-6), 1 - 1e-6)
        theta0 = np.concatenate([np.zeros(k), [math.log(p / (1 - p))]])
    else:  # from raw (w, b) to the scaled, centred parametrisation
        theta0 = np.concatenate([start[:k] / d, [start[k] + mu @ start[:k]]])
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 1000, "gtol": 1e-7, "ftol": 1e-10})
    w = d * res.x[:k]
    return np.concatenate([w, [res.x[k] - mu @ w]])


def _penalty(design: Design, lam_lin: float, lam_bin: float) -> np.ndarray:
    return np.where(design.linear_mask(), lam_lin, lam_bin)


def stratified_folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number (0…k−1) of each row, each class spread evenly over the folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), np.int64)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % k
    return fold


# --- the fitted model ----------------------------------------------------------------------------------
@dataclass
class ChurnModel:
    """A fitted additive model with its Platt calibration (see the module docstring)."""

    design: Design
    weights: np.ndarray                   # design weights, then the intercept
    lam_lin: float
    lam_bin: float
    platt: tuple[float, float] = (1.0, 0.0)
    means: dict[str, float] = field(default_factory=dict)   # mean_train g_j per feature
    cv: dict[str, Any] = field(default_factory=dict)        # the tuning: grid, chosen, out-of-fold AUC

    def _raw(self, A: sparse.csr_matrix) -> np.ndarray:
        return A @ self.weights[:-1] + self.weights[-1]

    def decision(self, X: Columns) -> np.ndarray:
        """Calibrated log-odds of churn."""
        a, c = self.platt
        return a * self._raw(self.design.matrix(X)) + c

    def predict(self, X: Columns) -> np.ndarray:
        """Calibrated probability of churn of each row."""
        return expit(self.decision(X))

    def shapes(self, X: Columns) -> dict[str, np.ndarray]:
        """g_j(x_ij) of each feature for each row (uncalibrated log-odds)."""
        A = self.design.matrix(X)
        out = {}
        for name, start, width in self.design.blocks():
            out[name] = A[:, start:start + width] @ self.weights[start:start + width]
        return out

    def contributions(self, X: Columns) -> dict[str, np.ndarray]:
        """Each feature's share of each row's calibrated log-odds, relative to the training mean."""
        a = self.platt[0]
        return {name: a * (g - self.means.get(name, 0.0)) for name, g in self.shapes(X).items()}


def fit(X: Columns, y: np.ndarray, numeric: Sequence[str], categorical: Sequence[str] = (), *,
        folds: int = 3, seed: int = 0, tune_rows: int = TUNE_ROWS, grid_lin: Sequence[float] = GRID_LIN,
        grid_bin: Sequence[float] = GRID_BIN) -> ChurnModel:
    """Fit the additive model: λ chosen by stratified ``folds``-fold CV (on at most ``tune_rows``
    rows), Platt scaling fitted on the out-of-fold predictions of the chosen λ, then the final
    fit on all rows."""
    with one_blas_thread():
        return _fit(X, y, numeric, categorical, folds, seed, tune_rows, grid_lin, grid_bin)


def _fit(X: Columns, y: np.ndarray, numeric: Sequence[str], categorical: Sequence[str], folds: int, seed: int,
         tune_rows: int, grid_lin: Sequence[float], grid_bin: Sequence[float]) -> ChurnModel:
    y = np.asarray(y, float)
    n = len(y)
    if n == 0:
        raise ModelError("no rows to train on")
    pos = int(y.sum())
    if pos < folds or n - pos < folds:
        raise ModelError(f"{pos} churner(s) and {n - pos} non-churner(s): both classes need at least "
                         f"{folds} rows to train and calibrate")
    design = Design.learn(X, numeric, categorical)
    A = design.matrix(X)
    rng = np.random.default_rng(seed)
    tune = np.sort(rng.choice(n, tune_rows, replace=False)) if n > tune_rows else np.arange(n)
    At, yt = A[tune], y[tune]
    fold = stratified_folds(yt, folds, seed)
    # strong to weak penalties, each fit started from the previous one of its fold (a
    # regularisation path: a few iterations per grid point instead of hundreds)
    grid = [(a, b) for a in sorted(grid_lin, reverse=True) for b in sorted(grid_bin, reverse=True)]
    oof = {key: np.empty(len(yt)) for key in grid}
    weights_at: dict[tuple[float, float], list[np.ndarray]] = {key: [] for key in grid}
    for k in range(folds):
        tr, te = fold != k, fold == k
        A_tr, A_te, start = At[tr], At[te], None
        for key in grid:
            start = _fit_logit(A_tr, yt[tr], _penalty(design, *key), start)
            oof[key][te] = A_te @ start[:-1] + start[-1]
            weights_at[key].append(start)
    scores = {key: auc(yt, oof[key]) for key in grid}
    best = max(scores, key=lambda key: (scores[key], key[1], key[0]))  # ties: the smoother model
    platt = _platt(oof[best], yt)
    weights = _fit_logit(A, y, _penalty(design, *best), np.mean(weights_at[best], axis=0))
    model = ChurnModel(design, weights, best[0], best[1], platt,
                       cv={"folds": folds, "rows": int(len(yt)), "chosen": {"lam_lin": best[0], "lam_bin": best[1]},
                           "oof_auc": scores[best]})
    mu = np.asarray(A.mean(axis=0)).ravel()  # mean of g_j = its block of column means · weights
    model.means = {name: float(mu[start:start + width] @ weights[start:start + width])
                   for name, start, width in design.blocks()}
    return model


def _platt(f: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, c) maximising the likelihood of y under σ(a·f + c) (Platt 1999, without his prior
    smoothing of the targets, which matters for tiny sets only)."""
    s = 2.0 * y - 1.0

    def loss(t: np.ndarray) -> tuple[float, np.ndarray]:
        z = t[0] * f + t[1]
        r = expit(z) - y
        return -float(np.mean(log_expit(s * z))), np.array([np.mean(r * f), np.mean(r)])

    res = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(res.x[0]), float(res.x[1])


# --- evaluation -------------------------------------------------------------------------------------------
def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve = P(score of a churner > score of a non-churner), ties ½
    (the Mann–Whitney statistic; Hanley & McNeil 1982)."""
    y = np.asarray(y).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(score)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auc_ci(y: np.ndarray, score: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """AUC with its DeLong confidence interval (DeLong, DeLong & Clarke-Pearson 1988, with the
    mid-rank computation of Sun & Xu 2014), clipped to [0, 1]."""
    from scipy.stats import norm

    y = np.asarray(y).astype(bool)
    s = np.asarray(score, float)
    pos, neg = s[y], s[~y]
    m, n = len(pos), len(neg)
    if m < 2 or n < 2:
        return auc(y, s), float("nan"), float("nan")
    r_all = rankdata(np.concatenate([pos, neg]))
    v10 = (r_all[:m] - rankdata(pos)) / n          # per churner: share of non-churners below
    v01 = 1.0 - (r_all[m:] - rankdata(neg)) / m     # per non-churner: share of churners above
    a = float(v10.mean())
    se = math.sqrt(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)
    z = norm.ppf(0.5 + level / 2)
    return a, max(0.0, a - z * se), min(1.0, a + z * se)


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of the probabilities (Brier 1950)."""
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Reliability diagram: rows of ``bins`` equal-width probability bins (empty bins left out)
    with n, mean predicted and observed churn rate."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    b = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for k in range(bins):
        m = b == k
        if m.any():
            out.append({"low": k / bins, "high": (k + 1) / bins, "n": int(m.sum()),
                        "predicted": float(p[m].mean()), "observed": float(y[m].mean())})
    return out


def calibration_summary(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Brier score beside the base-rate Brier (always predicting the mean), expected calibration
    error (ECE: bin-size-weighted |observed − predicted|, Naeini et al. 2015), calibration slope
    and intercept (Cox 1958: logistic regression of y on logit p; 1 and 0 when calibrated) and
    the reliability bins."""
    y, p = np.asarray(y, float), np.clip(np.asarray(p, float), 1e-9, 1 - 1e-9)
    rel = reliability(y, p, bins)
    base = float(y.mean())
    a, c = _platt(np.log(p / (1 - p)), y)
    return {"n": int(len(y)), "base_rate": base, "brier": brier(y, p), "brier_base_rate": base * (1 - base),
            "ece": float(sum(r["n"] * abs(r["observed"] - r["predicted"]) for r in rel) / len(y)),
            "slope": a, "intercept": c, "bins": rel}


def corrected_paired_ci(diffs: Sequence[float], n_train: int, n_test: int,
                        level: float = 0.95) -> tuple[float, float, float]:
    """Mean paired difference over repeated CV folds with the Nadeau & Bengio (2003) corrected
    resampled t interval: variance (1/J + n_test/n_train)·s², J folds, t with J − 1 d.f. (the
    folds overlap, so the naive interval is too narrow)."""
    from scipy.stats import t

    d = np.asarray(diffs, float)
    j = len(d)
    mean = float(d.mean())
    if j < 2:
        return mean, float("nan"), float("nan")
    se = math.sqrt((1 / j + n_test / n_train) * float(np.var(d, ddof=1)))
    q = float(t.ppf(0.5 + level / 2, j - 1))
    return mean, mean - q * se, mean + q * se


__all__ = ["BINS", "ChurnModel", "Design", "ModelError", "auc", "auc_ci", "brier", "calibration_summary",
           "corrected_paired_ci", "fit", "reliability", "stratified_folds"]
