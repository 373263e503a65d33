"""The peer: the same touchpoints import done the straightforward way with pandas.

Same job as `parcours import`: read, validate every field (types, tz-aware timestamps,
enums, ranges, identifiers), keep bad rows apart with a reason, drop duplicate ids,
resolve identities (normalise, link identifiers seen together with a union-find), and
write the good rows into a DuckDB file. Vectorised pandas where pandas offers it, a
plain Python union-find where it does not: what a competent analyst would write.

    python benchmarks/pandas_peer.py FILE DB
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

CHANNELS = {"web", "app", "email", "sms", "chat", "social", "phone", "store", "chatbot", "video"}
KINDS = {"visit", "contact", "purchase", "payment", "delivery", "notification", "usage", "signup", "return",
         "cancellation", "survey"}
OUTCOMES = {"resolved", "unresolved", "abandoned", "transferred"}
STAGES = {"discover", "consider", "buy", "use", "support", "leave"}


def read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def to_utc(s: pd.Series, tz: str = "Europe/Paris") -> pd.Series:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    return pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    if "email" in df:
        e = df["email"].astype("string").str.strip().str.lower()
        out["email"] = e.where(e.str.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}"))
    if "phone" in df:
        d = df["phone"].astype("string").str.replace(r"\(0\)|[\s().\-/]", "", regex=True)
        d = d.where(~d.str.startswith("00", na=False), "+" + d.str[2:])
        d = d.where(~d.str.match(r"^0[1-9]", na=False), "+33" + d.str[1:])
        out["phone"] = d.where(d.str.fullmatch(r"\+[1-9][0-9]{6,14}"))
    if "social" in df:
        s = df["social"].astype("string").str.strip().str.lower().str.lstrip("@")
        out["social"] = s
    if "app_id" in df:
        out["app_id"] = df["app_id"].astype("string").str.strip()
    return out


def validate(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    errors: list[pd.DataFrame] = []

    def fail(mask: pd.Series, field: str, reason: str) -> None:
        if mask.any():
            errors.append(pd.DataFrame({"row": df.index[mask] + 1, "field": field, "reason": reason}))

    clean = pd.DataFrame(index=df.index)
    clean["event_id"] = df["event_id"].astype("string")
    fail(clean["event_id"].isna(), "event_id", "missing required value")
    clean["ts"] = to_utc(df["ts"])
    fail(clean["ts"].isna(), "ts", "not a timestamp")
    for col, allowed in (("channel", CHANNELS), ("kind", KINDS), ("direction", {"inbound", "outbound"}),
                         ("outcome", OUTCOMES), ("stage", STAGES)):
        v = df[col].astype("string").str.strip().str.lower() if col in df else pd.Series(pd.NA, index=df.index)
        bad = v.notna() & ~v.isin(allowed)
        fail(bad, col, f"unknown {col}")
        clean[col] = v
    fail(clean["channel"].isna(), "channel", "missing required value")
    fail(clean["kind"].isna(), "kind", "missing required value")
    for col in ("wait_s", "handle_s"):
        v = pd.to_numeric(df[col], errors="coerce") if col in df else pd.Series(np.nan, index=df.index)
        fail((df[col].notna() & v.isna()) if col in df else v.isna() & False, col, "not a number")
        fail(v < 0, col, "out of range")
        clean[col] = v
    for col in ("person_id", "topic", "case_id", "agent_id", "text"):
        clean[col] = df[col].astype("string") if col in df else pd.Series(pd.NA, index=df.index, dtype="string")
    ids = normalise(df)
    for col in ("email", "phone", "social", "app_id"):
        if col in df:
            fail(df[col].notna() & ids[col].isna(), col, f"not a valid {col}")
            clean[col] = ids[col]
        else:
            clean[col] = pd.Series(pd.NA, index=df.index, dtype="string")
    fail(clean[["person_id", "email", "phone", "social", "app_id"]].isna().all(axis=1), "person_id", "no person")
    bad = pd.concat(errors) if errors else pd.DataFrame(columns=["row", "field", "reason"])
    good = clean.drop(index=bad["row"].unique() - 1)
    return good, bad


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = x
        while self.parent.setdefault(root, root) != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def resolve(good: pd.DataFrame) -> pd.Series:
    uf = UnionFind()
    nodes = pd.DataFrame({k: (p + good[c]) for k, c, p in (("p", "person_id", "p:"), ("e", "email", "email:"),
                                                         ("ph", "phone", "phone:"), ("s", "social", "social:"),
                                                         ("a", "app_id", "app:"))})
    first = nodes["p"].fillna(nodes["e"]).fillna(nodes["ph"]).fillna(nodes["s"]).fillna(nodes["a"])
    for col in nodes.columns:
        pairs = pd.DataFrame({"a": first, "b": nodes[col]}).dropna().drop_duplicates()
        for a, b in zip(pairs["a"], pairs["b"]):
            uf.union(a, b)
    roots = {n: uf.find(n) for n in first.dropna().unique()}
    return first.map(roots)


def run(path: Path, db: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    df = read(path)
    good, bad = validate(df)
    dups = good.duplicated("event_id", keep="first")
    good = good[~dups]
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE IF NOT EXISTS touchpoints AS SELECT * FROM good LIMIT 0")
    existing = set(r[0] for r in con.execute("SELECT event_id FROM touchpoints").fetchall())
    good = good[~good["event_id"].isin(existing)]
    good = good.assign(person_id=resolve(good))
    con.execute("BEGIN")
    con.execute("INSERT INTO touchpoints SELECT * FROM good")
    con.execute("CREATE TABLE IF NOT EXISTS quarantine AS SELECT * FROM bad LIMIT 0")
    con.execute("INSERT INTO quarantine SELECT * FROM bad")
    con.execute("COMMIT")
    con.close()
    return {"rows": len(df), "accepted": len(good), "quarantined": int(bad["row"].nunique()),
            "duplicates": int(dups.sum()), "seconds": time.perf_counter() - t0}


if __name__ == "__main__":
    print(run(Path(sys.argv[1]), Path(sys.argv[2])))
