"""Customer-value models against the published CDNOW results and hand-computed summaries.

CDNOW: the 1/10 systematic sample (2,357 customers who first bought in Q1 1997, purchases to
June 1998) that Fader & Hardie publish and lifetimes ships; 39 weeks of calibration
(to 1997-09-30) and 39 of holdout (to 1998-06-30), time in weeks.
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
from datetime import date, datetime, timezone
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from parcours import value
from parcours.metrics.value import rfm_summary
from parcours.value import bgnbd, gamma_gamma, pareto_nbd

CAL_END, OBS_END = date(1997, 9, 30), date(1998, 6, 30)


def _lifetimes_file(name: str) -> Path:
    return Path(str(importlib.metadata.distribution("lifetimes").locate_file(f"lifetimes/datasets/{name}")))


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory) -> Path:
    """CDNOW_sample.txt (master id, sample id, YYYYMMDD, CDs, dollars) as a canonical orders CSV."""
    out = tmp_path_factory.mktemp("cdnow") / "orders.csv"
    with _lifetimes_file("CDNOW_sample.txt").open() as src, out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["order_id", "person_id", "ts", "amount", "currency"])
        for i, line in enumerate(src):
            _, sample_id, d, _, dollars = line.split()
            w.writerow([f"o{i}", str(int(sample_id)), f"{d[:4]}-{d[4:6]}-{d[6:]}T12:00:00Z", dollars, "USD"])
    return out


@pytest.fixture(scope="module")
def cdnow(cdnow_csv) -> pd.DataFrame:
    s = rfm_summary(value.read_orders(cdnow_csv), CAL_END, OBS_END, "week").to_pandas()
    return s.assign(ID=s.person_id.astype(int)).sort_values("ID").reset_index(drop=True)


@pytest.fixture(scope="module")
def bg_fit(cdnow) -> value.Fit:
    return value.fit_bgnbd(cdnow.frequency, cdnow.recency, cdnow["T"])


# -- the summary ----------------------------------------------------------------------------

def test_cdnow_summary_matches_the_published_rfm_summary(cdnow):
    ref = pd.read_csv(_lifetimes_file("cdnow_customers_summary.csv"))
    assert len(cdnow) == 2357 and (cdnow.ID.to_numpy() == ref.ID.to_numpy()).all()
    assert (cdnow.frequency.to_numpy() == ref.frequency.to_numpy()).all()
    # the published file has two decimals (weeks = days / 7)
    assert (cdnow.recency.round(2).to_numpy() == ref.recency.to_numpy()).all()
    assert (cdnow["T"].round(2).to_numpy() == ref["T"].to_numpy()).all()
    spend = pd.read_csv(_lifetimes_file("cdnow_customers_summary_with_transactions.csv"))
    mine = cdnow.monetary_value.fillna(0.0).to_numpy()
    assert np.abs(mine - spend.zbar.to_numpy()).max() <= 0.005 + 1e-9
    assert cdnow.monetary_value.isna().sum() == (cdnow.frequency == 0).sum() == 1411
    # 6,696 purchase days in all: 2,357 first purchases + 2,457 repeats + 1,882 in the holdout
    assert (cdnow.frequency.sum(), cdnow.holdout_purchases.sum()) == (2457, 1882)


def _orders(rows: list[tuple[str | None, str, float]]):
    return ibis.memtable({
        "order_id": [f"o{i}" for i in range(len(rows))],
        "person_id": [p for p, _, _ in rows],
        "ts": [datetime.fromisoformat(ts).astimezone(timezone.utc) for _, ts, _ in rows],
        "amount": [a for _, _, a in rows],
    }, schema={"order_id": "string", "person_id": "string", "ts": "timestamp('UTC')",
               "amount": "decimal(14, 2)"})


TINY = [
    ("ann", "2025-01-01T10:00:00+00:00", 10.0),   # first occasion: 10 + 5 the same day
    ("ann", "2025-01-01T15:00:00+00:00", 5.0),
    ("ann", "2025-01-08T09:00:00+00:00", 20.0),
    ("ann", "2025-01-15T09:00:00+00:00", -20.0),  # refund: no occasion, spend untouched
    ("ann", "2025-01-22T09:00:00+00:00", 40.0),
    ("ann", "2025-02-05T09:00:00+00:00", 7.0),    # holdout: one occasion of 7 + 3
    ("ann", "2025-02-05T11:00:00+00:00", 3.0),
    ("ann", "2025-02-20T09:00:00+00:00", -7.0),
    ("bob", "2025-01-10T09:00:00+00:00", 12.0),   # one order: frequency 0
    ("cat", "2025-01-12T09:00:00+00:00", -30.0),  # only a refund: not a customer
    ("dan", "2025-02-10T09:00:00+00:00", 25.0),   # first bought in the holdout: later cohort
    ("eve", "2025-01-31T23:30:00+00:00", 0.0),    # a free order is a purchase, on the last day
    ("eve", "2025-02-01T00:30:00+01:00", 9.0),    # 23:30 UTC on the 31st: same day, calibration
    (None, "2025-01-05T09:00:00+00:00", 99.0),    # no person
]


def test_summary_by_hand_merges_same_day_orders_and_ignores_refunds():
    s = rfm_summary(_orders(TINY), date(2025, 1, 31), date(2025, 2, 28), "week").to_pyarrow().to_pylist()
    got = {r["person_id"]: r for r in s}
    assert set(got) == {"ann", "bob", "eve"}
    ann, bob, eve = got["ann"], got["bob"], got["eve"]
    assert (ann["frequency"], ann["n"], ann["holdout_purchases"]) == (2, 4, 1)
    assert ann["recency"] == pytest.approx(3.0) and ann["T"] == pytest.approx(30 / 7)
    assert ann["monetary_value"] == pytest.approx((20 + 40) / 2)
    assert ann["holdout_spend"] == pytest.approx(10.0) and ann["first_purchase"] == date(2025, 1, 1)
    assert (bob["frequency"], bob["recency"], bob["monetary_value"], bob["holdout_purchases"]) == (0, 0.0, None, 0)
    assert bob["T"] == pytest.approx(3.0)
    assert (eve["frequency"], eve["n"], eve["T"], eve["monetary_value"]) == (0, 2, 0.0, None)


def test_summary_in_days_and_without_a_holdout():
    s = {r["person_id"]: r for r in rfm_summary(_orders(TINY), date(2025, 1, 31), unit="day")
         .to_pyarrow().to_pylist()}
    assert (s["ann"]["recency"], s["ann"]["T"]) == (21.0, 30.0)
    assert "holdout_purchases" not in s["ann"]


def test_the_summary_is_engine_free_ibis():
    src = (Path(__file__).resolve().parents[1] / "src/parcours/metrics/value.py").read_text(encoding="utf-8")
    assert "import duckdb" not in src and "pyspark" not in src
    ibis.pyspark  # noqa: B018 (registers the backend's compiler options, starts no JVM)
    expr = rfm_summary(_orders(TINY), date(2025, 1, 31), date(2025, 2, 28), "week")
    assert "DATEDIFF" in ibis.to_sql(expr, dialect="pyspark")  # compiles for Spark too


# -- the published fits -------------------------------------------------------------------

def _matches(fit: value.Fit, published: dict[str, float], decimals: int) -> None:
    for name, v in published.items():
        assert fit[name] == pytest.approx(v, abs=10 ** -decimals), name


def test_bgnbd_reproduces_fader_hardie_lee_2005(bg_fit):
    _matches(bg_fit, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, 3)
    assert bg_fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert bg_fit.converged and bg_fit.n == 2357
    for name in ("r", "alpha", "a", "b"):
        low, high = bg_fit.ci95[name]
        assert 0 < bg_fit.se[name] < bg_fit[name] and low < bg_fit[name] < high


def test_pareto_nbd_reproduces_fader_hardie(cdnow):
    fit = value.fit_pareto_nbd(cdnow.frequency, cdnow.recency, cdnow["T"])
    _matches(fit, {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}, 3)
    assert fit.log_likelihood == pytest.approx(-9594.98, abs=0.1)
    assert fit.converged and all(fit.se[k] > 0 for k in fit.params)


def test_gamma_gamma_reproduces_fader_hardie_lee_2005_rfm_clv(cdnow):
    fit = value.fit_gamma_gamma(cdnow.frequency, cdnow.monetary_value)
    assert fit.n == 946 and fit.converged
    _matches(fit, {"p": 6.25, "q": 3.74, "gamma": 15.44}, 2)
    # expected spend: the population mean pγ/(q−1) for x = 0, pulled toward m_x as x grows
    p, q, g = fit["p"], fit["q"], fit["gamma"]
    spend = value.expected_spend(fit, [0, 1, 10], [np.nan, 50.0, 50.0])
    assert spend[0] == pytest.approx(p * g / (q - 1))
    assert spend[1] == pytest.approx(p * (g + 50) / (p + q - 1))
    assert spend[0] < spend[1] < spend[2] < 50


@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (1.5, 12.0, 0.2, 6.0), (0.05, 0.5, 3.0, 1.2)])
def test_bgnbd_gradient_is_the_likelihood_s_slope(cdnow, params):
    # the optimiser follows the analytic gradient: it must be the slope central differences measure
    x, t_x, T = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    p, h = np.asarray(params), 1e-6
    numeric = [(bgnbd.log_likelihood(p + h * e, x, t_x, T) - bgnbd.log_likelihood(p - h * e, x, t_x, T)) / (2 * h)
               for e in np.eye(4)]
    assert bgnbd.gradient(p, x, t_x, T) == pytest.approx(numeric, rel=1e-5, abs=1e-3)


@pytest.mark.parametrize("params", [(6.25, 3.74, 15.44), (1.0, 8.0, 90.0)])
def test_gamma_gamma_gradient_is_the_likelihood_s_slope(cdnow, params):
    repeat = cdnow.frequency > 0
    x, m = cdnow.frequency[repeat].to_numpy(float), cdnow.monetary_value[repeat].to_numpy(float)
    p, h = np.asarray(params), 1e-6
    numeric = [(gamma_gamma.log_likelihood(p + h * e, x, m) - gamma_gamma.log_likelihood(p - h * e, x, m)) / (2 * h)
               for e in np.eye(3)]
    assert gamma_gamma.gradient(p, x, m) == pytest.approx(numeric, rel=1e-5, abs=1e-3)


def test_standard_errors_cover_the_truth_on_simulated_customers():
    rng = np.random.default_rng(7)
    true = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    n = 6000
    lam, p = rng.gamma(true["r"], 1 / true["alpha"], n), rng.beta(true["a"], true["b"], n)
    T = rng.uniform(26, 52, n)
    x, t_x, t = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.ones(n, bool)
    while active.any():  # Poisson purchases while active; drop out after a repeat purchase w.p. p
        nxt = t + rng.exponential(1 / lam)
        buy = active & (nxt <= T)
        x[buy] += 1
        t_x[buy] = t[buy] = nxt[buy]
        active = buy & (rng.random(n) >= p)
    fit = value.fit_bgnbd(x, t_x, T)
    for name, v in true.items():
        assert abs(fit[name] - v) < 3 * fit.se[name], (name, fit[name], fit.se[name])
        assert fit.se[name] < 0.25 * v


# -- the quantities ---------------------------------------------------------------------------

def test_closed_forms_agree_with_monte_carlo_over_the_latent_rates():
    rng = np.random.default_rng(1)
    n, t = 1_000_000, 39.0
    bg = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    pn = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    lam, p = rng.gamma(bg["r"], 1 / bg["alpha"], n), rng.beta(bg["a"], bg["b"], n)
    lam2, mu = rng.gamma(pn["r"], 1 / pn["alpha"], n), rng.gamma(pn["s"], 1 / pn["beta"], n)
    for x, t_x, T in [(0, 0.0, 38.86), (2, 30.43, 38.86), (5, 20.0, 30.0)]:
        h = np.array([x]), np.array([t_x]), np.array([T])
        # BG/NBD: posterior weight of "still active" × E[purchases | λ, p, active] = (1 − e^{−λpt})/p
        alive = (1 - p) ** x * lam**x * np.exp(-lam * T)
        dead = p * (1 - p) ** (x - 1) * lam**x * np.exp(-lam * t_x) if x else 0 * lam
        assert bgnbd.p_alive(bg, *h)[0] == pytest.approx(alive.sum() / (alive + dead).sum(), rel=0.02)
        mc = (alive * (1 - np.exp(-lam * p * t)) / p).sum() / (alive + dead).sum()
        assert bgnbd.expected_purchases(bg, t, *h)[0] == pytest.approx(mc, rel=0.02)
        # Pareto/NBD: E[purchases | λ, μ, active] = λ/μ (1 − e^{−μt}); its likelihood too
        alive = lam2**x * np.exp(-(lam2 + mu) * T)
        lik = lam2**x * mu / (lam2 + mu) * np.exp(-(lam2 + mu) * t_x) + lam2 * alive / (lam2 + mu)
        mc = (alive * lam2 / mu * (1 - np.exp(-mu * t))).sum() / lik.sum()
        assert pareto_nbd.expected_purchases(pn, t, *h)[0] == pytest.approx(mc, rel=0.02)
        assert pareto_nbd.p_alive(pn, *h)[0] == pytest.approx(alive.sum() / lik.sum(), rel=0.02)
        ll = pareto_nbd.log_likelihood(np.array(list(pn.values())), *h)
        assert ll == pytest.approx(np.log(lik.mean()), abs=0.01)
    assert bgnbd.expected_purchases_new(bg, t) == pytest.approx(np.mean((1 - np.exp(-lam * p * t)) / p), rel=0.01)
    assert pareto_nbd.expected_purchases_new(pn, t) == pytest.approx(
        np.mean(lam2 / mu * (1 - np.exp(-mu * t))), rel=0.01)


def test_clv_sums_discounted_expected_purchases_times_expected_spend(cdnow, bg_fit):
    gg = value.fit_gamma_gamma(cdnow.frequency, cdnow.monetary_value)
    c = cdnow  # every customer: many share a history (x, t_x, T), which clv computes once
    args = (c.frequency, c.recency, c["T"], c.monetary_value)
    undiscounted = value.clv(bg_fit, gg, *args, horizon=52, period=4)
    expected = (value.expected_purchases(bg_fit, 52, *args[:3])
                * value.expected_spend(gg, c.frequency, c.monetary_value))
    assert undiscounted == pytest.approx(expected)
    one = value.clv(bg_fit, gg, *args, horizon=4, period=4, discount_rate=0.01)
    assert one == pytest.approx(expected * value.expected_purchases(bg_fit, 4, *args[:3])
                                / value.expected_purchases(bg_fit, 52, *args[:3]) / 1.01)
    assert (value.clv(bg_fit, gg, *args, horizon=52, period=4, discount_rate=0.01) < undiscounted).all()
    with pytest.raises(ValueError, match="whole number of periods"):
        value.clv(bg_fit, gg, *args, horizon=10, period=4)


def test_unique_rows_are_numpy_s_with_the_way_back():
    from parcours.value.mle import unique_rows

    rng = np.random.default_rng(4)
    cols = [rng.integers(0, 4, 500).astype(float), rng.integers(0, 3, 500) / 7, rng.integers(0, 2, 500) * 1.0]
    uniq, counts, back = unique_rows(*cols)
    want, want_counts = np.unique(np.column_stack(cols), axis=0, return_counts=True)
    assert np.array_equal(np.column_stack(uniq), want) and np.array_equal(counts, want_counts)
    assert all(np.array_equal(u[back], c) for u, c in zip(uniq, cols))
    assert [len(u) for u in unique_rows(np.array([]), np.array([]))[0]] == [0, 0]


def test_holdout_weeks_40_to_78(cdnow, bg_fit):
    ev = value.holdout_evaluation(bg_fit, cdnow.frequency, cdnow.recency, cdnow["T"],
                                  cdnow.holdout_purchases, holdout_length=39)
    assert ev["actual_total"] == 1882
    # the model under-forecasts the holdout by about 12 % (1,653 predicted); over both periods
    # the cohort's cumulative repeat purchases at week 78 are within 5 % (4,161 vs 4,339)
    assert ev["predicted_total"] == pytest.approx(1653.4, rel=0.01)
    assert -0.15 < ev["relative_error"] < -0.08
    first = 272 / 7 - cdnow["T"].to_numpy()  # first purchase, in weeks from 1997-01-01
    cum78 = value.expected_cohort_purchases(bg_fit, first, [545 / 7])[0]
    assert cum78 == pytest.approx(2457 + 1882, rel=0.05)
    groups = {g["frequency"]: g for g in ev["by_frequency"]}
    assert list(groups) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert sum(g["n"] for g in groups.values()) == 2357 and groups["0"]["n"] == 1411
    assert groups["0"]["actual_mean"] == pytest.approx(334 / 1411)
    assert groups["7+"]["predicted_mean"] == pytest.approx(groups["7+"]["actual_mean"], rel=0.05)
    assert 0 < ev["mae"] < ev["rmse"] < 2


def test_fit_file_returns_json_ready_results_with_the_holdout(cdnow_csv):
    out = value.fit_file(cdnow_csv, calibration_end=CAL_END, unit="week", model="pareto-nbd",
                         observation_end=OBS_END)
    json.dumps(out, allow_nan=False)
    assert (out["model"], out["unit"], out["calibration_end"]) == ("pareto-nbd", "week", "1997-09-30")
    assert out["customers"] == 2357
    assert out["parameters"]["s"] == pytest.approx(0.606, abs=1e-3)
    assert out["standard_errors"]["s"] > 0 and out["converged"] and out["iterations"] > 0
    low, high = out["ci95"]["s"]
    assert low < out["parameters"]["s"] < high
    assert out["holdout"]["actual_total"] == 1882 and out["holdout"]["holdout_length"] == 39


def test_fit_file_reads_parquet_and_evaluates_spend(cdnow_csv, tmp_path):
    import duckdb

    pq = tmp_path / "orders.parquet"
    duckdb.sql(f"COPY (SELECT person_id::VARCHAR AS person_id, ts::TIMESTAMPTZ AS ts, "
               f"amount::DECIMAL(14,2) AS amount FROM read_csv('{cdnow_csv}')) TO '{pq}'")
    out = value.fit_file(pq, calibration_end=CAL_END, unit="week", model="gamma-gamma",
                         observation_end=OBS_END)
    assert (out["n"], out["repeat_customers"]) == (946, 946)
    assert out["parameters"]["gamma"] == pytest.approx(15.44, abs=0.01)
    assert out["holdout"]["n"] > 0 and out["holdout"]["predicted_mean"] > 0


# -- bad input ------------------------------------------------------------------------------

def _write(tmp_path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    path = tmp_path / "orders.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header or ["person_id", "ts", "amount"])
        w.writerows(rows)
    return path


ONE_REPEAT = [["p1", "2025-01-01T10:00:00Z", "10"], ["p2", "2025-01-03T10:00:00Z", "15"],
              ["p2", "2025-02-03T10:00:00Z", "-15"]]


@pytest.mark.parametrize("kwargs, rows, header, message", [
    ({"model": "bgnbd2"}, ONE_REPEAT, None, "unknown model 'bgnbd2'"),
    ({"unit": "month"}, ONE_REPEAT, None, "unknown unit 'month'"),
    ({"calibration_end": date(2024, 12, 1)}, ONE_REPEAT, None, "before the first order (2025-01-01)"),
    ({"observation_end": date(2025, 1, 10)}, ONE_REPEAT, None, "must be after the calibration end"),
    ({}, [["p1", "2025-01-01", "10"]], ["customer", "ts", "amount"], "lacks the column(s) person_id"),
    ({"model": "gamma-gamma"}, ONE_REPEAT, None, "needs repeat customers"),
    ({}, [["p1", "2025-01-01T10:00:00Z", "-10"]], None, "no customers"),
    ({}, [], None, "no customers"),
    ({}, [["p1", "2025-01-01T10:00:00Z", "10"], ["p1", "yesterday", "5"]], None, "1 value(s) of ts cannot be read"),
    ({}, [["p1", "2025-01-01T10:00:00Z", "10,50"]], None, "value(s) of amount cannot be read"),
])
def test_bad_input_is_explained(tmp_path, kwargs, rows, header, message):
    args = {"calibration_end": date(2025, 1, 31), "unit": "week", "model": "bgnbd", **kwargs}
    with pytest.raises(ValueError) as e:
        value.fit_file(_write(tmp_path, rows, header), **args)
    assert message in str(e.value)


def test_bad_files_are_explained(tmp_path):
    kw = {"calibration_end": date(2025, 1, 31), "unit": "week", "model": "bgnbd"}
    with pytest.raises(ValueError, match="no orders file"):
        value.fit_file(tmp_path / "missing.csv", **kw)
    (tmp_path / "orders.xlsx").write_bytes(b"PK")
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        value.fit_file(tmp_path / "orders.xlsx", **kw)
    with pytest.raises(ValueError, match="missing or infinite"):
        value.fit_bgnbd([1, 0], [np.nan, 0], [10, 10])
    with pytest.raises(ValueError, match="recency ≤ T"):
        value.fit_pareto_nbd([1], [5], [3])


def test_a_model_the_data_cannot_identify_is_reported_not_converged():
    fit = value.fit_bgnbd([0, 0, 0], [0, 0, 0], [10, 10, 10])  # nobody bought again
    assert not fit.converged and fit.se["r"] is None and "no standard errors" in fit.message
    json.dumps(fit.to_dict(), allow_nan=False)


def test_public_api_is_pinned():
    assert sorted(value.__all__) == sorted([
        "MODELS", "Fit", "clv", "expected_cohort_purchases", "expected_purchases",
        "expected_purchases_new", "expected_spend", "fit_bgnbd", "fit_file", "fit_gamma_gamma",
        "fit_orders", "fit_pareto_nbd", "holdout_evaluation", "p_alive", "read_orders",
        "spend_holdout_evaluation"])


def test_report_value_section_on_cdnow(cdnow_csv):
    from parcours.value.clv import clv
    from parcours.value.summary import HORIZON_WEEKS, WEEKLY_DISCOUNT, value_inputs, value_of

    s = value_inputs(value.read_orders(cdnow_csv), CAL_END)
    out = value_of(s)
    assert (out["customers"], out["repeat_customers"]) == (2357, 946)
    bg = out["bgnbd"]["parameters"]
    assert [round(bg[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    # CLV of every customer over 52 weeks at 1 % a month, recomputed here from published-grade fits
    x, m = s["frequency"].astype(float), np.round(s["monetary_value"].astype(float), 6)
    bgf = value.fit_bgnbd(x, s["recency"].astype(float), s["T"].astype(float))
    ggf = value.fit_gamma_gamma(x[x > 0], m[x > 0])
    expected = clv(bgf, ggf, x, s["recency"].astype(float), s["T"].astype(float), np.where(x > 0, m, 0.0),
                   horizon=HORIZON_WEEKS, period=4.0, discount_rate=(1 + WEEKLY_DISCOUNT) ** 4 - 1)
    assert out["clv_52w"]["total"] == pytest.approx(expected.sum(), rel=1e-9)
    assert 0 < out["clv_52w"]["median"] < out["clv_52w"]["mean"]  # a few customers hold most value
    assert 10 < out["clv_52w"]["top_decile_share"] < 100
    assert 0 < out["p_alive"]["share_below_50"] < 100


def test_report_value_section_says_why_without_a_finite_spend(cdnow_csv):
    # CDNOW's purchases with Pareto(0.5) spends, which have no mean: Gamma-Gamma fits q ≤ 1,
    # so there is no CLV, and the section says so instead of crashing the report
    from parcours.value.summary import value_inputs, value_of

    s = value_inputs(value.read_orders(cdnow_csv), CAL_END)
    repeat = s["frequency"] > 0
    spend = (np.random.default_rng(2).pareto(0.5, len(repeat)) + 1) * 10
    out = value_of(s | {"monetary_value": np.where(repeat, spend, np.nan)})
    assert out["gamma_gamma"]["parameters"]["q"] <= 1
    assert "infinite" in out["clv_52w"]["note"] and "total" not in out["clv_52w"]
    assert out["expected_purchases_52w"]["total"] > 0


def test_report_value_section_without_repeat_buyers():
    from parcours.value.summary import value_of

    s = {"calibration_end": CAL_END, "person_id": np.array(["a", "b"]), "frequency": np.zeros(2),
         "recency": np.zeros(2), "T": np.array([3.0, 5.0]), "monetary_value": np.array([np.nan, np.nan])}
    assert "no repeat buyer" in value_of(s)["note"]
    assert value_of({}) == {"customers": 0, "note": "no orders: no value model"}
