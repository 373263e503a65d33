"""Churn risk per customer: train on the store's history, score every current customer with
the three reasons that raise their risk most, and sum the value at risk for managers.

* :func:`train` — features as of a cut-off (:mod:`parcours.act.churn_features`), the label
  over the ``horizon`` after it, the additive model (:mod:`parcours.act.churn_model`)
  evaluated on held-out persons (AUC with its DeLong interval, Brier score, reliability
  bins), then refitted on everyone and saved in ``churn_models``;
* :func:`score` — the latest model applied to the customers as the data stand (as of the
  day after the data end, unless told), one row per person in ``churn_scores`` (replaced):
  risk, reasons (JSON), CLV;
* :func:`risk_of` (the agent's view of one person), :func:`at_risk` (a list),
  :func:`clv_at_risk` (the manager's sum, by segment).

CLV is the 52-week, discounted BG/NBD × Gamma-Gamma value of :mod:`parcours.value.summary`
(the report's value section), fitted on the orders before the scoring date; null (with the
reason in the scoring summary) when the data cannot support those models.
"""

from __future__ import annotations

import json
import pickle
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pyarrow as pa

from parcours.act import churn_features as cf
from parcours.act import churn_model as cm
from parcours.store import Store
from parcours.store.sql import registered

Progress = Callable[[str, float], None] | None
HORIZON_DAYS = 90
HOLDOUT_SHARE = 0.25
MIN_CLASS = 10          # churners (and non-churners) needed to train and evaluate
REASONS = 3


class ChurnError(ValueError):
    """Churn risk cannot be computed as asked; the message says why."""


def _say(progress: Progress, step: str, done: float) -> None:
    if progress is not None:
        progress(step, done)


def _utc(d: datetime | date) -> datetime:
    if not isinstance(d, datetime):
        d = datetime(d.year, d.month, d.day)
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def _now_of_data(store: Store) -> datetime:
    end = cf.data_end(store)
    if end is None:
        raise ChurnError("the store is empty: import touchpoints and orders first")
    return datetime(end.year, end.month, end.day, tzinfo=timezone.utc) + timedelta(days=1)


def training_set(store: Store, as_of: datetime, horizon_days: int = HORIZON_DAYS,
                 activity: cf.Activity = "purchase") -> tuple[pa.Table, np.ndarray]:
    """(features of the customers at ``as_of``, their churn label over the horizon)."""
    try:
        feats = cf.features(store, as_of)
        y = cf.labels(store, feats.column("person_id").to_pylist(), as_of, horizon_days, activity)
    except cf.FeatureError as e:
        raise ChurnError(str(e)) from e
    return feats, y


def _check_classes(y: np.ndarray, as_of: datetime, horizon_days: int) -> None:
    pos, n = int(y.sum()), len(y)
    if n == 0:
        raise ChurnError(f"no customer at {as_of:%Y-%m-%d} (nobody bought before it without cancelling)")
    if pos < MIN_CLASS or n - pos < MIN_CLASS:
        raise ChurnError(f"too few churners to train: {pos} of {n} customers churned in the {horizon_days} days "
                         f"after {as_of:%Y-%m-%d} (at least {MIN_CLASS} churners and {MIN_CLASS} who stayed needed)")


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """Held-out figures: AUC with its 95 % DeLong interval, and :func:`churn_model.calibration_summary`."""
    a, lo, hi = cm.auc_ci(y, p)
    return {"auc": a, "auc_low": lo, "auc_high": hi, **cm.calibration_summary(y, p)}


def train(store: Store, *, as_of: datetime | date | None = None, horizon_days: int = HORIZON_DAYS,
          activity: cf.Activity = "purchase", seed: int = 0, refit: bool = True,
          progress: Progress = None) -> dict[str, Any]:
    """Train, evaluate on held-out persons, refit on all and save a model; returns its summary
    (model_id, as_of, horizon_days, persons, metrics). ``as_of`` defaults to the data end minus
    the horizon (the latest cut-off whose outcome is known). ``refit=False`` saves the model
    fitted on the training persons (75 %) instead of refitting on everyone: half the time, for
    very large stores."""
    as_of = _utc(as_of) if as_of is not None else _now_of_data(store) - timedelta(days=horizon_days)
    _say(progress, "features", 0.0)
    feats, y = training_set(store, as_of, horizon_days, activity)
    _check_classes(y, as_of, horizon_days)
    X = cf.columns(feats)
    used = [c for c in cf.NUMERIC if not np.all(np.isnan(X[c]))]   # e.g. no verbatim analysed yet
    unused = [c for c in cf.NUMERIC if c not in used]
    _say(progress, "holdout fit", 0.2)
    test = cm.stratified_folds(y, round(1 / HOLDOUT_SHARE), seed) == 0
    held = cm.fit({k: v[~test] for k, v in X.items()}, y[~test], used, cf.CATEGORICAL, seed=seed)
    metrics = evaluate(y[test], held.predict({k: v[test] for k, v in X.items()}))
    metrics |= {"holdout_persons": int(test.sum()), "train_persons": int((~test).sum()), "activity": activity,
                "features": used + list(cf.CATEGORICAL), "features_unused": unused, "tuning": held.cv}
    model = held
    if refit:
        _say(progress, "final fit", 0.6)
        model = cm.fit(X, y, used, cf.CATEGORICAL, seed=seed)
    metrics["final_tuning"] = model.cv
    metrics["refit"] = refit
    model_id = f"CM-{secrets.token_hex(6)}"
    now = datetime.now(timezone.utc)
    blob = pickle.dumps({"model": model, "activity": activity}, protocol=pickle.HIGHEST_PROTOCOL)
    with store.write_lock:
        store.con.execute("INSERT INTO churn_models VALUES (?, ?, ?, ?, ?, ?::JSON, ?)",
                          [model_id, now, as_of, horizon_days, len(y), json.dumps(metrics), blob])
    store.touch()
    _say(progress, "saved", 1.0)
    return {"model_id": model_id, "trained_at": now, "as_of": as_of, "horizon_days": horizon_days,
            "persons": len(y), "metrics": metrics}


def latest_model(store: Store) -> tuple[str, cm.ChurnModel, dict[str, Any]]:
    """(model_id, fitted model, row) of the latest trained model; ChurnError if none."""
    rows = store.query("""SELECT model_id, model, as_of, horizon_days, persons, metrics FROM churn_models
                          ORDER BY trained_at DESC LIMIT 1""")
    if not rows:
        raise ChurnError("no churn model yet: train one first (parcours.act.churn.train)")
    model_id, blob, as_of, horizon, persons, metrics = rows[0]
    saved = pickle.loads(blob)  # our own blob, written by train(); never a user upload
    return model_id, saved["model"], {"as_of": as_of, "horizon_days": horizon, "persons": persons,
                                      "metrics": json.loads(metrics) if metrics else {}}


def model_summary(store: Store) -> dict[str, Any] | None:
    """The latest model's figures (no fitted object) for pages and the API, or None."""
    try:
        model_id, _, row = latest_model(store)
    except ChurnError:
        return None
    return {"model_id": model_id, **row}


def reasons(model: cm.ChurnModel, X: dict[str, np.ndarray], top: int = REASONS) -> list[list[dict[str, Any]]]:
    """Per row: the ``top`` features with the largest contribution to the risk (log-odds vs the
    average customer, exact for this additive model), largest first, with their labels (fr, en)
    and the person's value (None when unknown)."""
    contrib = model.contributions(X)
    names = list(contrib)
    C = np.column_stack([contrib[n] for n in names])
    order = np.argsort(-C, axis=1, kind="stable")[:, :top]
    out = []
    for i, row in enumerate(order):
        items = []
        for j in row:
            name = names[j]
            v = X[name][i]
            value: Any = None if (isinstance(v, float) and np.isnan(v)) or v is None else (
                float(v) if isinstance(v, (float, np.floating)) else str(v))
            fr, en = cf.LABELS[name]
            items.append({"feature": name, "label_fr": fr, "label_en": en, "value": value,
                          "contribution": round(float(C[i, j]), 4)})
        out.append(items)
    return out


def person_clv(store: Store, as_of: datetime) -> tuple[dict[str, float], str | None]:
    """CLV per person (52 weeks, discounted; :mod:`parcours.value.summary`'s models) from the
    orders before ``as_of``; ({}, reason) when the models cannot be fitted."""
    from parcours.value import gamma_gamma
    from parcours.value.clv import clv
    from parcours.value.purchases import fit_bgnbd
    from parcours.value.summary import HORIZON_WEEKS, WEEKLY_DISCOUNT, value_inputs

    o = store.table("orders")
    s = value_inputs(o.filter(o.ts < as_of), as_of.date())
    n = len(s.get("person_id", []))
    if not n:
        return {}, "no orders before the scoring date: no CLV"
    x, tx, T = s["frequency"].astype(float), s["recency"].astype(float), s["T"].astype(float)
    repeat = x > 0
    if not repeat.any():
        return {}, "no repeat buyer: the purchase model needs customers who bought more than once"
    try:
        bg = fit_bgnbd(x, tx, T)
        m = np.round(s["monetary_value"].astype(float), 6)
        gg = gamma_gamma.fit(x[repeat], m[repeat])
    except ValueError as e:
        return {}, f"value models could not be fitted: {e}"
    if gg["q"] <= 1:
        return {}, f"gamma-gamma q = {gg['q']:.3g} ≤ 1: expected spend infinite, no CLV"
    values = clv(bg, gg, x, tx, T, np.where(repeat, m, 0.0), horizon=HORIZON_WEEKS, period=4.0,
                 discount_rate=(1 + WEEKLY_DISCOUNT) ** 4 - 1)
    return dict(zip([str(p) for p in s["person_id"]], values.tolist(), strict=True)), None


def score(store: Store, *, as_of: datetime | date | None = None, progress: Progress = None) -> dict[str, Any]:
    """Score every customer at ``as_of`` (default: the day after the data end) with the latest
    model; replaces ``churn_scores``. Returns model_id, as_of, persons, mean_risk, clv_note."""
    model_id, model, _ = latest_model(store)
    as_of = _utc(as_of) if as_of is not None else _now_of_data(store)
    _say(progress, "features", 0.0)
    try:
        feats = cf.features(store, as_of)
    except cf.FeatureError as e:
        raise ChurnError(str(e)) from e
    if feats.num_rows == 0:
        raise ChurnError(f"no customer to score at {as_of:%Y-%m-%d}")
    X = cf.columns(feats)
    _say(progress, "risk", 0.3)
    risk = model.predict(X)
    why = reasons(model, X)
    _say(progress, "value", 0.5)
    values, note = person_clv(store, as_of)
    ids = feats.column("person_id").to_pylist()
    now = datetime.now(timezone.utc)
    table = pa.table({
        "person_id": pa.array(ids, pa.string()),
        "risk": pa.array(risk, pa.float64()),
        "reasons": pa.array([json.dumps(r, ensure_ascii=False) for r in why], pa.string()),
        "clv": pa.array([values.get(p) for p in ids], pa.float64()),
    })
    _say(progress, "write", 0.8)
    with store.write_lock:
        with registered(store.con, "_churn_scored", table):
            with store.transaction() as con:
                con.execute("DELETE FROM churn_scores")
                con.execute("""INSERT INTO churn_scores SELECT person_id, ?, ?, risk, reasons::JSON, clv
                               FROM _churn_scored""", [model_id, now])
    store.touch()
    _say(progress, "done", 1.0)
    return {"model_id": model_id, "as_of": as_of, "scored_at": now, "persons": len(ids),
            "mean_risk": float(np.mean(risk)), "clv_persons": int(sum(p in values for p in ids)), "clv_note": note}


def _check_scored(store: Store) -> None:
    if not store.query("SELECT count(*) FROM churn_scores")[0][0]:
        raise ChurnError("no churn scores yet: train a model and score the customers first")


def risk_of(store: Store, person_id: str) -> dict[str, Any] | None:
    """One person's risk, reasons and CLV (the agent's view); None when the person was not scored
    (not a customer at the scoring date, or scores not computed yet)."""
    rows = store.query("""SELECT s.person_id, s.risk, s.reasons, s.clv, s.model_id, s.scored_at, p.segment
                          FROM churn_scores s LEFT JOIN persons p USING (person_id) WHERE s.person_id = ?""",
                       [person_id])
    if not rows:
        return None
    pid, risk, why, clv, model_id, scored_at, segment = rows[0]
    return {"person_id": pid, "risk": risk, "reasons": json.loads(why) if why else [], "clv": clv,
            "segment": segment, "model_id": model_id, "scored_at": scored_at}


def at_risk(store: Store, threshold: float = 0.6, limit: int | None = 100, *,
            segment: str | None = None) -> list[dict[str, Any]]:
    """Persons with risk ≥ ``threshold``, the most valuable at risk first (CLV × risk), then by risk."""
    if not 0 <= threshold <= 1:
        raise ChurnError(f"threshold must be between 0 and 1; got {threshold}")
    if limit is not None and limit < 1:
        raise ChurnError(f"limit must be at least 1; got {limit}")
    _check_scored(store)
    sql = """SELECT s.person_id, s.risk, s.clv, s.clv * s.risk AS value_at_risk, p.segment, s.reasons
             FROM churn_scores s LEFT JOIN persons p USING (person_id)
             WHERE s.risk >= ? AND (? IS NULL OR p.segment = ?)
             ORDER BY value_at_risk DESC NULLS LAST, s.risk DESC, s.person_id"""
    params: list[Any] = [threshold, segment, segment]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [{"person_id": pid, "risk": r, "clv": clv, "value_at_risk": var, "segment": seg,
             "reasons": json.loads(why) if why else []}
            for pid, r, clv, var, seg, why in store.query(sql, params)]


def clv_at_risk(store: Store, threshold: float = 0.6) -> dict[str, Any]:
    """The manager's sum: per segment and in total, persons scored, persons at risk (risk ≥
    ``threshold``), expected CLV lost (Σ CLV × risk over everyone) and the CLV of the persons
    at risk; persons without a CLV are counted apart (``persons_without_clv``)."""
    if not 0 <= threshold <= 1:
        raise ChurnError(f"threshold must be between 0 and 1; got {threshold}")
    _check_scored(store)
    cols = ["persons", "at_risk", "expected_clv_lost", "clv_at_risk", "clv_total", "persons_without_clv",
            "mean_risk"]
    sql = """SELECT coalesce(p.segment, 'unknown') AS segment, count(*), count(*) FILTER (WHERE s.risk >= $t),
                    coalesce(sum(s.clv * s.risk), 0), coalesce(sum(s.clv) FILTER (WHERE s.risk >= $t), 0),
                    coalesce(sum(s.clv), 0), count(*) FILTER (WHERE s.clv IS NULL), avg(s.risk)
             FROM churn_scores s LEFT JOIN persons p USING (person_id) {group} ORDER BY 1"""
    by = [dict(zip(["segment", *cols], r, strict=True))
          for r in store.con.execute(sql.format(group="GROUP BY 1"), {"t": threshold}).fetchall()]
    total = store.con.execute(sql.replace("coalesce(p.segment, 'unknown') AS segment", "'all'")
                              .format(group=""), {"t": threshold}).fetchall()[0]
    return {"threshold": threshold, "total": dict(zip(cols, total[1:], strict=True)), "by_segment": by}


__all__ = ["HORIZON_DAYS", "ChurnError", "at_risk", "clv_at_risk", "evaluate", "latest_model", "model_summary",
           "person_clv", "reasons", "risk_of", "score", "train", "training_set"]
