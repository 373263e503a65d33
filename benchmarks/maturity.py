"""Ovum's maturity level measured on a 10-million-touchpoint store (issue 7, maturity).

    .venv/bin/python benchmarks/maturity.py                 # 4,000-person world × 118 ≈ 10.0 M touchpoints
    .venv/bin/python benchmarks/maturity.py --copies 24     # ≈ 2 M

The store: the 4,000-person demo world (``parcours.demo.build``, seed 42) copied ``--copies``
times inside DuckDB with suffixed ids (persons, identities, cases, touchpoints, answers), so
each copy keeps the world's journeys, cases and scores. Timed in this process, best of
``--repeat``: :func:`parcours.maturity.ovum.assess` (cache cleared before each run) and its
parts (identity, context, the answers by channel behind consistency and physical vs remote,
proactive). Peer, same run, same store: the report's channel-switching matrix
(``metrics.journeys.channel_switching`` over ``episodes`` of every contact), the journeys
page's own scan of the same contacts. Results go to benchmarks/maturity_results.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
WORK = HERE / "work"


def world(persons: int) -> Path:
    from parcours.demo import build

    db = WORK / f"maturity_world_{persons}.duckdb"
    if not db.exists():
        build(db, WORK / f"maturity_world_{persons}", persons=persons)
    return db


def copies(src: Path, k: int) -> Path:
    from parcours.store import Store

    dst = WORK / f"maturity_{src.stem}_x{k}.duckdb"
    if dst.exists():
        return dst
    ids = {"persons": {"person_id"}, "identities": {"person_id", "value"}, "cases": {"case_id", "person_id"},
           "touchpoints": {"event_id", "person_id", "case_id"},
           "responses": {"response_id", "person_id", "case_id", "event_id"}}
    with Store(dst) as s:
        s.con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        for table, keys in ids.items():
            cols = [r[0] for r in s.con.execute(f"SELECT column_name FROM (DESCRIBE src.{table})").fetchall()]
            sel = ", ".join(f"{c} || '-' || k" if c in keys else c for c in cols)
            s.con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {sel} FROM src.{table}, range({k}) r(k)")
    return dst


def best(f: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return round(min(times), 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=4000)
    ap.add_argument("--copies", type=int, default=118)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "maturity_results.json")
    a = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    db = copies(world(a.persons), a.copies)

    from parcours.maturity import ovum
    from parcours.metrics import journeys
    from parcours.store import Store

    with Store(db, read_only=True) as s:
        counts = {t: s.query(f"SELECT count(*) FROM {t}")[0][0] for t in ("persons", "touchpoints", "cases",
                                                                          "responses")}

        def assess() -> None:
            s.memo.clear()
            ovum.assess(s)

        def peer() -> None:
            t = s.table("touchpoints")
            journeys.channel_switching(journeys.episodes(journeys.contacts(t))).to_pyarrow()

        parts = {"identity": best(lambda: ovum._identity(s, None, None), a.repeat),
                 "context": best(lambda: ovum._context(s, None, None), a.repeat),
                 "answers_by_channel": best(lambda: ovum._answers_by_channel(s, None, None), a.repeat),
                 "proactive": best(lambda: ovum._proactive(s, None, None), a.repeat)}
        total, switching = best(assess, a.repeat), best(peer, a.repeat)
        level = ovum.assess(s).level
    import parcours

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(parcours.__file__).parent).stdout.strip()
    out = {"commit": commit, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
           "store": counts, "copies": a.copies, "level": level, "assess_s": total, "parts_s": parts,
           "peer_channel_switching_s": switching, "ratio_assess_to_peer": round(total / switching, 2)}
    a.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
