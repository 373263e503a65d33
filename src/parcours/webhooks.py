"""Outgoing webhooks: subscribers receive signed events, retried with backoff.

An admin subscribes a URL to events (``touchpoints.stored``, ``touchpoints.*``, ``*``…).
:meth:`Webhooks.emit` records one delivery row per matching active subscription, in the
store, then wakes the sender thread, which POSTs the event as JSON::

    {"id": "<delivery id>", "event": "touchpoints.stored", "created_at": "…Z", "data": {…}}

with the headers ``X-Parcours-Event``, ``X-Parcours-Delivery`` and
``X-Parcours-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` (Stripe's
scheme: the timestamp is signed with the body, so a receiver can refuse replays; see
:func:`verify`). A delivery that gets no 2xx answer (network error, timeout, redirect or
another status) is tried again after an exponentially growing, jittered delay
(:class:`RetryPolicy`), and marked ``failed`` after the last attempt.

Deliveries live in the store (``webhook_deliveries``), so they survive a restart: a new
dispatcher sends the pending ones whose time has come. Delivery is *at least once* (a crash
between sending and recording sends again): receivers deduplicate on the delivery id.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import logging
import random
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from parcours.store import Store
from parcours.store.sql import registered

log = logging.getLogger(__name__)

#: the events Parcours emits (a subscription names some of them, or a wildcard)
EVENTS: dict[str, str] = {
    "touchpoints.stored": "touchpoints sent to the API or imported from a file were stored (counts of accepted, "
                          "duplicate, quarantined rows)",
    "orders.stored": "orders sent to the API or imported from a file were stored",
    "responses.stored": "survey answers sent to the API or imported from a file were stored",
    "desk.sla.at_risk": "a case's SLA clock (first response, next response, resolution) is close to its due time",
    "desk.sla.breach": "a case's SLA clock passed its due time",
    "voice.survey.sms": "a survey link (or its one reminder) to send by SMS (phone, text with the link): the SMS "
                        "gateway sends it",
    "voice.survey.answered": "a survey was answered (score, comment's sentiment and themes, loop case if any)",
    "rules.fired": "a manager's rule fired with the action webhook (rule, subject, person, case, reason); a rule "
                   "may name its own event under rules.",
    "act.notify": "a rule told a team (team, message, rule, person, case)",
    "act.outreach": "a proactive contact to send (person, channel, address, practice, text): the messaging gateway "
                    "sends it",
    "ping": "a test event, sent on demand to one subscriber (POST /api/v1/webhooks/{id}/test)",
}
SIGNATURE_HEADER = "X-Parcours-Signature"
DEFAULT_TOLERANCE_S = 300
MAX_URL = 2000
_PATTERN = re.compile(r"\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?")


def stored_payload(rep: Any, via: str) -> dict[str, Any]:
    """The data of ``<table>.stored`` for one import's report (``via``: "api" or "import")."""
    return {"table": rep.table, "import_id": rep.import_id, "accepted": rep.accepted, "duplicates": rep.duplicates,
            "quarantined": rep.quarantined, "via": via}


def announce_imports(store: Store, reports: Iterable[Any]) -> int:
    """Record ``<table>.stored`` deliveries for the files an import stored rows from; returns how
    many. The sender of ``parcours serve`` delivers them (an import and the server never hold the
    store at once, so they wait for it)."""
    hooks = Webhooks(store, start=False)
    return sum(len(hooks.emit(f"{r.table}.stored", stored_payload(r, "import")))
               for r in reports if r.accepted and f"{r.table}.stored" in EVENTS)


class WebhookError(ValueError):
    """A subscription cannot be made as asked (the message says why)."""


# -- signatures ---------------------------------------------------------------------------
def _bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The ``X-Parcours-Signature`` value: ``t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    mac = hmac.new(secret.encode(), f"{int(timestamp)}.".encode() + _bytes(body), hashlib.sha256)
    return f"t={int(timestamp)},v1={mac.hexdigest()}"


def verify(secret: str, header: str | None, body: bytes | str, tolerance_s: float = DEFAULT_TOLERANCE_S,
           *, now: float | None = None) -> bool:
    """Whether ``header`` signs exactly ``body`` with ``secret``, made less than ``tolerance_s``
    seconds from ``now`` (a replayed old request fails). Any of several ``v1`` values may match."""
    if not header:
        return False
    parts = [p.partition("=") for p in header.split(",")]
    stamps = [v.strip() for k, _, v in parts if k.strip() == "t"]
    given = [v.strip() for k, _, v in parts if k.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not given:
        return False
    t = int(stamps[0])
    if abs((time.time() if now is None else now) - t) > tolerance_s:
        return False
    expected = sign(secret, t, body).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, g) for g in given)


# -- subscriptions ------------------------------------------------------------------------
def matches(pattern: str, event: str) -> bool:
    """``*`` matches every event, ``touchpoints.*`` every event under ``touchpoints.``, any
    other pattern only itself."""
    if pattern == "*" or pattern == event:
        return True
    return pattern.endswith(".*") and event.startswith(pattern[:-1])


def check_url(url: str) -> str:
    """The URL, trimmed, if it is an absolute http(s) URL; else :class:`WebhookError`."""
    url = url.strip()
    if not url or len(url) > MAX_URL:
        raise WebhookError(f"the URL must have 1 to {MAX_URL} characters")
    if any(ch.isspace() for ch in url):
        raise WebhookError("the URL must not contain spaces")
    if not url.isascii() or not url.isprintable():
        raise WebhookError("the URL must be printable ASCII: percent-encode other characters, and write an "
                           "international host name in its xn-- form")
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # .port raises on a bad port
    except ValueError as e:
        raise WebhookError(f"not a valid URL: {e}") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookError(f"the URL must start with http:// or https:// (got {parts.scheme or 'no'} scheme)")
    if not host:
        raise WebhookError("the URL has no host name")
    return url


def check_events(events: Iterable[str]) -> list[str]:
    """Event names or wildcards, each naming at least one known event (a typo would never fire)."""
    out: list[str] = []
    for e in events:
        e = e.strip()
        if not _PATTERN.fullmatch(e) or not any(matches(e, known) for known in EVENTS):
            raise WebhookError(f"unknown event {e!r}: use one of {', '.join(EVENTS)}, a wildcard such as "
                               "'touchpoints.*', or '*'")
        if e not in out:
            out.append(e)
    if not out:
        raise WebhookError("name at least one event (or '*' for all)")
    return out


def patterns() -> list[str]:
    """Every name a subscription may use: ``*``, each event's prefix wildcards, each event."""
    prefixes = {".".join(e.split(".")[:i]) + ".*" for e in EVENTS for i in range(1, e.count(".") + 1)}
    return ["*", *sorted(prefixes), *EVENTS]


# -- retries ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed delivery again: ``first_s × factor^(n-1)`` seconds after the n-th
    failed attempt, at most ``cap_s``, times a random factor in [1 - jitter, 1 + jitter]
    (so subscribers that failed together are not retried together); ``failed`` after
    ``max_attempts``. The defaults wait 1 s, 4 s, 16 s, 64 s, 4 min, 17 min, 1 h: a
    subscriber may be down for about 1 h 20 min without losing an event."""

    first_s: float = 1.0
    factor: float = 4.0
    cap_s: float = 3600.0
    max_attempts: int = 8
    jitter: float = 0.2
    timeout_s: float = 5.0

    def delay(self, attempts: int, rnd: random.Random | None = None) -> float:
        """Seconds to wait after ``attempts`` failed attempts."""
        base = min(self.cap_s, self.first_s * self.factor ** max(0, attempts - 1))
        return base * (1 + self.jitter * (2 * (rnd or random).random() - 1))


@dataclass(frozen=True)
class _Due:
    delivery_id: str
    webhook_id: str
    event: str
    payload: str
    created_at: datetime
    attempts: int
    url: str
    secret: str


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    status: int | None
    error: str | None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: the subscriber must give the final URL."""

    def redirect_request(self, *args: Any, **kw: Any) -> None:
        return None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def body_of(delivery_id: str, event: str, created_at: datetime, data: Any) -> bytes:
    """The JSON a subscriber receives (compact, UTF-8)."""
    return json.dumps({"id": delivery_id, "event": event, "created_at": _iso(created_at), "data": data},
                      ensure_ascii=False, separators=(",", ":"), default=str).encode()


# -- the dispatcher -----------------------------------------------------------------------
class Webhooks:
    """Subscriptions, and the thread that delivers their events (one per served store)."""

    def __init__(self, store: Store, *, policy: RetryPolicy | None = None, start: bool = True,
                 workers: int = 4, idle_s: float = 5.0) -> None:
        self.store, self.policy = store, policy or RetryPolicy()
        #: deliveries sent at once, and claimed a round (their outcomes recorded in one statement)
        self.workers, self.per_round, self.idle_s = workers, 4 * workers, idle_s
        #: a delivery being sent is not due again before this (another dispatcher, or a crash):
        #: a round posts per_round / workers deliveries one after another on each worker
        self.lease_s = self.per_round // self.workers * self.policy.timeout_s + 30
        self._opener = urllib.request.build_opener(_NoRedirect)
        self._cond = threading.Condition()
        self._wake = False
        self._stop = False
        self._thread: threading.Thread | None = None
        if start:
            self._thread = threading.Thread(target=self._run, name="parcours-webhooks", daemon=True)
            self._thread.start()

    def _view(self) -> Store:
        return self.store.cursor()

    # -- subscriptions --------------------------------------------------------------------
    def subscribe(self, url: str, events: Iterable[str], created_by: str = "cli") -> tuple[str, str]:
        """A new subscription; returns (webhook id, signing secret). Show the secret once."""
        url, pats = check_url(url), check_events(events)
        webhook_id = "wh_" + uuid.uuid4().hex[:12]
        secret = "whsec_" + secrets.token_urlsafe(32)
        view = self._view()
        try:
            with view.write_lock:
                view.con.execute("INSERT INTO webhooks (webhook_id, url, events, secret, created_at, created_by) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", [webhook_id, url, pats, secret, _now(), created_by])
        finally:
            view.close()
        return webhook_id, secret

    def unsubscribe(self, webhook_id: str) -> bool:
        """Disable a subscription and cancel its pending deliveries; False if there is none active."""
        view = self._view()
        try:
            with view.write_lock:
                done = view.con.execute("UPDATE webhooks SET disabled_at = ? WHERE webhook_id = ? "
                                        "AND disabled_at IS NULL RETURNING 1", [_now(), webhook_id]).fetchall()
                view.con.execute("UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL "
                                 "WHERE webhook_id = ? AND status = 'pending'", [webhook_id])
        finally:
            view.close()
        return bool(done)

    def get(self, webhook_id: str) -> dict[str, Any] | None:
        """One active subscription (without its secret)."""
        found = [w for w in self.list() if w["webhook_id"] == webhook_id]
        return found[0] if found else None

    def list(self) -> builtins.list[dict[str, Any]]:
        """Active subscriptions, oldest first, with counts of their deliveries (never secrets)."""
        view = self._view()
        try:
            rows = view.query("""
                SELECT w.webhook_id, w.url, w.events, w.created_at, w.created_by,
                       count(d.delivery_id) FILTER (WHERE d.status = 'pending'),
                       count(d.delivery_id) FILTER (WHERE d.status = 'delivered'),
                       count(d.delivery_id) FILTER (WHERE d.status = 'failed')
                FROM webhooks w LEFT JOIN webhook_deliveries d USING (webhook_id)
                WHERE w.disabled_at IS NULL
                GROUP BY ALL ORDER BY w.created_at, w.webhook_id""")
        finally:
            view.close()
        keys = ("webhook_id", "url", "events", "created_at", "created_by")
        return [{**dict(zip(keys, r[:5])), "deliveries": {"pending": r[5], "delivered": r[6], "failed": r[7]}}
                for r in rows]

    def deliveries(self, webhook_id: str, limit: int = 50) -> builtins.list[dict[str, Any]]:
        """A subscription's deliveries, newest first."""
        keys = ("delivery_id", "event", "created_at", "status", "attempts", "next_attempt_at", "last_status",
                "last_error", "delivered_at")
        view = self._view()
        try:
            rows = view.query(f"SELECT {', '.join(keys)} FROM webhook_deliveries WHERE webhook_id = ? "
                              "ORDER BY created_at DESC, delivery_id LIMIT ?", [webhook_id, limit])
        finally:
            view.close()
        return [dict(zip(keys, r)) for r in rows]

    # -- events ---------------------------------------------------------------------------
    def emit(self, event: str, payload: Any, *, only: str | None = None) -> builtins.list[str]:
        """Record a delivery of ``event`` for every active subscription that matches it (or for
        the one subscription ``only``, whatever its events) and wake the sender; returns the
        delivery ids. Never raises: it runs after the data were stored, in the writer's thread."""
        try:
            return self._emit(event, [payload], only)
        except Exception:
            log.exception("webhooks: could not record the event %s", event)
            return []

    def emit_many(self, event: str, payloads: builtins.list[Any]) -> int | None:
        """:meth:`emit` for many payloads of one event: one look at the subscriptions, one insert
        (the rules' actions fire by the thousand). Returns the deliveries recorded, None if they
        could not be recorded (logged; never raises)."""
        if not payloads:
            return 0
        try:
            return len(self._emit(event, payloads, None))
        except Exception:
            log.exception("webhooks: could not record %d events %s", len(payloads), event)
            return None

    def ping(self, webhook_id: str) -> str | None:
        """Send a ``ping`` event to one subscription; its delivery id (None if there is no such one)."""
        ids = self.emit("ping", {"webhook_id": webhook_id, "message": "a test event from Parcours"}, only=webhook_id)
        return ids[0] if ids else None

    def _emit(self, event: str, payloads: builtins.list[Any], only: str | None) -> builtins.list[str]:
        """One look at the subscriptions, one insert for every (subscription, payload); the ids."""
        view = self._view()
        try:
            subs = view.query("SELECT webhook_id, events FROM webhooks WHERE disabled_at IS NULL"
                              + (" AND webhook_id = ?" if only else ""), [only] if only else [])
            targets = [w for w, pats in subs if only or any(matches(p, event) for p in pats)]
            if not targets:
                return []
            data = [json.dumps(p, ensure_ascii=False, default=str) for p in payloads]
            ids = ["d_" + uuid.uuid4().hex[:16] for _ in range(len(data) * len(targets))]
            rows = pa.table({"delivery_id": ids, "webhook_id": [w for w in targets for _ in data],
                             "payload": [d for _ in targets for d in data]})
            now = _now()
            with view.write_lock:
                with registered(view.con, "_deliveries", rows):
                    view.con.execute("INSERT INTO webhook_deliveries (delivery_id, webhook_id, event, payload, "
                                     "created_at, status, attempts, next_attempt_at) SELECT delivery_id, webhook_id, "
                                     "?, payload, ?, 'pending', 0, ? FROM _deliveries", [event, now, now])
        finally:
            view.close()
        self.wake()
        return ids

    def wake(self) -> None:
        with self._cond:
            self._wake = True
            self._cond.notify_all()

    def close(self, timeout: float | None = None) -> None:
        """Stop the sender after the requests in flight (pending deliveries wait for the next start)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(self.policy.timeout_s + 5 if timeout is None else timeout)

    # -- the sender thread ----------------------------------------------------------------
    def _run(self) -> None:
        view = self._view()
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="parcours-webhook-post")
        try:
            while not self._stopping():
                try:
                    due = self._claim(view)
                    if due:
                        self._record(view, due, list(pool.map(self._post, due)))
                        continue
                    pause = self._pause(view)
                except Exception:  # the store is busy or closing: try again later, never die
                    log.exception("webhooks: the sender failed; trying again")
                    pause = 1.0
                with self._cond:
                    if not self._wake and not self._stop:
                        self._cond.wait(pause)
                    self._wake = False
        finally:
            pool.shutdown(wait=True)
            view.close()

    def _stopping(self) -> bool:
        with self._cond:
            return self._stop

    def _claim(self, view: Store) -> builtins.list[_Due]:
        """The due deliveries, leased (not due again for :attr:`lease_s`) while they are sent."""
        now = _now()
        with view.write_lock:
            rows = view.query("""
                UPDATE webhook_deliveries SET next_attempt_at = ?
                WHERE delivery_id IN (
                    SELECT delivery_id FROM webhook_deliveries
                    WHERE status = 'pending' AND next_attempt_at <= ?
                    ORDER BY next_attempt_at LIMIT ?)
                RETURNING delivery_id, webhook_id, event, payload, created_at, attempts""",
                              [now + timedelta(seconds=self.lease_s), now, self.per_round])
            if not rows:
                return []
            hooks = dict(((w, (u, s)) for w, u, s in view.query(
                "SELECT webhook_id, url, secret FROM webhooks WHERE webhook_id IN (SELECT unnest(?))",
                [sorted({r[1] for r in rows})])))
        return [_Due(*r, *hooks[r[1]]) for r in rows if r[1] in hooks]

    def _pause(self, view: Store) -> float:
        """Seconds until the next pending delivery is due (at most :attr:`idle_s`)."""
        nxt = view.query("SELECT min(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'")[0][0]
        if nxt is None:
            return self.idle_s
        return min(self.idle_s, max(0.0, (nxt - _now()).total_seconds()))

    def _post(self, d: _Due) -> _Outcome:
        """One attempt (in a worker thread: HTTP only, no store)."""
        body = body_of(d.delivery_id, d.event, d.created_at, json.loads(d.payload))
        req = urllib.request.Request(d.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "Parcours-Webhooks/1",
            "X-Parcours-Event": d.event, "X-Parcours-Delivery": d.delivery_id,
            SIGNATURE_HEADER: sign(d.secret, int(time.time()), body)})
        try:
            with self._opener.open(req, timeout=self.policy.timeout_s) as r:
                r.read(65536)
                return _Outcome(200 <= r.status < 300, r.status, None if 200 <= r.status < 300 else f"HTTP {r.status}")
        except urllib.error.HTTPError as e:
            try:
                text = e.read(300).decode("utf-8", "replace").strip()
            finally:
                e.close()
            return _Outcome(False, e.code, f"HTTP {e.code}" + (f": {text}" if text else ""))
        except urllib.error.URLError as e:
            return _Outcome(False, None, f"cannot reach {urlsplit(d.url).netloc}: {e.reason}")
        except Exception as e:  # timeouts, resets, malformed answers…: an attempt that failed, never a crash
            return _Outcome(False, None, f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)

    def _record(self, view: Store, due: builtins.list[_Due], outs: builtins.list[_Outcome]) -> None:
        """A round's outcomes in one statement (one commit a round, not one a delivery)."""
        now = _now()
        rows: dict[str, builtins.list[Any]] = {k: [] for k in ("delivery_id", "status", "attempts", "nxt",
                                                                 "last_status", "last_error", "delivered_at")}
        for d, out in zip(due, outs):
            attempts = d.attempts + 1
            if out.ok:
                status, nxt, delivered = "delivered", None, now
            elif attempts >= self.policy.max_attempts:
                status, nxt, delivered = "failed", None, None
                log.warning("webhooks: %s to %s failed after %d attempts: %s", d.delivery_id, d.url, attempts,
                            out.error)
            else:
                status, nxt, delivered = "pending", now + timedelta(seconds=self.policy.delay(attempts)), None
            for k, v in zip(rows, (d.delivery_id, status, attempts, nxt, out.status,
                                   (out.error or "")[:500] or None, delivered)):
                rows[k].append(v)
        ts = pa.timestamp("us", tz="UTC")
        table = pa.table({k: pa.array(v, ts if k in ("nxt", "delivered_at") else None) for k, v in rows.items()})
        with view.write_lock:
            # a subscription cancelled meanwhile keeps its delivery cancelled
            with registered(view.con, "_outcomes", table):
                view.con.execute("""UPDATE webhook_deliveries w SET
                    status = CASE WHEN w.status = 'cancelled' THEN w.status ELSE o.status END,
                    attempts = o.attempts,
                    next_attempt_at = CASE WHEN w.status = 'cancelled' THEN NULL ELSE o.nxt END,
                    last_status = o.last_status, last_error = o.last_error, delivered_at = o.delivered_at
                    FROM _outcomes o WHERE w.delivery_id = o.delivery_id""")


__all__ = ["EVENTS", "RetryPolicy", "WebhookError", "Webhooks", "body_of", "check_events", "check_url", "matches",
           "patterns", "sign", "verify"]
