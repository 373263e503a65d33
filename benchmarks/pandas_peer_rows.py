"""The second peer: the same touchpoints import written row by row, as a validator usually is.

`pandas_peer.py` validates whole columns at once (masks, vectorised string methods): the
fastest pandas can do, and the harder peer. This one is the straightforward way to write a
validator that names the row, field and reason of every error: read with pandas, then check
each row with one function (``itertuples``, the fastest row loop pandas offers; compiled
regular expressions, sets, ``datetime.fromisoformat``), collect the good rows and the errors,
drop repeated ids with a set, resolve identities with the same union-find as the vectorised
peer, and write the good rows into a DuckDB file from a DataFrame.

    python benchmarks/pandas_peer_rows.py FILE DB
"""

from __future__ import annotations

import math
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
from pandas_peer import CHANNELS, KINDS, OUTCOMES, STAGES, read, resolve

PARIS = ZoneInfo("Europe/Paris")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")
PHONE_JUNK = re.compile(r"\(0\)|[\s().\-/]")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
ENUMS = (("channel", CHANNELS, True), ("direction", {"inbound", "outbound"}, False), ("kind", KINDS, True),
         ("stage", STAGES, False), ("outcome", OUTCOMES, False))
TEXT = ("person_id", "topic", "case_id", "agent_id", "text")


def blank(v: object) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)) or v == ""


def timestamp(v: object) -> datetime | None:
    if isinstance(v, datetime):
        ts = v
    else:
        try:
            ts = datetime.fromisoformat(str(v).strip())
        except ValueError:
            return None
    return (ts if ts.tzinfo else ts.replace(tzinfo=PARIS)).astimezone(timezone.utc)


def phone(v: str) -> str | None:
    d = PHONE_JUNK.sub("", v)
    if d.startswith("00"):
        d = "+" + d[2:]
    elif len(d) > 1 and d[0] == "0" and d[1] != "0":
        d = "+33" + d[1:]
    return d if E164.fullmatch(d) else None


def check(r: dict) -> tuple[dict, list[tuple[str, str]]]:
    """One row: its cleaned values and its errors (field, reason)."""
    out: dict = {}
    errors: list[tuple[str, str]] = []
    eid = r.get("event_id")
    if blank(eid):
        errors.append(("event_id", "missing required value"))
    out["event_id"] = None if blank(eid) else str(eid)
    out["ts"] = None if blank(r.get("ts")) else timestamp(r["ts"])
    if out["ts"] is None:
        errors.append(("ts", "not a timestamp"))
    for col, allowed, required in ENUMS:
        v = r.get(col)
        if blank(v):
            out[col] = None
            if required:
                errors.append((col, "missing required value"))
            continue
        v = str(v).strip().lower()
        if v not in allowed:
            errors.append((col, f"unknown {col}"))
        out[col] = v
    for col in ("wait_s", "handle_s"):
        v = r.get(col)
        if blank(v):
            out[col] = None
            continue
        try:
            x = float(v)
        except (TypeError, ValueError):
            errors.append((col, "not a number"))
            out[col] = None
            continue
        if x < 0:
            errors.append((col, "out of range"))
        out[col] = x
    for col in TEXT:
        v = r.get(col)
        out[col] = None if blank(v) else str(v)
    for col in ("email", "phone", "social", "app_id"):
        v = r.get(col)
        if blank(v):
            out[col] = None
            continue
        v = str(v).strip()
        if col == "email":
            v = v.lower()
            ok = v if EMAIL.fullmatch(v) else None
        elif col == "phone":
            ok = phone(v)
        elif col == "social":
            ok = v.lower().lstrip("@")
        else:
            ok = v
        if ok is None:
            errors.append((col, f"not a valid {col}"))
        out[col] = ok
    if all(out[c] is None for c in ("person_id", "email", "phone", "social", "app_id")):
        errors.append(("person_id", "no person"))
    return out, errors


def run(path: Path, db: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    df = read(path)
    good, bad, seen, dups = [], [], set(), 0
    for i, row in enumerate(df.itertuples(index=False), start=1):
        clean, errors = check(row._asdict())
        if errors:
            bad.extend({"row": i, "field": f, "reason": why} for f, why in errors)
        elif clean["event_id"] in seen:
            dups += 1
        else:
            seen.add(clean["event_id"])
            good.append(clean)
    good_df = pd.DataFrame(good)
    for col in ("person_id", "email", "phone", "social", "app_id"):
        good_df[col] = good_df[col].astype("string")
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE IF NOT EXISTS touchpoints AS SELECT * FROM good_df LIMIT 0")
    existing = {r[0] for r in con.execute("SELECT event_id FROM touchpoints").fetchall()}
    good_df = good_df[~good_df["event_id"].isin(existing)]
    good_df = good_df.assign(person_id=resolve(good_df))
    bad_df = pd.DataFrame(bad, columns=["row", "field", "reason"])
    con.execute("BEGIN")
    con.execute("INSERT INTO touchpoints SELECT * FROM good_df")
    con.execute("CREATE TABLE IF NOT EXISTS quarantine AS SELECT * FROM bad_df LIMIT 0")
    con.execute("INSERT INTO quarantine SELECT * FROM bad_df")
    con.execute("COMMIT")
    con.close()
    return {"rows": len(df), "accepted": len(good_df), "quarantined": int(bad_df["row"].nunique()),
            "duplicates": dups, "seconds": time.perf_counter() - t0}


if __name__ == "__main__":
    print(run(Path(sys.argv[1]), Path(sys.argv[2])))
