"""Rows sent to the API: checked at once, kept on disk, written to the store in groups.

A request's rows are checked with the importer's own rules (clean rows in Python, see
:mod:`parcours.ingest.plain`; the others on an in-memory DuckDB, so the
answer names every bad row at once), then written to a spool file with fsync and renamed
into place: from then on they survive a crash. One writer thread imports the spooled
batches, several at a time, through :func:`parcours.ingest.importer.import_file` — the
same deduplication, identity resolution and quarantine as ``parcours import``. Grouping is
what makes small batches cheap: an import has a fixed cost of ~0.1 s, whatever its size.

A batch is deleted from the spool only after its import committed; a crash in between
re-imports it at the next start, which the natural keys turn into counted duplicates.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from parcours.ingest.importer import FileReport, import_file, typed_sql
from parcours.ingest.mapping import Mapping
from parcours.ingest.plain import plainly_valid
from parcours.ingest.readers import Staged
from parcours.ingest.readers import _json_path as json_path
from parcours.ingest.spool import SpooledBatch, Spooler, SpoolFile, encode, settle
from parcours.ingest.spool import files as spool_files
from parcours.ingest.validate import Options, lit, q
from parcours.schema import IMPORT_ORDER, TABLES
from parcours.store import Store
from parcours.store.sql import registered

#: tables other systems may write through the API
INGEST_TABLES = ("touchpoints", "orders", "responses", "promises")
MAX_BATCH = 10_000
MAX_GROUP_ROWS = 50_000
MAX_PAUSE_S = 1.0
PAUSE_PER_IMPORT = 0.5  # × the last import's time, at least
SMALL_BATCH = 100  # rows checked on the event loop (~50 µs a row); larger batches go to a thread
log = logging.getLogger("parcours.ingest")


class BatchError(ValueError):
    """The request as a whole cannot be taken (not rows of JSON objects, too many rows)."""


def _accept(table: str, rows: list[Any]) -> None:
    """A batch the API takes at all (its rows are judged one by one afterwards)."""
    if table not in INGEST_TABLES:
        raise BatchError(f"the API takes {', '.join(INGEST_TABLES)}, not {table!r}")
    if not rows:
        raise BatchError("the batch is empty")
    if len(rows) > MAX_BATCH:
        raise BatchError(f"{len(rows):,} rows in one batch; at most {MAX_BATCH:,} (send several batches)")


def _renumber(found: list[dict[str, Any]], rows: list[int]) -> list[dict[str, Any]]:
    """Problems found among a subset of rows, numbered as in the whole batch."""
    return [p | {"row": rows[p["row"] - 1]} for p in found]


@dataclass
class Receipt:
    """What the API answers for a batch."""

    batch_id: str
    table: str
    received: int
    invalid: list[dict[str, Any]]                 # rows that will be quarantined: row (1-based), field, reason
    status: str = "queued"                        # queued → stored
    import_id: str | None = None
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # as stored (conflicts included)
    group: dict[str, Any] | None = None           # the import this batch was written in

    def as_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "table": self.table, "status": self.status, "received": self.received,
                "invalid": self.invalid_rows, "errors": self.invalid[:1000], "import_id": self.import_id,
                "quarantined": self.quarantined[:1000], "import": self.group}

    @property
    def invalid_rows(self) -> int:
        return len({p["row"] for p in self.invalid})


def _prepare(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Prepare, once per connection, the check of a JSON array of rows of ``table``: the
    importer's own query (planning it costs ~30 ms, running it well under 1 ms a row).
    Values are read as the JSON-lines reader reads them (json_extract_string)."""
    tbl = TABLES[table]
    cols = tbl.column_names
    staged = Staged("_stage", "json", {c: "VARCHAR" for c in cols}, 0)
    typed, *_ = typed_sql(staged, tbl, Mapping(), Options(), "the request")
    paths = "[" + ", ".join(lit("$." + json_path(c)) for c in cols) + "]"
    extract = ", ".join(f"v[{i + 1}] AS {q(c)}" for i, c in enumerate(cols))
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _request (doc VARCHAR)")
    con.execute(f"""PREPARE check_{table} AS
        WITH _src AS (SELECT json_extract(doc, '$[*]') AS l FROM _request),
        _rows AS (SELECT generate_subscripts(l, 1) AS _row, unnest(l) AS j FROM _src),
        _stage AS (SELECT _row, {extract} FROM (
            SELECT _row, json_extract_string(j, {paths}::VARCHAR[]) AS v FROM _rows)),
        _typed AS ({typed})
        SELECT _row, e.field, e.reason FROM (SELECT _row, unnest(_errors) AS e FROM _typed WHERE NOT _ok)
        ORDER BY _row, e.field""")


def check_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[Any], prepared: set[str]
               ) -> list[dict[str, Any]]:
    """The rows an import would quarantine for their own values: [{row, field, reason}]
    (rows numbered from 1 in the request). ``prepared``: the tables whose check ``con`` has."""
    if table not in prepared:
        _prepare(con, table)
        prepared.add(table)
    problems = [{"row": i, "field": None, "reason": "not a JSON object"}
                for i, r in enumerate(rows, 1) if not isinstance(r, dict)]
    objects = [i for i, r in enumerate(rows, 1) if isinstance(r, dict)]
    try:
        problems += _check_objects(con, table, rows, objects)
    except duckdb.Error:  # a value DuckDB's JSON reader refuses (a lone surrogate…): row by row
        for i in objects:
            try:
                problems += _check_objects(con, table, rows, [i])
            except duckdb.Error as e:
                problems.append({"row": i, "field": None, "reason": f"not readable JSON ({str(e)[:200]})"})
    return sorted(problems, key=lambda p: (p["row"], p["field"] or ""))


def _check_objects(con: duckdb.DuckDBPyConnection, table: str, rows: list[Any], objects: list[int]
                   ) -> list[dict[str, Any]]:
    if not objects:
        return []
    con.execute("DELETE FROM _request")
    con.execute("INSERT INTO _request VALUES (?)", [json.dumps([rows[i - 1] for i in objects], default=str)])
    found = con.execute(f"EXECUTE check_{table}").fetchall()
    return [{"row": objects[k - 1], "field": f, "reason": why} for k, f, why in found]


class Checker:
    """Checks the rows of concurrent requests together, on one in-memory DuckDB: a check has
    a fixed cost of ~25 ms (the importer's query is large), paid once per round instead of
    once per request — what keeps single-event requests from queueing up under load."""

    def __init__(self, max_rows: int = 20_000) -> None:
        self.max_rows = max_rows
        self._queue: dict[str, list[tuple[list[Any], Future[list[dict[str, Any]]]]]] = {}
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="parcours-checker", daemon=True)
        self._thread.start()

    def check(self, table: str, rows: list[Any]) -> Future[list[dict[str, Any]]]:
        """The problems of these rows, once their round has run."""
        fut: Future[list[dict[str, Any]]] = Future()
        with self._cond:
            self._queue.setdefault(table, []).append((rows, fut))
            self._cond.notify()
        return fut

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(10)

    def _take(self) -> list[tuple[str, list[tuple[list[Any], Future[list[dict[str, Any]]]]]]]:
        with self._cond:
            while not self._stop and not any(self._queue.values()):
                self._cond.wait()
            rounds = []
            for table, items in self._queue.items():
                n, take = 0, 0
                while take < len(items) and (take == 0 or n + len(items[take][0]) <= self.max_rows):
                    n += len(items[take][0])
                    take += 1
                if take:
                    rounds.append((table, items[:take]))
                    del items[:take]
            return rounds

    def _run(self) -> None:
        con = duckdb.connect(config={"threads": 1})
        con.execute("SET TimeZone = 'UTC'; SET python_enable_replacements = false")
        prepared: set[str] = set()
        while not self._stop:
            for table, items in self._take():
                rows = [r for batch, _ in items for r in batch]
                try:
                    problems = check_rows(con, table, rows, prepared)
                except Exception as e:  # answered to each waiting request
                    for _, fut in items:
                        settle(fut, error=e)
                    continue
                lo = 0
                for batch, fut in items:
                    settle(fut, [p | {"row": p["row"] - lo} for p in problems if lo < p["row"] <= lo + len(batch)])
                    lo += len(batch)
        con.close()


class Writer:
    """The one writer of API rows (one per served store)."""

    def __init__(self, store: Store, spool: Path, *, on_stored: Callable[[str, FileReport], None] | None = None,
                 caught_up: Callable[[float], bool] | None = None, linger_s: float = 0.02) -> None:
        """``on_stored`` is told of each committed import; ``caught_up(timeout)`` waits until what
        it set off is done (the rules judging it), at most ``timeout``, before the next import."""
        self.store, self.spool, self.on_stored, self.linger_s = store, spool, on_stored, linger_s
        self.caught_up = caught_up
        for t in INGEST_TABLES:
            (spool / t).mkdir(parents=True, exist_ok=True)
            for leftover in [*(spool / t).glob("group-*"), *(spool / t).glob(".*.jsonl")]:
                leftover.unlink()  # an import's scratch file, or a round never acknowledged
        self._checker = Checker()
        self._spooler = Spooler()
        self._done: dict[str, Receipt] = {}
        self._pending: dict[str, Receipt] = {}
        self._cond = threading.Condition()
        self._stop = False
        self._last_import_s = 0.0
        self._thread = threading.Thread(target=self._run, name="parcours-writer", daemon=True)
        self._thread.start()

    # -- the request side ----------------------------------------------------------------
    def submit(self, table: str, rows: list[Any], *, actor: str = "api") -> Receipt:
        """Check and spool a batch; it is safe on disk when this returns."""
        _accept(table, rows)
        unsure = self._unsure(table, rows)
        found = self._checker.check(table, [rows[i - 1] for i in unsure]).result(120) if unsure else []
        receipt, durable = self._spool(table, rows, actor, _renumber(found, unsure))
        try:
            durable.result()
        except BaseException:
            self._forget(receipt)
            raise
        self._wake()
        return receipt

    async def submit_async(self, table: str, rows: list[Any], *, actor: str = "api") -> Receipt:
        """:meth:`submit` for an event loop. A small batch costs the loop well under a
        millisecond and no thread hop (what a single event's latency is made of); a large
        one is checked on a worker thread."""
        if len(rows) > SMALL_BATCH:
            return await asyncio.to_thread(self.submit, table, rows, actor=actor)
        _accept(table, rows)
        unsure = self._unsure(table, rows)
        found = (await asyncio.wrap_future(self._checker.check(table, [rows[i - 1] for i in unsure]))
                 if unsure else [])
        receipt, durable = self._spool(table, rows, actor, _renumber(found, unsure))
        try:
            await asyncio.wrap_future(durable)
        except BaseException:
            self._forget(receipt)
            raise
        self._wake()
        return receipt

    @staticmethod
    def _unsure(table: str, rows: list[Any]) -> list[int]:
        """Rows (numbered from 1) that only the importer's SQL check can judge: clean rows are
        recognised in Python, the others pay for the check (a fixed ~30 ms)."""
        return [i for i, r in enumerate(rows, 1) if not plainly_valid(table, r)]

    def _spool(self, table: str, rows: list[Any], actor: str, problems: list[dict[str, Any]]
               ) -> tuple[Receipt, Future[None]]:
        batch = SpooledBatch("b_" + uuid.uuid4().hex[:16], _safe(actor), len(rows), datetime.now(timezone.utc))
        receipt = Receipt(batch.batch_id, table, len(rows), problems)
        with self._cond:  # known before the writer can see the batch
            self._pending[batch.batch_id] = receipt
        try:
            return receipt, self._spooler.put(self.spool / table, batch, encode(rows))
        except BaseException:
            self._forget(receipt)
            raise

    def _wake(self) -> None:
        """A batch is durable: the writer may take it."""
        with self._cond:
            self._cond.notify_all()

    def _forget(self, receipt: Receipt) -> None:
        with self._cond:
            self._pending.pop(receipt.batch_id, None)

    def wait(self, batch_id: str, timeout: float = 60.0) -> Receipt | None:
        """The batch once stored (or as it stands when the timeout ends)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while batch_id in self._pending and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            return self._done.get(batch_id) or self._pending.get(batch_id)

    def status(self, batch_id: str) -> Receipt | dict[str, Any] | None:
        with self._cond:
            r = self._done.get(batch_id) or self._pending.get(batch_id)
        if r is not None:
            return r
        row = self.store.cursor()
        try:
            found = row.query("SELECT table_name, rows_received, rows_invalid, import_id, stored_at "
                              "FROM ingest_batches WHERE batch_id = ?", [batch_id])
        finally:
            row.close()
        if not found:
            return None
        t, n, bad, imp, at = found[0]
        return {"batch_id": batch_id, "table": t, "status": "stored", "received": n, "invalid": bad,
                "import_id": imp, "stored_at": at}

    def queued(self) -> int:
        """Batches on disk not stored yet (those of an earlier run included)."""
        return sum(len(f.batches) for t in INGEST_TABLES for f in spool_files(self.spool / t))

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop."""
        self._checker.close()
        self._spooler.close()
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout)

    # -- the writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        store = self.store.cursor()
        try:
            while True:
                with self._cond:
                    while not self._stop and not self._has_files():
                        self._cond.wait(0.5)
                    stopping = self._stop
                if not stopping:  # let concurrent requests join the group, the rules judge the last one
                    self._pause()
                for table in sorted(INGEST_TABLES, key=IMPORT_ORDER.index):
                    try:
                        while self._drain(store, table):
                            pass
                    except Exception:  # the writer must outlive any batch: log, wait, go on
                        log.exception("API batches for %s: import failed; retrying in 5 s", table)
                        time.sleep(5)
                if stopping and not self._has_files():
                    return
        finally:
            store.close()

    def _pause(self) -> None:
        """Gather batches before an import: ``linger_s``, or half the last import's time, and
        until the rules have judged the last import — but never longer than the last import
        took (nor a second). An import has a fixed cost (~0.3 s on a store of 4M touchpoints)
        and uses every core: back to back, they would leave the requests none and keep the
        rules waiting for the write lock; so the groups grow a little instead. (Three times the
        import was the rule while each request's unusual rows cost a 25 ms SQL check.)"""
        started = time.monotonic()
        longest = min(MAX_PAUSE_S, max(self.linger_s, self._last_import_s))
        if self.caught_up is not None:
            self.caught_up(longest)
        shortest = min(longest, max(self.linger_s, PAUSE_PER_IMPORT * self._last_import_s))
        time.sleep(max(0.0, shortest - (time.monotonic() - started)))

    def _has_files(self) -> bool:
        return any(next((self.spool / t).glob("[0-9]*.jsonl"), None) for t in INGEST_TABLES)

    def _drain(self, store: Store, table: str) -> bool:
        """Import the oldest spooled batches of ``table`` as one group; True if a full group's
        worth is still waiting (a backlog: import again at once, without a pause)."""
        group: list[SpoolFile] = []
        rows, backlog = 0, False
        for f in spool_files(self.spool / table):
            if group and rows + f.rows > MAX_GROUP_ROWS:
                backlog = True
                break
            group.append(f)
            rows += f.rows
        if not group:
            return False
        pieces = [piece for f in group for piece in f.row_lines()]
        error = self._store(store, table, pieces)
        if error is not None and len(pieces) == 1:
            self._set_aside(table, pieces[0], error)
        elif error is not None:  # one batch spoils its group: the others go one by one
            for piece in pieces:
                if (err := self._store(store, table, [piece])) is not None:
                    self._set_aside(table, piece, err)
        for f in group:  # every batch of these files is stored or set aside
            f.path.unlink()
        return backlog

    def _store(self, store: Store, table: str, pieces: list[tuple[SpooledBatch, list[bytes]]]) -> str | None:
        """Import these batches in one import. The error if any."""
        gpath = self.spool / table / f"group-{uuid.uuid4().hex[:12]}.jsonl"
        with open(gpath, "wb") as out:
            for _, lines in pieces:
                out.writelines(lines)
        started = time.monotonic()
        batches = [b for b, _ in pieces]
        receipts: list[tuple[Receipt, dict[str, Any]]] = []
        try:
            with store.write_lock:
                rep = import_file(store, gpath, table,
                                  before_commit=lambda con, r: receipts.extend(self._record(con, table, batches, r)))
        except Exception as e:  # an importer failure must not stall the spool: the batch is set aside
            log.exception("API batches for %s: the import failed", table)
            return f"the import failed: {type(e).__name__}: {str(e)[:500]}"
        finally:
            gpath.unlink(missing_ok=True)
            self._last_import_s = time.monotonic() - started
        if rep.error is not None:
            return rep.error
        self._settle(receipts)
        store.touch()
        if self.on_stored:
            self.on_stored(table, rep)
        return None

    def _set_aside(self, table: str, piece: tuple[SpooledBatch, list[bytes]], error: str) -> None:
        """A batch the importer cannot read at all: kept in spool/<table>/failed/, never dropped."""
        batch, lines = piece
        failed = self.spool / table / "failed"
        failed.mkdir(exist_ok=True)
        kept = failed / f"{batch.batch_id}-{batch.actor}.jsonl"
        with open(kept, "wb") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())
        log.error("API batch %s could not be imported (kept in %s): %s", batch.batch_id, kept, error)
        with self._cond:
            r = self._pending.pop(batch.batch_id, None) or Receipt(batch.batch_id, table, batch.rows, [])
            r.status = "failed"
            r.group = {"error": error}
            self._done[batch.batch_id] = r
            self._cond.notify_all()

    def _record(self, con: duckdb.DuckDBPyConnection, table: str, batches: list[SpooledBatch], rep: FileReport
                ) -> list[tuple[Receipt, dict[str, Any]]]:
        """Each batch's ``ingest_batches`` row, written in the import's transaction (one statement;
        data and receipts in one commit); what its receipt will say once committed (:meth:`_settle`)."""
        q = con.execute("SELECT row_number, field, reason FROM quarantine WHERE import_id = ? ORDER BY row_number",
                        [rep.import_id]).fetchall() if rep.quarantined else []
        summary = {k: getattr(rep, k) for k in ("import_id", "rows_read", "accepted", "duplicates", "quarantined",
                                                 "persons_created", "persons_merged", "seconds")}
        now = datetime.now(timezone.utc)
        done, records, lo = [], [], 1  # the first row of each batch in the group's file
        for b in batches:
            with self._cond:
                r = self._pending.get(b.batch_id) or Receipt(b.batch_id, table, b.rows, [])
            done.append((r, {"status": "stored", "import_id": rep.import_id, "group": summary, "quarantined": [
                {"row": row - lo + 1, "field": fld, "reason": why} for row, fld, why in q if lo <= row < lo + b.rows]}))
            records.append((b.batch_id, table, b.received_at, b.rows, r.invalid_rows, b.actor, rep.import_id, lo, now))
            lo += b.rows
        cols = ("batch_id", "table_name", "received_at", "rows_received", "rows_invalid", "actor", "import_id",
                "first_row", "stored_at")
        # a batch stored again after a crash keeps its first record
        with registered(con, "_batches", pa.Table.from_pylist([dict(zip(cols, rec)) for rec in records])):
            con.execute(f"INSERT INTO ingest_batches ({', '.join(cols)}) SELECT * FROM _batches "
                        "WHERE batch_id NOT IN (SELECT batch_id FROM ingest_batches)")
        return done

    def _settle(self, done: list[tuple[Receipt, dict[str, Any]]]) -> None:
        """The receipts of a committed import: stored."""
        with self._cond:
            for r, stored in done:
                for k, v in stored.items():
                    setattr(r, k, v)
                self._pending.pop(r.batch_id, None)
                self._done[r.batch_id] = r
            while len(self._done) > 10_000:  # recent receipts in memory; older ones from ingest_batches
                self._done.pop(next(iter(self._done)))
            self._cond.notify_all()


def _safe(actor: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_." else "_" for ch in actor)[:40] or "api"
