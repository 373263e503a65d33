"""Time every SQL statement of one import (a developer's tool: where do the seconds go?).

    python benchmarks/profile_import.py FILE TABLE [DB] [N: how many statements to show, 15]
"""

from __future__ import annotations

import sys
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
    path, table = Path(sys.argv[1]), sys.argv[2]
    db = Path(sys.argv[3] if len(sys.argv) > 3 else "/tmp/profile.duckdb")
    db.unlink(missing_ok=True)
    store = Store(db, memory_limit="2GB")
    store.con = Timed(store.con)  # type: ignore[assignment]
    t0 = time.perf_counter()
    rep = import_file(store, path, table)
    total = time.perf_counter() - t0
    shown = int(sys.argv[4]) if len(sys.argv) > 4 else 15
    for dt, sql in sorted(store.con.log, reverse=True)[:shown]:  # type: ignore[attr-defined]
        print(f"{dt:7.2f}s  {sql}")
    print(f"total {total:.2f}s for {rep.rows_read:,} rows: {rep.rows_read / total:,.0f} rows/s; error={rep.error}")


if __name__ == "__main__":
    main()
