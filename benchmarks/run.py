"""Foundation benchmarks: generate, import from Parquet and CSV, and two pandas peers.

    python benchmarks/run.py [--persons 500000] [--runs 3] [--peer-rows 2000000] [--no-full-peer]
                             [--work benchmarks/work/foundation]

Each step runs in its own process; its wall time and peak RSS (``os.wait4``) are recorded.
The machine's speed drifts by 15–25 % within minutes, so every timed import runs ``--runs``
times, alternated with what it is compared to (Parquet with CSV; on the slice, Parcours with
the vectorised peer), each into a new store; a figure is judged on its median, and the
minimum and maximum are written beside it. Ratios are taken run by run (peer / Parcours in the
same round). The row-by-row peer (about a minute a file) runs once, against the slice's first
Parcours round. ``--full-peer`` (default): the vectorised peer also imports the whole file
once (≈ 85 s and 13 GiB for 10.6 M rows), right after the last Parcours round of it, which
is what it is compared with. Before each round and at the end, a fixed DuckDB query (the
"machine probe", ~0.8 s) records how fast the machine is at that moment.

Results go to benchmarks/results.json (summarised in benchmarks/README.md). The work folder is
emptied first: it is a folder of its own so that the other benchmarks' stores are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from processes import PARCOURS, measure

HERE = Path(__file__).resolve().parent
PEERS = {"vectorised": "pandas_peer.py", "row by row": "pandas_peer_rows.py"}


def child(code: str, *args: str) -> str:
    """Run Python ``code`` in a process of its own and return what it prints: this parent stays
    small, because a child's peak memory (ru_maxrss) starts from the size of the parent it was
    forked from."""
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def duck(sql: str) -> str:
    return child("import duckdb, sys; r = duckdb.connect().execute(sys.argv[1]).fetchone(); print(r[0] if r else '')",
                 sql)


def rows(path: Path) -> int:
    fn = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    return int(duck(f"SELECT count(*) FROM {fn}('{path}')"))


def probe() -> float:
    """Seconds of one fixed CPU-bound DuckDB query (2 threads), timed inside its process: the
    machine's speed at that moment, recorded beside each round to read the figures by."""
    return round(float(child(
        "import duckdb, time; c = duckdb.connect(); c.execute('SET enable_progress_bar = false'); "
        "t = time.perf_counter(); c.execute('SELECT sum(hash(i)) FROM range(100000000) t(i)').fetchone(); "
        "print(time.perf_counter() - t)")), 3)


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "n": len(values)}


class Recorder:
    """Runs and records the steps; ``summary`` gathers each figure's runs."""

    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []
        self.summary: dict[str, Any] = {}

    def run(self, cmd: list[str], label: str, n: int | None = None, db: Path | None = None) -> dict[str, Any]:
        if db is not None:  # every run imports into a new store
            db.unlink(missing_ok=True)
            Path(f"{db}.wal").unlink(missing_ok=True)
        r = measure(cmd, label)
        if n:
            r["rows"], r["rows_per_s"] = n, round(n / r["seconds"])
        self.results.append({k: v for k, v in r.items() if k != "stdout"})
        return r

    def figure(self, name: str, runs: list[dict[str, Any]], n: int | None = None) -> None:
        secs = [r["seconds"] for r in runs]
        fig: dict[str, Any] = {"seconds": spread(secs), "peak_rss_gib": round(max(r["peak_rss_gib"] for r in runs), 3)}
        if n:
            fig["rows"] = n
            fig["rows_per_s"] = spread([n / s for s in secs])
        self.summary[name] = fig
        rate = f"  {fig['rows_per_s']['median']:>10,.0f} rows/s" if n else ""
        print(f"= {name:<54} median {fig['seconds']['median']:7.2f} s (min {fig['seconds']['min']:.2f}, "
              f"max {fig['seconds']['max']:.2f}){rate}", flush=True)

    def ratio(self, name: str, pairs: list[tuple[float, float]]) -> None:
        """Peer seconds over Parcours seconds, round by round."""
        self.summary[name] = spread([peer / ours for peer, ours in pairs])
        print(f"= {name:<54} median {self.summary[name]['median']:6.2f} x "
              f"(min {self.summary[name]['min']:.2f}, max {self.summary[name]['max']:.2f})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=500_000)
    ap.add_argument("--runs", type=int, default=3, help="rounds of each timed import (default 3)")
    ap.add_argument("--peer-rows", type=int, default=2_000_000)
    ap.add_argument("--full-peer", action=argparse.BooleanOptionalAction, default=True,
                    help="also run the vectorised peer on the whole file (needs ~14 GiB of memory)")
    ap.add_argument("--work", type=Path, default=HERE / "work" / "foundation")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    world = work / "world"
    rec = Recorder()

    gen = rec.run([*PARCOURS, "generate", "--persons", str(args.persons), "--out", str(world)],
                  f"generate {args.persons:,} persons")
    tp_parquet = world / "touchpoints.parquet"
    n = rows(tp_parquet)
    rec.results[-1]["rows"] = n
    rec.figure("generate", [gen], n)
    tp_csv = work / "touchpoints.csv"
    duck(f"COPY (SELECT * FROM read_parquet('{tp_parquet}')) TO '{tp_csv}' (HEADER)")

    full: dict[str, list[dict[str, Any]]] = {"parquet": [], "csv": []}
    probes: list[float] = []
    for i in range(args.runs):
        probes.append(probe())
        print(f"  machine probe, round {i + 1}: {probes[-1]:.3f} s", flush=True)
        for fmt, path in (("parquet", tp_parquet), ("csv", tp_csv)):
            db = work / f"{fmt}.duckdb"
            full[fmt].append(rec.run([*PARCOURS, "--db", str(db), "import", str(path)],
                                     f"parcours import {fmt} ({n:,} rows), run {i + 1}", n, db))
            if fmt == "parquet" and i == args.runs - 1 and args.full_peer:
                # the literal "same import": the whole file, right after a Parcours round of it
                db = work / "peer_parquet_full.duckdb"
                peer = rec.run([sys.executable, str(HERE / PEERS["vectorised"]), str(tp_parquet), str(db)],
                               f"pandas peer (vectorised) parquet ({n:,} rows)", n, db)
    for fmt in full:
        rec.figure(f"import {fmt}", full[fmt], n)
    if args.full_peer:
        rec.figure("pandas peer (vectorised) parquet, whole file", [peer], n)
        rec.ratio("ratio parquet whole file: vectorised peer / parcours",
                  [(peer["seconds"], full["parquet"][-1]["seconds"])])

    # the peers, on the same slice for both contenders, alternated round by round
    k = min(args.peer_rows, n)
    for fmt in ("parquet", "csv"):
        sl = work / f"touchpoints_slice.{fmt}"
        opts = "(FORMAT parquet)" if fmt == "parquet" else "(HEADER)"
        duck(f"COPY (SELECT * FROM read_parquet('{tp_parquet}') LIMIT {k}) TO '{sl}' {opts}")
        ours, vec = [], []
        for i in range(args.runs):
            db = work / f"slice_{fmt}.duckdb"
            ours.append(rec.run([*PARCOURS, "--db", str(db), "import", str(sl)],
                                f"parcours import {fmt} slice ({k:,} rows), run {i + 1}", k, db))
            db = work / f"peer_{fmt}_vectorised.duckdb"
            vec.append(rec.run([sys.executable, str(HERE / PEERS["vectorised"]), str(sl), str(db)],
                               f"pandas peer (vectorised) {fmt} slice, run {i + 1}", k, db))
        db = work / f"peer_{fmt}_rows.duckdb"
        rows_peer = rec.run([sys.executable, str(HERE / PEERS["row by row"]), str(sl), str(db)],
                            f"pandas peer (row by row) {fmt} slice", k, db)
        rec.figure(f"import {fmt} slice", ours, k)
        rec.figure(f"pandas peer (vectorised) {fmt} slice", vec, k)
        rec.figure(f"pandas peer (row by row) {fmt} slice", [rows_peer], k)
        rec.ratio(f"ratio {fmt} slice: vectorised peer / parcours",
                  [(v["seconds"], o["seconds"]) for v, o in zip(vec, ours)])
        rec.ratio(f"ratio {fmt} slice: row-by-row peer / parcours", [(rows_peer["seconds"], ours[0]["seconds"])])

    probes.append(probe())
    rec.summary["machine probe"] = {"seconds": spread(probes), "runs": probes}

    meta = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "python": platform.python_version(),
            "cores": os.cpu_count(), "duckdb": duck("SELECT version()"), "persons": args.persons, "runs": args.runs}
    (HERE / "results.json").write_text(json.dumps({"meta": meta, "summary": rec.summary, "results": rec.results},
                                                  indent=2) + "\n")
    print(f"results written to {HERE / 'results.json'}")


if __name__ == "__main__":
    main()
