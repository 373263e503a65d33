"""How fast can the switching matrix be? The floor under issue 3's "20× faster than pm4py".

    python benchmarks/switching_floor.py --store STORE.duckdb [--touchpoints 1000000] [--repeat 30]
    python benchmarks/switching_floor.py --episodes EPISODES.duckdb EPISODES.parquet [--repeat 30]

The contacts with their episode ids (as ``metrics.py`` exports them: ``episodes`` table and its
Parquet twin, sorted by (ts, event_id)); ``--store`` builds them first from the touchpoints of a
store's first persons (by person_id) up to ``--touchpoints``, like ``metrics.py``'s slice.

In one process, each figure timed once cold (its first call) and ``--repeat`` times warm
(median): pm4py's ``discover_dfg`` (reading the Parquet file included), and on DuckDB the
smallest queries a matrix needs: ``SELECT 1``, one row per episode (``GROUP BY episode_id``),
the previous contact of each contact (the ``LAG`` window alone), Parcours' compiled matrix SQL,
and Parcours' whole call (Ibis expression built, compiled, run, rows to Python). Both matrices
are compared. Results: ``switching_floor_results.json`` beside this file.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import duckdb
import ibis

from parcours.metrics import journeys as J

HERE = Path(__file__).resolve().parent


def timed(fn: Callable[[], Any], repeat: int) -> tuple[dict[str, float], Any]:
    """(cold ms, warm median / min ms), and the last result."""
    t = time.perf_counter()
    out = fn()
    cold = time.perf_counter() - t
    warm = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        warm.append(time.perf_counter() - t)
    return {"cold_ms": round(cold * 1e3, 2), "warm_median_ms": round(statistics.median(warm) * 1e3, 2),
            "warm_min_ms": round(min(warm) * 1e3, 2)}, out


def build_episodes(store_db: Path, touchpoints: int, out: Path) -> tuple[Path, Path]:
    """``episodes.duckdb`` and ``episodes.parquet`` from the first persons of a store (by person_id)."""
    from metrics import export_episodes  # benchmarks/metrics.py: the same export as its pm4py step

    from parcours.store import Store

    store = Store(store_db, read_only=True, memory_limit="2GB")
    store.con.execute(f"""CREATE TEMP TABLE slice AS SELECT * FROM touchpoints WHERE person_id IN (
        SELECT person_id FROM (SELECT person_id, count(*) AS n, sum(count(*)) OVER (ORDER BY person_id) AS cum
                               FROM touchpoints GROUP BY person_id) WHERE cum - n < {int(touchpoints)})""")
    files = export_episodes(store, store.ibis().table("slice"), out)
    store.close()
    return Path(files["episodes_db"]), Path(files["episodes_parquet"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--store", type=Path, help="a Parcours store to take the contacts from")
    src.add_argument("--episodes", nargs=2, type=Path, metavar=("DUCKDB", "PARQUET"))
    ap.add_argument("--touchpoints", type=int, default=1_000_000, help="with --store: touchpoints of the slice")
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="switching-floor-"))
    db, pq = build_episodes(args.store, args.touchpoints, work) if args.store else args.episodes

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import pandas as pd
        import pm4py  # benchmark-only peer (AGPL); it prints a banner on import

    def pm4py_dfg() -> dict[str, int]:
        df = pd.read_parquet(pq, columns=["episode_id", "ts", "channel"])
        dfg, _s, _e = pm4py.discover_dfg(df, case_id_key="episode_id", activity_key="channel", timestamp_key="ts")
        return {f"{a}>{b}": int(n) for (a, b), n in dfg.items()}

    con = ibis.duckdb.connect(str(db), read_only=True)
    raw = con.con
    size = raw.execute("SELECT count(*), count(DISTINCT episode_id) FROM episodes").fetchone()
    matrix_sql = str(ibis.to_sql(J.channel_switching(con.table("episodes")), dialect="duckdb"))

    def parcours_call() -> dict[str, int]:
        rows = J.channel_switching(con.table("episodes")).to_pyarrow().to_pylist()
        return {f"{r['from_channel']}>{r['to_channel']}": int(r["n"]) for r in rows}

    figures: dict[str, Any] = {}
    figures["pm4py: read Parquet + discover_dfg"], theirs = timed(pm4py_dfg, args.repeat)
    for name, sql in (
        ("duckdb: SELECT 1", "SELECT 1"),
        ("duckdb: one row per episode (GROUP BY)", "SELECT episode_id, count(*) FROM episodes GROUP BY ALL"),
        ("duckdb: previous contact (LAG window alone)",
         "SELECT count(p) FROM (SELECT lag(channel) OVER (PARTITION BY episode_id ORDER BY ts, event_id) p "
         "FROM episodes)"),
        ("duckdb: Parcours' matrix SQL", matrix_sql),
    ):
        figures[name], _ = timed(lambda s=sql: raw.execute(s).fetchall(), args.repeat)
    call = "parcours: channel_switching (Ibis build, compile, run, to Python)"
    figures[call], ours = timed(parcours_call, args.repeat)

    pm_warm = figures["pm4py: read Parquet + discover_dfg"]["warm_median_ms"]
    pm_cold = figures["pm4py: read Parquet + discover_dfg"]["cold_ms"]
    out = {"contacts": size[0], "episodes": size[1], "identical": ours == theirs, "repeat": args.repeat,
           "figures": figures, "budget_for_20x_ms": {"vs pm4py warm": round(pm_warm / 20, 2),
                                                      "vs pm4py cold": round(pm_cold / 20, 2)},
           "versions": {"duckdb": duckdb.__version__, "ibis": ibis.__version__, "pm4py": pm4py.__version__,
                        "pandas": pd.__version__}}
    (HERE / "switching_floor_results.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"{size[0]:,} contacts in {size[1]:,} episodes; matrices identical: {out['identical']}")
    print(f"{'':64} {'cold ms':>8} {'warm ms':>8}")
    for name, f in figures.items():
        print(f"{name:64} {f['cold_ms']:8.2f} {f['warm_median_ms']:8.2f}")
    print(f"20× pm4py leaves {out['budget_for_20x_ms']['vs pm4py warm']} ms (warm) or "
          f"{out['budget_for_20x_ms']['vs pm4py cold']} ms (cold) for the whole matrix")


if __name__ == "__main__":
    main()
