"""The service desk under load (issue 5): the inbox at 10,000 and 1,000,000 cases, and 200
agents working at once through the API.

    .venv/bin/python benchmarks/desk.py                    # both parts
    .venv/bin/python benchmarks/desk.py --parts scale      # the inbox at 10k and 1M cases only
    .venv/bin/python benchmarks/desk.py --parts agents --agents 200 --seconds 60

* scale: stores of 10,000 and 1,000,000 cases (imported as another tool's export, then
  adopted by the desk), and the inbox read the way agents read it: the default view, filtered
  by assignee, by words, urgent only, and five pages deep. Two workloads: the same
  1,000 active cases in both stores (a desk's history grows, its workload need not), and
  active cases in proportion (2 % of each store: 200 and 20,000). The peer, same run and same
  stores: the default view as a query of the canonical ``cases`` history (what an inbox
  without the desk's table of active cases does).
* agents: a real ``parcours serve`` on the 10,000-case store; each simulated agent (its own
  desk agent and API token), from a second process, starts at a random moment of its first
  think time, then loops: its inbox, one of its cases, an internal note with the version it
  read (a 409 counts as answered: that is the conflict path working), then waits (think
  time, exponential, mean ``--think``).

Results go to benchmarks/desk_results.json (benchmarks/README.md copies them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
WORK = HERE / "work"
sys.path.insert(0, str(HERE))
from web import PARCOURS, Server, _Connections, pct, wait_figures  # noqa: E402

TEAMS = ["facturation", "livraison", "technique", "commercial"]
AGENTS = [f"agent{i:03d}" for i in range(200)]


def summary(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 2), "p95_ms": round(pct(ms, 95), 2),
            "p99_ms": round(pct(ms, 99), 2), "mean_ms": round(statistics.mean(ms), 2)}


def build(n_cases: int, n_active: int, seed: int = 7) -> Path:
    """A store with ``n_cases`` imported cases adopted by the desk, the ``n_active`` most
    recent still open (kept between runs)."""
    db = WORK / f"desk_{n_cases}_{n_active}.duckdb"
    if db.exists():
        return db
    WORK.mkdir(exist_ok=True)
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    statuses = ["new", "open", "pending"]
    subjects = ["Colis non reçu", "Remboursement", "Facture en double", "Panne après 2 mois", "Question produit"]
    cols: dict[str, list] = {k: [] for k in ("case_id", "email", "opened_at", "channel", "status", "priority",
                                            "topic", "subject", "assignee", "closed_at")}
    for i in range(n_cases):
        active = i >= n_cases - n_active  # the most recent ones are still open
        opened = start + timedelta(minutes=i * 1_000_000 / n_cases)
        cols["case_id"].append(f"C-{i:07d}")
        cols["email"].append(f"client{rng.randrange(n_cases // 3 + 1)}@exemple.fr")
        cols["opened_at"].append(opened)
        cols["channel"].append(rng.choice(["email", "phone", "chat", "social", "sms"]))
        cols["status"].append(rng.choice(statuses) if active else rng.choice(["resolved", "closed"]))
        cols["priority"].append(rng.choices(["low", "normal", "high", "urgent"], [2, 6, 2, 1])[0])
        cols["topic"].append(rng.choice(TEAMS))
        cols["subject"].append(rng.choice(subjects))
        cols["assignee"].append(rng.choice(AGENTS) if rng.random() < 0.7 else None)
        cols["closed_at"].append(None if active else opened + timedelta(hours=rng.randrange(1, 200)))
    src = WORK / f"desk_{n_cases}_{n_active}_cases.parquet"
    pq.write_table(pa.table(cols), src)
    subprocess.run([*PARCOURS, "--db", str(db), "import", str(src), "--table", "cases"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-c", "import sys; from parcours.store import Store; from parcours.desk import "
                    "cases; print(cases.adopt_imported(Store(sys.argv[1])))", str(db)], check=True,
                   stdout=subprocess.DEVNULL)
    return db


def views(rng: random.Random) -> dict:
    """The inbox views an agent uses, as (name, keyword arguments) to ``cases.inbox``."""
    return {"default": {}, "assignee": {"assignee": rng.choice(AGENTS)},
            "words": {"q": "rembours"}, "urgent": {"priority": "urgent"}}


def bench_inbox(db: Path, repeats: int) -> dict:
    from parcours.desk import cases
    from parcours.store import Store

    store = Store(db, read_only=True)
    rng = random.Random(1)
    out: dict = {"cases": store.con.execute("SELECT count(*) FROM cases").fetchone()[0],
                 "active": store.con.execute("SELECT count(*) FROM desk_inbox").fetchone()[0]}
    for name, kw in views(rng).items():
        kw = {k: v for k, v in kw.items() if v is not None}
        cases.inbox(store, **kw)  # warm
        ms = []
        for _ in range(repeats):
            t = time.perf_counter()
            cases.inbox(store, **kw)
            ms.append((time.perf_counter() - t) * 1000)
        out[name] = summary(ms)
    ms = []
    for _ in range(max(1, repeats // 5)):  # five pages deep
        t = time.perf_counter()
        cursor = None
        for _ in range(5):
            page = cases.inbox(store, cursor=cursor)
            cursor = page[-1].cursor if page else None
        ms.append((time.perf_counter() - t) * 1000)
    out["five_pages"] = summary(ms)
    peer = ("SELECT case_id, person_id, status, priority, assignee, channel, subject FROM cases "
            "WHERE status IN ('new', 'open', 'pending') ORDER BY CASE priority WHEN 'urgent' THEN 3 "
            "WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END DESC, opened_at, case_id LIMIT 50")
    ms = []
    for _ in range(repeats):
        t = time.perf_counter()
        store.con.execute(peer).fetchall()
        ms.append((time.perf_counter() - t) * 1000)
    out["peer_history_query"] = summary(ms)
    store.close()
    return out


async def _agent(conns: _Connections, token: str, me: str, until: float, think: float, lat: dict,
                 errors: list[str], rng: random.Random) -> None:
    hdr = {"Authorization": f"Bearer {token}"}
    await asyncio.sleep(rng.uniform(0, think))  # agents start their day at different moments, not in one burst
    while time.perf_counter() < until:
        t = time.perf_counter()
        status, body = await conns.request("GET", f"/api/v1/desk/inbox?limit=50&assignee={me}", headers=hdr)
        lat["inbox"].append((time.perf_counter() - t) * 1000)
        rows = json.loads(body).get("cases", []) if status == 200 else []
        if status != 200:
            errors.append(f"inbox {status}")
        if rows:
            case_id = rng.choice(rows)["case_id"]
            t = time.perf_counter()
            status, body = await conns.request("GET", f"/api/v1/desk/cases/{case_id}", headers=hdr)
            lat["case"].append((time.perf_counter() - t) * 1000)
            version = json.loads(body)["case"]["version"] if status == 200 else 0
            t = time.perf_counter()
            status, _ = await conns.request("POST", f"/api/v1/desk/cases/{case_id}/note", headers=hdr,
                                            body=json.dumps({"body": f"note de {me}", "version": version}).encode())
            lat["note"].append((time.perf_counter() - t) * 1000)
            if status not in (200, 201, 409):
                errors.append(f"note {status}")
        await asyncio.sleep(min(rng.expovariate(1 / think), max(0.0, until - time.perf_counter())))


def bench_agents(db: Path, n_agents: int, seconds: float, think: float) -> dict:
    run = WORK / "desk_run.duckdb"
    for left in (run.with_name(run.name + ".wal"), run.with_name(run.name + ".spool")):  # an interrupted run's
        shutil.rmtree(left) if left.is_dir() else left.unlink(missing_ok=True)
    shutil.copy(db, run)
    # each simulated agent is a desk agent with its own API token (a token acts as the agent of its name)
    setup = ("import json, sys; from parcours.store import Store; from parcours import auth; "
             "from parcours.desk import agents; s = Store(sys.argv[1]); ids = json.loads(sys.argv[2]); "
             "[agents.add_agent(s, a, a, languages=['fr'], capacity=50, status='online') for a in ids]; "
             "print(json.dumps([auth.create_token(s, a, 'agent', created_by='bench')[1] for a in ids]))")
    tokens = json.loads(subprocess.run([sys.executable, "-c", setup, str(run), json.dumps(AGENTS[:n_agents])],
                                       check=True, capture_output=True, text=True).stdout)
    server = Server(run)
    try:
        wait_figures(server.base)  # the dashboards' report, computed at start, is not part of the load
        lat: dict[str, list[float]] = {"inbox": [], "case": [], "note": []}
        errors: list[str] = []

        async def main() -> None:
            until = time.perf_counter() + seconds
            rng = random.Random(3)
            conns = [_Connections(server.base, "") for _ in range(n_agents)]
            await asyncio.gather(*(_agent(conns[i], tokens[i % len(tokens)], AGENTS[i], until, think, lat, errors,
                                          random.Random(rng.random())) for i in range(n_agents)))

        asyncio.run(main())
    finally:
        server.stop()
    out = {k: summary(v) for k, v in lat.items() if v} | {"agents": n_agents, "seconds": seconds,
                                                        "think_s": think, "errors": len(errors),
                                                        "first_errors": errors[:5]}
    out["actions_per_s"] = round(sum(len(v) for v in lat.values()) / seconds, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="scale,agents")
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, default=10.0,
                    help="mean seconds between an agent's rounds (inbox, a case, a note): a busy agent")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    out_path = HERE / "desk_results.json"
    result: dict = json.loads(out_path.read_text()) if out_path.exists() else {}
    stamp = {"commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                      text=True).stdout.strip(),
             "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if "scale" in parts:
        for key, active in (("scale", lambda n: 1_000), ("scale_proportional", lambda n: n // 50)):
            small = bench_inbox(build(10_000, active(10_000)), args.repeats)
            large = bench_inbox(build(1_000_000, active(1_000_000)), args.repeats)
            ratio = {k: round(large[k]["p95_ms"] / small[k]["p95_ms"], 2) for k in small if isinstance(small[k], dict)}
            result[key] = {"10k": small, "1M": large, "p95_ratio_1M_over_10k": ratio, "measured": stamp}
            print(f"  {key}: active cases {small['active']:,} and {large['active']:,}", flush=True)
            for k, r in ratio.items():
                print(f"    inbox {k:<20} p95 10k {small[k]['p95_ms']:7.2f} ms   1M {large[k]['p95_ms']:7.2f} ms   "
                      f"ratio {r:.2f}", flush=True)
    if "agents" in parts:
        got = bench_agents(build(10_000, 1_000), args.agents, args.seconds, args.think)
        result["agents"] = got | {"measured": stamp}
        for k in ("inbox", "case", "note"):
            if k in got:
                print(f"  {args.agents} agents, {k:<6} p50 {got[k]['p50_ms']:7.1f}  p95 {got[k]['p95_ms']:7.1f} ms "
                      f"(n = {got[k]['n']})", flush=True)
        print(f"  {got['actions_per_s']} actions/s, {got['errors']} errors", flush=True)
    out_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"written to {out_path}")


if __name__ == "__main__":
    main()
