"""The second peer: Parcours' journey metrics as an analyst first writes them, episode by episode.

This is the straightforward per-episode transcription of the definitions (docs/metrics.md);
``journeys_pandas.py`` is the vectorised pandas version of the same figures. The episodes are
built exactly as there (the same vectorised code, copied: contacts are touchpoints of kind
``contact``, direction inbound or unknown; an episode is one case, else the contacts of one
person about one topic with no gap over 7 days; ordered by (ts, event_id)). Then a plain Python
loop over ``groupby("episode_id")`` walks each episode's contacts in order and fills the
switching counts (``Counter``), the per-contact flags (an earlier contact on another channel,
an earlier unresolved contact, one on another channel, a later contact on another channel
after a call), give-up (the last outcome) and effort (contacts, channels, duration). No hand
tuning, no numba. Same CLI and same OUT.json as ``journeys_pandas.py``:

    python benchmarks/journeys_pandas_loop.py TOUCHPOINTS.parquet OUT.json [--drop-case-ids]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

T_START = time.perf_counter()

import pandas as pd  # noqa: E402

T_IMPORTED = time.perf_counter()

NOT_RESOLVED = ["unresolved", "abandoned", "transferred"]
GAVE_UP = ["unresolved", "abandoned"]
GAP = pd.Timedelta(days=7)
COLUMNS = ["event_id", "ts", "person_id", "channel", "direction", "kind", "topic", "case_id", "outcome"]


def share(k: int, n: int) -> float | None:
    """100·k/n, as Parcours computes it (NULL when n = 0)."""
    return 100 * float(k) / n if n > 0 else None


def part(n: int, k: int) -> dict:
    return {"n": int(n), "k": int(k), "share": share(k, n)}


def episodes(df: pd.DataFrame) -> pd.DataFrame:
    """Copied from journeys_pandas.py: the contacts with their episode_id, sorted by (episode, ts, event_id)."""
    c = df[(df["kind"] == "contact") & (df["direction"].isna() | (df["direction"] == "inbound"))].copy()
    # person + topic runs: a new episode after a gap of more than 7 days
    c = c.sort_values(["person_id", "topic", "ts", "event_id"])
    by_topic = c.groupby(["person_id", "topic"], dropna=False, sort=False)
    gap = c["ts"] - by_topic["ts"].shift()
    c["_start"] = (gap.isna() | (gap > GAP)).astype("int64")
    c["_n"] = c.groupby(["person_id", "topic"], dropna=False, sort=False)["_start"].cumsum()
    c["episode_id"] = ("p:" + c["person_id"] + "|" + c["topic"].fillna("") + "|" + c["_n"].astype(str))
    has_case = c["case_id"].notna()
    c.loc[has_case, "episode_id"] = "case:" + c.loc[has_case, "case_id"]
    c = c.drop(columns=["_start", "_n"]).sort_values(["episode_id", "ts", "event_id"])
    ep = c.groupby("episode_id", sort=False)
    c["step"] = ep.cumcount() + 1
    c["steps"] = ep["event_id"].transform("size")
    return c


def compute(df: pd.DataFrame) -> dict:
    e = episodes(df)
    matrix = Counter()                                   # (previous channel, channel) → moves
    pre_n, pre_k = Counter(), Counter()                  # per channel: contacts, preceded by another channel
    n_contacts = avoidable = avoidable_other = calls = calls_continued = 0
    rows = []                                            # one per episode

    for episode_id, g in e.groupby("episode_id", sort=False):
        contacts = list(g[["channel", "outcome", "ts"]].itertuples(index=False))
        seen = set()                                     # channels of the earlier contacts
        unresolved = set()                               # channels of the earlier unresolved contacts
        previous = None
        for i, c in enumerate(contacts):
            n_contacts += 1
            if previous is not None:
                matrix[(previous, c.channel)] += 1
            pre_n[c.channel] += 1
            if seen - {c.channel}:
                pre_k[c.channel] += 1
            if unresolved:
                avoidable += 1
            if unresolved - {c.channel}:
                avoidable_other += 1
            if c.channel == "phone":
                calls += 1
                if any(later.channel != c.channel for later in contacts[i + 1:]):
                    calls_continued += 1
            seen.add(c.channel)
            if c.outcome in NOT_RESOLVED:
                unresolved.add(c.channel)
            previous = c.channel
        started = min(c.ts for c in contacts)
        ended = max(c.ts for c in contacts)
        rows.append({"episode_id": episode_id,
                     "contacts": len(contacts),
                     "channels": len(seen),
                     "called": "phone" in seen,
                     "gave_up": contacts[-1].outcome in GAVE_UP,
                     "duration_h": (ended - started).total_seconds() / 3600.0})

    summary = pd.DataFrame(rows)
    n_ep = len(rows)
    called = [r for r in rows if r["called"]]
    return {
        "contacts": n_contacts,
        "episodes": n_ep,
        "switch_matrix": {f"{a}>{b}": n for (a, b), n in sorted(matrix.items())},
        "preceded_by_other_channel": {ch: part(pre_n[ch], pre_k[ch]) for ch in sorted(pre_n)},
        "avoidable": part(n_contacts, avoidable),
        "avoidable_other_channel": part(n_contacts, avoidable_other),
        "continue_after_call": part(calls, calls_continued),
        "give_up": part(n_ep, sum(r["gave_up"] for r in rows)),
        "give_up_calls": part(len(called), sum(r["gave_up"] for r in called)),
        "effort": {"n": n_ep,
                   "contacts_mean": float(summary["contacts"].mean()),
                   "contacts_median": float(summary["contacts"].median()),
                   "contacts_p90": float(summary["contacts"].quantile(0.9)),
                   "channels_mean": float(summary["channels"].mean()),
                   "multichannel": share(sum(r["channels"] > 1 for r in rows), n_ep),
                   "duration_h_median": float(summary["duration_h"].median())},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("touchpoints", help="Parquet file of the store's touchpoints (resolved person_id)")
    ap.add_argument("out", help="JSON file for the figures and timings")
    ap.add_argument("--drop-case-ids", action="store_true",
                    help="ignore case_id (every episode from the person + topic + 7-day gap rule)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    df = pd.read_parquet(args.touchpoints, columns=COLUMNS)
    if args.drop_case_ids:
        df["case_id"] = pd.Series(pd.NA, index=df.index, dtype=df["case_id"].dtype)
    t1 = time.perf_counter()
    figures = compute(df)
    t2 = time.perf_counter()
    out = {"engine": f"pandas {pd.__version__} (per-episode loop)", "touchpoints": int(len(df)), "figures": figures,
           "import_s": T_IMPORTED - T_START, "load_s": t1 - t0, "compute_s": t2 - t1, "total_s": t2 - t0}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"pandas loop: {len(df):,} touchpoints, {figures['contacts']:,} contacts, {figures['episodes']:,} episodes; "
          f"load {t1 - t0:.3f} s, compute {t2 - t1:.3f} s")


if __name__ == "__main__":
    main()
