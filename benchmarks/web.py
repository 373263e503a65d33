"""The web app and the API under load, from a second process on loopback (issue 4).

    .venv/bin/python benchmarks/web.py                # builds a 100,000-person world the first time
    .venv/bin/python benchmarks/web.py --reuse-store  # keeps benchmarks/work/web_world.duckdb

Measures, against a real `parcours serve` (its own process; this script is the load):

* pages: each page warm (its figures computed once), then requests one after another;
  p50 / p95 / p99 per page — and, as the peer, the same page cold (figures recomputed);
* ingest: batches of 1,000 touchpoints from 4 concurrent clients; rows answered per second
  and rows *stored* per second (until the writer has committed the last batch) — and, as
  the peer, the same batches imported one by one with `parcours import` (what a script
  without the API would do);
* single events: one touchpoint per request at a fixed 200 requests/s (open loop: each
  latency counts from when the request was due, so a slow answer cannot hide the queue).

Results go to benchmarks/web_results.json (benchmarks/README.md copies them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx

HERE = Path(__file__).parent
WORK = HERE / "work"
PARCOURS = [sys.executable, "-m", "parcours.cli"]
PAGES = ["/", "/journeys", "/service", "/loyalty", "/voice", "/customers"]
PASSWORD = "benchmark-password"
ALL_PARTS = {"pages", "ingest", "single", "peer"}


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def summary(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 2), "p95_ms": round(pct(ms, 95), 2),
            "p99_ms": round(pct(ms, 99), 2), "max_ms": round(max(ms), 2), "mean_ms": round(statistics.mean(ms), 2)}


def world(persons: int, reuse: bool, name: str = "web_world") -> Path:
    """The demo world (``parcours generate`` + ``parcours import``) in ``WORK/<name>.duckdb``."""
    base = WORK / f"{name}.duckdb"
    if reuse and base.exists():
        return base
    WORK.mkdir(exist_ok=True)
    files = WORK / name
    shutil.rmtree(files, ignore_errors=True)
    base.unlink(missing_ok=True)
    subprocess.run([*PARCOURS, "generate", "--persons", str(persons), "--out", str(files)], check=True)
    subprocess.run([*PARCOURS, "--db", str(base), "import", *map(str, sorted(files.glob("*.parquet")))],
                   check=True, stdout=subprocess.DEVNULL)
    return base


class Server:
    def __init__(self, db: Path) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([*PARCOURS, "--db", str(db), "serve", "--port", str(port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                httpx.get(self.base + "/health", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def cli(db: Path, *args: str) -> str:
    env = dict(os.environ, PARCOURS_PASSWORD=PASSWORD)
    out = subprocess.run([*PARCOURS, "--db", str(db), *args], check=True, capture_output=True, text=True,
                         env=env).stdout.strip()
    return out.splitlines()[-1] if out else ""


def login(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=300, follow_redirects=False)
    c.get("/login")
    r = c.post("/login", data={"email": "bench@parcours.test", "password": PASSWORD,
                               "csrf": c.cookies.get("parcours_csrf", ""), "next": "/"})
    assert r.status_code == 303, r.text
    return c


def wait_figures(base: str) -> None:
    """Until the server computes no report (the dashboards' report is computed at start)."""
    while httpx.get(base + "/health").json()["figures_computing"]:
        time.sleep(0.5)


def bench_pages(base: str, someone: str, repeats: int) -> dict:
    c = login(base)
    out = {}
    for page in PAGES:
        url = page + (f"?q={quote(someone)}" if page == "/customers" else "")
        t0 = time.perf_counter()
        r = c.get(url)
        cold = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            out[page] = {"status": r.status_code}
            print(f"  page {url}: {r.status_code}", flush=True)
            continue
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            r = c.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200
        out[page] = summary(times) | {"first_request_ms": round(cold, 1), "bytes": len(r.content)}
        print(f"  page {url:<40} first {cold:8.0f} ms   warm p50 {out[page]['p50_ms']:6.1f}  "
              f"p95 {out[page]['p95_ms']:6.1f}  p99 {out[page]['p99_ms']:6.1f} ms", flush=True)
    return out


def rows(prefix: str, n: int) -> list[dict]:
    chans = ["email", "phone", "chat", "web", "app", "store"]
    return [{"event_id": f"{prefix}-{i}", "ts": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00+01:00",
             "email": f"bench{i % 5000}@exemple.fr", "channel": chans[i % 6], "direction": "inbound",
             "kind": "contact", "stage": "support", "topic": "delivery",
             "outcome": "resolved" if i % 3 else "unresolved", "wait_s": i % 600, "text": f"message {i} é"}
            for i in range(n)]


def bench_ingest(base: str, token: str, batches: int, clients: int = 4) -> dict:
    payloads = [json.dumps(rows(f"bench{b}", 1000)).encode() for b in range(batches)]
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    lat: list[float] = []

    def send(chunk: list[bytes]) -> None:
        with httpx.Client(base_url=base, timeout=300, headers=headers) as c:
            for body in chunk:
                t = time.perf_counter()
                r = c.post("/api/v1/touchpoints", content=body)
                lat.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 202, r.text[:300]

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, [payloads[i::clients] for i in range(clients)]))
    answered = time.perf_counter() - t0
    while httpx.get(base + "/health").json()["queued_batches"]:
        time.sleep(0.02)
    stored = time.perf_counter() - t0
    n = batches * 1000
    res = {"batches": batches, "rows": n, "clients": clients, "answered_s": round(answered, 2),
           "stored_s": round(stored, 2), "answered_rows_per_s": round(n / answered),
           "stored_rows_per_s": round(n / stored), "batch_latency": summary(lat)}
    print(f"  ingest {n:,} rows in batches of 1,000: answered {n / answered:,.0f} rows/s, "
          f"stored {n / stored:,.0f} rows/s (batch p95 {res['batch_latency']['p95_ms']:.0f} ms)", flush=True)
    return res


def bench_ingest_peer(db: Path, batches: int) -> dict:
    """The same batches the straightforward way: one `parcours import` per 1,000-row file."""
    tmp = Path(tempfile.mkdtemp(prefix="parcours-peer-"))
    files = []
    for b in range(batches):
        f = tmp / f"touchpoints-{b}.jsonl"
        f.write_text("".join(json.dumps(r) + "\n" for r in rows(f"peer{b}", 1000)))
        files.append(f)
    t0 = time.perf_counter()
    for f in files:
        subprocess.run([*PARCOURS, "--db", str(db), "import", str(f)], check=True, stdout=subprocess.DEVNULL)
    s = time.perf_counter() - t0
    shutil.rmtree(tmp)
    print(f"  peer: {batches} × parcours import of 1,000 rows: {batches * 1000 / s:,.0f} rows/s", flush=True)
    return {"batches": batches, "seconds": round(s, 2), "rows_per_s": round(batches * 1000 / s)}


class _Connections:
    """Keep-alive HTTP/1.1 connections written by hand on asyncio streams: the load generator
    must cost far less than what it measures (httpx spends ~2 ms of CPU a request, as much as
    the server's whole answer to one event)."""

    def __init__(self, base: str, token: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port, self.token = host, int(port), token
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: bytes) -> int:
        return (await self.request("POST", path, body=body))[0]

    async def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> tuple[int, bytes]:
        """(status, body); the token given at creation unless ``headers`` names another."""
        head = {"Host": self.host, "Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                "Content-Length": str(len(body))} | (headers or {})
        raw = (f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items())
               + "\r\n").encode() + body
        if self.idle:  # a kept connection the server may have closed since (keep-alive timeout)
            try:
                return await self._send(self.idle.pop(), raw)
            except (ConnectionError, IndexError, asyncio.IncompleteReadError):
                pass
        return await self._send(await asyncio.open_connection(self.host, self.port), raw)

    async def _send(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], raw: bytes) -> tuple[int, bytes]:
        reader, writer = conn
        writer.write(raw)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await reader.readexactly(length)
        self.idle.append(conn)
        return status, body

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def _open_loop(base: str, token: str, rate: float, seconds: float) -> tuple[list[float], int]:
    lat: list[float] = []
    errors = 0
    conns = _Connections(base, token)
    start = time.perf_counter() + 0.2
    n = int(rate * seconds)

    async def one(i: int) -> None:
        nonlocal errors
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        body = json.dumps(rows(f"single{time.time_ns()}-{i}", 1)[0]).encode()
        try:
            ok = await conns.post("/api/v1/touchpoints", body) == 202
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as e:  # counted, the first named
            ok = False
            if errors < 3:
                print(f"    request {i}: {type(e).__name__} {e}", flush=True)
        lat.append((time.perf_counter() - due) * 1000)
        errors += not ok

    await asyncio.gather(*(one(i) for i in range(n)))
    conns.close()
    return lat, errors


def bench_single(base: str, token: str, rate: float, seconds: float) -> dict:
    asyncio.run(_open_loop(base, token, rate, 2))  # warm the connections
    lat, errors = asyncio.run(_open_loop(base, token, rate, seconds))
    res = summary(lat) | {"rate_per_s": rate, "seconds": seconds, "errors": errors}
    print(f"  single events at {rate:.0f}/s for {seconds:.0f} s: p50 {res['p50_ms']:.1f}  p95 {res['p95_ms']:.1f}  "
          f"p99 {res['p99_ms']:.1f} ms, {errors} errors", flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--reuse-store", action="store_true")
    ap.add_argument("--repeats", type=int, default=100, help="warm requests per page")
    ap.add_argument("--batches", type=int, default=200, help="1,000-row batches sent")
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--parts", default=",".join(sorted(ALL_PARTS)),
                    help="what to measure, comma-separated (results of the others are kept from the last run)")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    base_db = world(args.persons, args.reuse_store)
    db = WORK / "web_run.duckdb"
    shutil.copy(base_db, db)
    shutil.rmtree(WORK / "web_run.duckdb.spool", ignore_errors=True)
    cli(db, "users", "add", "bench@parcours.test", "--role", "admin")
    token = cli(db, "tokens", "create", "bench", "--role", "ingest")
    # read before the server starts: it then holds the store's lock
    got = subprocess.run([sys.executable, "-c", (
        "import duckdb,sys; c=duckdb.connect(sys.argv[1], read_only=True);"
        "print(*c.sql(\"select (select count(*) from persons), (select count(*) from touchpoints), "
        "(select value from identities where kind = 'phone' limit 1)\").fetchone())"),
        str(db)], capture_output=True, text=True, check=True).stdout.split()
    persons, touchpoints, someone = int(got[0]), int(got[1]), got[2]
    print(f"world: {persons:,} persons, {touchpoints:,} touchpoints", flush=True)
    out = HERE / "web_results.json"
    result: dict = json.loads(out.read_text()) if out.exists() and parts != ALL_PARTS else {}
    stamp = {"commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                      text=True).stdout.strip(),
             "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    result |= {"persons": persons, "touchpoints": touchpoints, **({} if parts != ALL_PARTS else stamp)}
    server = Server(db)
    try:
        if "pages" in parts:
            result["pages"] = bench_pages(server.base, someone, args.repeats)
        if "ingest" in parts:
            result["ingest"] = bench_ingest(server.base, token, args.batches)
        if "single" in parts:
            wait_figures(server.base)  # measured warm: no report computing beside the events
            result["single"] = bench_single(server.base, token, args.rate, args.seconds)
    finally:
        server.stop()
    if "peer" in parts:
        result["ingest_peer"] = bench_ingest_peer(db, min(args.batches, 30))
    for part in parts:  # a partial run keeps the other parts' figures, each with its stamp
        result["ingest_peer" if part == "peer" else part]["measured"] = stamp
    if "ingest" in result and "ingest_peer" in result:
        result["ingest_ratio_vs_peer"] = round(result["ingest"]["stored_rows_per_s"]
                                               / result["ingest_peer"]["rows_per_s"], 2)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
