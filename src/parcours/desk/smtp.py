"""E-mail on the wire: an inbound SMTP listener for the desk, replies and sending them.

* :class:`SmtpListener` receives mail for the desk's domains (aiosmtpd in a thread),
  parses it with :func:`parcours.desk.mail.parse` and hands it to ``on_mail``. The SMTP
  answer tells the sending server what to do, so nothing is lost:

  ========  ===============================================================================
  250       parsed and handed over
  550       ``RCPT TO`` a domain the desk does not serve (no open relay)
  552       bigger than ``MailLimits.max_message_bytes`` (``SIZE`` at ``MAIL``, or during ``DATA``)
  554       malformed (not RFC 5322, no From, header injection…): the raw bytes are quarantined first
  451       ``on_mail`` failed, or the quarantine could not be written: the sender retries later
  ========  ===============================================================================

* :func:`compose_reply` builds an agent's answer that mail clients thread (RFC 5322 §3.6.4).
* :func:`send` hands a message to an SMTP server; every failure is a :class:`MailError`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import socket
import ssl
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

from parcours.desk.mail import (
    CASE_TOKEN,
    Attachment,
    CaseToken,
    InboundMail,
    MailError,
    MailLimits,
    normalise_subject,
    parse,
    quarantine_raw,
)

__all__ = ["SmtpListener", "compose_reply", "send"]

log = logging.getLogger(__name__)


# -- outbound ------------------------------------------------------------------------------
def compose_reply(case_id: str, to: str, subject: str, body_text: str, *, in_reply_to: str | None,
                  references: Sequence[str] = (), from_addr: str, domain: str, html: str | None = None,
                  attachments: Sequence[Attachment] = (), token: CaseToken = CASE_TOKEN,
                  auto: bool = False) -> EmailMessage:
    """An answer on a case that mail clients thread under the customer's message: a new
    Message-ID under ``domain``, In-Reply-To, References = the parent's References plus
    the parent (RFC 5322 §3.6.4), "Re: <subject> [#case]", UTF-8 text (and HTML) parts.
    ``auto`` marks a robot's message (``Auto-Submitted: auto-replied``, RFC 3834)."""
    msg = EmailMessage()
    try:
        msg["From"] = from_addr
        msg["To"] = to
        msg["Subject"] = " ".join(["Re:", *normalise_subject(subject, token=token).split(), token.format(case_id)])
        msg["Date"] = format_datetime(datetime.now(timezone.utc))
        msg["Message-ID"] = f"<{uuid.uuid4().hex}.{re.sub(r'[^A-Za-z0-9-]', '', case_id)}@{domain}>"
        _thread_headers(msg, in_reply_to, references)
    except (ValueError, IndexError) as exc:
        raise MailError(f"cannot compose the reply: {exc}") from exc
    if auto:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(body_text, charset="utf-8", cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    for att in attachments:
        maintype, _, subtype = att.content_type.partition("/")
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype or "octet-stream", filename=att.filename)
    return msg


def _thread_headers(msg: EmailMessage, in_reply_to: str | None, references: Sequence[str]) -> None:
    parent = _bracket(in_reply_to) if in_reply_to else None
    chain = [_bracket(r) for r in references]
    if parent:
        msg["In-Reply-To"] = parent
        chain = [r for r in chain if r != parent] + [parent]
    if chain:
        msg["References"] = " ".join(chain[:1] + chain[1:][-19:])  # the root and the 19 closest


def _bracket(message_id: str) -> str:
    value = message_id.strip()
    if not re.fullmatch(r"<?[^<>\s]+>?", value):
        raise MailError(f"not a Message-ID: {message_id!r}")
    return f"<{value.strip('<>')}>"


def send(msg: EmailMessage, host: str, port: int, *, starttls: bool = False, implicit_tls: bool = False,
         user: str | None = None, password: str | None = None, timeout: float = 30.0,
         context: ssl.SSLContext | None = None) -> dict[str, str]:
    """Hand ``msg`` to the SMTP server at ``host:port`` (STARTTLS, or TLS from the start on
    port 465; login if ``user``). Returns the recipients the server refused while accepting
    others (``{address: "550 …"}``); raises :class:`MailError` when nothing was sent, with
    ``temporary`` set for 4xx answers and unreachable servers (retry later)."""
    where = f"{host}:{port}"
    try:
        with _connect(host, port, implicit_tls, timeout, context) as client:
            if starttls:
                client.starttls(context=context or ssl.create_default_context())
            if user is not None:
                client.login(user, password or "")
            refused = client.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        answers = {rcpt: _answer(code, text) for rcpt, (code, text) in exc.recipients.items()}
        raise MailError(f"SMTP server {where} refused every recipient: {answers}",
                        temporary=all(a.startswith("4") for a in answers.values())) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"SMTP server {where} refused the login: {_answer(exc.smtp_code, exc.smtp_error)}") from exc
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP server {where} refused the message: {_answer(exc.smtp_code, exc.smtp_error)}",
                        temporary=400 <= exc.smtp_code < 500) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(f"SMTP server {where} does not support this: {exc}") from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise MailError(f"SMTP server {where} closed the connection: {exc}", temporary=True) from exc
    except OSError as exc:  # refused, unreachable, timeout, TLS failure
        raise MailError(f"cannot reach SMTP server {where}: {exc}", temporary=True) from exc
    return {rcpt: _answer(code, text) for rcpt, (code, text) in refused.items()}


def _connect(host: str, port: int, implicit_tls: bool, timeout: float,
             context: ssl.SSLContext | None) -> smtplib.SMTP:
    if implicit_tls:
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=context or ssl.create_default_context())
    return smtplib.SMTP(host, port, timeout=timeout)


def _answer(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"


# -- inbound -------------------------------------------------------------------------------
class SmtpListener:
    """The desk's inbound SMTP server on ``host:port`` (in a thread; start/stop or ``with``).

    It accepts mail for ``domains`` only and calls ``on_mail(mail, raw)`` in a worker thread
    for each parsed message (several at once when several servers deliver: it must be
    thread-safe); ``on_mail`` must store the mail before returning (an exception answers 451
    and the sender tries again). Malformed mail is kept in ``quarantine``."""

    def __init__(self, host: str, port: int, on_mail: Callable[[InboundMail, bytes], None],
                 limits: MailLimits | None = None, *, domains: Iterable[str], quarantine: Path,
                 server_hostname: str | None = None, ready_timeout: float = 5.0) -> None:
        self.host, self.port = host, port
        self.limits = limits or MailLimits()
        self.domains = frozenset(d.strip().lower() for d in domains)
        if not self.domains:
            raise ValueError("an SMTP listener needs at least one domain to accept mail for")
        handler = _Handler(on_mail, self.limits, self.domains, quarantine)
        self._controller = Controller(handler, hostname=host, port=port, ready_timeout=ready_timeout,
                                      server_hostname=server_hostname or min(self.domains),
                                      data_size_limit=self.limits.max_message_bytes)
        self._running = False

    def start(self) -> None:
        """Listen; raises :class:`MailError` when the address cannot be bound."""
        try:
            socket.create_server((self.host, self.port)).close()  # fail fast: aiosmtpd waits ready_timeout
            self._controller.start()
        except OSError as exc:
            raise MailError(f"cannot listen for SMTP on {self.host}:{self.port}: {exc}") from exc
        self._running = True

    def stop(self) -> None:
        """Stop listening (mail being received is cut off; its sender retries)."""
        if self._running:
            self._controller.stop()
            self._running = False

    def __enter__(self) -> SmtpListener:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class _Handler:
    """aiosmtpd hooks: recipients by domain, then parse and hand over off the event loop."""

    def __init__(self, on_mail: Callable[[InboundMail, bytes], None], limits: MailLimits,
                 domains: frozenset[str], quarantine: Path) -> None:
        self.on_mail, self.limits, self.domains, self.quarantine = on_mail, limits, domains, quarantine

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        domain = address.rpartition("@")[2].strip().lower()
        if domain not in self.domains:
            return f"550 5.7.1 relaying denied: {_smtp_text(domain or address)} is not a domain served here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or b""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.deliver, raw, envelope.mail_from, list(envelope.rcpt_tos))

    def deliver(self, raw: bytes, mail_from: str | None, rcpt_tos: list[str]) -> str:
        """The SMTP answer for one message (see the module's table)."""
        try:
            mail = parse(raw, limits=self.limits, received_at=datetime.now(timezone.utc),
                         envelope_from=mail_from, envelope_to=rcpt_tos)
        except MailError as exc:
            return self._refuse(raw, exc.reason)
        try:
            self.on_mail(mail, raw)
        except Exception:
            log.exception("on_mail failed for %s; answered 451, the sender will retry", mail.message_id)
            return "451 4.3.0 temporary failure while storing the message, please try again later"
        return f"250 2.0.0 OK {_smtp_text(mail.message_id)}"

    def _refuse(self, raw: bytes, reason: str) -> str:
        try:
            kept = quarantine_raw(self.quarantine, raw, reason)
        except OSError:
            log.exception("cannot quarantine a malformed message (%s); answered 451", reason)
            return "451 4.3.0 temporary failure, please try again later"
        log.warning("malformed mail quarantined as %s: %s", kept.name, reason)
        return f"554 5.6.0 malformed message: {_smtp_text(reason)} (kept as {kept.stem})"


def _smtp_text(text: str) -> str:
    """One printable ASCII line for an SMTP reply."""
    return re.sub(r"[^\x20-\x7e]", "?", text)[:300]
