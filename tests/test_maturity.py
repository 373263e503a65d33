"""Maturity: Ovum's level measured on real stores (the demo world, and small hand-built stores
where each criterion passes or fails on purpose), the Temkin self-assessment and its bad input,
Temkin's tips from seed 003 as advice, and the page and API over real HTTP in both languages."""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import Served, make_token
from parcours import maturity
from parcours.maturity import ovum, temkin, tips
from parcours.maturity.temkin import MaturityError
from parcours.store import Store

SEED_003 = Path("/work/shared/seeds/003_856be7cf5edc9511.txt")
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
REMOTE = ("phone", "email", "chat")
CHANNELS = (*REMOTE, "store")


# -- a small world built row by row ------------------------------------------------------------
def build(db: Path, *, silo: bool = False, new_case_on_hop: bool = False, csat: dict[str, float] | None = None,
          proactive: str | None = None, persons: int = 480) -> Store:
    """``persons`` customers, each with one issue: a first contact on one channel and a second on
    another (every ordered pair of CHANNELS in turn), then one CSAT answer about the case.

    ``silo``: each channel knows the customer by its own identifier, so every contact makes a
    person of its own (what identity resolution gives when nothing links the identifiers).
    ``new_case_on_hop``: the second channel opens a new case (the customer starts over).
    ``csat``: share satisfied (5, else 2) by the case's channel; exact counts, no random draw.
    ``proactive``: None (no rules), "effect" (sent persons answer NPS 9–10, held back 5–6) or
    "none" (both groups answer alike)."""
    store = Store(db)
    pairs = [(a, b) for a in CHANNELS for b in CHANNELS if a != b]
    csat = csat or {c: 0.85 for c in CHANNELS}
    rows_p, rows_i, rows_t, rows_c, rows_r = [], [], [], [], []
    by_channel: dict[str, int] = {}
    for i in range(persons):
        first, second = pairs[i % len(pairs)]
        ts1, ts2 = T0 + timedelta(hours=7 * i), T0 + timedelta(hours=7 * i + 3)
        p1 = p2 = f"P{i:04d}"
        if silo:
            p1, p2 = f"P{i:04d}-{first}", f"P{i:04d}-{second}"
        for p in sorted({p1, p2}):
            rows_p.append((p, T0 - timedelta(days=30)))
        rows_i += [("email", f"c{i}@exemple.fr", p1),
                   ("phone", f"+336{i:08d}", p2)]
        case1 = f"K{i:04d}"
        case2 = f"K{i:04d}b" if new_case_on_hop else case1
        rows_c.append((case1, p1, ts1, first, "resolved", "billing"))
        if case2 != case1:
            rows_c.append((case2, p2, ts2, second, "resolved", "billing"))
        rows_t += [(f"E{i:04d}a", ts1, p1, first, case1, "unresolved"),
                   (f"E{i:04d}b", ts2, p2, second, case2, "resolved")]
        # the answer about the (first) case: satisfied for the first share of that channel's cases
        k = by_channel[first] = by_channel.get(first, 0) + 1
        n_first = sum(1 for j in range(persons) if pairs[j % len(pairs)][0] == first)
        score = 5 if k <= round(csat[first] * n_first) else 2
        rows_r.append((f"R{i:04d}", p1, ts2 + timedelta(hours=2), "csat", score, 1, 5, case1))
    insert(store, "persons", "person_id, created_at", rows_p)
    insert(store, "identities", "kind, value, person_id", rows_i)
    insert(store, "cases", "case_id, person_id, opened_at, channel, status, topic", rows_c)
    insert(store, "touchpoints", "event_id, ts, person_id, channel, case_id, outcome, direction, kind, topic",
           [(*r, "inbound", "contact", "billing") for r in rows_t])
    insert(store, "responses", "response_id, person_id, ts, metric, score, scale_min, scale_max, case_id", rows_r)
    if proactive:
        _proactive(store, effect=proactive == "effect")
    return store


def _proactive(store: Store, *, effect: bool) -> None:
    at = T0 + timedelta(days=60)
    store.con.execute("""INSERT INTO rules (rule_id, name, subject, condition, action, enabled, source, created_at,
                         updated_at) VALUES ('r1', 'detractor call', 'response', 'score <= 6', 'send_message', true,
                         'api', ?, ?)""", [at, at])
    outreach, firings, answers = [], [], []
    for i in range(80):
        status = "sent" if i % 2 == 0 else "held"
        pid, when = f"P{i:04d}", at + timedelta(hours=i)
        firings.append((f"F{i}", "r1", pid, 1, pid, when, "send_message", "done"))
        outreach.append((f"O{i}", pid, "personal_call_after_change", 3.7, "phone", "r1", f"F{i}", when, status, when))
        good = effect and status == "sent"
        score = (9 + (i // 2) % 2 if good else 5 + (i // 2) % 2) if effect else 5 + (i // 2) % 5
        answers.append((f"N{i}", pid, when + timedelta(days=3), "nps", score, 0, 10))
    insert(store, "rule_firings", "firing_id, rule_id, subject_key, round, person_id, fired_at, action, status",
           firings)
    insert(store, "outreach", "outreach_id, person_id, practice, rating, channel, rule_id, firing_id, created_at, "
           "status, decided_at", outreach)
    insert(store, "responses", "response_id, person_id, ts, metric, score, scale_min, scale_max", answers)


def insert(store: Store, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    """Rows in one statement (DuckDB's executemany runs one statement a row: slow)."""
    import pyarrow as pa

    names = [c.strip() for c in columns.split(",")]
    store.con.register("_rows", pa.Table.from_pylist([dict(zip(names, r)) for r in rows]))
    try:
        store.con.execute(f"INSERT INTO {table} ({columns}) SELECT * FROM _rows")
    finally:
        store.con.unregister("_rows")


def passed(a: ovum.Assessment) -> dict[str, bool]:
    return {c.id: c.passed for c in a.criteria}


# -- the levels on hand-built stores ---------------------------------------------------------
def test_an_integrated_consistent_store_is_omnichannel_and_proactive_with_an_effect_is_adaptive(tmp_path):
    with build(tmp_path / "a.duckdb") as s:
        a = ovum.assess(s)
        assert passed(a) == {"identity": True, "context": True, "consistency": True, "physical_remote": True,
                             "proactive": False}
        assert a.level == 3 and a.next_needs == ["proactive"]
        assert "No proactive rule defined" in a.criterion("proactive").evidence["en"]
        ctx = a.criterion("context")
        # every person hops once, on the same case
        assert ctx.figures["hops"] == 480 and ctx.figures["same_case"] == 480 and ctx.value == 100.0
        assert ctx.figures["cases_multichannel"] == 480
    with build(tmp_path / "b.duckdb", proactive="effect") as s:
        a = ovum.assess(s)
        p = a.criterion("proactive")
        assert p.passed and a.level == 4 and a.next_needs == []
        assert p.figures["outreach"] == {"sent": 40, "held": 40} and p.figures["firings"] == 80
        eff = p.figures["effect"]
        assert eff["low"] > 0 and p.figures["nps_mean_sent"] > p.figures["nps_mean_held"]


def test_proactive_actions_without_a_measured_effect_do_not_make_the_company_adaptive(tmp_path):
    with build(tmp_path / "c.duckdb", proactive="none") as s:
        a = ovum.assess(s)
        p = a.criterion("proactive")
        assert not p.passed and a.level == 3
        acting, effect = {c.id: c for c in p.checks}["acting"], {c.id: c for c in p.checks}["effect"]
        assert acting.passed and not effect.passed
        assert p.figures["effect"]["low"] <= 0 <= p.figures["effect"]["high"]


def test_a_siloed_store_is_departmental(tmp_path):
    with build(tmp_path / "d.duckdb", silo=True) as s:
        a = ovum.assess(s)
        ident = a.criterion("identity")
        assert not ident.passed and a.level == 1 and a.next_needs == ["identity"]
        # each person has one contact, so nobody is seen twice, let alone on two channels
        assert ident.figures["persons_multi_contact"] == 0 and ident.value is None
        assert "Recognise the customer" in ident.todo["en"]


def test_hops_that_open_a_new_case_mean_context_is_lost_and_the_company_stays_multichannel(tmp_path):
    with build(tmp_path / "e.duckdb", new_case_on_hop=True) as s:
        a = ovum.assess(s)
        ctx = a.criterion("context")
        assert passed(a)["identity"] and not ctx.passed and a.level == 2
        assert ctx.figures["new_case"] == 480 and ctx.value == 0.0 and ctx.figures["cases_multichannel"] == 0
        assert "nouveau dossier" in ctx.evidence["fr"] and "0,0 %" in ctx.evidence["fr"]


def test_a_channel_clearly_below_the_others_breaks_consistency(tmp_path):
    shares = {"phone": 0.85, "email": 0.55, "chat": 0.85, "store": 0.85}
    with build(tmp_path / "f.duckdb", csat=shares) as s:
        a = ovum.assess(s)
        cons = a.criterion("consistency")
        assert not cons.passed and a.level == 2
        email = next(r for r in cons.figures["csat"]["channels"] if r["channel"] == "email")
        assert email["below"] and email["high"] < 0 and email["gap"] == pytest.approx(55 - 85, abs=0.01)
        assert cons.figures["csat"]["chi2"]["p_value"] < 0.05
        assert "email" in cons.evidence["en"]


def test_stores_far_better_than_remote_channels_is_a_physical_remote_gap(tmp_path):
    shares = {"phone": 0.70, "email": 0.70, "chat": 0.70, "store": 0.98}
    with build(tmp_path / "g.duckdb", csat=shares) as s:
        a = ovum.assess(s)
        pr = a.criterion("physical_remote")
        assert not pr.passed and passed(a)["consistency"] and a.level == 2
        fig = pr.figures["csat"]
        assert fig["n_physical"] == 120 and fig["n_remote"] == 360
        assert fig["gap"] == pytest.approx(118 / 1.2 - 70, abs=0.01) and fig["low"] > 0


def test_a_period_without_data_says_so_and_shows_nothing_met(tmp_path):
    with build(tmp_path / "h.duckdb") as s:
        a = ovum.assess(s, start=datetime(2030, 1, 1, tzinfo=timezone.utc),
                        end=datetime(2030, 2, 1, tzinfo=timezone.utc))
        assert a.level == 1 and not any(passed(a).values())
        assert "No inbound contact in the period" in a.criterion("identity").evidence["en"]
        assert "trop peu pour juger" in a.criterion("context").evidence["fr"]


def test_the_level_needs_every_criterion_of_the_levels_below():
    everything = {"identity": True, "context": True, "consistency": True, "physical_remote": True, "proactive": True}
    assert ovum.level_of(everything) == 4
    assert ovum.level_of({**everything, "identity": False}) == 1  # proactive alone lifts nothing
    assert ovum.level_of({**everything, "physical_remote": False}) == 2
    assert ovum.level_of({**everything, "proactive": False}) == 3


# -- the statistics against published results and an independent implementation -------------------
def test_newcombe_interval_matches_the_published_example_and_statsmodels():
    # Newcombe 1998, Statistics in Medicine 17:873, Table II example (a): 56/70 − 48/80, method 10
    d, low, high = ovum.newcombe_diff(56, 70, 48, 80)
    assert d == pytest.approx(20.0)
    assert low == pytest.approx(5.24, abs=0.005) and high == pytest.approx(33.39, abs=0.005)
    from statsmodels.stats.proportion import confint_proportions_2indep

    for k1, n1, k2, n2 in [(9, 10, 3, 10), (6, 7, 2, 7), (5, 56, 0, 29), (44, 50, 230, 281)]:
        lo, hi = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
        _, low, high = ovum.newcombe_diff(k1, n1, k2, n2)
        assert (low, high) == pytest.approx((100 * lo, 100 * hi), abs=1e-6)


def test_welch_interval_is_scipys():
    from scipy import stats

    x, y = [71.0, 64, 90, 55, 80, 77, 62], [60.0, 52, 70, 48, 66, 58, 41, 50, 63]
    ci = stats.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
    d, low, high = ovum.welch_diff(x, y)
    assert d == pytest.approx(sum(x) / 7 - sum(y) / 9) and (low, high) == pytest.approx((ci.low, ci.high))
    assert ovum.welch_diff([90.0, 90.0], [50.0, 50.0]) == (40.0, 40.0, 40.0)  # constant groups: no division by 0


def test_nps_gap_interval_is_that_of_the_report():
    from parcours.metrics.voc import nps_change

    d, low, high = ovum.nps_diff((50, 20, 100), (30, 30, 120))
    se = lambda p, q, n: 100 * ((p + q - (p - q) ** 2) / n) ** 0.5  # noqa: E731
    ref = nps_change({"n": 120, "nps": 0.0, "se": se(30 / 120, 30 / 120, 120)},
                     {"n": 100, "nps": 30.0, "se": se(0.5, 0.2, 100)})
    assert d == pytest.approx(ref["delta"]) and high - d == pytest.approx(ref["moe95"])


# -- the demo world ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(demo_world):
    with Store(demo_world[0], read_only=True) as s:
        yield s, ovum.assess(s)


def test_the_demo_world_recognises_customers_and_keeps_one_case_per_issue(demo):
    s, a = demo
    assert a.level == ovum.level_of(passed(a))
    ident, ctx = a.criterion("identity"), a.criterion("context")
    contacts, persons = s.query("SELECT count(*), count(DISTINCT person_id) FROM touchpoints "
                                "WHERE kind = 'contact' AND direction = 'inbound'")[0]
    assert ident.figures["contacts"] == contacts and ident.figures["persons"] == persons
    assert ident.passed
    # the generator opens one case per issue (docs/demo-world.md): a hop to another channel lands on
    # the same case, unless the same person has two issues on one topic within the 7-day gap
    assert ctx.passed and ctx.value > 98 and ctx.figures["hops"] > 500
    multi = s.query("""SELECT count(*) FROM (SELECT case_id FROM touchpoints WHERE kind = 'contact'
                       AND case_id IS NOT NULL GROUP BY case_id HAVING count(DISTINCT channel) >= 2)""")[0][0]
    assert ctx.figures["cases_multichannel"] == multi


def test_the_demo_worlds_channel_gaps_agree_with_statsmodels_and_scipy(demo):
    from scipy.stats import chi2_contingency
    from statsmodels.stats.proportion import confint_proportions_2indep

    s, a = demo
    cons = a.criterion("consistency")
    rows = s.query("""SELECT CAST(k.channel AS VARCHAR), count(*), count(*) FILTER (r.score >= 4) FROM responses r
                      JOIN cases k USING (case_id) WHERE r.metric = 'csat' AND r.score IS NOT NULL GROUP BY 1""")
    groups = {ch: (n, k) for ch, n, k in rows}
    assert cons.figures["csat"]["n"] == sum(n for n, _ in groups.values())
    compared = cons.figures["csat"]["channels"]
    assert {r["channel"] for r in compared} == {ch for ch, (n, _) in groups.items() if n >= ovum.MIN_N}
    for r in compared:
        n, k = groups[r["channel"]]
        rn, rk = sum(g[0] for c, g in groups.items() if c != r["channel"]), sum(
            g[1] for c, g in groups.items() if c != r["channel"])
        lo, hi = confint_proportions_2indep(k, n, rk, rn, method="newcomb", compare="diff")
        assert (r["low"], r["high"]) == pytest.approx((100 * lo, 100 * hi), abs=1e-6)
        assert r["below"] == (r["gap"] < -ovum.GAP_MAX["csat"] and r["high"] < 0)
    table = [[k, n - k] for ch, (n, k) in groups.items() if n >= ovum.MIN_N]
    assert cons.figures["csat"]["chi2"]["p_value"] == pytest.approx(chi2_contingency(table, correction=False).pvalue)
    assert cons.passed == (not any(r["below"] for r in compared))
    # physical vs remote: the same answers, split store / the rest
    pr = a.criterion("physical_remote").figures["csat"]
    assert pr["n_physical"] == groups.get("store", (0, 0))[0]
    assert pr["n_physical"] + pr["n_remote"] == cons.figures["csat"]["n"]


def test_the_demo_worlds_proactive_figures_are_those_of_its_tables(demo):
    s, a = demo
    p = a.criterion("proactive")
    rules, enabled = s.query("SELECT count(*), count(*) FILTER (enabled) FROM rules")[0]
    firings = s.query("SELECT count(*) FROM rule_firings")[0][0]
    sent = s.query("SELECT count(*) FROM outreach WHERE status = 'sent'")[0][0]
    assert (p.figures["rules"], p.figures["rules_enabled"], p.figures["firings"]) == (rules, enabled, firings)
    assert p.figures["outreach"].get("sent", 0) == sent
    effect = p.figures["effect"]
    assert p.passed == (enabled > 0 and firings > 0 and sent > 0 and effect is not None and effect["low"] > 0)
    if not p.passed:  # rules loaded but no server ran them: no measured effect, so not customer-adaptive
        assert a.level < 4


def test_the_assessment_is_computed_once_until_the_data_change(tmp_path):
    with build(tmp_path / "m.duckdb", persons=60) as s:
        first = ovum.assess(s)
        assert ovum.assess(s) is first
        temkin.record(s, {st.id: 3 for st in temkin.STATEMENTS}, "test")  # a write moves the counter
        second = ovum.assess(s)
        assert second is not first and ovum.assess(s) is second
        _proactive(s, effect=True)  # as the rules' thread writes: no change counter, yet seen
        third = ovum.assess(s)
        assert third is not second and third.criterion("proactive").figures["firings"] == 80


# -- Temkin self-assessment ---------------------------------------------------------------------
def answers(**override: Any) -> dict[str, Any]:
    base = {s.id: 4 for s in temkin.STATEMENTS}
    return {**base, **override}


def test_a_self_assessment_scores_each_competency_and_names_the_weakest(tmp_path):
    with Store(tmp_path / "t.duckdb") as s:
        assert temkin.latest(s) is None
        old = datetime(2025, 1, 1, tzinfo=timezone.utc)
        temkin.record(s, answers(), "old", now=old)
        aid = temkin.record(s, answers(ED1=1, ED2="2", ED3=3, CC1=5, CC2=5, CC3=5, EE1=2, EE2=2, EE3=2), "anne")
        got = temkin.latest(s, "fr")
        assert got["assessment_id"] == aid and got["answered_by"] == "anne"
        assert got["scores"] == {"leadership": 25.0, "brand_values": 75.0, "employees": 25.0, "customers": 100.0}
        assert [w["competency"] for w in got["weakest"]] == ["leadership", "employees"]
        ed = got["statements"]["leadership"]
        assert [x["score"] for x in ed] == [1, 2, 3] and ed[0]["text"].startswith("Nos dirigeants")
        assert s.query("SELECT count(*) FROM maturity_answers")[0][0] == 2 * len(temkin.STATEMENTS)
        # a competency under 50 is weak even when it is not the lowest
        temkin.record(s, answers(ED1=1, ED2=1, ED3=1, VAM1=2, VAM2=2, VAM3=3), "anne")
        assert [w["competency"] for w in temkin.latest(s)["weakest"]] == ["leadership", "brand_values"]


@pytest.mark.parametrize("bad, field, words", [
    (answers(XX9=3), "XX9", "unknown statement"),
    (answers(ED2=6), "ED2", "not on the scale"),
    (answers(VAM1=0), "VAM1", "not on the scale"),
    (answers(EE3="4.5"), "EE3", "not a whole number"),
    (answers(CC1=2.5), "CC1", "not a whole number"),
    (answers(CC2="beaucoup"), "CC2", "not a whole number"),
    (answers(ED1=True), "ED1", "no answer"),
    ({k: v for k, v in answers().items() if k != "VAM3"}, "VAM3", "no answer"),
    (answers(EE1=""), "EE1", "no answer"),
    (["ED1", 3], "answers", "give an object"),
])
def test_bad_self_assessment_input_is_refused_naming_the_statement(tmp_path, bad, field, words):
    with Store(tmp_path / "bad.duckdb") as s:
        with pytest.raises(MaturityError) as e:
            temkin.record(s, bad, "anne")
        assert e.value.field == field and words in str(e.value) and field in str(e.value)
        assert s.query("SELECT count(*) FROM maturity_answers")[0][0] == 0


# -- Temkin's tips ------------------------------------------------------------------------------
def test_the_tips_are_the_seeds_eighty_with_their_competency():
    every = tips.all_tips()
    assert sorted(every) == list(range(1, 81))
    tag = {v["tag"]: k for k, v in tips.COMPETENCIES.items()}
    assert all(t.competency == tag[t.tag] and t.fr and t.en for t in every.values())
    assert sum(len(tips.by_competency(c)) for c in tips.COMPETENCIES) == 80
    with pytest.raises(KeyError, match="1–80"):
        tips.tip(81)
    for numbers in tips.CRITERION_TIPS.values():
        assert all(n in every for n in numbers)
    for st in temkin.STATEMENTS:  # a statement restates tips of its own competency
        assert all(every[n].competency == st.competency for n in st.tips), st.id


@pytest.mark.skipif(not SEED_003.exists(), reason="seed 003 not on this machine")
def test_the_french_tips_are_the_seeds_words():
    text = SEED_003.read_text(encoding="utf-8")
    found = {int(m.group(1)): (re.sub(r"\s+", " ", m.group(2)).strip(), m.group(3))
             for m in re.finditer(r"^(\d+)/ (.+?) \((ED|EE|VAM|CC)\)\s*$", text, re.M)}
    assert sorted(found) == list(range(1, 81))  # parts 1–4: tips 81–100 are not in the seed
    for n, t in tips.all_tips().items():
        assert (t.fr, t.tag) == found[n], n


def test_advice_gives_the_tips_of_the_failed_criteria_and_weak_competencies_in_the_language(tmp_path):
    with Store(tmp_path / "adv.duckdb") as s:
        temkin.record(s, answers(EE1=1, EE2=3, EE3=2), "anne")
        weak = temkin.latest(s)["weakest"]
    assert [w["competency"] for w in weak] == ["employees"]
    got = tips.advice(failed_criteria=["context", "proactive"], weak=weak, lang="fr")
    assert [(g["kind"], g["id"]) for g in got] == [("criterion", "context"), ("criterion", "proactive"),
                                                    ("competency", "employees")]
    ctx = got[0]["tips"]
    assert [t["number"] for t in ctx] == list(tips.CRITERION_TIPS["context"][:3])
    assert ctx[0]["text"] == tips.tip(22).fr
    # the lowest-scored statement's tips come first (EE1: 1), none repeated across points
    assert got[2]["tips"][0]["number"] == temkin.STATEMENTS[6].tips[0] and temkin.STATEMENTS[6].id == "EE1"
    numbers = [t["number"] for g in got for t in g["tips"]]
    assert len(numbers) == len(set(numbers))
    en = tips.advice(failed_criteria=["identity"], lang="en")
    assert en[0]["tips"][0] == {"number": 1, "competency": "customers", "text": tips.tip(1).en}
    with pytest.raises(KeyError, match="criterion 'speed'"):
        tips.advice(failed_criteria=["speed"])


def test_summary_puts_level_self_assessment_and_advice_together(tmp_path):
    with build(tmp_path / "s.duckdb", new_case_on_hop=True) as s:
        temkin.record(s, answers(ED1=1, ED2=1, ED3=2), "anne")
        m = maturity.summary(s, lang="fr")
        assert m["level"] == 2 and m["name"]["fr"] == "Entreprise multicanal"
        assert [a["id"] for a in m["advice"]] == [*(c["id"] for c in m["criteria"] if not c["passed"]), "leadership"]
        assert m["advice"][0]["tips"][0]["text"] == tips.tip(22).fr


# -- the page and the API over real HTTP -----------------------------------------------------------
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def site(demo_world, tmp_path_factory):
    from parcours import auth

    db = tmp_path_factory.mktemp("maturity_web") / "web.duckdb"
    shutil.copy(demo_world[0], db)
    with Store(db) as s:
        auth.add_user(s, "analyst@parcours.test", PASSWORD, "analyst", name="Ana Lyst")
        auth.add_user(s, "agent@parcours.test", PASSWORD, "agent", name="Agent Smith")
    tokens = {"analyst": make_token(db, "analyst"), "agent": make_token(db, "agent")}
    server = Served(db)
    yield server, tokens
    server.stop()


@contextmanager
def login(base: str, email: str, lang: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=120, headers={"Accept-Language": lang}) as c:
        c.get("/login")
        r = c.post("/login", data={"email": email, "password": PASSWORD, "csrf": c.cookies["parcours_csrf"]})
        assert r.status_code == 303
        yield c


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_page_shows_the_level_and_the_evidence_of_each_criterion_in_both_languages(site, lang):
    server, tokens = site
    api = httpx.get(server.base + "/api/v1/maturity", params={"lang": lang}, timeout=120,
                    headers={"Authorization": f"Bearer {tokens['analyst']}"}).json()
    with login(server.base, "analyst@parcours.test", lang) as c:
        page = c.get("/act/maturity", params={"lang": lang})
    assert page.status_code == 200 and f'<html lang="{lang}">' in page.text
    text = html.unescape(page.text)
    word = {"en": "Level", "fr": "Niveau"}[lang]
    of = {"en": "of", "fr": "sur"}[lang]
    assert f"{word} {api['level']} {of} 4 — {api['name'][lang]}" in text
    for crit in api["criteria"]:
        assert crit["evidence"][lang] in text, crit["id"]
        verdict = re.search(rf'data-verdict="{crit["id"]}">([^<]+)<', page.text).group(1)
        assert verdict == {True: {"en": "met", "fr": "atteint"}, False: {"en": "not met", "fr": "non atteint"}}[
            crit["passed"]][lang]
        if not crit["passed"]:
            assert crit["todo"][lang] in text
    for a in api["advice"]:
        for t in a["tips"]:
            assert f'data-tip="{t["number"]}"' in page.text and t["text"] in text
    assert ("Enseignement" if lang == "fr" else "Tip") in text


def test_the_self_assessment_form_checks_csrf_and_input_then_shows_the_scores(site):
    server, _ = site
    with login(server.base, "analyst@parcours.test", "en") as c:
        form = {s.id: "4" for s in temkin.STATEMENTS}
        assert c.post("/act/maturity/assessment", data=form).status_code == 403  # no CSRF token
        bad = c.post("/act/maturity/assessment", data={**form, "ED2": "", "csrf": c.cookies["parcours_csrf"]})
        assert bad.status_code == 422 and "ED2: no answer" in bad.text
        assert 'name="ED1" value="4" checked' in bad.text  # what was ticked comes back
        good = c.post("/act/maturity/assessment",
                      data={**form, "ED1": "1", "ED2": "1", "ED3": "2", "csrf": c.cookies["parcours_csrf"]})
        assert good.status_code == 303 and good.headers["location"].startswith("/act/maturity")
        page = c.get("/act/maturity?lang=fr").text
    # leadership answered 1, 1, 2: mean 4/3 on 1–5, i.e. 100 · (4/3 − 1) / 4 on 0–100
    assert f'data-competency="leadership" data-score="{100 * (4 / 3 - 1) / 4:.1f}"' in page
    assert 'data-competency="customers" data-score="75.0"' in page
    assert 'data-advice="competency:leadership"' in page and "la plus faible" in page


def test_the_api_needs_the_act_permission_and_names_a_bad_statement(site):
    server, tokens = site
    with httpx.Client(base_url=server.base + "/api/v1", timeout=120) as c:
        assert c.get("/maturity").status_code == 401
        agent = {"Authorization": f"Bearer {tokens['agent']}"}
        assert c.get("/maturity", headers=agent).status_code == 403
        analyst = {"Authorization": f"Bearer {tokens['analyst']}"}
        bad = c.post("/maturity/assessment", json={"answers": {"ED1": 9}}, headers=analyst)
        assert bad.status_code == 422 and "ED1: 9 is not on the scale" in bad.json()["detail"]
        ok = c.post("/maturity/assessment", json={"answers": {s.id: 5 for s in temkin.STATEMENTS}}, headers=analyst)
        assert ok.status_code == 201 and ok.json()["scores"]["leadership"] == 100.0
        got = c.get("/maturity", headers=analyst, params={"lang": "fr"}).json()
        assert got["temkin"]["assessment_id"] == ok.json()["assessment_id"] and got["language"] == "fr"
    with login(server.base, "agent@parcours.test", "en") as c:
        assert c.get("/act/maturity").status_code == 403


def test_the_period_selects_the_data_on_the_page_and_the_api(site):
    server, tokens = site
    empty = {"from": "2030-01-01", "to": "2030-02-01"}
    got = httpx.get(server.base + "/api/v1/maturity", params=empty, timeout=120,
                    headers={"Authorization": f"Bearer {tokens['analyst']}"}).json()
    assert got["level"] == 1 and got["start"].startswith("2030-01-01") and got["end"].startswith("2030-02-01")
    with login(server.base, "analyst@parcours.test", "en") as c:
        page = c.get("/act/maturity", params={**empty, "lang": "en"}).text
        assert 'value="2030-01-01"' in page and "Level 1 of 4 — Departmental" in page
        assert "No inbound contact in the period" in page
        whole = c.get("/act/maturity", params={"from": "not a date", "lang": "en"})
        assert whole.status_code == 200 and 'value=""' in whole.text  # a wrong date is ignored
