"""Time every SQL statement of one import (a developer's tool: where do the seconds go?).

    python benchmarks/profile_import.py FILE TABLE [DB] [N: how many statements to show, 15]
                                        [--sql "SET …"]   (run on the store's connection first)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from parcours.ingest.importer import import_file
from parcours.store import Store


class Timed:
    def __init__(self, con):
        self._con, self.log = con, []

    def execute(self, sql, params=None):
        t = time.perf_counter()
        r = self._con.execute(sql, params or [])
        self.log.append((time.perf_counter() - t, " ".join(sql.split())[:110]))
        return r

    def __getattr__(self, name):
        return getattr(self._con, name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=Path)
    ap.add_argument("table")
    ap.add_argument("db", nargs="?", type=Path, default=Path("/tmp/profile.duckdb"))
    ap.add_argument("n", nargs="?", type=int, default=15, help="how many statements to show")
    ap.add_argument("--sql", action="append", default=[], help="a statement to run before the import (a setting)")
    args = ap.parse_args()
    args.db.unlink(missing_ok=True)
    store = Store(args.db, memory_limit="2GB")
    for sql in args.sql:
        store.con.execute(sql)
    store.con = Timed(store.con)  # type: ignore[assignment]
    t0 = time.perf_counter()
    rep = import_file(store, args.file, args.table)
    total = time.perf_counter() - t0
    for dt, sql in sorted(store.con.log, reverse=True)[:args.n]:  # type: ignore[attr-defined]
        print(f"{dt:7.2f}s  {sql}")
    print(f"total {total:.2f}s for {rep.rows_read:,} rows: {rep.rows_read / total:,.0f} rows/s; error={rep.error}")


if __name__ == "__main__":
    main()
