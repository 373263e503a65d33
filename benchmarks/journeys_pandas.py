"""The peer: Parcours' journey metrics written the straightforward way with pandas.

Same definitions as ``parcours.metrics.journeys`` (docs/metrics.md): contacts are touchpoints
of kind ``contact``, direction inbound or unknown; an episode is one case (``case_id``), else
the contacts of one person about one topic with no gap over 7 days; contacts are ordered by
(ts, event_id). From there: the channel-switching matrix (each contact's channel after the
previous one's, inside its episode), per-contact flags (an earlier contact on another
channel, an earlier unresolved contact, on another channel, a later contact on another
channel) by cumulative counts within groups, the share of each, give-up, effort.

Vectorised where a pandas user vectorises (sort, groupby, shift, cumcount, cumsum,
transform); no Python loop over rows, no hand tuning either. Reads only the columns it needs.

    python benchmarks/journeys_pandas.py TOUCHPOINTS.parquet OUT.json [--drop-case-ids]

OUT.json gets the figures (raw floats, shares in %, as Parcours reports them) and the seconds
spent reading (``load_s``) and computing (``compute_s``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

T_START = time.perf_counter()

import pandas as pd  # noqa: E402

T_IMPORTED = time.perf_counter()

NOT_RESOLVED = ["unresolved", "abandoned", "transferred"]
GAVE_UP = ["unresolved", "abandoned"]
GAP = pd.Timedelta(days=7)
COLUMNS = ["event_id", "ts", "person_id", "channel", "direction", "kind", "topic", "case_id", "outcome"]


def share(k: pd.Series | int, n: pd.Series | int) -> pd.Series | float | None:
    """100·k/n, as Parcours computes it (NULL when n = 0)."""
    if isinstance(n, pd.Series):
        return (100 * k.astype("float64") / n).where(n > 0)
    return 100 * float(k) / n if n > 0 else None


def episodes(df: pd.DataFrame) -> pd.DataFrame:
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
    e["_open"] = e["outcome"].isin(NOT_RESOLVED).astype("int64")
    e["_phone"] = e["channel"].eq("phone")
    ep = e.groupby("episode_id", sort=False)

    # channel switching: the previous contact's channel in the episode
    e["prev_channel"] = ep["channel"].shift()
    moves = e[e["prev_channel"].notna()]
    matrix = moves.groupby(["prev_channel", "channel"]).size()

    # per-contact flags from cumulative counts in the episode and in (episode, channel)
    by_channel = e.groupby(["episode_id", "channel"], sort=False)
    same_before = by_channel.cumcount()                       # earlier contacts on my channel
    same_after = by_channel.cumcount(ascending=False)         # later contacts on my channel
    e["other_before"] = ((e["step"] - 1 - same_before) > 0).astype("int64")
    e["other_after"] = ((e["steps"] - e["step"] - same_after) > 0).astype("int64")
    open_before = ep["_open"].cumsum() - e["_open"]
    open_before_same = by_channel["_open"].cumsum() - e["_open"]
    e["unresolved_before"] = (open_before > 0).astype("int64")
    e["unresolved_other_before"] = ((open_before - open_before_same) > 0).astype("int64")

    pre = e.groupby("channel").agg(n=("other_before", "size"), k=("other_before", "sum"))
    calls = e[e["channel"] == "phone"]

    # one row per episode
    last = e[e["step"] == e["steps"]].set_index("episode_id")
    summary = pd.DataFrame({
        "contacts": ep.size(),
        "channels": ep["channel"].nunique(),
        "called": ep["_phone"].any(),
        "started": ep["ts"].min(), "ended": ep["ts"].max(),
    })
    summary["gave_up"] = last["outcome"].reindex(summary.index).isin(GAVE_UP).astype("int64")
    summary["duration_h"] = (summary["ended"] - summary["started"]).dt.total_seconds() / 3600.0
    called = summary[summary["called"]]

    n_ep = len(summary)
    return {
        "contacts": int(len(e)),
        "episodes": int(n_ep),
        "switch_matrix": {f"{a}>{b}": int(v) for (a, b), v in matrix.items()},
        "preceded_by_other_channel": {ch: {"n": int(r.n), "k": int(r.k), "share": share(int(r.k), int(r.n))}
                                      for ch, r in pre.iterrows()},
        "avoidable": {"n": int(len(e)), "k": int(e["unresolved_before"].sum()),
                      "share": share(int(e["unresolved_before"].sum()), len(e))},
        "avoidable_other_channel": {"n": int(len(e)), "k": int(e["unresolved_other_before"].sum()),
                                    "share": share(int(e["unresolved_other_before"].sum()), len(e))},
        "continue_after_call": {"n": int(len(calls)), "k": int(calls["other_after"].sum()),
                                "share": share(int(calls["other_after"].sum()), len(calls))},
        "give_up": {"n": n_ep, "k": int(summary["gave_up"].sum()), "share": share(int(summary["gave_up"].sum()), n_ep)},
        "give_up_calls": {"n": int(len(called)), "k": int(called["gave_up"].sum()),
                          "share": share(int(called["gave_up"].sum()), len(called))},
        "effort": {"n": n_ep,
                   "contacts_mean": float(summary["contacts"].mean()),
                   "contacts_median": float(summary["contacts"].median()),
                   "contacts_p90": float(summary["contacts"].quantile(0.9)),
                   "channels_mean": float(summary["channels"].mean()),
                   "multichannel": share(int((summary["channels"] > 1).sum()), n_ep),
                   "duration_h_median": float(summary["duration_h"].median())},
    }


def main(compute: Callable[[pd.DataFrame], dict] = compute, style: str = "") -> None:
    """The command line, shared with journeys_pandas_loop.py (which passes its own ``compute``)."""
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
    out = {"engine": f"pandas {pd.__version__}{style}", "touchpoints": int(len(df)), "figures": figures,
           "import_s": T_IMPORTED - T_START, "load_s": t1 - t0, "compute_s": t2 - t1, "total_s": t2 - t0}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"pandas{style}: {len(df):,} touchpoints, {figures['contacts']:,} contacts, "
          f"{figures['episodes']:,} episodes; load {t1 - t0:.3f} s, compute {t2 - t1:.3f} s")


if __name__ == "__main__":
    main()
