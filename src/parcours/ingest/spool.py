"""The API's spool: batches kept on disk, with one fsync for every batch that arrived together.

A spool file holds the batches of one table received in one round: a header line naming
them (id, sender, row count, arrival), then their rows, one JSON object a line, in order.
Writing a round costs one fsync however many requests it serves — under a stream of single
events, that is what keeps the disk from being the queue. A file is written under a hidden
name, synced, renamed into place and its directory synced: once :func:`write_round`
returns, the batches survive a crash.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["SpoolFile", "SpooledBatch", "Spooler", "encode", "files", "write_round"]

_FORMAT = 1


@dataclass(frozen=True)
class SpooledBatch:
    """One request's rows, as the spool knows them."""

    batch_id: str
    actor: str
    rows: int
    received_at: datetime


@dataclass(frozen=True)
class SpoolFile:
    path: Path
    batches: tuple[SpooledBatch, ...]

    @classmethod
    def open(cls, path: Path) -> SpoolFile:
        with open(path, "rb") as f:
            head = json.loads(f.readline())
        if head.get("spool") != _FORMAT:
            raise ValueError(f"{path}: not a Parcours spool file of format {_FORMAT}")
        return cls(path, tuple(SpooledBatch(b["batch_id"], b["actor"], b["rows"],
                                            datetime.fromisoformat(b["received_at"])) for b in head["batches"]))

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.batches)

    def row_lines(self) -> Iterator[tuple[SpooledBatch, list[bytes]]]:
        """Each batch with its rows (JSON lines, newline included)."""
        with open(self.path, "rb") as f:
            f.readline()
            for b in self.batches:
                yield b, [f.readline() for _ in range(b.rows)]


def encode(rows: list[Any]) -> bytes:
    """Rows as spooled: JSON lines, ASCII (any text survives, even a lone surrogate — the
    reader then refuses that row alone)."""
    return "".join(json.dumps(r, default=str) + "\n" for r in rows).encode()


def write_round(directory: Path, batches: list[tuple[SpooledBatch, bytes]]) -> SpoolFile:
    """Write these batches (each with its :func:`encode`-d rows) as one spool file, durable
    when this returns."""
    head = {"spool": _FORMAT, "batches": [{"batch_id": b.batch_id, "actor": b.actor, "rows": b.rows,
                                           "received_at": b.received_at.isoformat()} for b, _ in batches]}
    name = f"{time.time_ns():020d}-{batches[0][0].batch_id}.jsonl"
    tmp = directory / ("." + name)
    with open(tmp, "wb") as f:
        f.write(json.dumps(head).encode() + b"\n")
        for _, body in batches:
            f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, directory / name)
    _sync_dir(directory)
    return SpoolFile(directory / name, tuple(b for b, _ in batches))


class Spooler:
    """Group commit: batches handed in while a round is being written go, together, into the
    next one."""

    def __init__(self) -> None:
        self._queue: list[tuple[Path, SpooledBatch, bytes, Future[None]]] = []
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="parcours-spooler", daemon=True)
        self._thread.start()

    def put(self, directory: Path, batch: SpooledBatch, body: bytes) -> Future[None]:
        """Hand a batch in; the future is done once it is durable (or failed to be)."""
        done: Future[None] = Future()
        with self._cond:
            if self._stop:
                raise RuntimeError("the spool is closed")
            self._queue.append((directory, batch, body, done))
            self._cond.notify()
        return done

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(30)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait()
                if not self._queue:
                    return
                taken, self._queue = self._queue, []
            by_dir: dict[Path, list[tuple[Path, SpooledBatch, bytes, Future[None]]]] = {}
            for item in taken:
                by_dir.setdefault(item[0], []).append(item)
            for directory, items in by_dir.items():
                try:
                    write_round(directory, [(b, body) for _, b, body, _ in items])
                except BaseException as e:  # each waiting request answers with the error
                    for *_, done in items:
                        settle(done, error=e)
                else:
                    for *_, done in items:
                        settle(done, None)


def settle(fut: Future[Any], result: Any = None, *, error: BaseException | None = None) -> None:
    """Answer a waiting request, unless it gave up (a client gone: its future was cancelled)."""
    try:
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(result)
    except InvalidStateError:
        pass


def files(directory: Path) -> list[SpoolFile]:
    """The spool files of a directory, oldest first (one the writer deletes meanwhile is done)."""
    found = []
    for p in sorted(directory.glob("[0-9]*.jsonl")):
        try:
            found.append(SpoolFile.open(p))
        except FileNotFoundError:
            continue
    return found


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
