"""E-mail as a desk channel, inbound: parse a message and thread it onto a case.

No network and no database here: :mod:`parcours.desk.smtp` receives and sends (and
composes replies), the desk stores what :func:`parse` returns.

* :func:`parse` turns raw RFC 5322 bytes into an :class:`InboundMail`: sender, subject
  (RFC 2047 decoded), date, Message-ID, threading headers, the text (text/plain, else
  the HTML as text), the *new* text of a reply (quotes and signature stripped), the
  attachments that pass :class:`MailLimits` and the ones refused with their reason, and
  an auto-reply flag so the desk never answers a robot (mail loops).
* Mail that is not mail (no header section, no From, binary garbage, header injection)
  raises :class:`MailError`; :func:`quarantine_raw` keeps its bytes on disk.
* :func:`find_case` threads by Message-ID first (RFC 5322 §3.6.4), then by the case
  token in the subject (``[#C-12345]``).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath, PureWindowsPath

__all__ = [
    "Attachment", "Bounce", "CASE_TOKEN", "CaseToken", "DEFAULT_CONTENT_TYPES", "InboundMail", "MailError",
    "MailLimits",
    "RefusedAttachment", "find_case", "html_to_text", "new_text", "normalise_subject", "parse",
    "quarantine_raw", "thread_keys",
]

MiB = 1024 * 1024

#: PDF, images, plain text and office documents: what customers send a desk (no HTML, no SVG, no archives)
DEFAULT_CONTENT_TYPES: frozenset[str] = frozenset({
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "image/heic", "image/heif",
    "image/tiff", "image/bmp", "text/plain", "text/csv", "application/rtf", "application/msword",
    "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
})
#: refused whatever type they declare: a renamed executable is still an executable
_EXECUTABLE_EXT = frozenset(".exe .com .bat .cmd .scr .pif .msi .dll .js .jse .vbs .vbe .wsf .ps1 .jar .hta .lnk "
                            ".sh .app .iso .img".split())
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")
#: at most once per message (RFC 5322 §3.6); a second one is a forgery or an injection
_SINGLE_FIELDS = ("from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "in-reply-to",
                  "references")
_FIELD_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_MSG_ID = re.compile(r"<[^<>\s]+>")
_SURROGATES = re.compile("[\udc80-\udcff]+")
_MAX_DEPTH = 20


class MailError(ValueError):
    """Mail that cannot be taken or sent as it is; the message says why.

    ``temporary`` is true when trying again later may work (an SMTP 4xx, a server down)."""

    def __init__(self, reason: str, *, temporary: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary


@dataclass(frozen=True)
class MailLimits:
    """What the desk accepts. ``max_message_bytes`` is also the SMTP ``SIZE`` (refused with 552)."""

    max_message_bytes: int = 30 * MiB
    max_attachment_bytes: int = 10 * MiB
    max_attachments_bytes: int = 25 * MiB
    max_attachments: int = 50
    content_types: frozenset[str] = DEFAULT_CONTENT_TYPES


@dataclass(frozen=True)
class Attachment:
    """A stored attachment; ``sha256`` lets the desk deduplicate and prove integrity."""

    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes = field(repr=False)

    @classmethod
    def of(cls, filename: str, content_type: str, data: bytes) -> Attachment:
        """An attachment from its bytes (for outbound mail)."""
        return cls(filename, content_type, len(data), hashlib.sha256(data).hexdigest(), data)


@dataclass(frozen=True)
class RefusedAttachment:
    """An attachment that was not kept (the mail was), and why: shown to the agent."""

    filename: str
    content_type: str
    size: int
    reason: str


@dataclass(frozen=True)
class InboundMail:
    """One parsed message. Message-IDs keep their angle brackets, as in the headers."""

    from_addr: str
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime
    message_id: str
    message_id_generated: bool
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str
    new_text: str
    attachments: tuple[Attachment, ...]
    refused: tuple[RefusedAttachment, ...]
    auto_reply: str | None
    size: int
    envelope_to: tuple[str, ...] = ()
    bounce: Bounce | None = None  #: a delivery status notification (about a mail the desk sent)

    @property
    def is_auto_reply(self) -> bool:
        """Whether the desk must not answer this mail (RFC 3834)."""
        return self.auto_reply is not None


@dataclass(frozen=True)
class Bounce:
    """What a delivery status notification (RFC 3464) says about one recipient of a mail."""

    action: str                       #: failed, delayed, delivered, relayed or expanded
    recipient: str | None             #: Final-Recipient, without its address type
    status: str | None                #: the enhanced status code, e.g. 5.1.1 (RFC 3463)
    diagnostic: str | None            #: the receiving server's words (Diagnostic-Code)
    original_message_id: str | None   #: the Message-ID of the mail it is about

    @property
    def failed(self) -> bool:
        return self.action == "failed"


@dataclass(frozen=True)
class CaseToken:
    """The case reference put in subjects: ``pattern`` has a ``case`` group, ``template`` a ``{case}`` field."""

    pattern: str = r"\[#(?P<case>(?:C-|D)\d+)\]"  # desk cases are D123; C-123 for ids brought along
    template: str = "[#{case}]"

    def find(self, subject: str) -> str | None:
        """The case id in ``subject``, if any."""
        found = re.search(self.pattern, subject)
        return found.group("case") if found else None

    def format(self, case_id: str) -> str:
        """The token for ``case_id``."""
        return self.template.format(case=case_id)

    def strip(self, subject: str) -> str:
        """``subject`` without any token."""
        return re.sub(self.pattern, " ", subject)


CASE_TOKEN = CaseToken()


# -- inbound -------------------------------------------------------------------------------
def parse(raw: bytes, *, limits: MailLimits, received_at: datetime | None = None, envelope_from: str | None = None,
          envelope_to: Sequence[str] = ()) -> InboundMail:
    """Parse ``raw`` or raise :class:`MailError`. ``received_at`` stands in for a missing Date;
    an empty ``envelope_from`` (``MAIL FROM:<>``) marks a bounce, which is never answered."""
    if len(raw) > limits.max_message_bytes:
        raise MailError(f"message of {len(raw)} bytes is over the limit of {limits.max_message_bytes}")
    try:
        return _parse(raw, limits, received_at, envelope_from, envelope_to)
    except (MailError, MemoryError):
        raise
    except Exception as exc:  # the stdlib parser has failure modes on hostile input: still malformed mail
        raise MailError(f"unreadable message ({type(exc).__name__}: {exc})") from exc


def _parse(original: bytes, limits: MailLimits, received_at: datetime | None, envelope_from: str | None,
           envelope_to: Sequence[str]) -> InboundMail:
    raw = _utf8_headers(original)
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    from_name, from_addr = _sender(msg)
    subject = _text8(str(msg.get("Subject", ""))).strip()
    message_id, generated = _message_id(msg, original)
    text = _body_text(msg)
    attachments, refused = _attachments(msg, limits)
    references = tuple(_MSG_ID.findall(str(msg.get("References", ""))))
    in_reply_to = next(iter(_MSG_ID.findall(str(msg.get("In-Reply-To", "")))), None)
    return InboundMail(
        from_addr=from_addr, from_name=from_name, to=_addresses(msg, "To"), cc=_addresses(msg, "Cc"),
        subject=subject, date=_date(msg, received_at), message_id=message_id, message_id_generated=generated,
        in_reply_to=in_reply_to, references=references, text=text, new_text=new_text(text),
        attachments=attachments, refused=refused, auto_reply=_auto_reply(msg, subject, envelope_from),
        size=len(original), envelope_to=tuple(a.strip().lower() for a in envelope_to), bounce=_bounce(msg))


# -- delivery status notifications (RFC 3464) -----------------------------------------------
def _bounce(msg: EmailMessage) -> Bounce | None:
    """The DSN's first recipient report and the Message-ID of the mail it is about; None when
    this is not a ``multipart/report; report-type=delivery-status``."""
    if msg.get_content_type() != "multipart/report" or \
            str(msg.get_param("report-type", "")).lower() != "delivery-status":
        return None
    fields: dict[str, str] = {}
    original: str | None = None
    if not any(part.get_content_type() == "message/delivery-status" for part in msg.walk()):
        return None  # a report that reports nothing: not a bounce (and cannot mark a reply undelivered)
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status" and not fields:
            fields = _dsn_fields(part)
        elif ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers") and original is None:
            original = _original_id(part)
    action = fields.get("action", "").split()[0].lower() if fields.get("action") else "failed"
    recipient = fields.get("final-recipient") or fields.get("original-recipient")
    if recipient and ";" in recipient:
        recipient = recipient.split(";", 1)[1]
    status = (fields.get("status") or "").split()[0] if fields.get("status") else None
    diagnostic = fields.get("diagnostic-code")
    if diagnostic and ";" in diagnostic:
        diagnostic = diagnostic.split(";", 1)[1]
    return Bounce(action, recipient.strip().lower() if recipient else None, status,
                  " ".join(diagnostic.split())[:1000] if diagnostic else None, original)


def _dsn_fields(part: Message) -> dict[str, str]:
    """The per-recipient fields of a ``message/delivery-status`` part (the first recipient
    block that has an Action; the per-message block otherwise)."""
    blocks = part.get_payload()
    if isinstance(blocks, str):  # some parsers leave it as text: field blocks separated by blank lines
        from email.parser import HeaderParser
        blocks = [HeaderParser().parsestr(b) for b in re.split(r"\r?\n\r?\n", blocks) if b.strip()]
    out: dict[str, str] = {}
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, Message):
            continue
        here = {str(k).lower(): _text8(str(v)).strip() for k, v in block.items()}
        out = {**here, **out} if "action" not in here else {**out, **here}
        if "action" in here:
            break
    return out


def _original_id(part: Message) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):  # message/rfc822
        headers = str(payload[0].get("Message-ID", ""))
    else:                                     # text/rfc822-headers: only its header block
        text = part.get_payload(decode=True)
        headers = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
        found = re.search(r"^Message-ID:\s*(.+)$", headers, re.I | re.M)
        headers = found.group(1) if found else ""
    ids = _MSG_ID.findall(headers)
    return ids[0] if ids else None


def quarantine_raw(directory: Path, raw: bytes, reason: str) -> Path:
    """Keep refused bytes (``<time>-<sha256>.eml``, reason beside it in ``.json``), fsync'd
    before returning, so a refusal never loses the customer's words."""
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(raw).hexdigest()
    now = datetime.now(timezone.utc)
    path = directory / f"{now:%Y%m%dT%H%M%S%fZ}-{digest[:16]}.eml"
    meta = {"reason": reason, "sha256": digest, "size": len(raw), "received_at": now.isoformat()}
    _write_synced(path, raw)
    _write_synced(path.with_suffix(".json"), json.dumps(meta, ensure_ascii=False).encode())
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def _write_synced(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def _utf8_headers(raw: bytes) -> bytes:
    """Check the header section and re-encode 8-bit headers to UTF-8 (old clients send Latin-1)."""
    if re.match(rb"From [^\s:]", raw):  # an mbox separator line ("From sender date"), not a header
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    head, sep, body = _split_head(raw)
    _check_head(head)
    if head.isascii():
        return raw
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        head = _decode_8bit(head).encode("utf-8")
    return head + sep + body


def _split_head(raw: bytes) -> tuple[bytes, bytes, bytes]:
    found = re.search(rb"\r?\n\r?\n", raw)
    return (raw[:found.start()], found.group(), raw[found.end():]) if found else (raw, b"", b"")


def _check_head(head: bytes) -> None:
    lines = re.split(rb"\r?\n", head)
    if not _FIELD_LINE.match(lines[0]):
        raise MailError("not an RFC 5322 message: it does not start with a header field")
    counts: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if _CONTROL.search(line):
            raise MailError(f"control character in header line {number} (binary data or header injection)")
        if line[:1] in (b" ", b"\t"):
            continue
        if not _FIELD_LINE.match(line):
            raise MailError(f"header line {number} is not 'Name: value'")
        name = line.split(b":", 1)[0].strip().decode("ascii").lower()
        counts[name] = counts.get(name, 0) + 1
    for name in _SINGLE_FIELDS:
        if counts.get(name, 0) > 1:
            raise MailError(f"the {name.title()} header appears {counts[name]} times (header injection?)")
    if "from" not in counts:
        raise MailError("no From header: the sender is unknown")


def _sender(msg: EmailMessage) -> tuple[str, str]:
    addresses = getattr(msg["From"], "addresses", ())
    for address in addresses:
        if address.username and address.domain:
            return _text8(address.display_name).strip(), f"{address.username}@{address.domain}".strip().lower()
    raise MailError(f"the From header holds no usable address: {_text8(str(msg['From']))[:100]!r}")


def _addresses(msg: EmailMessage, name: str) -> tuple[str, ...]:
    found = getattr(msg[name], "addresses", ()) if msg[name] is not None else ()
    return tuple(f"{a.username}@{a.domain}".lower() for a in found if a.username and a.domain)


def _date(msg: EmailMessage, received_at: datetime | None) -> datetime:
    try:
        value = getattr(msg["Date"], "datetime", None)
    except (ValueError, TypeError, OverflowError):
        value = None
    if not isinstance(value, datetime):
        return received_at or datetime.now(timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # "-0000": zone unknown


def _message_id(msg: EmailMessage, raw: bytes) -> tuple[str, bool]:
    """The Message-ID, or one derived from the bytes: a retried delivery gets the same one."""
    found = _MSG_ID.findall(str(msg.get("Message-ID", "")))
    if found:
        return found[0], False
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@generated.parcours.invalid>", True


def _auto_reply(msg: EmailMessage, subject: str, envelope_from: str | None) -> str | None:
    """Why this mail was sent by a machine (RFC 3834 and the usual vendor headers), or None."""
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    precedence = str(msg.get("Precedence", "")).strip().lower()
    checks = [
        (auto not in ("", "no"), f"Auto-Submitted: {auto}"),
        ("X-Autoreply" in msg or "X-Autorespond" in msg, "X-Autoreply header"),
        (precedence in ("bulk", "auto_reply", "junk", "list"), f"Precedence: {precedence}"),
        (msg.get_content_type() == "multipart/report", "delivery or read report"),
        (_null(envelope_from) or _null(msg.get("Return-Path")), "null sender (bounce)"),
        (_AUTO_SUBJECT.search(subject) is not None, "auto-reply subject"),
    ]
    return next((reason for hit, reason in checks if hit), None)


def _null(sender: object) -> bool:
    """``MAIL FROM:<>`` or ``Return-Path: <>``: a bounce or a report (RFC 5321 §4.5.5)."""
    return sender is not None and not str(sender).strip("<> ")


#: subjects of out-of-office answers and bounces ("Colis non remis" from a customer is not one: anchored)
_AUTO_SUBJECT = re.compile(r"r[ée]ponse automatique|automatic reply|auto[- ]?reply|out of (the )?office|"
                           r"absen(ce|t) du bureau|message d'absence|delivery status notification|"
                           r"^(undeliverable|non remis|undelivered mail)\b", re.I)


# -- text ----------------------------------------------------------------------------------
def _body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _decode(_payload(part), part.get_content_charset())
    text = html_to_text(text) if part.get_content_subtype() == "html" else text
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _payload(part: MIMEPart) -> bytes:
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    inner = part.get_payload(0) if part.is_multipart() else None  # message/rfc822
    return inner.as_bytes(policy=policy.SMTP) if isinstance(inner, Message) else b""


def _decode(data: bytes, declared: str | None) -> str:
    """Bytes to text. Latin-1 and ASCII labels are often wrong in French mail: UTF-8 is tried
    first (Latin-1 text is almost never valid UTF-8), then the label read as cp1252 (which
    adds € and curly quotes), then Latin-1, which decodes anything."""
    labels = {"iso-8859-1", "iso-8859-15", "latin-1", "latin1", "us-ascii", "ascii", "windows-1252", "cp1252"}
    declared = (declared or "").lower()
    order = ["utf-8", "cp1252"] if not declared or declared in labels else [declared, "utf-8", "cp1252"]
    for charset in order:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def _decode_8bit(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _decode(data, "cp1252")


def _text8(value: str) -> str:
    """Undo the parser's surrogate escapes of raw 8-bit header bytes."""
    return _SURROGATES.sub(lambda m: _decode_8bit(m.group().encode("utf-8", "surrogateescape")), value)


class _HtmlText(HTMLParser):
    """HTML to plain lines; ``<blockquote>`` becomes ``> `` so quoted replies strip the same way."""

    _LINE = frozenset("div br tr li section article header footer".split())
    _PARAGRAPH = frozenset("p ul ol table h1 h2 h3 h4 h5 h6 hr pre blockquote".split())
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._chunks: list[str] = []
        self._quote = 0
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in self._SKIP
        self._break(tag)
        self._quote += tag == "blockquote"
        if tag == "li":
            self._chunks.append("- ")

    def handle_endtag(self, tag: str) -> None:
        self._break(tag)
        self._quote -= tag == "blockquote" and self._quote > 0
        self._skip -= tag in self._SKIP and self._skip > 0

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._chunks.append(data)

    def _break(self, tag: str) -> None:
        if tag in self._LINE or tag in self._PARAGRAPH:
            line = " ".join("".join(self._chunks).split())
            if line:
                self.lines.append("> " * self._quote + line)
            self._chunks = []
        if tag in self._PARAGRAPH and self.lines and self.lines[-1]:
            self.lines.append("")

    def text(self) -> str:
        self.close()
        self._break("p")
        return "\n".join(self.lines).strip()


def html_to_text(html: str) -> str:
    """Readable text of an HTML body (stdlib only): blocks become lines, quotes get ``> ``."""
    parser = _HtmlText()
    parser.feed(html)
    return parser.text()


#: "Le lun. 3 mars 2026 à 10:00, X a écrit :" / "On Mon, Mar 3, 2026 at 10:00 AM X wrote:" (always a date)
_ATTRIBUTION = re.compile(r"^\s*(le\s(?=.*\d).{1,200}\sa\s+[ée]crit|on\s(?=.*\d).{1,200}\swrote)\s*:\s*$", re.I)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(original message|message d'origine|message original)\s*-{2,}\s*$", re.I)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(de|from)\s*\*?\s*:", re.I)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(envoy[ée]|sent|date|[àa]|to|objet|subject)\s*\*?\s*:", re.I)
_SIGNATURE = re.compile(r"^(--\s*|(envoy[ée] (de|depuis) mon|sent from my|get outlook for|obtenir outlook)\b.*)$",
                        re.I)
_SEPARATOR = re.compile(r"^[\s_\-=*]*$")


def new_text(text: str) -> str:
    """What the sender wrote this time: cut at the first reply attribution ("Le … a écrit :",
    "On … wrote:"), Outlook header block or "-----Original Message-----", or at the
    signature ("-- ", "Envoyé de mon iPhone"); drop ``>`` lines. All text if nothing is left."""
    lines = text.splitlines()
    kept = [line for line in lines[:_history_start(lines)] if not line.lstrip().startswith(">")]
    while kept and _SEPARATOR.match(kept[-1]):
        kept.pop()
    result = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in kept)).strip()
    return result or text.strip()


def _history_start(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        two = f"{line} {lines[i + 1]}" if i + 1 < len(lines) else line
        if _ATTRIBUTION.match(line) or _ATTRIBUTION.match(two) or _ORIGINAL.match(line) or _SIGNATURE.match(line):
            return i
        if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_NEXT.match(n) for n in lines[i + 1:i + 4]):
            return i
    return len(lines)


# -- attachments ---------------------------------------------------------------------------
def _attachments(msg: EmailMessage, limits: MailLimits) -> tuple[tuple[Attachment, ...], tuple[RefusedAttachment, ...]]:
    kept: list[Attachment] = []
    refused: list[RefusedAttachment] = []
    body = msg.get_body(preferencelist=("plain", "html"))
    for number, part in enumerate(_attachment_parts(msg, body), 1):
        data = _payload(part)
        name = _filename(part, number)
        ctype = _content_type(part, name)
        reason = _refusal(name, ctype, data, limits, sum(a.size for a in kept), len(kept))
        if reason:
            refused.append(RefusedAttachment(name, ctype, len(data), reason))
        else:
            kept.append(Attachment.of(name, ctype, data))
    return tuple(kept), tuple(refused)


def _attachment_parts(part: MIMEPart, body: MIMEPart | None, depth: int = 0,
                      in_alternative: bool = False) -> Iterator[MIMEPart]:
    """Leaf parts that are not the body nor an alternative rendering of it (message/rfc822 is a leaf)."""
    if depth > _MAX_DEPTH:
        raise MailError(f"MIME parts nested deeper than {_MAX_DEPTH}")
    if part.get_content_maintype() == "multipart":
        alternative = part.get_content_subtype() == "alternative"
        for child in part.iter_parts():
            assert isinstance(child, MIMEPart)
            yield from _attachment_parts(child, body, depth + 1, alternative)
    elif part is not body and not (in_alternative and part.get_content_maintype() == "text"
                                   and part.get_content_disposition() != "attachment"):
        yield part


def _filename(part: MIMEPart, number: int) -> str:
    """The decoded file name (RFC 2231/2047), without any directory; a made-up one if absent."""
    raw = _text8(part.get_filename() or "")
    name = PurePosixPath(PureWindowsPath(raw).name).name
    name = "".join(ch for ch in name if ch.isprintable()).strip(" .")[:200]
    return name or f"part-{number}{mimetypes.guess_extension(part.get_content_type()) or '.bin'}"


def _content_type(part: MIMEPart, filename: str) -> str:
    declared = part.get_content_type()
    if declared == "application/octet-stream":
        return mimetypes.guess_type(filename, strict=False)[0] or declared
    return declared


def _refusal(name: str, ctype: str, data: bytes, limits: MailLimits, kept_bytes: int, kept: int) -> str | None:
    """Why an attachment is not kept, or None. Executables are refused by name and by content."""
    checks = [
        (ctype not in limits.content_types, f"content type {ctype} is not accepted"),
        (Path(name).suffix.lower() in _EXECUTABLE_EXT, f"executable file type {Path(name).suffix.lower()}"),
        (data.startswith(_EXECUTABLE_MAGIC), "executable content"),
        (len(data) > limits.max_attachment_bytes,
         f"{len(data)} bytes is over the limit of {limits.max_attachment_bytes} per attachment"),
        (kept_bytes + len(data) > limits.max_attachments_bytes,
         f"attachments of this mail would exceed {limits.max_attachments_bytes} bytes in total"),
        (kept >= limits.max_attachments, f"more than {limits.max_attachments} attachments"),
    ]
    return next((reason for hit, reason in checks if hit), None)


# -- threading -----------------------------------------------------------------------------
def thread_keys(mail: InboundMail) -> list[str]:
    """Message-IDs this mail answers, closest first: In-Reply-To, then References newest first."""
    keys = [mail.in_reply_to] if mail.in_reply_to else []
    keys += reversed(mail.references)
    return [k for i, k in enumerate(keys) if k not in keys[:i] and k != mail.message_id]


def find_case(mail: InboundMail, lookup: Callable[[list[str]], str | None], *,
              token: CaseToken = CASE_TOKEN) -> str | None:
    """The case this mail belongs to: the case of a message it answers (``lookup`` maps stored
    Message-IDs to a case), else the subject's token. The token is only a claim: the desk
    should check the sender belongs to that case's person before trusting it."""
    keys = thread_keys(mail)
    return (lookup(keys) if keys else None) or token.find(mail.subject)


_PREFIX = re.compile(r"^\s*(?:(?:re|r[ée]p\.?|fwd?|tr|transf|aw|wg)\s*(?:\[\d+\]|\(\d+\))?\s*:"
                     r"|r[ée]f\s*(?:\.\s*:?|:))\s*", re.I)


def normalise_subject(subject: str, *, token: CaseToken = CASE_TOKEN) -> str:
    """The subject without reply/forward prefixes (Re:, RE:, Fwd:, TR:, Réf., Rép.…) nor case
    token; compare them with ``casefold()`` when threading falls back to subjects."""
    subject = " ".join(token.strip(subject).split())
    while (stripped := _PREFIX.sub("", subject, count=1)) != subject:
        subject = stripped
    return subject.strip()
