"""The e-mail channel wired to the desk: inbound mail becomes a customer message on a case.

:mod:`.mail` parses and threads, :mod:`.smtp` listens and sends, :mod:`.cases` owns the
cases; this module only decides which case a mail answers and hands it to ``receive``.
The outbound half (agents' replies sent by mail) is :mod:`.outbox`.

A bounce (a delivery status notification about a reply the desk sent) is not a customer's
message: it is recorded on the reply's case as a ``delivery_failed`` (or ``delivery_delayed``)
event that the case page shows, and no person is created for ``MAILER-DAEMON``. A bounce
about a mail the desk did not send is kept in the mail quarantine with that reason.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from parcours.desk import cases
from parcours.desk.mail import CASE_TOKEN, CaseToken, InboundMail, MailLimits, find_case, quarantine_raw
from parcours.desk.records import _event
from parcours.desk.smtp import SmtpListener
from parcours.store import Store

__all__ = ["DESK_TOKEN", "BouncedReply", "MailSettings", "receive_mail", "record_bounce", "start_listener"]

log = logging.getLogger(__name__)

RELAY_TLS = ("none", "starttls", "tls")

#: the token in subjects (``[#D123]``, written by the outbox, threads back)
DESK_TOKEN = CASE_TOKEN


@dataclass(frozen=True)
class MailSettings:
    """How the served desk speaks SMTP (``parcours serve --smtp-port … --mail-domain …``).

    ``smtp_port`` None: no inbound listener. ``relay`` None: replies are kept, not sent."""

    domain: str
    smtp_host: str = "127.0.0.1"
    smtp_port: int | None = None
    relay: tuple[str, int] | None = None
    from_addr: str | None = None      #: default ``Service client <support@domain>``
    outbox_interval: float = 2.0      #: seconds between two looks for replies to send
    relay_tls: str = "none"           #: ``none``, ``starttls`` (port 587) or ``tls`` (port 465)
    relay_user: str | None = None     #: login on the relay (only over TLS in production)
    relay_password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.relay_tls not in RELAY_TLS:
            raise ValueError(f"relay TLS is one of {', '.join(RELAY_TLS)}, not {self.relay_tls!r}")

    @property
    def sender(self) -> str:
        return self.from_addr or f"Service client <support@{self.domain}>"

    @staticmethod
    def parse_relay(value: str | None) -> tuple[str, int] | None:
        """``host:port`` (port 25 when omitted) → (host, port); empty → None."""
        if not value:
            return None
        host, _, port = value.strip().rpartition(":") if ":" in value else (value.strip(), ":", "25")
        if not host or not port.isdigit():
            raise ValueError(f"an SMTP relay is host:port, not {value!r}")
        return host, int(port)

    @classmethod
    def from_env(cls) -> MailSettings | None:
        """Settings from ``PARCOURS_MAIL_DOMAIN``, ``PARCOURS_SMTP_HOST``, ``PARCOURS_SMTP_PORT``,
        ``PARCOURS_SMTP_RELAY``, ``PARCOURS_SMTP_RELAY_TLS``, ``PARCOURS_SMTP_RELAY_USER``,
        ``PARCOURS_SMTP_RELAY_PASSWORD``, ``PARCOURS_MAIL_FROM`` (None without a domain)."""
        domain = os.environ.get("PARCOURS_MAIL_DOMAIN")
        if not domain:
            return None
        port, env = os.environ.get("PARCOURS_SMTP_PORT"), os.environ.get
        return cls(domain, env("PARCOURS_SMTP_HOST", "127.0.0.1"), int(port) if port else None,
                   cls.parse_relay(env("PARCOURS_SMTP_RELAY")), env("PARCOURS_MAIL_FROM"),
                   relay_tls=env("PARCOURS_SMTP_RELAY_TLS", "none"), relay_user=env("PARCOURS_SMTP_RELAY_USER"),
                   relay_password=env("PARCOURS_SMTP_RELAY_PASSWORD"))


def _person_of_email(store: Store, address: str) -> str | None:
    row = store.con.execute("SELECT person_id FROM identities WHERE kind = 'email' AND value = ? LIMIT 1",
                            [address.strip().lower()]).fetchone()
    return str(row[0]) if row else None


def _case_person(store: Store, case_id: str) -> str | None:
    row = store.con.execute("SELECT person_id FROM cases WHERE case_id = ?", [case_id]).fetchone()
    return str(row[0]) if row and row[0] else None


def thread_case(store: Store, mail: InboundMail, token: CaseToken = DESK_TOKEN) -> str | None:
    """The case this mail answers: by Message-ID (a desk message it replies to), else by the
    subject's case token — only when the sender is an address of that case's person, since
    anyone can type a token (otherwise linking decides, and may suggest)."""
    by_ref: list[str | None] = []

    def lookup(keys: list[str]) -> str | None:
        by_ref.append(cases.case_for_refs(store, keys))
        return by_ref[-1]

    found = find_case(mail, lookup, token=token)
    if found is None or (by_ref and by_ref[-1] == found):
        return found
    owner = _case_person(store, found)
    return found if owner is not None and owner == _person_of_email(store, mail.from_addr) else None


def receive_mail(store: Store, mail: InboundMail, *, token: CaseToken = DESK_TOKEN,
                 now: datetime | None = None) -> cases.Received:
    """Store one inbound mail as the customer's message (idempotent on its Message-ID: a
    retried delivery is a ``duplicate``). The time is when the desk received it (the SLA
    clocks run from then; the ``Date`` header is the sender's claim)."""
    return cases.receive(
        store, channel="email", identifiers={"email": mail.from_addr}, text=mail.new_text or mail.text or None,
        ts=now or datetime.now(timezone.utc), subject=mail.subject or None, external_id=mail.message_id,
        in_reply_to_case=thread_case(store, mail, token), attachments=(*mail.attachments, *mail.refused))


@dataclass(frozen=True)
class BouncedReply:
    case_id: str
    message_id: str       #: the desk message that did not reach the customer
    kind: str             #: the case event written: delivery_failed or delivery_delayed
    duplicate: bool       #: this bounce was recorded before (a retried delivery)


def record_bounce(store: Store, mail: InboundMail, *, now: datetime | None = None) -> BouncedReply | None:
    """Record a bounce on the case of the reply it is about (None: the desk sent no such mail).
    Idempotent on the bounce's own Message-ID."""
    b = mail.bounce
    assert b is not None, "record_bounce takes a delivery status notification"
    # the returned original names the bounced mail; In-Reply-To / References only when it is missing
    keys = [b.original_message_id] if b.original_message_id else [k for k in (mail.in_reply_to, *mail.references) if k]
    row = None
    for key in keys:
        row = store.con.execute("SELECT message_id, case_id FROM message_refs WHERE kind = 'email' "
                                "AND direction <> 'in' AND external_id = ? ORDER BY created_at DESC LIMIT 1",
                                [key]).fetchone()
        if row is not None:
            break
    if row is None:
        return None
    message_id, case_id = str(row[0]), str(row[1])
    kind = "delivery_failed" if b.failed else f"delivery_{b.action}" if b.action == "delayed" else "delivery_report"
    with store.write_lock, store.transaction() as con:
        seen = con.execute("SELECT 1 FROM case_events WHERE case_id = ? AND kind LIKE 'delivery_%' "
                           "AND (detail->>'bounce_id') = ?", [case_id, mail.message_id]).fetchone()
        if seen is None:
            _event(con, case_id, None, now or datetime.now(timezone.utc), "mail", kind, {
                "message_id": message_id, "recipient": b.recipient, "action": b.action, "status": b.status,
                "diagnostic": b.diagnostic, "bounce_id": mail.message_id})
    store.touch()
    return BouncedReply(case_id, message_id, kind, seen is not None)


def start_listener(store: Store, settings: MailSettings, limits: MailLimits | None = None) -> SmtpListener | None:
    """The desk's inbound SMTP listener (None when no port is set). Each mail is stored on a
    cursor of its own (the listener calls from worker threads); a failure answers 451 and
    the sending server retries. Auto-replies are stored (agents see them) and never answered
    automatically: the desk sends no automatic acknowledgement at all."""
    if settings.smtp_port is None:
        return None

    def on_mail(mail: InboundMail, raw: bytes) -> None:
        cur = store.cursor()
        try:
            if mail.bounce is not None:
                _on_bounce(cur, mail, raw)
                return
            got = receive_mail(cur, mail)
        finally:
            cur.close()
        log.info("mail %s from %s → case %s (%s%s)", mail.message_id, mail.from_addr, got.case_id, got.how,
                 f", auto-reply: {mail.auto_reply}" if mail.auto_reply else "")

    listener = SmtpListener(settings.smtp_host, settings.smtp_port, on_mail, limits, domains=[settings.domain],
                            quarantine=quarantine_dir(store))
    listener.start()
    return listener


def _on_bounce(store: Store, mail: InboundMail, raw: bytes) -> None:
    got = record_bounce(store, mail)
    b = mail.bounce
    assert b is not None
    if got is None:
        kept = quarantine_raw(quarantine_dir(store), raw, "bounce about a mail the desk did not send: " + json.dumps(
            {"original": b.original_message_id, "recipient": b.recipient, "status": b.status}))
        log.warning("bounce %s about %s matches no desk reply; kept in %s", mail.message_id, b.original_message_id,
                    kept)
        return
    log.info("bounce %s: reply %s on case %s (%s %s)", mail.message_id, got.message_id, got.case_id, b.action,
             b.status)


def quarantine_dir(store: Store) -> Path:
    """Malformed mail is kept beside the store, with why it was refused."""
    return store.path.with_name(store.path.name + ".mail-quarantine")
