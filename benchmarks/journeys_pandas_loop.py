"""The second peer: Parcours' journey metrics as an analyst first writes them, episode by episode.

This is the straightforward per-episode transcription of the definitions (docs/metrics.md);
``journeys_pandas.py`` is the vectorised pandas version of the same figures. The episodes are
built by the same code (imported from there: contacts are touchpoints of kind
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

from collections import Counter

import pandas as pd
from journeys_pandas import GAVE_UP, NOT_RESOLVED, episodes, main, share  # same episodes, same CLI


def part(n: int, k: int) -> dict:
    return {"n": int(n), "k": int(k), "share": share(k, n)}


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


if __name__ == "__main__":
    main(compute, " (per-episode loop)")
