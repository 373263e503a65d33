"""The embedded store: one DuckDB file holding the canonical tables.

Every other module reaches the data through :class:`Store`: open it, read tables
as Ibis expressions (``store.table("responses")``), and let the importer write.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from parcours.schema import TABLES
from parcours.store.migrations import LATEST, current_version, migrate
from parcours.store.sql import execute, scalar

DEFAULT_DB = "parcours.duckdb"
# no Python replacement scans: looking up unknown table names in Python frames imports pandas
_SESSION = "SET enable_progress_bar = false; SET TimeZone = 'UTC'; SET python_enable_replacements = false"


def default_db_path() -> Path:
    """``$PARCOURS_DB`` if set, else ``parcours.duckdb`` in the working directory."""
    return Path(os.environ.get("PARCOURS_DB") or DEFAULT_DB)


class StoreError(RuntimeError):
    """The store cannot be opened or used as asked (the message says why)."""


class Store:
    """An open Parcours store (a DuckDB file, created and migrated on first use)."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False,
                 memory_limit: str | None = None, threads: int | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        if read_only and not self.path.exists():
            raise StoreError(f"no store at {self.path}: import data first (parcours import) "
                             "or run `parcours demo`")
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # New files use DuckDB's newest storage format: its compression writes ~40 % faster
        # than the default (1.0-compatible) one, with files of the same size. Such a file needs
        # DuckDB ≥ 1.5 to be read, which the lock file guarantees.
        config: dict[str, Any] = {"storage_compatibility_version": "latest"}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        self.con = self._connect(read_only, config)
        version = current_version(self.con)
        if version > LATEST:
            self.con.close()
            raise StoreError(f"{self.path} was written by a newer Parcours (schema version {version}; this one "
                             f"knows up to {LATEST}): upgrade Parcours to open it")
        if not read_only:
            migrate(self.con)
        elif version == 0:
            raise StoreError(f"{self.path} is not a Parcours store")
        elif version < LATEST:  # written by an older Parcours: upgraded once, then read
            self.con.close()
            writer = self._connect(False, config, why=f"it was written by an older Parcours (schema version "
                                                      f"{version} of {LATEST}) and must be upgraded once")
            try:
                migrate(writer)
            finally:
                writer.close()
            self.con = self._connect(True, config)
        self._ibis: Any = None
        self.read_only = read_only
        #: writers of one process take turns (DuckDB would abort one of two conflicting transactions)
        self.write_lock = threading.RLock()
        self._changes = [0]  # shared by the cursors: a counter of committed writes
        #: figures derived from the data, shared by the cursors; keyed with :attr:`changes` by their owners
        self.memo: dict[Any, Any] = {}

    def _connect(self, read_only: bool, config: dict[str, Any], why: str = "") -> duckdb.DuckDBPyConnection:
        try:
            con = duckdb.connect(str(self.path), read_only=read_only, config=config)
        except duckdb.IOException as e:
            because = f": {why}, which needs the file to itself (close the program that has it open)" if why else ""
            raise StoreError(f"cannot open the store {self.path}{because}: {e}") from e
        con.execute(_SESSION)
        return con

    def cursor(self) -> Store:
        """This store on a connection of its own, for one thread (a DuckDB connection is not
        shared between threads); closing it leaves the store open."""
        view = object.__new__(Store)
        view.__dict__.update(self.__dict__)
        view.con, view._ibis = self.con.cursor(), None
        view.con.execute(_SESSION)
        return view

    def touch(self) -> None:
        """Say the data changed (caches of figures key on :attr:`changes`)."""
        self._changes[0] += 1

    @property
    def changes(self) -> int:
        return self._changes[0]

    # -- life cycle -------------------------------------------------------
    def close(self) -> None:
        if self._ibis is not None:
            # Tables cached by Ibis are temporary: they end with this connection. Their
            # finalizers would otherwise drop them on the closed connection at exit (a traceback).
            for entry in list(getattr(self._ibis, "_cache_name_to_entry", {}).values()):
                entry.finalizer.detach()
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: a crash (even kill -9) inside leaves no trace after reopening."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # -- reading ----------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return current_version(self.con)

    def ibis(self) -> Any:
        """The store as an Ibis backend (metrics are written against it)."""
        if self._ibis is None:
            import ibis

            from parcours.engines.duckdb_store import StoreCompiler

            self._ibis = ibis.duckdb.from_connection(self.con)
            self._ibis.compiler = StoreCompiler()
        return self._ibis

    def table(self, name: str) -> Any:
        """A canonical table as an Ibis table expression."""
        return self.ibis().table(name)

    def counts(self) -> dict[str, int]:
        """Rows per canonical table, plus open quarantine entries."""
        out = {name: scalar(self.con, f"SELECT count(*) FROM {name}") for name in TABLES}
        out["quarantine"] = scalar(self.con, "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL")
        return out

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return execute(self.con, sql, params).fetchall()

    def run(self, sql: str, params: list[Any] | None = None,
            on_progress: Callable[[float], None] | None = None) -> duckdb.DuckDBPyConnection:
        """Execute one statement; report DuckDB's own progress (0–100) while it runs."""
        if on_progress is None:
            return execute(self.con, sql, params)
        result: list[Any] = []

        def work() -> None:
            try:
                result.append(execute(self.con, sql, params))
            except BaseException as e:  # re-raised in the caller's thread
                result.append(e)

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.05)
            pct = self.con.query_progress()
            if pct >= 0:
                on_progress(pct)
        if isinstance(result[0], BaseException):
            raise result[0]
        on_progress(100.0)
        return result[0]

    def export_parquet(self, out_dir: str | Path) -> dict[str, Path]:
        """Write every canonical table to ``out_dir/<table>.parquet`` (the lake Spark reads)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name in TABLES:
            p = out / f"{name}.parquet"
            self.con.execute(f"COPY {name} TO '{_quote(str(p))}' (FORMAT parquet)")
            paths[name] = p
        return paths


def _quote(s: str) -> str:
    return s.replace("'", "''")


