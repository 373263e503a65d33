"""The what-if model: how fast it fits and answers, and how often it recovers a planted change.

    .venv/bin/python benchmarks/whatif.py                 # ~4 min on 2 cores: speed on a 20,000-person world,
                                                          # recovery over 10 seeds (two worlds each)
    .venv/bin/python benchmarks/whatif.py --seeds 3       # a shorter recovery run

**Speed**, on the demo world (20,000 persons, seed 42, built into benchmarks/work/whatif_world.duckdb;
``--reuse-store`` keeps it): reading the episodes and answers from the store, fitting with 400
bootstrap draws (the resampled counts as one sparse product per block of draws, the chains solved
as one batch), answering a question. The peer, measured in the same run, is the straightforward
bootstrap: a Python loop that resamples the episodes, sums their counts and solves the chain, one
draw at a time (same estimator, same number of draws).

**Recovery**: for each seed, two worlds of ``--persons`` with the same seed, the second with chat
resolving 10 points more (``params.Tweaks``), each imported into its own store; the model fit on
the first is asked "chat +10 points". Counted: how often the second world's observed change lies
in the model's 95 % period interval (calls and contacts per 1,000 episodes, give-up, first-contact
settlement, NPS), and how often the generator's exact change (its own chain solved, sisyphus) lies
in the expected-change interval.

Results are appended to benchmarks/whatif_results.json (commit, dirty or not, UTC time, machine).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from surveys import machine, stamp  # noqa: E402

from parcours.ingest.importer import import_files  # noqa: E402
from parcours.simulate import generate, sisyphus  # noqa: E402
from parcours.simulate import whatif as W  # noqa: E402
from parcours.simulate.params import Tweaks  # noqa: E402
from parcours.simulate.whatif_data import load  # noqa: E402
from parcours.store import Store  # noqa: E402

HERE = Path(__file__).parent
WORK = HERE / "work"
CHAT10 = W.Scenario(resolve={"chat": 0.10})
CHECKED = (("contacts", "phone"), ("contacts", None), ("give_up", None), ("one_done", None), ("nps", None))


def build(db: Path, persons: int, seed: int, tweaks: Tweaks) -> Path:
    out = db.with_suffix("")
    shutil.rmtree(out, ignore_errors=True)
    db.unlink(missing_ok=True)
    generate(out, persons=persons, seed=seed, tweaks=tweaks)
    with Store(db) as store:
        import_files(store, sorted(out.glob("*.parquet")))
    shutil.rmtree(out)
    return db


def peer_fit(d, draws: int, seed: int, window_days: float = W.WINDOW_DAYS) -> np.ndarray:
    """The straightforward bootstrap, one draw at a time: resample the episodes, sum their counts,
    solve the chain; resample the answers, least squares; returns each draw's NPS change for chat +10."""
    from parcours.simulate.whatif_data import answer_features

    rng = np.random.default_rng(seed)
    lay = W._Layout(len(d.channels))
    counts = W._counts(d, lay)
    feats = answer_features(d, window_days)
    y = 100.0 * (d.answer_score >= 9) - 100.0 * (d.answer_score <= 6)
    x = np.column_stack([np.ones(len(y)), feats[:, 1:]])
    out = []
    for _ in range(draws):
        idx = rng.integers(0, d.n_episodes, d.n_episodes)
        chain = W._chain(np.asarray(counts[idx].sum(axis=0)), lay)
        base, new = W._solve(chain), None
        chain.resolve[:, [d.channels.index("chat"), len(d.channels) + d.channels.index("chat")]] += 0.10
        new = W._solve(chain)
        a = rng.integers(0, len(y), len(y))
        beta = np.linalg.lstsq(x[a], y[a], rcond=None)[0]
        per_episode = np.array([new.contacts[0, -1] - base.contacts[0, -1], new.switches[0] - base.switches[0],
                                new.give_up[0] - base.give_up[0], new.one_done[0] - base.one_done[0]])
        out.append(feats[a, 0].mean() * beta[1:] @ per_episode)
    return np.array(out)


def speed(persons: int, draws: int, reuse: bool) -> dict:
    WORK.mkdir(exist_ok=True)
    db = WORK / "whatif_world.duckdb"
    if not (reuse and db.exists()):
        build(db, persons, 42, Tweaks())
    with Store(db, read_only=True) as store:
        t0 = time.perf_counter()
        d = load(store)
        t1 = time.perf_counter()
        model = W.fit_data(d, draws=draws)
        t2 = time.perf_counter()   # the fit: the chain's and the score model's draws
        asks = []
        for _ in range(20):
            a = time.perf_counter()
            answer = model.ask(CHAT10)
            asks.append(time.perf_counter() - a)
        t3 = time.perf_counter()
        peer = peer_fit(d, draws, 1)
        t4 = time.perf_counter()
    nps = answer.figure("nps")
    return {"persons": persons, "episodes": d.n_episodes, "contacts": d.n_contacts, "answers": len(d.answer_score),
            "draws": draws, "load_s": round(t1 - t0, 3), "fit_s": round(t2 - t1, 3),
            "ask_ms_median": round(1000 * float(np.median(asks)), 2), "peer_fit_s": round(t4 - t3, 3),
            "peer_over_ours": round((t4 - t3) / (t2 - t1), 1),
            "nps_change_ci": [round(x, 3) for x in nps.change_ci],
            "peer_nps_change_ci": [round(float(x), 3) for x in np.percentile(peer, [2.5, 97.5])]}


def _truth(resolve: np.ndarray) -> dict[str, float]:
    out = {"contacts": 0.0, "phone": 0.0}
    for weight, band, social, app in sisyphus.default_groups():
        t = sisyphus._group_totals(sisyphus.first_channel_p(band, social, app), sisyphus.next_channel_p(social, app),
                                   resolve, sisyphus.GIVE_UP, sisyphus.REOPEN)
        out["contacts"] += weight * t["contacts"]
        out["phone"] += weight * t["phone"]
    return out


def recovery(persons: int, seeds: list[int]) -> dict:
    raised = sisyphus.RESOLVE.copy()
    raised[sisyphus.CHAT] += 0.10
    before, after = _truth(sisyphus.RESOLVE), _truth(raised)
    truth = {"contacts": 1000 * (after["contacts"] - before["contacts"]),
             "phone": 1000 * (after["phone"] - before["phone"])}
    runs = []
    for seed in seeds:
        root = Path(tempfile.mkdtemp(dir=WORK))
        try:
            base = build(root / "base.duckdb", persons, seed, Tweaks())
            planted = build(root / "chat10.duckdb", persons, seed, Tweaks(resolve={"chat": 0.10}))
            with Store(base, read_only=True) as s:
                answer = W.fit(s).ask(CHAT10)
            with Store(planted, read_only=True) as s:
                seen = W.fit(s, draws=0).ask(W.NO_CHANGE)
        finally:
            shutil.rmtree(root)
        row: dict = {"seed": seed, "episodes": answer.episodes}
        for key, ch in CHECKED:
            f = answer.figure(key, ch)
            change = seen.figure(key, ch).observed - f.observed
            row[f"{key}:{ch or 'all'}"] = {
                "observed_change": round(change, 3), "model_change": round(f.change, 3),
                "change_ci": [round(x, 3) for x in f.change_ci],
                "period_ci": [round(x, 3) for x in f.change_period_ci],
                "in_period_ci": bool(f.change_period_ci[0] <= change <= f.change_period_ci[1])}
        row["truth_in_ci"] = {k: bool(answer.figure("contacts", None if k == "contacts" else k).change_ci[0]
                                      <= v <= answer.figure("contacts", None if k == "contacts" else k).change_ci[1])
                              for k, v in truth.items()}
        print(json.dumps(row), flush=True)
        runs.append(row)
    cover = {f"{k}:{c or 'all'}": sum(r[f"{k}:{c or 'all'}"]["in_period_ci"] for r in runs) for k, c in CHECKED}
    truth_cover = {k: sum(r["truth_in_ci"][k] for r in runs) for k in truth}
    return {"persons": persons, "seeds": seeds, "truth_per_1000": {k: round(v, 3) for k, v in truth.items()},
            "observed_in_period_ci": cover, "truth_in_expected_ci": truth_cover, "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--draws", type=int, default=W.DRAWS)
    ap.add_argument("--seeds", type=int, default=10, help="recovery: seeds 1..N (0: skip)")
    ap.add_argument("--reuse-store", action="store_true")
    args = ap.parse_args()
    st, mach = stamp(), machine()
    result = {**st, "machine": mach, "speed": speed(args.persons, args.draws, args.reuse_store)}
    print(json.dumps(result["speed"]), flush=True)
    if args.seeds:
        result["recovery"] = recovery(args.persons, list(range(1, args.seeds + 1)))
    import os

    result["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path = HERE / "whatif_results.json"
    runs = json.loads(path.read_text())["runs"] if path.exists() else []
    path.write_text(json.dumps({"runs": [*runs, result]}, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.get("recovery", {}).items() if k != "runs"}, indent=1))


if __name__ == "__main__":
    main()
