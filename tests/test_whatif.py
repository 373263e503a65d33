"""The what-if journey model: hand-computed chains, the recovery of a change planted in a generated
world, and bad questions.

The recovery test builds two real worlds with the same seed, the second with chat resolving 10 points
more (``params.Tweaks``), imports each into a DuckDB store, fits the model on the first and checks
that what the second world shows lies in the model's intervals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import write_csv
from parcours.ingest.importer import import_files
from parcours.simulate import generate, sisyphus
from parcours.simulate.params import Tweaks
from parcours.simulate.whatif import NO_CHANGE, Scenario, WhatIfError, fit, scenario
from parcours.store import Store

PERSONS = 20_000          # ≈ 6,900 episodes: the planted change shows beyond the period noise


def _world(root: Path, name: str, tweaks: Tweaks) -> Path:
    out, db = root / name, root / f"{name}.duckdb"
    generate(out, persons=PERSONS, seed=42, tweaks=tweaks)
    with Store(db) as store:
        import_files(store, sorted(out.glob("*.parquet")))
    return db


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(base world's store, store of the same world with chat resolving 10 points more)."""
    root = tmp_path_factory.mktemp("whatif")
    return _world(root, "base", Tweaks()), _world(root, "chat10", Tweaks(resolve={"chat": 0.10}))


def _within(value: float, interval: tuple[float, float]) -> bool:
    return interval[0] <= value <= interval[1]


def _truth(resolve: np.ndarray) -> dict[str, float]:
    """The generator's own chain, solved exactly (sisyphus): contacts and calls per episode of the
    default world's mix of persons."""
    out = {"contacts": 0.0, "phone": 0.0}
    for weight, band, social, app in sisyphus.default_groups():
        t = sisyphus._group_totals(sisyphus.first_channel_p(band, social, app), sisyphus.next_channel_p(social, app),
                                   resolve, sisyphus.GIVE_UP, sisyphus.REOPEN)
        out["contacts"] += weight * t["contacts"]
        out["phone"] += weight * t["phone"]
    return out


def test_recovers_chat_resolving_ten_points_more(worlds):
    base_db, planted_db = worlds
    with Store(base_db, read_only=True) as s:
        model = fit(s)
    with Store(planted_db, read_only=True) as s:
        planted = fit(s, draws=0).ask(NO_CHANGE)
    answer = model.ask(Scenario(resolve={"chat": 0.10}))
    assert answer.episodes > 5000 and answer.answers > 5000
    for key, channel in (("contacts", "phone"), ("contacts", None), ("give_up", None), ("one_done", None),
                         ("nps", None)):
        f, seen = answer.figure(key, channel), planted.figure(key, channel).observed
        observed_change = seen - f.observed
        assert _within(observed_change, f.change_period_ci), (key, channel, observed_change, f)
        assert _within(seen, f.scenario_period_ci), (key, channel, seen, f)
    # the change is found: fewer calls and contacts, more issues settled at once, fewer give-ups
    for key, channel in (("contacts", "phone"), ("contacts", None), ("give_up", None)):
        assert answer.figure(key, channel).change_ci[1] < 0, (key, channel)
    assert answer.figure("one_done").change_ci[0] > 0
    # the expected change is the generator's exact one (its chain solved with and without the tweak)
    raised = sisyphus.RESOLVE.copy()
    raised[sisyphus.CHAT] += 0.10
    before, after = _truth(sisyphus.RESOLVE), _truth(raised)
    assert _within(1000 * (after["contacts"] - before["contacts"]), answer.figure("contacts").change_ci)
    assert _within(1000 * (after["phone"] - before["phone"]), answer.figure("contacts", "phone").change_ci)
    calls = answer.figure("contacts_total", "phone")
    assert calls.change == pytest.approx(answer.episodes * answer.figure("contacts", "phone").change / 1000)


def test_rates_learnt_are_the_generators(worlds):
    """Each channel's first-contact resolution and give-up, as fit on the base world, against the
    generator's (sisyphus.RESOLVE, GIVE_UP); in the planted world chat resolves 10 points more."""
    fitted = []
    for db in worlds:
        with Store(db, read_only=True) as s:
            fitted.append({r["channel"]: r for r in fit(s, draws=200).rates()})
    base, planted = fitted
    for channel, r in base.items():
        i = sisyphus.SUPPORT.index(channel)
        assert _within(100 * sisyphus.RESOLVE[i], r["resolve_first_ci"]), r
        assert _within(100 * sisyphus.GIVE_UP[i], r["give_up_ci"]), r
    assert _within(70.0, planted["chat"]["resolve_first_ci"])
    assert planted["chat"]["resolve_first"] - base["chat"]["resolve_first"] == pytest.approx(10, abs=4)


def test_no_change_contains_the_data_itself(worlds):
    with Store(worlds[0], read_only=True) as s:
        answer = fit(s, draws=200, seed=3).ask(NO_CHANGE)
    for f in answer.figures:
        assert f.change == 0 and f.change_ci == (0.0, 0.0), f
        assert _within(f.observed, f.baseline_ci), f
        assert _within(f.observed, f.scenario_period_ci), f


def test_first_contact_only_moves_less_and_a_shift_to_chat_takes_calls(worlds):
    with Store(worlds[0], read_only=True) as s:
        model = fit(s, draws=100)
    every = model.ask(Scenario(resolve={"chat": 0.10}))
    first = model.ask(Scenario(resolve={"chat": 0.10}, scope="first"))
    assert every.figure("contacts").change < first.figure("contacts").change < 0
    shift = model.ask(Scenario(shift=("phone", "chat", 0.10)))
    calls = shift.figure("contacts", "phone")
    assert calls.change_ci[1] < 0
    assert shift.figure("contacts", "chat").change > 0
    worse = model.ask(Scenario(give_up={"phone": 0.05}))
    assert worse.figure("give_up").change_ci[0] > 0
    assert worse.figure("nps").change < 0      # more give-ups: a lower NPS


def test_hand_computed_chain(tmp_path, cli, db):
    """Four episodes start in chat: two settled there, two unresolved then settled by phone; two
    start and end on the phone. So chat settles 1/2, calls are 4/6 per episode; chat settling
    everything leaves 2/6 calls per episode: 1,000 × (−2/6) per 1,000 episodes."""
    rows, n = [], 0

    def contact(person: int, day: int, channel: str, outcome: str) -> None:
        nonlocal n
        n += 1
        rows.append([f"e{n}", f"2025-03-{day:02d}T10:00:00+00:00", f"p{person}@exemple.fr", "", channel,
                     "contact", "billing", outcome, "30", ""])

    for p in range(4):
        contact(p, 1, "chat", "resolved" if p < 2 else "unresolved")
        if p >= 2:
            contact(p, 2, "phone", "resolved")
    for p in range(4, 6):
        contact(p, 1, "phone", "resolved")
    csv = write_csv(tmp_path / "touchpoints.csv", rows)
    assert cli("import", str(csv))[0] == 0
    with Store(db, read_only=True) as s:
        model = fit(s, draws=0)
    answer = model.ask(Scenario(resolve={"chat": 0.50}))
    calls = answer.figure("contacts", "phone")
    assert calls.observed == pytest.approx(1000 * 4 / 6)
    assert calls.baseline == pytest.approx(1000 * 4 / 6)
    assert calls.change == pytest.approx(-1000 * 2 / 6)
    assert answer.figure("contacts").scenario == pytest.approx(1000.0)
    assert answer.figure("one_done").scenario == pytest.approx(100.0)
    assert answer.figure("give_up").baseline == 0
    assert answer.figure("nps").observed is None and "no NPS answer" in " ".join(answer.notes)
    with pytest.raises(WhatIfError, match=r"resolve\[chat\]: 50.0 % in the data.*between -50.0 and \+50.0"):
        model.ask(Scenario(resolve={"chat": 0.60}))


def test_bad_questions(worlds, tmp_path):
    with Store(worlds[0], read_only=True) as s:
        model = fit(s, draws=20)
    with pytest.raises(WhatIfError, match=r"unknown channel 'fax'.*phone"):
        model.ask(Scenario(resolve={"fax": 0.1}))
    with pytest.raises(WhatIfError, match="shift: unknown channel 'pigeon'"):
        model.ask(Scenario(shift=("phone", "pigeon", 0.1)))
    with pytest.raises(WhatIfError, match="scope"):
        model.ask(Scenario(resolve={"chat": 0.1}, scope="last"))  # type: ignore[arg-type]
    with pytest.raises(WhatIfError, match=r"give_up\[phone\].*outside 0–100 %"):
        model.ask(Scenario(give_up={"phone": -0.5}))
    with pytest.raises(WhatIfError, match="resolve_points"):
        scenario("chat", resolve_points=float("nan"))
    with pytest.raises(WhatIfError, match="channel: required"):
        scenario(None, resolve_points=10)
    with pytest.raises(WhatIfError, match="shift_to"):
        scenario("phone", shift_points=10)
    assert scenario("chat", resolve_points=10) == Scenario(resolve={"chat": 0.10})
    with Store(tmp_path / "empty.duckdb") as s, pytest.raises(WhatIfError, match="no service episode"):
        fit(s)


@pytest.fixture(scope="module")
def site(demo_world, tmp_path_factory):
    """``parcours serve`` on a copy of the demo world, over real HTTP; an analyst's session and
    token (may act) and an agent's (may not)."""
    import shutil

    import httpx

    from conftest import Served
    from parcours import auth

    db = tmp_path_factory.mktemp("whatif_web") / "web.duckdb"
    shutil.copy(demo_world[0], db)
    password = "correct horse battery"
    with Store(db) as store:
        auth.add_user(store, "analyst@parcours.test", password, "analyst", name="Ana")
        auth.add_user(store, "agent@parcours.test", password, "agent", name="Agent")
        session = auth.open_session(store, auth.check_password(store, "analyst@parcours.test", password))
        agent_session = auth.open_session(store, auth.check_password(store, "agent@parcours.test", password))
        token = auth.create_token(store, "analyst", "analyst")[1]
        agent_token = auth.create_token(store, "agent", "agent")[1]
    server = Served(db)
    with httpx.Client(base_url=server.base, timeout=120) as client:
        yield {"client": client, "session": session, "agent_session": agent_session, "token": token,
               "agent_token": agent_token, "original": demo_world[0]}
    server.stop()


def test_page_in_both_languages(site):
    c = site["client"]
    c.cookies.set("parcours_session", site["session"])
    page = c.get("/act/whatif", params={"channel": "chat", "resolve": "10"})
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="whatif-table"' in html and 'data-key="contacts" data-channel="phone"' in html
    assert 'data-vega="whatif-chart-spec"' in html and "Calls that disappear in the period" in html
    fr = c.get("/act/whatif", params={"channel": "chat", "resolve": "10", "lang": "fr"})
    assert fr.status_code == 200 and "Appels évités sur la période" in fr.text and "Et si…" in fr.text
    assert "Résolution à un contact" in fr.text
    bad = c.get("/act/whatif", params={"channel": "chat", "resolve": "80"})
    assert bad.status_code == 422 and 'id="whatif-error"' in bad.text and "outside 0–100 %" in bad.text
    c.cookies.set("parcours_session", site["agent_session"])
    assert c.get("/act/whatif").status_code == 403
    c.cookies.clear()


def test_api_answers_as_the_model_does(site):
    c = site["client"]
    auth_h = {"Authorization": f"Bearer {site['token']}"}
    r = c.get("/api/v1/whatif", params={"channel": "chat", "resolve": 10}, headers=auth_h)
    assert r.status_code == 200, r.text
    body = r.json()
    with Store(site["original"], read_only=True) as store:  # the served copy's data (its file is the server's)
        direct = fit(store).ask(Scenario(resolve={"chat": 0.10}))
    assert body["scenario"]["resolve"] == {"chat": 0.1} and body["episodes"] == direct.episodes
    phone = next(f for f in body["figures"] if f["key"] == "contacts" and f["channel"] == "phone")
    expected = direct.figure("contacts", "phone")
    assert phone["change"] == pytest.approx(expected.change)
    assert phone["change_ci"] == pytest.approx(list(expected.change_ci))
    assert phone["change"] < 0
    unknown = c.get("/api/v1/whatif", params={"channel": "fax", "resolve": 10}, headers=auth_h)
    assert unknown.status_code == 422 and "unknown channel 'fax'" in unknown.json()["detail"]
    assert c.get("/api/v1/whatif", params={"channel": "chat", "resolve": 500}, headers=auth_h).status_code == 422
    assert c.get("/api/v1/whatif", params={"channel": "chat", "resolve": 10}).status_code == 401
    agent = c.get("/api/v1/whatif", params={"channel": "chat", "resolve": 10},
                  headers={"Authorization": f"Bearer {site['agent_token']}"})
    assert agent.status_code == 403


def test_cli(demo_world):
    from click.testing import CliRunner

    from parcours.cli import main

    runner = CliRunner()
    db = str(demo_world[0])
    res = runner.invoke(main, ["--db", db, "whatif", "--channel", "chat", "--resolve", "10", "--draws", "50",
                               "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    import json

    body = json.loads(res.stdout)
    assert body["draws"] == 50 and body["scenario"]["resolve"] == {"chat": 0.1}
    with Store(demo_world[0], read_only=True) as s:
        direct = fit(s, draws=50).ask(Scenario(resolve={"chat": 0.10}))
    phone = next(f for f in body["figures"] if f["key"] == "contacts" and f["channel"] == "phone")
    assert phone["change"] == pytest.approx(direct.figure("contacts", "phone").change)
    text = runner.invoke(main, ["--db", db, "whatif", "--channel", "chat", "--resolve", "10", "--draws", "20"],
                         env={"COLUMNS": "200"})
    assert text.exit_code == 0 and "contacts per 1,000 episodes" in text.output and "phone" in text.output
    bad = runner.invoke(main, ["--db", db, "whatif", "--channel", "fax", "--resolve", "10"])
    assert bad.exit_code == 1 and "unknown channel 'fax'" in bad.output


def test_chain_solver_on_the_drunkards_walk():
    """The textbook absorbing chain (Grinstead & Snell, *Introduction to Probability*, 1997, §11.2;
    Kemeny & Snell 1960, ch. III): a walk on 0…4 absorbed at 0 and 4, one step left or right with
    probability 1/2, from 2. Published: visits to 1, 2, 3 of (1, 2, 1), time to absorption 4 with
    variance 8, absorbed at either end with probability 1/2. As a journey: three channels, the two
    outer ones "resolve" half the time and otherwise send to the middle one, which never resolves
    and sends either way."""
    from parcours.simulate.whatif import _Chain, _solve

    half = 0.5
    moves = np.array([[0, 1, 0], [half, 0, half], [0, 1, 0]], dtype=float)
    chain = _Chain(start=np.array([[0.0, 1.0, 0.0]]), resolve=np.array([[half, 0, half, half, 0, half]]),
                   reopen=np.zeros((1, 3)), give_up=np.zeros((1, 3)), t_unres=moves[None], t_res=np.zeros((1, 3, 3)))
    out = _solve(chain)
    assert out.contacts[0] == pytest.approx([1, 2, 1, 4])
    assert out.contacts_var[0, -1] == pytest.approx(8)
    assert out.give_up[0] == pytest.approx(0)
    assert out.switches[0] == pytest.approx(3)        # every step changes channel: 4 contacts, 3 moves
