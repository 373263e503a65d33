"""The desk's outbox: agents' public replies on the e-mail channel, sent through a relay.

Why a background thread rather than sending inside ``reply``: the agent's reply is stored
first (one short transaction), whatever the mail server's mood; the outbox then sends what
the store says is unsent, so a relay that is down delays mail instead of losing it.

State lives in ``message_refs`` (no table of its own), keyed by the desk message id:

=============  ====================================================================
no row         to send (an agent's public reply on channel ``email``, written by the desk)
``sending``    claimed: the outbound Message-ID is recorded *before* the SMTP transaction,
               so the customer's answer already threads back
``out``        the relay accepted it
``failed``     refused for good (no address, 5xx): never retried; the log and a
               ``delivery_failed`` event on the case (shown under the reply) say why
``uncertain``  the process died during the SMTP transaction: maybe delivered, so never
               sent again (at most once); counted in ``/health``
=============  ====================================================================

Temporary failures (4xx, relay unreachable) drop the claim and retry with exponential
backoff (5 s doubling to 10 min). Outbound Message-IDs are derived from the desk message
id, so even a copy sent by hand carries the same id and clients show it once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any

from parcours.desk import cases
from parcours.desk.email_channel import DESK_TOKEN
from parcours.desk.mail import Attachment, MailError
from parcours.desk.records import _event
from parcours.desk.smtp import compose_reply, send
from parcours.store import Store

__all__ = ["Outbox", "Outgoing", "pending", "compose"]

log = logging.getLogger(__name__)

MAX_AGE = timedelta(days=7)  #: older unsent replies are left alone (a store adopted from before the outbox)
BACKOFF_START, BACKOFF_MAX = 5.0, 600.0


@dataclass(frozen=True)
class Outgoing:
    """One reply to send: the desk message and what threading needs."""

    message_id: str
    case_id: str
    body: str
    ts: datetime


def pending(store: Store, *, now: datetime | None = None, limit: int = 50) -> list[Outgoing]:
    """Public agent replies on channel ``email`` written by the desk, not yet claimed, oldest first."""
    since = (now or datetime.now(timezone.utc)) - MAX_AGE
    rows = store.con.execute(
        "SELECT m.message_id, m.case_id, coalesce(m.body, ''), m.ts FROM messages m "
        "WHERE m.import_id = 'desk' AND m.author = 'agent' AND m.public AND m.channel = 'email' AND m.ts >= ? "
        "AND NOT EXISTS (SELECT 1 FROM message_refs r WHERE r.message_id = m.message_id AND r.direction <> 'in') "
        "ORDER BY m.ts, m.message_id LIMIT ?", [since, limit]).fetchall()
    return [Outgoing(*r) for r in rows]


def outbound_id(message_id: str, domain: str) -> str:
    """The Message-ID of a desk message sent by mail: stable, so never two ids for one reply."""
    return f"<{message_id}@{domain}>"


def compose(store: Store, out: Outgoing, *, from_addr: str, domain: str) -> EmailMessage:
    """The reply as a mail to the case's person, threaded on the customer's last Message-ID
    (References: every mail of the case, oldest first), with the reply's kept attachments.
    Raises :class:`MailError` (permanent) when the person has no e-mail address."""
    con = store.con
    to = con.execute("SELECT i.value FROM identities i JOIN cases c ON c.person_id = i.person_id "
                     "WHERE c.case_id = ? AND i.kind = 'email' ORDER BY i.first_seen DESC NULLS LAST LIMIT 1",
                     [out.case_id]).fetchone()
    if to is None:
        raise MailError(f"case {out.case_id}: the customer has no e-mail address")
    subject = con.execute("SELECT coalesce(subject, '') FROM cases WHERE case_id = ?", [out.case_id]).fetchone()
    refs = [r[0] for r in con.execute(
        "SELECT external_id FROM message_refs WHERE case_id = ? AND kind = 'email' AND direction IN ('in', 'out') "
        "AND external_id LIKE '<%>' ORDER BY created_at", [out.case_id]).fetchall()]
    last_in = con.execute("SELECT external_id FROM message_refs WHERE case_id = ? AND kind = 'email' "
                          "AND direction = 'in' ORDER BY created_at DESC LIMIT 1", [out.case_id]).fetchone()
    files = []
    for (att_id,) in con.execute("SELECT attachment_id FROM attachments WHERE message_id = ? "
                                 "AND storage_path IS NOT NULL ORDER BY attachment_id", [out.message_id]).fetchall():
        info, data = cases.attachment_bytes(store, att_id)
        files.append(Attachment.of(info.filename, info.content_type or "application/octet-stream", data))
    msg = compose_reply(out.case_id, str(to[0]), str(subject[0]) if subject else "", out.body,
                        in_reply_to=last_in[0] if last_in else None, references=refs, from_addr=from_addr,
                        domain=domain, attachments=files, token=DESK_TOKEN)
    del msg["Message-ID"]
    msg["Message-ID"] = outbound_id(out.message_id, domain)
    return msg


def _set_state(store: Store, out: Outgoing, external_id: str, state: str, why: str | None = None) -> None:
    now = datetime.now(timezone.utc)
    with store.write_lock, store.transaction() as con:
        con.execute("DELETE FROM message_refs WHERE message_id = ? AND direction <> 'in'", [out.message_id])
        if state:
            con.execute("INSERT INTO message_refs VALUES (?, ?, 'email', ?, ?, ?)",
                        [out.message_id, out.case_id, external_id, state, now])
        if state == "failed":  # the case page shows it under the reply, as it shows a bounce
            _event(con, out.case_id, None, now, "mail", "delivery_failed",
                   {"message_id": out.message_id, "recipient": None, "action": "failed", "status": None,
                    "diagnostic": why})


@dataclass
class _Retry:
    attempts: int = 0
    not_before: float = 0.0


@dataclass
class Outbox:
    """Sends unsent e-mail replies every ``interval`` seconds in a thread (``start``/``stop``).

    ``relay`` None keeps replies unsent and says so (log once, ``status()`` for ``/health``)."""

    store: Store
    domain: str
    from_addr: str
    relay: tuple[str, int] | None = None
    interval: float = 2.0
    timeout: float = 30.0
    tls: str = "none"  #: ``none``, ``starttls`` or ``tls`` (implicit, port 465)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sent: int = 0
    failed: int = 0
    last_error: str | None = None
    _retry: dict[str, _Retry] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Mark claims left by a crash as uncertain (never resent), then send in a thread."""
        with self.store.write_lock, self.store.transaction() as con:
            con.execute("UPDATE message_refs SET direction = 'uncertain' WHERE direction = 'sending'")
        if self.relay is None:
            log.warning("no SMTP relay configured (--smtp-relay / PARCOURS_SMTP_RELAY): "
                        "e-mail replies are kept unsent")
        self._thread = threading.Thread(target=self._run, name="parcours-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 5)

    def _run(self) -> None:
        cur = self.store.cursor()
        try:
            while not self._stop.is_set():
                try:
                    self.run_once(cur)
                except Exception:  # the store briefly unavailable: the next round tries again
                    log.exception("outbox round failed")
                self._stop.wait(self.interval)
        finally:
            cur.close()

    def run_once(self, store: Store | None = None) -> int:
        """One round: send what is due; returns how many were sent."""
        store = store or self.store
        if self.relay is None:
            return 0
        done = 0
        for out in pending(store):
            retry = self._retry.setdefault(out.message_id, _Retry())
            if retry.not_before > time.monotonic() or self._stop.is_set():
                continue
            done += self._send_one(store, out, retry)
        return done

    def _send_one(self, store: Store, out: Outgoing, retry: _Retry) -> int:
        assert self.relay is not None
        ext = outbound_id(out.message_id, self.domain)
        try:
            msg = compose(store, out, from_addr=self.from_addr, domain=self.domain)
        except MailError as exc:
            return self._failed(store, out, ext, exc.reason)
        _set_state(store, out, ext, "sending")
        try:
            send(msg, *self.relay, timeout=self.timeout, starttls=self.tls == "starttls",
                 implicit_tls=self.tls == "tls", user=self.user, password=self.password)
        except MailError as exc:
            if not exc.temporary:
                return self._failed(store, out, ext, exc.reason)
            _set_state(store, out, ext, "")
            retry.attempts += 1
            delay = min(BACKOFF_MAX, BACKOFF_START * 2 ** (retry.attempts - 1))
            retry.not_before = time.monotonic() + delay
            self.last_error = exc.reason
            log.warning("reply %s on case %s not sent (attempt %d, next in %.0f s): %s", out.message_id,
                        out.case_id, retry.attempts, delay, exc.reason)
            return 0
        _set_state(store, out, ext, "out")
        self._retry.pop(out.message_id, None)
        self.sent += 1
        log.info("reply %s on case %s sent as %s", out.message_id, out.case_id, ext)
        return 1

    def _failed(self, store: Store, out: Outgoing, ext: str, reason: str) -> int:
        _set_state(store, out, ext, "failed", reason)
        self._retry.pop(out.message_id, None)
        self.failed += 1
        self.last_error = reason
        log.error("reply %s on case %s not sent, for good: %s", out.message_id, out.case_id, reason)
        return 0

    def status(self) -> dict[str, Any]:
        """What ``/health`` shows: where mail goes, what waits, what went wrong."""
        cur = self.store.cursor()
        try:
            waiting = len(pending(cur, limit=10_000))
            uncertain = cur.con.execute("SELECT count(*) FROM message_refs WHERE direction = 'uncertain'").fetchone()
        finally:
            cur.close()
        return {"relay": f"{self.relay[0]}:{self.relay[1]}" if self.relay else None,
                "state": "sending" if self.relay else "no relay configured: replies are kept unsent",
                "waiting": waiting, "sent": self.sent, "failed": self.failed,
                "uncertain": uncertain[0] if uncertain else 0, "last_error": self.last_error}
