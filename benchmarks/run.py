"""Foundation benchmarks: generate, import from Parquet and CSV, and two pandas peers.

    python benchmarks/run.py [--persons 500000] [--peer-rows 2000000] [--work benchmarks/work/foundation]

Each step runs in its own process; its wall time and peak RSS (``os.wait4``) are recorded.
Results go to benchmarks/results.json (summarised in benchmarks/README.md). The work folder is
emptied first: it is a folder of its own so that the other benchmarks' stores are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from processes import PARCOURS, measure

HERE = Path(__file__).resolve().parent


def duck(sql: str) -> str:
    """Run one DuckDB statement in a process of its own: this parent stays small, because a
    child's peak memory (ru_maxrss) starts from the size of the parent it was forked from."""
    code = "import duckdb, sys; r = duckdb.connect().execute(sys.argv[1]).fetchone(); print(r[0] if r else '')"
    return subprocess.run([sys.executable, "-c", code, sql], check=True, capture_output=True, text=True).stdout.strip()


def rows(path: Path) -> int:
    fn = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    return int(duck(f"SELECT count(*) FROM {fn}('{path}')"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=500_000)
    ap.add_argument("--peer-rows", type=int, default=2_000_000)
    ap.add_argument("--work", type=Path, default=HERE / "work" / "foundation")
    args = ap.parse_args()
    work: Path = args.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    world = work / "world"
    results: list[dict] = []

    def record(r: dict, n: int | None = None) -> dict:
        if n:
            r["rows"] = n
            r["rows_per_s"] = round(n / r["seconds"])
        results.append(r)
        return r

    gen = record(measure([*PARCOURS, "generate", "--persons", str(args.persons), "--out", str(world)],
                         f"generate {args.persons:,} persons"))
    tp_parquet = world / "touchpoints.parquet"
    n = rows(tp_parquet)
    gen["rows"] = n
    gen["rows_per_s"] = round(n / gen["seconds"])
    tp_csv = work / "touchpoints.csv"
    duck(f"COPY (SELECT * FROM read_parquet('{tp_parquet}')) TO '{tp_csv}' (HEADER)")

    record(measure([*PARCOURS, "--db", str(work / "parquet.duckdb"), "import", str(tp_parquet)],
                   f"parcours import parquet ({n:,} rows)"), n)
    record(measure([*PARCOURS, "--db", str(work / "csv.duckdb"), "import", str(tp_csv)],
                   f"parcours import csv ({n:,} rows)"), n)

    # the peer, on the same slice for both contenders
    k = min(args.peer_rows, n)
    for fmt in ("parquet", "csv"):
        sl = work / f"touchpoints_slice.{fmt}"
        opts = "(FORMAT parquet)" if fmt == "parquet" else "(HEADER)"
        duck(f"COPY (SELECT * FROM read_parquet('{tp_parquet}') LIMIT {k}) TO '{sl}' {opts}")
        ours = record(measure([*PARCOURS, "--db", str(work / f"slice_{fmt}.duckdb"), "import", str(sl)],
                              f"parcours import {fmt} slice ({k:,} rows)"), k)
        for script, name in (("pandas_peer.py", "vectorised"), ("pandas_peer_rows.py", "row by row")):
            peer_db = work / f"peer_{fmt}_{Path(script).stem}.duckdb"
            peer = record(measure([sys.executable, str(HERE / script), str(sl), str(peer_db)],
                                  f"pandas peer ({name}) {fmt} slice ({k:,} rows)"), k)
            ratio = peer["seconds"] / ours["seconds"]
            results.append({"step": f"ratio {fmt}: pandas ({name}) / parcours", "ratio": round(ratio, 2)})
            print(f"{'speed-up over pandas, ' + name + ' (' + fmt + ')':<48} {ratio:8.2f} x")

    meta = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "python": platform.python_version(),
            "cores": os.cpu_count(), "duckdb": duck("SELECT version()"), "persons": args.persons}
    (HERE / "results.json").write_text(json.dumps({"meta": meta, "results": [
        {k2: v for k2, v in r.items() if k2 != "stdout"} for r in results]}, indent=2) + "\n")
    print(f"results written to {HERE / 'results.json'}")


if __name__ == "__main__":
    main()
