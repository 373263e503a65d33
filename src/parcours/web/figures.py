"""The report's figures for the web app and the API, computed once per filter and per state
of the data (a write to the store makes the next request recompute them)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date
from typing import Any

from parcours import report
from parcours.store import Store

SECTIONS = ("voice", "journeys", "service", "loyalty", "value")
_VOICE_KEYS = ("nps", "csat", "ces")


class Figures:
    """A small cache of reports keyed by (filters, store changes)."""

    def __init__(self, store: Store, size: int = 32) -> None:
        self.store, self.size = store, size
        self._cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._guard = threading.Lock()

    def report(self, *, start: date | None = None, end: date | None = None, by: tuple[str, ...] = (),
               channel: str | None = None, segment: str | None = None, stage: str | None = None) -> dict[str, Any]:
        where = {k: v for k, v in (("channel", channel), ("segment", segment), ("stage", stage)) if v}
        key = (start, end, tuple(by), tuple(sorted(where.items())), self.store.changes)
        with self._guard:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one computation per key; concurrent requests for it wait for that one
            with self._guard:
                if key in self._cache:
                    return self._cache[key]
            view = self.store.cursor()
            try:
                rep = report.build(view, start=start, end=end, by=list(by), where=where)
            finally:
                view.close()
            with self._guard:
                self._cache[key] = rep
                self._locks.pop(key, None)
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        return rep

    def section(self, name: str, **filters: Any) -> dict[str, Any]:
        """One section of the report (voice gathers NPS, CSAT, CES and the NPS change)."""
        rep = self.report(**filters)
        head = {k: rep[k] for k in ("period", "counts", "filters", "small_n_threshold") if k in rep}
        if name == "voice":
            return head | {k: rep[k] for k in _VOICE_KEYS if k in rep}
        return head | {name: rep.get(name)}
