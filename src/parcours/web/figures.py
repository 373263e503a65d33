"""The report's figures for the web app and the API, computed once per filter set.

A report over millions of touchpoints takes seconds; pages must answer in milliseconds,
also while data keeps arriving. So a filter set's report is kept, and when the store has
changed since it was computed, the kept one is served (it says when it was computed:
``rep["computed_at"]``) while a background thread computes the new one
(stale-while-revalidate). Only the very first request of a filter set waits.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from parcours import report
from parcours.store import Store

SECTIONS = ("voice", "journeys", "service", "loyalty", "value", "promises")
_VOICE_KEYS = ("nps", "csat", "ces")
log = logging.getLogger("parcours.web")


@dataclass
class _Entry:
    version: int
    report: dict[str, Any]
    refreshing: bool = False


class Figures:
    """A small cache of reports keyed by filters, refreshed in the background after writes."""

    def __init__(self, store: Store, size: int = 32) -> None:
        self.store, self.size = store, size
        self._cache: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self._locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._guard = threading.Lock()
        self._computing = 0
        self._views: set[Store] = set()
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()
        self._closed = False

    def report(self, *, start: date | None = None, end: date | None = None, by: tuple[str, ...] = (),
               channel: str | None = None, segment: str | None = None, stage: str | None = None,
               fresh: bool = False) -> dict[str, Any]:
        """The report for these filters; ``fresh`` waits for figures of the current data."""
        where = {k: v for k, v in (("channel", channel), ("segment", segment), ("stage", stage)) if v}
        key = (start, end, tuple(by), tuple(sorted(where.items())))
        kw = {"start": start, "end": end, "by": list(by), "where": where}
        with self._guard:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
                if entry.version == self.store.changes:
                    return entry.report
                if not fresh:
                    if not entry.refreshing and not self._closed:
                        entry.refreshing = True
                        self._start(lambda: self._refresh(key, kw), "parcours-figures")
                    return entry.report
        return self._compute(key, kw)

    def _refresh(self, key: tuple[Any, ...], kw: dict[str, Any]) -> None:
        try:
            self._compute(key, kw)
        except Exception:  # logged by _compute; the kept report stays (or the server is stopping)
            pass

    def _compute(self, key: tuple[Any, ...], kw: dict[str, Any]) -> dict[str, Any]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock, self._counting():  # one computation per filter set; concurrent requests wait for it
            version = self.store.changes
            with self._guard:
                entry = self._cache.get(key)
                if entry is not None and entry.version == version:
                    return entry.report
            if self._closed:
                raise RuntimeError("the server is stopping")
            view = self.store.cursor()
            with self._guard:
                self._views.add(view)
            try:
                rep = report.build(view, **kw)
            except Exception:
                with self._guard:
                    if key in self._cache:
                        self._cache[key].refreshing = False
                if not self._closed:  # a query interrupted by close() is no failure
                    log.exception("report for %s failed", key)
                raise
            finally:
                with self._guard:
                    self._views.discard(view)
                view.close()
            rep["computed_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            with self._guard:
                self._cache[key] = _Entry(version, rep)
                self._cache.move_to_end(key)
                while len(self._cache) > self.size:
                    gone, _ = self._cache.popitem(last=False)
                    self._locks.pop(gone, None)
        return rep

    @property
    def computing(self) -> int:
        """Reports being computed now (the server's /health shows it: load tests wait for 0)."""
        return self._computing

    @contextmanager
    def _counting(self) -> Iterator[None]:
        with self._guard:
            self._computing += 1
        try:
            yield
        finally:
            with self._guard:
                self._computing -= 1

    def warm(self, *, then: Callable[[], None] | None = None, **filters: Any) -> None:
        """Compute a filter set's report in the background (the server does this at start),
        then call ``then``."""
        self._start(lambda: self._safe(filters, then), "parcours-warm")

    def _start(self, work: Callable[[], Any], name: str) -> None:
        """Start a computation thread (callers may hold ``_guard``: the list has its own lock)."""
        thread = threading.Thread(target=work, daemon=True, name=name)
        with self._threads_lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Stop computing before the store closes: interrupt the queries under way and wait
        for their threads (a DuckDB connection closed under a running query crashes the process)."""
        with self._guard, self._threads_lock:
            self._closed = True
            views, threads = list(self._views), list(self._threads)
        for view in views:
            view.con.interrupt()
        for t in threads:
            t.join(timeout)

    def _safe(self, filters: dict[str, Any], then: Callable[[], None] | None) -> None:
        try:
            self.report(**filters)
        except Exception:  # logged by _compute; a page will show the error
            pass
        if then is not None:
            then()

    def section(self, name: str, **filters: Any) -> dict[str, Any]:
        """One section of the report (voice gathers NPS, CSAT and CES)."""
        rep = self.report(**filters)
        head = {k: rep[k] for k in ("period", "counts", "filters", "small_n_threshold", "computed_at") if k in rep}
        if name == "voice":
            return head | {k: rep[k] for k in _VOICE_KEYS if k in rep}
        return head | {name: rep.get(name)}
