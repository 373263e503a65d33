"""Training the churn model in the background of the served app: a fit on a large store takes
tens of seconds, which no web request should wait for. One training at a time per store; its
state (running, done with the model's figures, failed with the reason) is what the page and
``GET /api/v1/churn/train`` show."""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timezone
from typing import Any

from parcours.act import churn
from parcours.store import Store

__all__ = ["Training"]

log = logging.getLogger(__name__)


class Training:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._state: dict[str, Any] = {"state": "idle"}

    def status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)

    def start(self, *, as_of: date | None = None, horizon_days: int = churn.HORIZON_DAYS) -> dict[str, Any]:
        """Train then score in a thread; if a training is running, its status (nothing new starts).
        Arguments are checked at once (:class:`churn.ChurnError`)."""
        if not 7 <= horizon_days <= 366:
            raise churn.ChurnError(f"horizon_days: between 7 and 366 days; got {horizon_days}")
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return dict(self._state)
            self._state = {"state": "running", "started_at": datetime.now(timezone.utc), "as_of": as_of,
                           "horizon_days": horizon_days, "step": "starting"}
            self._thread = threading.Thread(target=self._run, args=(as_of, horizon_days), name="parcours-churn",
                                            daemon=True)
            self._thread.start()
            return dict(self._state)

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status()

    def _step(self, step: str, done: float) -> None:
        with self._lock:
            self._state["step"] = step
            self._state["done"] = round(done, 2)

    def _run(self, as_of: date | None, horizon_days: int) -> None:
        view = self.store.cursor()
        try:
            trained = churn.train(view, as_of=as_of, horizon_days=horizon_days,
                                  progress=lambda s, d: self._step(f"train: {s}", d / 2))
            scored = churn.score(view, progress=lambda s, d: self._step(f"score: {s}", 0.5 + d / 2))
            result: dict[str, Any] = {"state": "done", "model_id": trained["model_id"],
                                      "auc": trained["metrics"]["auc"], "persons": trained["persons"],
                                      "scored": scored["persons"]}
        except churn.ChurnError as e:
            result = {"state": "failed", "error": str(e)}
        except Exception as e:  # logged with its trace; the page says what kind of failure
            log.exception("churn training failed")
            result = {"state": "failed", "error": f"{type(e).__name__}: {e}"}
        finally:
            view.close()
        with self._lock:
            self._state = {**self._state, **result, "finished_at": datetime.now(timezone.utc)}
            self._state.pop("step", None)
