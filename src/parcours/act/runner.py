"""The rules' thread in the served process: events judged as soon as they are stored, states
swept every few seconds, outreach decided and handed to its channel.

The API's writer calls :meth:`RuleEngine.notify` after each import commits (the import ids);
the desk and the survey pages after their writes (the keys). ``notify`` only queues and
wakes the thread: a slow or broken rule never slows ingestion. What was queued but not
judged when the process stopped is judged at the next start: every import of the last day
not yet in ``rule_batches`` is looked at again (firings are unique, so nothing fires twice).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from parcours.act import engine, outreach
from parcours.act.actions import Actions
from parcours.store import Store

__all__ = ["RuleEngine"]

log = logging.getLogger(__name__)
CATCH_UP = timedelta(days=1)


class RuleEngine:
    def __init__(self, store: Store, *, webhooks: Any = None, every_s: float = 10.0) -> None:
        self.store, self.webhooks, self.every_s = store, webhooks, every_s
        self._cond = threading.Condition()
        self._imports: list[tuple[str, str]] = []      # (table, import id)
        self._keys: list[tuple[str, str]] = []         # (table, key)
        self._judging = False
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="parcours-rules", daemon=True)
        #: for /health and the benchmark: rounds, firings, the latest delay from storing to firing
        self.stats: dict[str, Any] = {"rounds": 0, "fired": 0, "sweeps": 0, "last_error": None}

    def start(self) -> RuleEngine:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(30)

    def notify(self, table: str, *, import_id: str | None = None, keys: list[str] | None = None) -> None:
        """Rows of ``table`` were stored: judge them soon."""
        with self._cond:
            if import_id:
                self._imports.append((table, import_id))
            for k in keys or ():
                self._keys.append((table, k))
            self._cond.notify_all()

    def caught_up(self, timeout: float) -> bool:
        """Wait, at most ``timeout`` seconds, until what was notified is judged; True if it is.
        The API writer asks before its next import, so that the two do not queue behind each
        other for the store's write lock (it never waits longer than its own pause)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._stop or not (self._judging or self._imports or self._keys),
                                       timeout)

    def _take(self, timeout: float) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        with self._cond:
            self._judging = False
            self._cond.notify_all()
            if not self._stop and not self._imports and not self._keys:
                self._cond.wait(timeout)
            imports, keys = self._imports, self._keys
            self._imports, self._keys = [], []
            self._judging = bool(imports or keys)
            return imports, keys

    def _loop(self) -> None:
        view = self.store.cursor()
        actions = Actions(view, self.webhooks)
        try:
            self._catch_up(view, actions)
        except Exception:
            log.exception("rules: catching up failed")
        next_sweep = time.monotonic()
        try:
            while not self._stop:
                imports, keys = self._take(max(0.0, next_sweep - time.monotonic()))
                try:
                    self._judge(view, actions, imports, keys)
                except Exception as e:
                    log.exception("rules: judging stored rows failed")
                    self.stats["last_error"] = f"{type(e).__name__}: {e}"
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.every_s
                    self._sweep(view, actions)
        finally:
            view.close()

    def _judge(self, view: Store, actions: Actions, imports: list[tuple[str, str]],
               keys: list[tuple[str, str]]) -> None:
        if not imports and not keys:
            return
        now = datetime.now(timezone.utc)
        for table in sorted({t for t, _ in imports}):
            ids = [i for t, i in imports if t == table]
            fired = engine.judge_events(view, table, actions, import_ids=ids, now=now)
            self._record(view, table, ids, len(fired), now)
        for table in sorted({t for t, _ in keys}):
            fired = engine.judge_events(view, table, actions, keys=[k for t, k in keys if t == table], now=now)
            self.stats["fired"] += len(fired)
        self.stats["rounds"] += 1
        self._dispatch(view, now)

    def _record(self, view: Store, table: str, ids: list[str], fired: int, now: datetime) -> None:
        self.stats["fired"] += fired
        with view.write_lock, view.transaction() as con:
            con.executemany("INSERT OR IGNORE INTO rule_batches VALUES (?, ?, ?, ?)",
                            [(i, table, now, fired) for i in ids])

    def _sweep(self, view: Store, actions: Actions) -> None:
        now = datetime.now(timezone.utc)
        try:
            self._catch_up(view, actions)  # imports a failed round dropped are judged again
        except Exception:
            log.exception("rules: catching up failed")
        try:
            fired = engine.sweep(view, actions, now=now)
            self.stats["fired"] += len(fired)
            self.stats["sweeps"] += 1
            self._dispatch(view, now)
        except Exception as e:
            log.exception("rules: sweep failed")
            self.stats["last_error"] = f"{type(e).__name__}: {e}"

    def _dispatch(self, view: Store, now: datetime) -> None:
        """Decide queued outreach and hand what goes out to its channel (the messaging gateway
        subscribed to ``act.outreach``)."""
        with view.write_lock:
            to_send = outreach.dispatch(view, now=now)
        if self.webhooks is not None and to_send:
            self.webhooks.emit_many("act.outreach", [{**item, "address": _address(view, item)} for item in to_send])

    def _catch_up(self, view: Store, actions: Actions) -> None:
        """Imports of the last day that no round judged (the process stopped in between)."""
        since = datetime.now(timezone.utc) - CATCH_UP
        rows = view.query("""SELECT i.table_name, i.import_id FROM imports i
                             WHERE i.finished_at >= ? AND i.table_name IN ('touchpoints', 'responses')
                               AND i.import_id NOT IN (SELECT batch FROM rule_batches)""", [since])
        if rows:
            log.warning("rules: judging %d imports stored while the rules were not running", len(rows))
            self._judge(view, actions, [(t, i) for t, i in rows], [])


def _address(view: Store, item: dict[str, Any]) -> str | None:
    kind = {"email": "email", "sms": "phone", "phone": "phone", "social": "social", "app": "app"}.get(item["channel"])
    if kind is None:
        return None
    rows = view.query("SELECT value FROM identities WHERE person_id = ? AND kind = ? ORDER BY first_seen DESC "
                      "LIMIT 1", [item["person_id"], kind])
    return rows[0][0] if rows else None
