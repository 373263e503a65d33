"""The survey page under load, from a second process on loopback (issue 6: p95 ≤ 100 ms at 100/s).

    .venv/bin/python benchmarks/surveys.py                # builds a 20,000-person world and its 20,000
                                                          # invitations (~2 min, invitations ~90 s), then ~1.5 min
    .venv/bin/python benchmarks/surveys.py --reuse-store  # keeps benchmarks/work/surveys_world.duckdb (~1.5 min)

Against a real `parcours serve` (its own process; this script is the load), on a copy of the
world in which ``--invitations`` persons with an e-mail address were invited to the
``nps-case`` survey with the domain API (``invitations.invite_persons``) *before* the server
starts: the served process is then the store's only writer. Each link's token is signed the
way the delivery signs it (``tokens.token_for``).

* open loop, ``--rate`` requests/s for ``--seconds`` (requests are sent on a fixed schedule
  whatever the answers; each latency counts from when the request was due, so a queue shows):
  mostly ``GET /s/{token}`` of a link never opened before (the first open records
  ``opened_at``: a write), ~``--post-share`` ``POST /s/{token}/score`` of a link opened at least
  2 s before (the score is written into ``responses``), and — only when
  ``parcours.text.verbatims`` is importable, since the comment is analysed on the spot —
  ~``--why-share`` ``POST /s/{token}/why`` with a short French comment on a scored link;
* closed loop, warm: ``--sequential`` customers one after another on one connection, each
  opening a fresh link then giving a score (and the why, as above).

p50 / p95 / p99 / max and errors per request type and overall. Results are appended to
benchmarks/surveys_results.json (commit, dirty or not, UTC time, machine); the server's log is
kept in benchmarks/work/surveys_server.log.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).parent))
from web import WORK, Server, _Connections, summary, wait_figures  # noqa: E402
from web import world as web_world  # noqa: E402

HERE = Path(__file__).parent
SURVEY = "nps-case"  # e-mail channel, NPS 0–10
COMMENTS = ["Livraison en retard et personne pour me répondre.", "Très bon accueil, merci au conseiller !",
            "Trop d'attente au téléphone, c'est pénible.", "Rapide et efficace, rien à redire.",
            "Le remboursement n'est toujours pas arrivé."]


def world(persons: int, reuse: bool) -> Path:
    """The demo world as `web.world` builds it, in its own file (`web.py` keeps a 100,000-person one)."""
    return web_world(persons, reuse, name="surveys_world")


def invite(db: Path, n: int) -> tuple[list[str], dict]:
    """At least ``n`` pending invitations to persons with an e-mail address, made with the domain
    API in the world itself (kept with ``--reuse-store``: each run works on a copy, so the links
    are new in every run); their link tokens (the store's secret travels with the copy)."""
    from parcours.store import Store
    from parcours.voice import invitations, surveys, tokens
    from parcours.voice.model import ContactRules

    made: dict = {}
    with Store(db) as store:
        surveys.install_defaults(store)
        if importlib.util.find_spec("parcours.text.verbatims") is not None:
            # as `parcours demo` does: the world's comments analysed before serving (else the
            # server's background round works through the backlog while we measure)
            from parcours.voice import analysis

            t0 = time.perf_counter()
            done = analysis.analyse_pending(store)
            if done:
                print(f"{done:,} comments of the world analysed in {time.perf_counter() - t0:.1f} s", flush=True)
        have = store.query("SELECT count(*) FROM survey_invitations WHERE survey_id = ? AND status = 'pending'",
                           [SURVEY])[0][0]
        if have < n:
            persons = [r[0] for r in store.query(
                """SELECT DISTINCT d.person_id FROM identities d WHERE d.kind = 'email' AND d.person_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM survey_invitations v WHERE v.person_id = d.person_id)
                   ORDER BY d.person_id LIMIT ?""", [n - have])]
            t0 = time.perf_counter()
            counts = invitations.invite_persons(store, SURVEY, persons,
                                                rules=ContactRules(cooldown=timedelta(0), cap=10**6))
            s = time.perf_counter() - t0
            made = {"invited": counts, "invite_s": round(s, 2), "invitations_per_s": round(len(persons) / s, 1)}
            print(f"invitations {counts} made in {s:.1f} s ({len(persons) / s:,.0f}/s)", flush=True)
        ids = [r[0] for r in store.query("SELECT invitation_id FROM survey_invitations WHERE survey_id = ? "
                                         "AND status = 'pending' ORDER BY invitation_id", [SURVEY])]
        key = tokens.link_key(store)
        got = store.query("SELECT (SELECT count(*) FROM persons), (SELECT count(*) FROM touchpoints), "
                          "(SELECT count(*) FROM responses), (SELECT count(*) FROM survey_invitations)")[0]
    toks = [tokens.token_for(key, i) for i in ids]
    random.Random(6).shuffle(toks)
    info = {"persons": got[0], "touchpoints": got[1], "responses": got[2], "invitations": got[3],
            "pending_links": len(toks), **made}
    print(f"world: {got[0]:,} persons, {got[1]:,} touchpoints, {got[2]:,} responses, "
          f"{len(toks):,} links never opened", flush=True)
    return toks, info


class _Survey(_Connections):
    """The hand-written keep-alive HTTP/1.1 client of `web.py`, as a browser without a token."""

    def __init__(self, base: str) -> None:
        super().__init__(base, "")

    async def call(self, kind: str, token: str, value: str = "") -> int:
        if kind == "get":
            return (await self.raw("GET", f"/s/{token}"))[0]
        form = {"score": value} if kind == "score" else {"comment": value, "language": "fr"}
        return (await self.raw("POST", f"/s/{token}/{kind}", urlencode(form).encode()))[0]

    async def raw(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = {"Host": self.host, "Accept": "text/html", "Accept-Language": "fr-FR,fr;q=0.9"}
        if method == "POST":
            head |= {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(body))}
        data = (f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items())
                + "\r\n").encode() + body
        if self.idle:  # a kept connection the server may have closed since (keep-alive timeout)
            try:
                return await self._send(self.idle.pop(), data)
            except (ConnectionError, IndexError, asyncio.IncompleteReadError):
                pass
        return await self._send(await asyncio.open_connection(self.host, self.port), data)


EXPECT = {"get": 200, "score": 303, "why": 303}


def _score(rng: random.Random) -> str:
    return str(rng.choices(range(11), weights=[2, 1, 1, 2, 2, 4, 5, 9, 14, 12, 10])[0])


def schedule(tokens: list[str], n: int, rate: float, post_share: float, why_share: float,
             rng: random.Random) -> list[tuple[str, str, str]]:
    """(kind, token, value) for each request i (due at i / rate): a score goes to a link opened
    at least 2 s before, a why to a link scored at least 2 s before; otherwise a new link."""
    out: list[tuple[str, str, str]] = []
    opened: list[tuple[int, str]] = []  # (index of the GET, token), oldest first
    scored: list[tuple[int, str]] = []
    lag = int(2 * rate)
    for i in range(n):
        r = rng.random()
        if r < why_share and scored and scored[0][0] <= i - lag:
            out.append(("why", scored.pop(0)[1], rng.choice(COMMENTS)))
        elif r < why_share + post_share and opened and opened[0][0] <= i - lag:
            tok = opened.pop(0)[1]
            out.append(("score", tok, _score(rng)))
            scored.append((i, tok))
        else:
            tok = tokens.pop()
            out.append(("get", tok, ""))
            opened.append((i, tok))
    return out


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _open_loop(base: str, plan: list[tuple[str, str, str]], rate: float) -> dict[str, list]:
    """As `web._open_loop`: each request sent when due, whatever the answers before it."""
    lat: dict[str, list[float]] = {k: [] for k in EXPECT}
    errors: dict[str, int] = dict.fromkeys(EXPECT, 0)
    conns = _Survey(base)
    start = time.perf_counter() + 0.2

    async def one(i: int, kind: str, token: str, value: str) -> None:
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        try:
            status = await conns.call(kind, token, value)
            ok = status == EXPECT[kind]
            if not ok and sum(errors.values()) < 3:
                print(f"    request {i} {kind}: HTTP {status}", flush=True)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as e:  # counted, the first named
            ok = False
            if sum(errors.values()) < 3:
                print(f"    request {i} {kind}: {type(e).__name__} {e}", flush=True)
        ms = (time.perf_counter() - due) * 1000
        lat[kind].append(ms)
        errors[kind] += not ok
        second = int(i / rate)
        slow[second] = slow.get(second, 0) + (ms > 100)

    slow: dict[int, int] = {}
    await asyncio.gather(*(one(i, *p) for i, p in enumerate(plan)))
    conns.close()
    return {"lat": lat, "errors": errors, "slow": slow}


async def _closed_loop(base: str, tokens: list[str], n: int, why: bool, rng: random.Random) -> dict[str, list]:
    """One customer after another on one connection: open, score (, why)."""
    lat: dict[str, list[float]] = {k: [] for k in EXPECT}
    errors: dict[str, int] = dict.fromkeys(EXPECT, 0)
    conns = _Survey(base)
    for _ in range(n):
        tok = tokens.pop()
        for kind, value in [("get", ""), ("score", _score(rng))] + ([("why", rng.choice(COMMENTS))] if why else []):
            t0 = time.perf_counter()
            status = await conns.call(kind, tok, value)
            lat[kind].append((time.perf_counter() - t0) * 1000)
            errors[kind] += status != EXPECT[kind]
    conns.close()
    return {"lat": lat, "errors": errors}


def figures(got: dict[str, list], label: str) -> dict:
    out = {}
    for kind, ms in got["lat"].items():
        if ms:
            out[kind] = summary(ms) | {"errors": got["errors"][kind]}
    every = [x for ms in got["lat"].values() for x in ms]
    out["all"] = summary(every) | {"errors": sum(got["errors"].values())}
    for kind, s in out.items():
        name = {"get": "GET /s/{t}", "score": "POST score", "why": "POST why", "all": "all"}[kind]
        print(f"  {label} {name:<11} n {s['n']:5d}  p50 {s['p50_ms']:7.1f}  p95 {s['p95_ms']:7.1f}  "
              f"p99 {s['p99_ms']:7.1f}  max {s['max_ms']:7.1f} ms  errors {s['errors']}", flush=True)
    return out


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    import duckdb

    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(mem / 2**20, 1), "os": platform.platform(),
            "python": platform.python_version(), "duckdb": duckdb.__version__,
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}


def stamp() -> dict:
    git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True, cwd=HERE).stdout.strip()  # noqa: E731
    dirty = bool(git("status", "--porcelain"))  # untracked files count: they may be the code measured
    return {"commit": git("rev-parse", "HEAD"), "dirty": dirty,
            "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}


def invitation_wave(db: Path, n: int) -> dict:
    """A relational wave on the run's copy: ``n`` persons invited at once to another survey
    (what `parcours surveys send` or the API does; the rules checked, the rows written)."""
    from parcours.store import Store
    from parcours.voice import invitations
    from parcours.voice.model import ContactRules

    with Store(db) as store:
        persons = [r[0] for r in store.query("SELECT DISTINCT person_id FROM identities WHERE kind = 'email' "
                                             "ORDER BY person_id LIMIT ?", [n])]
        t0 = time.perf_counter()
        invitations.invite_persons(store, "nps-relational", persons, rules=ContactRules(cooldown=timedelta(0),
                                                                                          cap=10**6))
        took = time.perf_counter() - t0
    return {"persons": len(persons), "seconds": round(took, 2), "per_s": round(len(persons) / took)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--reuse-store", action="store_true")
    ap.add_argument("--invitations", type=int, default=20_000, help="links created before the server starts")
    ap.add_argument("--rate", type=float, default=100.0, help="requests per second (open loop)")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--post-share", type=float, default=0.2, help="share of POST score")
    ap.add_argument("--why-share", type=float, default=0.05,
                    help="share of POST why (only if parcours.text.verbatims is importable)")
    ap.add_argument("--sequential", type=int, default=100, help="customers in the closed-loop measurement")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of open loop first, not counted")
    args = ap.parse_args()

    why = importlib.util.find_spec("parcours.text.verbatims") is not None
    why_share = args.why_share if why else 0.0
    print(f"comment step: {'included' if why else 'left out (parcours.text.verbatims is not importable)'}")
    st, mach = stamp(), machine()
    base_db = world(args.persons, args.reuse_store)
    db = WORK / "surveys_run.duckdb"
    toks, info = invite(base_db, args.invitations)  # before any server: it would be the store's only writer
    shutil.copy(base_db, db)
    shutil.rmtree(WORK / "surveys_run.duckdb.spool", ignore_errors=True)
    wave = invitation_wave(db, args.invitations)
    print(f"a wave of {wave['persons']:,} invitations (another survey) in {wave['seconds']} s "
          f"({wave['per_s']:,}/s)", flush=True)
    n = int(args.rate * args.seconds)
    warm_n = int(args.rate * args.warmup)
    need = int((n + warm_n) * (1 - why_share - args.post_share * 0.8)) + args.sequential + 100
    if len(toks) < need:
        raise SystemExit(f"{len(toks):,} links for ~{need:,} requests: give more --invitations or --persons")
    rng = random.Random(42)
    warm_plan = schedule(toks, warm_n, args.rate, args.post_share, why_share, rng)
    plan = schedule(toks, n, args.rate, args.post_share, why_share, rng)

    server = Server(db)
    try:
        t0 = time.perf_counter()
        wait_figures(server.base)  # measured warm: no dashboard report computing beside the surveys
        print(f"server up, start-up report done in {time.perf_counter() - t0:.1f} s", flush=True)
        asyncio.run(_open_loop(server.base, warm_plan, args.rate))  # connections, templates, code paths
        closed = figures(asyncio.run(_closed_loop(server.base, toks, args.sequential, why, rng)), "closed loop")
        cpu0, wall0, mine = cpu_s(server.proc.pid), time.perf_counter(), time.process_time()
        got = asyncio.run(_open_loop(server.base, plan, args.rate))
        cpu, mine = cpu_s(server.proc.pid) - cpu0, time.process_time() - mine
        wall = time.perf_counter() - wall0
        opened = figures(got, f"open loop {args.rate:.0f}/s")
        server_cpu = {"cpu_s": round(cpu, 2), "wall_s": round(wall, 2), "cores_busy": round(cpu / wall, 2),
                      "cpu_ms_per_request": round(cpu * 1000 / n, 2), "load_generator_cpu_s": round(mine, 2)}
        print(f"  server CPU during the open loop: {cpu:.1f} s in {wall:.1f} s ({cpu / wall:.2f} cores), "
              f"{server_cpu['cpu_ms_per_request']:.1f} ms a request; load generator {mine:.1f} s", flush=True)
    finally:
        server.stop()
        server.log.seek(0)
        (WORK / "surveys_server.log").write_bytes(server.log.read())
    mach["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    mix = {k: round(len(v) / n, 3) for k, v in got["lat"].items()}
    slow = {str(k): v for k, v in sorted(got["slow"].items()) if v}
    print(f"  requests over 100 ms, by second of the run: {slow or 'none'}")
    run = {**st, "machine": mach, "world": info, "rate_per_s": args.rate, "seconds": args.seconds,
           "requests": n, "mix": mix, "comment_step": why, "open_loop": opened, "slow_by_second": slow,
           "cpu_during_open_loop": server_cpu, "invitation_wave": wave,
           "closed_loop": closed | {"customers": args.sequential}, "target_p95_ms": 100,
           "target_met": all(v["p95_ms"] <= 100 for v in opened.values())}
    print(f"target p95 ≤ 100 ms (every request type): {'met' if run['target_met'] else 'NOT met'}")
    out = HERE / "surveys_results.json"
    result = json.loads(out.read_text()) if out.exists() else {"runs": []}
    result["runs"] = (result["runs"] + [run])[-10:]
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
