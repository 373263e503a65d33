"""The peer of the channel-switching matrix: pm4py's directly-follows graph.

pm4py (AGPL-3.0) is a benchmark-only peer, never a dependency of Parcours: it is pinned in
benchmarks/requirements.txt and installed only to run this script.

Input: the contacts with their episode id, as Parcours computes them
(``journeys.episodes(journeys.contacts(touchpoints))``: columns episode_id, event_id, ts,
channel), exported once to Parquet, untimed, **sorted by (ts, event_id)**. pm4py sorts the
events by (case id, timestamp) with a stable sort, so events at the same instant keep that
order, which is Parcours' tie-break: both count the same pairs.

Timed: reading the Parquet file with pandas, then ``pm4py.discover_dfg`` with the episode as
case id, the channel as activity and ts as timestamp (it also returns start and end
activities, which Parcours' matrix does not compute; they are part of the call).

    python benchmarks/switching_pm4py.py EPISODES.parquet OUT.json [--compare PARCOURS.json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time

T_START = time.perf_counter()

import pandas as pd  # noqa: E402

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    import pm4py  # noqa: E402  (it prints a licence banner on import)

T_IMPORTED = time.perf_counter()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("episodes", help="Parquet: episode_id, event_id, ts, channel, sorted by (ts, event_id)")
    ap.add_argument("out", help="JSON file for the counts and timings")
    ap.add_argument("--compare", default=None, help="a JSON with a 'switch_matrix' {'from>to': n} to compare with")
    args = ap.parse_args()

    t0 = time.perf_counter()
    df = pd.read_parquet(args.episodes, columns=["episode_id", "ts", "channel"])
    t1 = time.perf_counter()
    dfg, _start, _end = pm4py.discover_dfg(df, case_id_key="episode_id", activity_key="channel",
                                           timestamp_key="ts")
    t2 = time.perf_counter()
    matrix = {f"{a}>{b}": int(n) for (a, b), n in sorted(dfg.items())}
    out = {"engine": f"pm4py {pm4py.__version__}", "events": int(len(df)), "switch_matrix": matrix,
           "import_s": T_IMPORTED - T_START, "load_s": t1 - t0, "compute_s": t2 - t1, "total_s": t2 - t0}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"pm4py: {len(df):,} events, {sum(matrix.values()):,} pairs; load {t1 - t0:.3f} s, "
          f"discover_dfg {t2 - t1:.3f} s")
    if args.compare:
        with open(args.compare) as f:
            theirs = json.load(f)["switch_matrix"]
        if theirs != matrix:
            diff = {k: (matrix.get(k), theirs.get(k)) for k in sorted(set(matrix) | set(theirs))
                    if matrix.get(k) != theirs.get(k)}
            sys.exit(f"different counts (pm4py, other): {diff}")
        print("identical counts")


if __name__ == "__main__":
    main()
