"""The first CX report: data volumes, NPS / CSAT / CES with margins, channel switching.

Domain logic shared by ``parcours report`` and the web page; values are plain Python
(JSON-ready), computed through the Ibis metrics so they run on any engine.
"""

from __future__ import annotations

import math
from typing import Any

from parcours import metrics
from parcours.schema import CHANNELS
from parcours.store import Store

SMALL_N = 30  # below this a score is flagged as too few answers to read


def _row(expr: Any) -> dict[str, Any]:
    df = expr.to_pyarrow().to_pylist()
    return _clean(df[0]) if df else {}


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, float):
            v = None if math.isnan(v) else round(v, 4)
        out[k] = v
    return out


def build(store: Store) -> dict[str, Any]:
    """Everything the report shows, as a JSON-ready dict."""
    responses = store.table("responses")
    touchpoints = store.table("touchpoints")
    scores = {
        "nps": _row(metrics.nps(responses)),
        "csat": _row(metrics.csat(responses)),
        "ces": _row(metrics.ces(responses)),
    }
    for s in scores.values():
        s["small_n"] = (s.get("n") or 0) < SMALL_N
    eps = metrics.episodes(metrics.contacts(touchpoints))
    matrix = [_clean(r) for r in metrics.channel_switching(eps).to_pyarrow().to_pylist()]
    used = sorted({r["from_channel"] for r in matrix} | {r["to_channel"] for r in matrix},
                  key=lambda c: CHANNELS.index(c) if c in CHANNELS else len(CHANNELS))
    period = store.query("SELECT min(ts)::VARCHAR, max(ts)::VARCHAR FROM touchpoints")[0]
    return {
        "store": str(store.path),
        "period": {"from": period[0], "to": period[1]},
        "counts": store.counts(),
        "scores": scores,
        "channel_switching": {"channels": used, "cells": matrix},
    }


def render_text(rep: dict[str, Any]) -> str:
    """The report for a terminal."""
    s = rep["scores"]
    lines = [f"Parcours report — {rep['store']}",
             f"Period: {rep['period']['from'] or '—'} → {rep['period']['to'] or '—'}", "",
             "Data: " + ", ".join(f"{k} {v:,}" for k, v in rep["counts"].items()), ""]
    n = s["nps"]
    if n.get("n"):
        lines.append(f"NPS   {n['nps']:+.1f} ± {n['moe95']:.1f} (95 %)   n={n['n']:,}  "
                     f"promoters {n['promoters']:,} · passives {n['passives']:,} · detractors "
                     f"{n['detractors']:,} · skipped {n['skipped']:,}" + ("  [few answers]" if n["small_n"] else ""))
    c = s["csat"]
    if c.get("n"):
        lines.append(f"CSAT  {c['csat']:.1f} %  [{c['csat_low']:.1f}–{c['csat_high']:.1f}]   n={c['n']:,}  "
                     f"mean {c['mean']:.2f}/5 · skipped {c['skipped']:,}" + ("  [few answers]" if c["small_n"] else ""))
    e = s["ces"]
    if e.get("n"):
        lines.append(f"CES   {e['ces']:.1f} % easy  [{e['ces_low']:.1f}–{e['ces_high']:.1f}]   n={e['n']:,}  "
                     f"mean {e['mean']:.2f}/7 · skipped {e['skipped']:,}" + ("  [few answers]" if e["small_n"] else ""))
    if not (n.get("n") or c.get("n") or e.get("n")):
        lines.append("No survey answers yet.")
    chans = rep["channel_switching"]["channels"]
    cells = {(r["from_channel"], r["to_channel"]): r for r in rep["channel_switching"]["cells"]}
    if chans:
        lines += ["", "Channel switching inside episodes (row: from, column: to; share of the row)"]
        w = max(len(x) for x in chans) + 2
        lines.append(" " * w + "".join(f"{x:>9}" for x in chans))
        for a in chans:
            lines.append(f"{a:<{w}}" + "".join(
                f"{cells[(a, b)]['share'] * 100:>8.1f}%" if (a, b) in cells else f"{'·':>9}" for b in chans))
    return "\n".join(lines)
