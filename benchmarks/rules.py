"""The managers' rules engine under load (issue 7): a stream of touchpoints judged as it is
stored, and state rules swept over a million open items.

    .venv/bin/python benchmarks/rules.py                         # every part (~10 min once the worlds exist)
    .venv/bin/python benchmarks/rules.py --parts stream,peer --reuse-store   # 10,000 rows/s for 40 s
    .venv/bin/python benchmarks/rules.py --parts sweep           # 1M open promises, 1M open cases

* stream: a real ``parcours serve`` (its own process) on a generated world whose history ends
  today (``--persons`` 200,000 ≈ 4.2 M touchpoints), three event rules switched on over the
  API — a channel hop (``channels(48h) >= 2 and kind = 'contact' and direction = 'inbound'``,
  notify), a cancellation (webhook to a receiver in this process) and a complaint contact
  (``contacts(7d) >= 3 …``, notify) — then touchpoints POSTed at ``--rate`` rows/s for
  ``--seconds`` (batches of ``--batch`` rows from ``--clients`` threads, open loop: batch i
  leaves at start + i / batches-per-second). The rows are the world's own recent touchpoints
  replayed now (fresh event ids, the time of sending, the same identifiers, topics and cases),
  so the look-ups run against each person's real history. A month of the world's traffic
  arrives within a minute, so each person's contacts are closer together than in life: the
  rules fire more often than on a real stream (~270 firings/s at 10,000 rows/s; the actions'
  load is on the heavy side). Runs at another ``--rate`` are kept as ``stream_at_<rate>``.
  Each firing's delay counts from the moment its batch was POSTed (client clock) to
  ``rule_firings.fired_at`` (server clock, same machine; the engine stamps the start of the
  judging round), to ``rule_firings.done_at`` (the wall clock once the action was carried out:
  the issue's "to action"), and for the webhook rule to the moment the receiver got the
  delivery; the batches' ``ingest_batches`` times split the delay into POST → spooled → stored
  (import committed) → fired.
* peer (same run, same store, same rows): the naive way — every rule judged per touchpoint,
  one query per row and rule (the engine's own SQL with ``t.event_id = ?``), on a sample,
  extrapolated to rows per second.
* sweep: a store of 1,000,000 open promises (imported as a Parquet file of the canonical
  ``promises`` table; ~5 % older than 5 days, a few % overdue), three state rules, and
  :func:`parcours.act.engine.sweep` timed in its own process: the first sweep (fires and
  writes firings and notifications), then two more a minute apart (nothing new but what
  crossed a threshold meanwhile: the anti-join against the firings). Same with 1,000,000
  open cases. Peak memory per process (``wait4``).
  Peer: the same rules judged per item (one query per item and rule), on a sample.

Results go to benchmarks/rules_results.json (benchmarks/README.md copies them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
WORK = HERE / "work"
#: the console script, as a user runs it
PARCOURS = [str(Path(sys.executable).with_name("parcours"))]
ALL_PARTS = ("stream", "peer", "sweep")

HOP = "channels(48h) >= 2 and kind = 'contact' and direction = 'inbound'"
STREAM_RULES = [
    {"id": "hop", "name": "Channel hop", "subject": "touchpoint", "when": HOP, "action": "notify",
     "params": {"team": "escalations", "message": "Customer switching channels"}},
    {"id": "cancel", "name": "Cancellation to the CRM", "subject": "touchpoint",
     "when": "kind = 'cancellation' and direction = 'inbound'", "action": "webhook",
     "params": {"event": "rules.fired"}},
    {"id": "repeat", "name": "Third contact in a week", "subject": "touchpoint",
     "when": "kind = 'contact' and direction = 'inbound' and contacts(7d) >= 3", "action": "notify",
     "params": {"team": "retention", "message": "Third contact this week"}},
]
PROMISE_RULES = [
    {"id": "late-delivery", "name": "Late delivery", "subject": "promise", "when": "kind = 'delivery' and overdue > 1d",
     "action": "notify", "params": {"team": "logistics"}},
    {"id": "forgotten", "name": "Promise forgotten", "subject": "promise", "when": "age > 5d and not kept",
     "action": "notify", "params": {"team": "desk"}},
    {"id": "refund-due", "name": "Refund due today", "subject": "promise",
     "when": "kind = 'refund' and due_in < 1d and due_in > 0s", "action": "notify", "params": {"team": "billing"}},
]
CASE_RULES = [
    {"id": "unanswered", "name": "Unanswered for 2 days", "subject": "case", "when": "age > 2d and not answered",
     "action": "notify", "params": {"team": "desk"}},
    {"id": "urgent-idle", "name": "Urgent and idle", "subject": "case", "when": "priority = 'urgent' and idle > 4h",
     "action": "notify", "params": {"team": "supervisors"}},
]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def summary_s(xs: list[float]) -> dict[str, float]:
    if not xs:
        return {"n": 0}
    return {"n": len(xs), "p50_s": round(pct(xs, 50), 3), "p90_s": round(pct(xs, 90), 3),
            "p99_s": round(pct(xs, 99), 3), "max_s": round(max(xs), 3), "mean_s": round(statistics.mean(xs), 3)}


def run(*args: str, db: Path | None = None, quiet: bool = True, check: bool = True) -> str:
    out = subprocess.run([*PARCOURS, *(["--db", str(db)] if db else []), *args], check=check,
                         capture_output=quiet, text=True)
    return (out.stdout or "").strip()


# -- the worlds -----------------------------------------------------------------------------------
def world(persons: int, reuse: bool) -> tuple[Path, Path]:
    """The demo world, its history ending at today's midnight (UTC), imported into a store kept
    in WORK (``rules_world.duckdb``) with its Parquet files (``rules_world/``)."""
    db, files = WORK / "rules_world.duckdb", WORK / "rules_world"
    if reuse and db.exists():
        return db, files
    WORK.mkdir(exist_ok=True)
    shutil.rmtree(files, ignore_errors=True)
    db.unlink(missing_ok=True)
    from parcours.simulate.world import generate

    t0 = time.perf_counter()
    start = datetime.now(timezone.utc).date() - timedelta(days=365)
    generate(files, persons=persons, start=start)
    print(f"  generated {persons:,} persons ending {start + timedelta(days=365)} in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    # exits 1: the generator's promises due after today are quarantined ("not a plausible time")
    run("import", *map(str, sorted(files.glob("*.parquet"))), db=db, check=False)
    if not db.exists():
        raise RuntimeError("the import of the world failed")
    print(f"  imported in {time.perf_counter() - t0:.1f} s", flush=True)
    return db, files


def stream_rows(files: Path, n: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` of the world's touchpoints of its last 30 days, drawn at random, as the API takes
    them (identifiers kept, event id and time set when sent)."""
    import duckdb

    con = duckdb.connect()
    rows = con.execute(f"""
        SELECT * EXCLUDE (event_id, ts, person_id) FROM read_parquet('{files / "touchpoints.parquet"}')
        WHERE ts >= (SELECT max(ts) FROM read_parquet('{files / "touchpoints.parquet"}')) - INTERVAL 30 DAY
        ORDER BY event_id""").to_arrow_table().to_pylist()
    rng = random.Random(seed)
    picked = rng.sample(rows, n) if n <= len(rows) else [rng.choice(rows) for _ in range(n)]
    out = [{k: v for k, v in r.items() if v is not None and v == v} for r in picked]  # NaN and None left out
    return out


# -- the stream -----------------------------------------------------------------------------------
class Receiver:
    """A webhook subscriber in this process: when each delivery arrived (time.time()), by key."""

    def __init__(self) -> None:
        got: dict[str, tuple[float, str]] = {}
        self.got = got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                at = time.time()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                data = body.get("data") or {}
                got.setdefault(str(data.get("key")), (at, str(data.get("rule_id"))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()


class Server:
    """``parcours serve`` on ``db`` in its own process (voice loop out of the way)."""

    def __init__(self, db: Path) -> None:
        import socket

        import httpx

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.log = open(WORK / "rules_server.log", "wb")
        env = dict(os.environ, PARCOURS_VOICE_EVERY_S="3600")
        self.proc = subprocess.Popen([*PARCOURS, "--db", str(db), "serve", "--port", str(port)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        for _ in range(600):
            try:
                httpx.get(self.base + "/health", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start (see benchmarks/work/rules_server.log)")

    def health(self) -> dict[str, Any]:
        import httpx

        return httpx.get(self.base + "/health", timeout=30).json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(120)
        self.log.close()


def _send_all(base: str, token: str, bodies: list[bytes], rate_batches: float, clients: int
              ) -> tuple[list[float], list[dict[str, Any]], float, float]:
    """POST every body, batch i due at start + i / rate_batches; (sent time per batch, receipts,
    start, end)."""
    import httpx

    sent = [0.0] * len(bodies)
    receipts: list[dict[str, Any]] = [{} for _ in bodies]
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    start = time.time() + 0.5

    def client(k: int) -> None:
        with httpx.Client(base_url=base, timeout=120, headers=headers) as c:
            for i in range(k, len(bodies), clients):
                time.sleep(max(0.0, start + i / rate_batches - time.time()))
                at = time.time()
                ts = datetime.fromtimestamp(at, timezone.utc).isoformat().encode()
                r = c.post("/api/v1/touchpoints", content=bodies[i].replace(b"__TS__", ts))
                sent[i] = at
                receipts[i] = {"status": r.status_code, "ms": (time.time() - at) * 1000,
                               "batch_id": r.json().get("batch_id") if r.status_code == 202 else None}

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return sent, receipts, start, time.time()


def bench_stream(db: Path, files: Path, rate: float, seconds: float, batch: int, clients: int) -> dict[str, Any]:
    import httpx

    run_db = WORK / "rules_run.duckdb"
    shutil.copy(db, run_db)
    shutil.rmtree(WORK / "rules_run.duckdb.spool", ignore_errors=True)
    token = run("tokens", "create", "rules-bench", "--role", "admin", db=run_db).splitlines()[-1]
    n_batches = int(rate * seconds / batch)
    tag = f"R{int(time.time())}"
    rows = stream_rows(files, n_batches * batch)
    bodies = []
    for b in range(n_batches):
        chunk = [{"event_id": f"{tag}-{b}-{j}", "ts": "__TS__", **r}
                 for j, r in enumerate(rows[b * batch:(b + 1) * batch])]
        bodies.append(json.dumps(chunk).encode())
    mix = {"contacts": sum(r["kind"] == "contact" for r in rows), "cancellations": sum(r["kind"] == "cancellation"
                                                                                       for r in rows)}
    receiver = Receiver()
    server = Server(run_db)
    out: dict[str, Any] = {"tag": tag, "rate_target": rate, "seconds_target": seconds, "batch_rows": batch,
                           "clients": clients, "rows": n_batches * batch, "mix": mix}
    try:
        auth = {"Authorization": f"Bearer {token}"}
        t0 = time.perf_counter()
        while server.health()["figures_computing"]:  # the dashboards' report, computed at start
            time.sleep(0.5)
        print(f"  server ready; report computed ({time.perf_counter() - t0:.0f} s)", flush=True)
        r = httpx.post(server.base + "/api/v1/webhooks", headers=auth, json={"url": receiver.url,
                                                                              "events": ["rules.fired"]})
        assert r.status_code == 201, r.text
        for rule in STREAM_RULES:
            r = httpx.put(server.base + f"/api/v1/rules/{rule['id']}", headers=auth, json={**rule, "enabled": True})
            assert r.status_code == 200 and r.json()["enabled"], r.text
        before = server.health()["rules"]
        print(f"  sending {n_batches * batch:,} rows: {n_batches} batches of {batch} at {rate / batch:.0f}/s "
              f"from {clients} clients", flush=True)
        sent, receipts, start, end = _send_all(server.base, token, bodies, rate / batch, clients)
        bad = [r for r in receipts if r.get("status") != 202]
        send_s = end - start
        at_end = server.health()
        out |= {"send_s": round(send_s, 2), "rows_per_s_sent": round(n_batches * batch / send_s),
                "errors": len(bad), "queued_batches_at_end": at_end["queued_batches"],
                "request_ms": {"p50": round(pct([r["ms"] for r in receipts], 50), 1),
                               "p99": round(pct([r["ms"] for r in receipts], 99), 1)}}
        print(f"  sent in {send_s:.1f} s ({out['rows_per_s_sent']:,} rows/s), {len(bad)} errors; "
              f"queued at the end {at_end['queued_batches']}", flush=True)
        # drained: nothing queued, no firing pending its action, and nothing grows for 5 s
        last, stable_since = None, time.time()
        while time.time() - end < 300:
            h = server.health()
            fired = {x["rule_id"]: x["fired"] for x in httpx.get(server.base + "/api/v1/rules", headers=auth).json()}
            pending = httpx.get(server.base + "/api/v1/rules/firings?status=pending&limit=1", headers=auth).json()
            now_state = (h["queued_batches"], h["rules"]["fired"], h["rules"]["rounds"], tuple(sorted(fired.items())),
                         len(receiver.got), len(pending))
            if now_state != last:
                last, stable_since = now_state, time.time()
            elif h["queued_batches"] == 0 and not pending and time.time() - stable_since > 5:  # rounds included
                break
            time.sleep(0.5)
        out["drained_s_after_last_send"] = round(stable_since - end, 2)
        out["rules_stats"] = {k: (v - before[k] if isinstance(v, int) and k in before else v)
                              for k, v in server.health()["rules"].items()}
    finally:
        server.stop()
        receiver.close()
    out |= _delays(run_db, tag, sent, receipts, receiver.got, start, end)
    out["store_touchpoints"] = _count(run_db)
    out["rows_per_s_stored"] = round(out["batches_stored"] * batch / out["stored_span_s"])
    return out


def _count(db: Path) -> int:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*) FROM touchpoints").fetchone()[0]


def _batch(key: str) -> int:
    """The batch index in a streamed event id (``<tag>-<batch>-<row>``)."""
    return int(key.split("-")[1])


def _delays(db: Path, tag: str, sent: list[float], receipts: list[dict[str, Any]], hooks: dict[str, tuple[float, str]],
            start: float, end: float) -> dict[str, Any]:
    """Delays from each batch's POST (client clock) to its storing, its judging, each firing and
    each webhook delivery received."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    by_batch = {r["batch_id"]: i for i, r in enumerate(receipts) if r.get("batch_id")}
    stored = con.execute("""SELECT b.batch_id, epoch(b.received_at), epoch(b.stored_at), epoch(r.judged_at)
                            FROM ingest_batches b LEFT JOIN rule_batches r ON r.batch = b.import_id
                            WHERE b.batch_id IN (SELECT unnest(?::VARCHAR[]))""", [list(by_batch)]).fetchall()
    to_spool, to_stored, to_judged = [], [], []
    stored_at_of: dict[int, float] = {}  # batch index → when its import committed (server clock)
    for batch_id, received, stored_at, judged in stored:
        s = sent[by_batch[batch_id]]
        stored_at_of[by_batch[batch_id]] = stored_at
        to_spool.append(received - s)
        to_stored.append(stored_at - s)
        if judged is not None:
            to_judged.append(judged - s)
    last_stored = max((x[2] for x in stored), default=end)
    out: dict[str, Any] = {
        "batches_stored": len(stored), "batches_judged": len(to_judged),
        "delay_to_received_s": summary_s(to_spool), "delay_to_stored_s": summary_s(to_stored),
        "delay_to_judged_s": summary_s(to_judged), "rules": {}}
    firings = con.execute("""SELECT rule_id, subject_key, epoch(fired_at), status, epoch(done_at) FROM rule_firings
                             WHERE subject_key LIKE ? ORDER BY fired_at""", [tag + "-%"]).fetchall()
    for rule in STREAM_RULES:
        mine = [f for f in firings if f[0] == rule["id"]]
        delays = [f[2] - sent[_batch(f[1])] for f in mine]
        res: dict[str, Any] = {"when": rule["when"], "action": rule["action"], "fired": len(mine),
                               "statuses": {s: sum(f[3] == s for f in mine) for s in {f[3] for f in mine}},
                               "firings_per_s": round(len(mine) / (end - start), 1),
                               "delay_to_fired_s": summary_s(delays),
                               "delay_to_done_s": summary_s([f[4] - sent[_batch(f[1])] for f in mine
                                                             if f[4] is not None]),
                               "stored_to_fired_s": summary_s([f[2] - stored_at_of[_batch(f[1])] for f in mine
                                                               if _batch(f[1]) in stored_at_of])}
        if rule["action"] == "webhook":
            got = [hooks[f[1]][0] - sent[_batch(f[1])] for f in mine if f[1] in hooks]
            res["webhooks_received"] = len(got)
            res["delay_to_webhook_received_s"] = summary_s(got)
            res["stored_to_webhook_received_s"] = summary_s([hooks[f[1]][0] - stored_at_of[_batch(f[1])] for f in mine
                                                             if f[1] in hooks and _batch(f[1]) in stored_at_of])
        out["rules"][rule["id"]] = res
    all_delays = [f[2] - sent[_batch(f[1])] for f in firings]
    out["delay_to_fired_s"] = summary_s(all_delays)
    # the action carried out (notification written, delivery recorded, …): the "to action"
    out["delay_to_done_s"] = summary_s([f[4] - sent[_batch(f[1])] for f in firings if f[4] is not None])
    out["stored_to_fired_s"] = summary_s([f[2] - stored_at_of[_batch(f[1])] for f in firings
                                          if _batch(f[1]) in stored_at_of])
    out["firings_per_s"] = round(len(firings) / (end - start), 1)
    out["stored_span_s"] = round(last_stored - start, 2)
    con.close()
    return out


# -- the peer of the stream: one query per touchpoint and rule -----------------------------------
def bench_stream_peer(tag: str, sample: int, group: int) -> dict[str, Any]:
    """On the stream's store once it is written: the three rules judged per touchpoint (one query
    per row and rule) on ``sample`` of the streamed rows, against the engine's way (one query per
    rule over a group of ``group`` rows, as an import of the stream holds), same process."""
    from parcours.act import engine
    from parcours.act import rules as rule_store
    from parcours.act.subjects import SUBJECTS
    from parcours.store import Store

    store = Store(WORK / "rules_run.duckdb", read_only=True)
    con = store.con
    ids = [r[0] for r in con.execute("SELECT event_id FROM touchpoints WHERE event_id LIKE ? ORDER BY hash(event_id) "
                                     "LIMIT ?", [tag + "-%", max(sample, group * 3)]).fetchall()]
    now = datetime.now(timezone.utc)
    checked = [rule_store.check(r) for r in STREAM_RULES]
    per_row = [engine._query(r, SUBJECTS[r.subject], "t.event_id = ?", now) for r in checked]
    per_group = [engine._query(r, SUBJECTS[r.subject], "t.event_id IN (SELECT unnest(?::VARCHAR[]))", now)
                 for r in checked]
    for sql, params, _ in per_row:  # warm (plans, caches)
        con.execute(sql, [ids[0], *params]).fetchall()
    t0 = time.perf_counter()
    hits_row = 0
    for eid in ids[:sample]:
        for sql, params, _ in per_row:
            hits_row += len(con.execute(sql, [eid, *params]).fetchall())
    row_s = time.perf_counter() - t0
    times = []
    hits_group = 0
    for g in range(3):
        chunk = ids[g * group:(g + 1) * group]
        t0 = time.perf_counter()
        found = sum(len(con.execute(sql, [chunk, *params]).fetchall()) for sql, params, _ in per_group)
        times.append(time.perf_counter() - t0)
        if g == 0:
            hits_group = found
    # both ways find the same matches on the sample
    same = sum(len(con.execute(sql, [ids[:sample], *params]).fetchall()) for sql, params, _ in per_group)
    assert same == hits_row, (same, hits_row)
    store.close()
    group_s = statistics.median(times)
    res = {"what": "naive peer: each rule judged per touchpoint, one query per row and rule (the engine's own SQL "
                   "with t.event_id = ?), in-process on the stream's store after the run; against the engine's "
                   "way: one query per rule over a group of rows (event_id IN list), same process",
           "sample_rows": sample, "peer_seconds": round(row_s, 3), "peer_rows_per_s": round(sample / row_s),
           "peer_ms_per_row": round(row_s / sample * 1000, 3), "peer_hits": hits_row,
           "group_rows": group, "engine_seconds_per_group": round(group_s, 3),
           "engine_rows_per_s": round(group / group_s), "engine_hits_first_group": hits_group,
           "ratio_engine_over_peer": round((group / group_s) / (sample / row_s), 1)}
    print(f"  peer: {res['peer_rows_per_s']:,} rows/s one query per row and rule; engine {res['engine_rows_per_s']:,} "
          f"rows/s per group of {group:,}: ×{res['ratio_engine_over_peer']}", flush=True)
    return res


# -- sweeps over a million open items ---------------------------------------------------------------
SWEEP_NOW = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)


def build_sweep_store(what: str, n: int, seed: int = 3) -> Path:
    """A store of ``n`` open promises or cases (imported as another tool's export), kept in WORK."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    db = WORK / f"rules_{what}_{n}.duckdb"
    if db.exists():
        return db
    WORK.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    now = np.datetime64(SWEEP_NOW.replace(tzinfo=None), "s")
    old = rng.random(n) < 0.05  # 5 % older than five days, the rest of the last 4.5 days
    age_s = np.where(old, rng.uniform(5 * 86400, 30 * 86400, n), rng.uniform(0, 4.5 * 86400, n)).astype("int64")
    made = now - age_s.astype("timedelta64[s]")
    emails = np.char.add(np.char.add("client", rng.integers(0, n * 3 // 10, n).astype(str)), "@bench.example")
    ts = pa.timestamp("s", tz="UTC")
    if what == "promises":
        kinds = np.array(["delivery", "callback", "first_response", "resolution", "refund", "appointment", "other"])
        k = rng.choice(len(kinds), n, p=[0.4, 0.15, 0.1, 0.1, 0.1, 0.1, 0.05])
        within = np.array([3, 4 / 24, 1, 3, 5, 2, 7]) * 86400
        due = made + (within[k] * rng.uniform(0.5, 1.5, n)).astype("int64").astype("timedelta64[s]")
        table = pa.table({"promise_id": pa.array(np.char.add("P", np.arange(n).astype(str))), "email": emails,
                          "made_at": pa.array(made, ts), "kind": kinds[k],
                          "channel": np.array(["web", "email", "phone", "store"])[rng.integers(0, 4, n)],
                          "due_at": pa.array(due, ts), "kept_at": pa.nulls(n, ts)})
    else:
        answered = rng.random(n) < 0.6
        first = made + (rng.uniform(0.1, 10, n) * 3600).astype("int64").astype("timedelta64[s]")
        first_ok = answered & (first <= now)
        table = pa.table({
            "case_id": pa.array(np.char.add("C", np.arange(n).astype(str))), "email": emails,
            "opened_at": pa.array(made, ts),
            "channel": np.array(["email", "phone", "chat", "social", "sms"])[rng.integers(0, 5, n)],
            "status": np.array(["new", "open", "pending"])[rng.integers(0, 3, n)],
            "priority": np.array(["low", "normal", "high", "urgent"])[rng.choice(4, n, p=[2 / 11, 6 / 11, 2 / 11,
                                                                                           1 / 11])],
            "topic": np.array(["facturation", "livraison", "technique", "commercial"])[rng.integers(0, 4, n)],
            "subject": np.array(["Colis non reçu", "Remboursement", "Facture en double"])[rng.integers(0, 3, n)],
            "assignee": pa.array([f"agent{i:03d}" if i >= 0 else None for i in
                                  np.where(rng.random(n) < 0.7, rng.integers(0, 200, n), -1)]),
            "first_response_at": pa.array(np.where(first_ok, first, np.datetime64("NaT")), ts),
            "closed_at": pa.nulls(n, ts)})
    src = WORK / f"rules_{what}_{n}.parquet"
    pq.write_table(table, src)
    t0 = time.perf_counter()
    run("import", str(src), "--table", what, db=db)
    print(f"  {n:,} open {what} imported in {time.perf_counter() - t0:.1f} s", flush=True)
    return db


def sweep_worker(db: Path, what: str) -> None:
    """In a child process (its peak memory is the figure): two sweeps, their seconds and counts."""
    from parcours.act import engine
    from parcours.act import rules as rule_store
    from parcours.act.actions import Actions
    from parcours.store import Store

    store = Store(db)
    for rule in PROMISE_RULES if what == "promises" else CASE_RULES:
        rule_store.save(store, {**rule, "enabled": True}, actor="benchmark")
    table, live = ("promises", "kept_at IS NULL") if what == "promises" else ("cases",
                                                                              "status IN ('new', 'open', 'pending')")
    open_items = store.con.execute(f"SELECT count(*) FROM {table} WHERE {live}").fetchone()[0]
    out: dict[str, Any] = {"open_items": open_items, "sweeps": []}
    for i, now in enumerate((SWEEP_NOW, SWEEP_NOW + timedelta(minutes=1), SWEEP_NOW + timedelta(minutes=2))):
        t0 = time.perf_counter()
        fired = engine.sweep(store, Actions(store), now=now)
        s = time.perf_counter() - t0
        by_rule: dict[str, int] = {}
        for f in fired:
            by_rule[f.rule_id] = by_rule.get(f.rule_id, 0) + 1
        out["sweeps"].append({"seconds": round(s, 3), "fired": len(fired), "by_rule": by_rule})
        print(f"    sweep {i + 1}: {s:.2f} s, {len(fired):,} fired {by_rule}", flush=True)
    out["notifications"] = store.con.execute("SELECT count(*) FROM notifications").fetchone()[0]
    out["firings"] = store.con.execute("SELECT count(*) FROM rule_firings").fetchone()[0]
    store.close()
    print("RESULT " + json.dumps(out), flush=True)


def sweep_peer_worker(db: Path, what: str, sample: int) -> None:
    """The naive way: each open item judged by each rule with its own query (anti-join included),
    on ``sample`` items, extrapolated to all of them."""
    from parcours.act import engine
    from parcours.act import rules as rule_store
    from parcours.act.subjects import SUBJECTS
    from parcours.store import Store

    store = Store(db, read_only=True)
    checked = [rule_store.check(r) for r in (PROMISE_RULES if what == "promises" else CASE_RULES)]
    subject = SUBJECTS[checked[0].subject]
    keys = [r[0] for r in store.con.execute(f"SELECT {subject.key} FROM {subject.source} WHERE {subject.live} "
                                            f"ORDER BY hash({subject.key}) LIMIT ?", [sample]).fetchall()]
    n = store.con.execute(f"SELECT count(*) FROM {subject.source} WHERE {subject.live}").fetchone()[0]
    t0 = time.perf_counter()
    hits = 0
    for key in keys:
        for rule in checked:
            hits += len(engine._matches(store, rule, f"{subject.live} AND {subject.key} = ?", [key], SWEEP_NOW,
                                        round_=0, fresh_only=True))
    s = time.perf_counter() - t0
    store.close()
    print("RESULT " + json.dumps({"sample": len(keys), "seconds": round(s, 3), "hits": hits, "open_items": n,
                                  "extrapolated_sweep_s": round(s * n / len(keys), 1)}), flush=True)


def child(*args: str) -> tuple[dict[str, Any], float, float]:
    """Run this script's worker in its own process: (its RESULT, wall seconds, peak RSS in GiB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--worker", *args], stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
        else:
            print(line, end="", flush=True)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"worker {args} failed ({status})")
    return result, time.perf_counter() - t0, usage.ru_maxrss / 2**20


def bench_sweep(what: str, n: int, peer_sample: int) -> dict[str, Any]:
    base = build_sweep_store(what, n)
    db = WORK / f"rules_{what}_run.duckdb"
    shutil.copy(base, db)
    print(f"  sweeps over {n:,} open {what}", flush=True)
    res, wall, rss = child("sweep", str(db), what)
    res |= {"rules": [{k: r[k] for k in ("id", "when", "action")} for r in
                      (PROMISE_RULES if what == "promises" else CASE_RULES)],
            "process_wall_s": round(wall, 2), "peak_rss_gib": round(rss, 3)}
    peer, _, _ = child("sweep-peer", str(base), what, str(peer_sample))
    peer["what"] = ("naive peer: each open item judged by each rule with its own query (the engine's SQL with "
                    "the item's key, anti-join included), on a sample, extrapolated to every open item")
    res["peer"] = peer
    res["ratio_first_sweep_vs_peer"] = round(peer["extrapolated_sweep_s"] / res["sweeps"][0]["seconds"], 1)
    print(f"  peer: {peer['seconds']:.2f} s for {peer['sample']:,} items → {peer['extrapolated_sweep_s']:,} s "
          f"for all ({res['ratio_first_sweep_vs_peer']}× the first sweep); peak {rss:.2f} GiB", flush=True)
    return res


# -- the run --------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    import duckdb

    mem = next((int(x.split()[1]) for x in open("/proc/meminfo") if x.startswith("MemTotal")), 0)
    return {"python": platform.python_version(), "duckdb": duckdb.__version__, "cpus": os.cpu_count(),
            "memory_gib": round(mem / 2**20, 1), "platform": platform.platform(), "load_avg": os.getloadavg()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default=",".join(ALL_PARTS))
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--reuse-store", action="store_true", help="keep benchmarks/work/rules_world.duckdb")
    ap.add_argument("--rate", type=float, default=10_000, help="touchpoints per second sent")
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--items", type=int, default=1_000_000, help="open promises, open cases")
    ap.add_argument("--peer-sample", type=int, default=1000)
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "sweep":
            sweep_worker(Path(rest[0]), rest[1])
        else:
            sweep_peer_worker(Path(rest[0]), rest[1], int(rest[2]))
        return
    parts = args.parts.split(",")
    out_path = HERE / "rules_results.json"
    result: dict[str, Any] = json.loads(out_path.read_text()) if out_path.exists() else {}
    stamp = {"commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                      cwd=HERE).stdout.strip(),
             "dirty_tree": bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                               capture_output=True, text=True, cwd=HERE).stdout.strip()),
             "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
             "command": " ".join(["benchmarks/rules.py", *sys.argv[1:]])}
    if "stream" in parts or "peer" in parts:
        db, files = world(args.persons, args.reuse_store)
        if "stream" in parts:
            print(f"stream at {args.rate:,.0f} rows/s for {args.seconds:.0f} s", flush=True)
            res = bench_stream(db, files, args.rate, args.seconds, args.batch, args.clients)
            res["world"] = {"persons": args.persons, "touchpoints_before": _count(db)}
            print("  POST → stored / fired / action done, median (p90): " + ", ".join(
                f"{res[k]['p50_s']:.2f} ({res[k]['p90_s']:.2f}) s"
                for k in ("delay_to_stored_s", "delay_to_fired_s", "delay_to_done_s")), flush=True)
            # the target's rate under "stream"; other rates beside it
            result["stream" if args.rate == 10_000 else f"stream_at_{args.rate:.0f}"] = res | {"measured": stamp}
        if "peer" in parts and "stream" in result:
            tag = result["stream"].get("tag")
            if tag:
                result["stream_peer"] = bench_stream_peer(tag, args.peer_sample, 10_000) | {"measured": stamp}
    if "sweep" in parts:
        for what in ("promises", "cases"):
            result[f"sweep_{what}"] = bench_sweep(what, args.items, args.peer_sample) | {"measured": stamp}
    stamp["machine"]["load_avg_end"] = os.getloadavg()
    out_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"written to {out_path}")


if __name__ == "__main__":
    main()
