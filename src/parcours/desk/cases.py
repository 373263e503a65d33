"""Cases of the service desk: contacts in, replies out, one history per issue.

A small service API over the :class:`~parcours.store.Store`. Every write is one transaction
under ``store.write_lock`` and writes both sides: the canonical ``cases``, ``messages`` and
``touchpoints`` (the analytics contract: the metrics see the desk's activity, channel hops
included) and the desk's own tables (``desk_cases``, ``desk_inbox``, ``case_events``,
``message_refs``, ``attachments``; migration 4). docs/desk.md describes the model.

Concurrency is optimistic: each case has a ``version``, bumped by every change; every
mutating call takes the ``expected_version`` the caller read, and a stale one raises
:class:`ConflictError` naming who changed the case, when and how — nothing is overwritten.

Status machine (``set_status``; closing is :func:`close`)::

    new ─► open ◄─► pending
     │      │         │
     └──────┴──► resolved ──► closed (final)
                    │
                    └─► open (reopen: reopen_count + 1)

* A customer message reopens a resolved case within the reopen window
  (``LinkPolicy.reopen_window``, default 7 days); later, or on a closed case, it opens a
  new case marked as a follow-up of the old one.
* A closed case is final: a reply to it is refused (:class:`ClosedCaseError`) with the way
  out — :func:`open_case` writes to the customer in a new case that follows up the old one.
  Internal notes are still accepted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import duckdb

from parcours import persons
from parcours.desk import clocks, linking
from parcours.desk.agents import mark_assigned, team_for_topic
from parcours.desk.linking import LinkPolicy
from parcours.schema import CHANNELS, MAX_TEXT_CHARS, OUTCOMES, PRIORITIES, STAGES
from parcours.store import Store

ACTIVE = ("new", "open", "pending")  #: statuses of the inbox (and of an agent's load)
PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}  #: low 0 … urgent 3
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("open", "pending", "resolved"),
    "open": ("pending", "resolved"),
    "pending": ("open", "resolved"),
    "resolved": ("open",),
    "closed": (),
}
#: how an agent closes a case (reported by disposition)
DISPOSITIONS = ("solved", "answered", "workaround", "duplicate", "no_reply", "spam", "other")
AUTHORS = ("agent", "bot", "system")  #: who may write through :func:`reply`
UNASSIGNED = "unassigned"  #: ``inbox(assignee=UNASSIGNED)``: cases nobody has
MAX_SUBJECT = 1000
MAX_TOPIC = 100
MAX_EXTERNAL_ID = 998  #: an e-mail header line
EXCERPT_CHARS = 500    #: text kept on the touchpoint
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_ATTACHMENTS = 20
#: accepted attachment types (prefixes); others are refused (the message is kept, the refusal shown)
CONTENT_TYPES = ("image/", "audio/", "video/", "text/plain", "text/csv", "application/pdf", "message/rfc822",
                 "application/zip", "application/msword", "application/vnd.openxmlformats-officedocument.",
                 "application/vnd.oasis.opendocument.", "application/vnd.ms-excel", "application/rtf")
_EXECUTABLE = re.compile(r"\.(exe|bat|cmd|com|scr|pif|js|jse|vbs|vbe|wsf|msi|ps1|jar|dll|sh|apk|app|lnk|hta)$", re.I)
_MAGIC_EXECUTABLE = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")
_INFINITY = "infinity"


# -- errors -------------------------------------------------------------------------------
class DeskError(ValueError):
    """A desk action that cannot be done as asked (the message says why and what to do)."""


class NotFoundError(DeskError):
    """No such case (or agent, or message)."""


class ClosedCaseError(DeskError):
    """The case is closed: final, it takes no reply."""


class MergedCaseError(DeskError):
    """The case was merged into another one (``target``): act on that one."""

    def __init__(self, case_id: str, target: str) -> None:
        super().__init__(f"case {case_id} was merged into {target}: open {target} instead")
        self.case_id, self.target = case_id, target


class ConflictError(DeskError):
    """The case changed since the caller read it: ``changes`` lists what happened since."""

    def __init__(self, case_id: str, expected: int, current: int, changes: list[Event]) -> None:
        said = "; ".join(describe(e) for e in changes[-5:]) or "changes not recorded"
        more = f" (and {len(changes) - 5} earlier)" if len(changes) > 5 else ""
        super().__init__(f"case {case_id} changed since you loaded it (your version {expected}, now {current}): "
                         f"{said}{more}. Nothing was saved: reload the case and try again.")
        self.case_id, self.expected, self.current, self.changes = case_id, expected, current, changes


# -- what the API returns -----------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    case_id: str
    person_id: str | None
    status: str
    priority: str
    channel: str
    subject: str | None
    topic: str | None
    assignee: str | None
    opened_at: datetime
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    reopen_count: int = 0
    version: int = 0
    team_id: str | None = None
    language: str | None = None
    skills: tuple[str, ...] = ()
    waiting_since: datetime | None = None   #: the customer has waited for us since (None: not waiting)
    last_customer_at: datetime | None = None
    last_customer_channel: str | None = None
    last_agent_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    merged_into: str | None = None
    suggested_link: str | None = None       #: a case this one may duplicate (accept_link merges)
    follow_up_of: str | None = None
    disposition: str | None = None
    anything_else_asked: bool | None = None
    sla_snapshot: dict[str, Any] | None = None
    link_terms: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class AttachmentInfo:
    attachment_id: str
    message_id: str
    filename: str
    content_type: str | None
    size: int
    sha256: str | None
    storage_path: str | None  #: relative to :func:`attachments_dir`; None when refused
    refused: str | None       #: why it was not kept


@dataclass(frozen=True)
class Message:
    message_id: str
    case_id: str
    ts: datetime
    author: str
    channel: str
    public: bool
    agent_id: str | None
    body: str | None
    external_ids: tuple[str, ...] = ()
    attachments: tuple[AttachmentInfo, ...] = ()


@dataclass(frozen=True)
class Event:
    seq: int
    case_id: str
    version: int | None
    ts: datetime
    actor: str
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class ContactFacts:
    """What a telephony (or store) system knows of a contact: seconds waited and handled, and
    its outcome (``parcours.schema.OUTCOMES``). Written on the contact's touchpoint, where the
    service and journey metrics read them; such a contact is always a contact of its own."""

    wait_s: float | None = None
    handle_s: float | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class Received:
    """What :func:`receive` did with a contact.

    ``how``: ``thread`` (the case it answers), ``linked`` (an open case on the same issue,
    any channel), ``suggested`` (a new case, with a suggested link), ``follow_up`` (a new
    case following a closed one), ``new``, or ``duplicate`` (this external id was already
    received: nothing written)."""

    case_id: str
    message_id: str
    person_id: str
    version: int
    how: str
    person_created: bool = False
    case_created: bool = False
    score: float | None = None
    suggested_case: str | None = None
    follow_up_of: str | None = None
    channel_hop: tuple[str, str] | None = None
    reopened: bool = False
    attachments: tuple[AttachmentInfo, ...] = ()


@dataclass(frozen=True)
class Posted:
    """A message written by :func:`reply`, :func:`note` or :func:`open_case`, and the case after it."""

    message_id: str
    case: Case
    attachments: tuple[AttachmentInfo, ...] = ()


@dataclass(frozen=True)
class CaseView:
    case: Case
    messages: list[Message]
    events: list[Event]
    person: persons.Person | None      #: every identifier and the whole timeline, all channels
    redirected_from: str | None = None  #: the case asked for, merged into this one


@dataclass(frozen=True)
class InboxRow:
    case_id: str
    person_id: str | None
    subject: str | None
    status: str
    priority: str
    assignee: str | None
    team_id: str | None
    channel: str | None
    topic: str | None
    language: str | None
    waiting_since: datetime | None
    opened_at: datetime | None
    updated_at: datetime | None
    version: int
    cursor: str  #: pass as ``inbox(cursor=…)`` to get the rows after this one


@dataclass(frozen=True)
class Opportunity:
    case_id: str
    person_id: str | None
    ts: datetime
    agent: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class DeskConfig:
    link: LinkPolicy = LinkPolicy()
    #: customer messages on one channel closer than this are one contact (one touchpoint)
    contact_gap: timedelta = timedelta(minutes=30)
    country: str = "FR"  #: default country of national phone numbers


DEFAULT_CONFIG = DeskConfig()


class AttachmentIn(Protocol):
    """A file received or sent (``parcours.desk.mail.Attachment`` fits)."""

    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def data(self) -> bytes: ...


class RefusedIn(Protocol):
    """A file refused upstream (``parcours.desk.mail.RefusedAttachment`` fits): recorded as refused."""

    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)


# -- checks -------------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(timezone.utc)


def _ts(value: datetime | None, name: str = "ts") -> datetime:
    if value is None:
        return _now()
    if not isinstance(value, datetime):
        raise DeskError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise DeskError(f"{name} {value.isoformat()} has no time zone: give an aware datetime "
                        "(e.g. datetime.now(timezone.utc))")
    if value.year < 1900 or value > _now() + timedelta(days=1):
        raise DeskError(f"{name} {value.isoformat()} is out of range (1900 to a day from now)")
    return value.astimezone(timezone.utc)


def _text(value: str | None, name: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise DeskError(f"{name} is empty")
        return None
    if not isinstance(value, str):
        raise DeskError(f"{name} must be text, got {type(value).__name__}")
    if len(value) > limit:
        raise DeskError(f"{name} has {len(value):,} characters; the limit is {limit:,}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise DeskError(f"{name} is not valid Unicode text ({e.reason} at character {e.start})") from None
    return value


def _choice(value: str | None, name: str, allowed: Sequence[str]) -> str:
    v = value.strip().lower() if isinstance(value, str) else value
    if v not in allowed:
        raise DeskError(f"{name} {value!r} is not allowed; allowed: {', '.join(allowed)}")
    return str(v)


def _topic(value: str | None) -> str | None:
    t = _text(value, "topic", MAX_TOPIC)
    return t.strip().lower() if t else None


# -- reading rows -------------------------------------------------------------------------
_DESK_COLS = ("version, team_id, language, skills, waiting_since, last_customer_at, last_customer_channel, "
              "last_agent_at, link_terms, suggested_link, follow_up_of, disposition, anything_else_asked, "
              "sla_snapshot, updated_at, updated_by, merged_into")
_CASE_COLS = ("person_id, status::VARCHAR, coalesce(priority::VARCHAR, 'normal'), channel::VARCHAR, subject, topic, "
              "assignee, opened_at, first_response_at, closed_at, coalesce(reopen_count, 0)")


def _desk_row(con: duckdb.DuckDBPyConnection, case_id: str) -> tuple[Any, ...] | None:
    return con.execute(f"SELECT {_DESK_COLS} FROM desk_cases WHERE case_id = ?", [case_id]).fetchone()


def _resolve_merged(con: duckdb.DuckDBPyConnection, case_id: str) -> str:
    """The case ``case_id`` lives on as (itself unless merged)."""
    seen = {case_id}
    while True:
        row = con.execute("SELECT merged_into FROM desk_cases WHERE case_id = ?", [case_id]).fetchone()
        if not row or not row[0] or row[0] in seen:
            return case_id
        case_id = row[0]
        seen.add(case_id)


def _load(con: duckdb.DuckDBPyConnection, case_id: str) -> Case:
    if not isinstance(case_id, str) or not case_id:
        raise NotFoundError(f"no case {case_id!r}")
    d = _desk_row(con, case_id)
    if d is not None and d[16]:
        raise MergedCaseError(case_id, d[16])
    c = con.execute(f"SELECT {_CASE_COLS} FROM cases WHERE case_id = ?", [case_id]).fetchone()
    if c is None:
        raise NotFoundError(f"no case {case_id}" + (" (it was erased)" if d is not None else ""))
    case = Case(case_id, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10])
    if d is None:  # a case imported from another tool: the desk adopts it at its first change
        return case
    return replace(case, version=d[0], team_id=d[1], language=d[2], skills=tuple(d[3] or ()), waiting_since=d[4],
                   last_customer_at=d[5], last_customer_channel=d[6], last_agent_at=d[7],
                   link_terms=tuple((d[8] or "").split()), suggested_link=d[9], follow_up_of=d[10],
                   disposition=d[11], anything_else_asked=d[12], sla_snapshot=json.loads(d[13]) if d[13] else None,
                   updated_at=d[14], updated_by=d[15])


def _events(con: duckdb.DuckDBPyConnection, case_id: str, after_version: int = -1) -> list[Event]:
    rows = con.execute("SELECT seq, case_id, version, ts, actor, kind, detail FROM case_events "
                       "WHERE case_id = ? AND coalesce(version, 0) > ? ORDER BY seq", [case_id, after_version])
    return [Event(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]) if r[6] else {}) for r in rows.fetchall()]


def _lock(con: duckdb.DuckDBPyConnection, case_id: str, expected_version: int) -> Case:
    """The case, checked against the version the caller read (call inside the write lock)."""
    if not isinstance(expected_version, int) or isinstance(expected_version, bool):
        raise DeskError(f"expected_version must be the case's version as read (a whole number), "
                        f"got {expected_version!r}")
    c = _load(con, case_id)
    if c.version != expected_version:
        raise ConflictError(case_id, expected_version, c.version, _events(con, case_id, expected_version))
    return c


# -- writing rows -------------------------------------------------------------------------
def _write_desk(con: duckdb.DuckDBPyConnection, c: Case) -> None:
    con.execute(f"INSERT OR REPLACE INTO desk_cases (case_id, {_DESK_COLS}) VALUES "
                f"({', '.join('?' for _ in range(18))})",
                [c.case_id, c.version, c.team_id, c.language, list(c.skills), c.waiting_since, c.last_customer_at,
                 c.last_customer_channel, c.last_agent_at, " ".join(c.link_terms) or None, c.suggested_link,
                 c.follow_up_of, c.disposition, c.anything_else_asked,
                 json.dumps(c.sla_snapshot) if c.sla_snapshot is not None else None, c.updated_at, c.updated_by,
                 c.merged_into])


def _write(con: duckdb.DuckDBPyConnection, c: Case, *, new: bool = False) -> None:
    """Write a case everywhere it lives: canonical ``cases``, ``desk_cases``, ``desk_inbox``."""
    if new:
        con.execute("INSERT INTO cases (case_id, person_id, opened_at, channel, status, priority, topic, subject, "
                    "assignee, first_response_at, closed_at, reopen_count, import_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'desk')",
                    [c.case_id, c.person_id, c.opened_at, c.channel, c.status, c.priority, c.topic, c.subject,
                     c.assignee, c.first_response_at, c.closed_at, c.reopen_count])
    else:
        con.execute("UPDATE cases SET opened_at = ?, channel = ?, status = ?, priority = ?, topic = ?, subject = ?, "
                    "assignee = ?, first_response_at = ?, closed_at = ?, reopen_count = ? WHERE case_id = ?",
                    [c.opened_at, c.channel, c.status, c.priority, c.topic, c.subject, c.assignee,
                     c.first_response_at, c.closed_at, c.reopen_count, c.case_id])
    _write_desk(con, c)
    if c.status in ACTIVE:
        con.execute("INSERT OR REPLACE INTO desk_inbox VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [c.case_id, c.person_id, c.status, c.priority, PRIORITY_RANK[c.priority], c.team_id, c.assignee,
                     c.last_customer_channel or c.channel, c.subject, c.topic, c.language, list(c.skills),
                     c.waiting_since, c.opened_at, c.updated_at or c.opened_at, c.version])
    else:
        con.execute("DELETE FROM desk_inbox WHERE case_id = ?", [c.case_id])


def _event(con: duckdb.DuckDBPyConnection, case_id: str, version: int | None, ts: datetime, actor: str, kind: str,
           detail: dict[str, Any]) -> None:
    con.execute("INSERT INTO case_events (case_id, version, ts, actor, kind, detail) VALUES (?, ?, ?, ?, ?, ?)",
                [case_id, version, ts, actor, kind, json.dumps(detail, default=str, ensure_ascii=False)])


Change = tuple[Case, list[tuple[str, dict[str, Any]]]]


def _mutate(store: Store, case_id: str, expected_version: int, actor: str, ts: datetime | None,
            change: Callable[[duckdb.DuckDBPyConnection, Case, datetime], Change]) -> Case:
    """Load and check the case, apply ``change`` (the new case and its events), write it all
    in one transaction. A change without events writes nothing (the version stays)."""
    when = _ts(ts)
    with store.write_lock, store.transaction() as con:
        before = _lock(con, case_id, expected_version)
        after, events = change(con, before, when)
        if not events:
            return before
        after = replace(after, version=before.version + 1, updated_at=when, updated_by=actor)
        _write(con, after)
        for kind, detail in events:
            _event(con, case_id, after.version, when, actor, kind, detail)
    store.touch()
    return after


def _new_case_id(con: duckdb.DuckDBPyConnection) -> str:
    while True:
        n = con.execute("SELECT nextval('desk_case_seq')").fetchone()
        assert n is not None
        case_id = f"D{n[0]}"
        if not con.execute("SELECT 1 FROM cases WHERE case_id = ?", [case_id]).fetchone() \
                and _desk_row(con, case_id) is None:
            return case_id


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:20]}"


def _add_message(con: duckdb.DuckDBPyConnection, case_id: str, ts: datetime, author: str, channel: str, public: bool,
                 agent_id: str | None, body: str | None) -> str:
    message_id = _new_id("M")
    con.execute("INSERT INTO messages (message_id, case_id, ts, author, channel, public, agent_id, body, import_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'desk')",
                [message_id, case_id, ts, author, channel, public, agent_id, body])
    return message_id


def _add_ref(con: duckdb.DuckDBPyConnection, message_id: str, case_id: str, channel: str, external_id: str,
             direction: str, ts: datetime) -> None:
    con.execute("INSERT INTO message_refs VALUES (?, ?, ?, ?, ?, ?)",
                [message_id, case_id, channel, external_id, direction, ts])


# -- attachments --------------------------------------------------------------------------
def attachments_dir(store: Store) -> Path:
    """Where attachment files live: beside the store file, one file per content (SHA-256)."""
    return store.path.with_name(store.path.name + ".attachments")


def _safe_filename(name: str) -> str:
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
    return base[:200] or "attachment"


def _refusal(filename: str, content_type: str, data: bytes) -> str | None:
    if len(data) > MAX_ATTACHMENT_BYTES:
        return f"{len(data):,} bytes, over the limit of {MAX_ATTACHMENT_BYTES:,}"
    ctype = (content_type or "").split(";")[0].strip().lower()
    if not any(ctype.startswith(p) for p in CONTENT_TYPES):
        return f"content type {ctype or 'unknown'!r} is not accepted"
    if _EXECUTABLE.search(filename) or data.startswith(_MAGIC_EXECUTABLE):
        return "executable files are not accepted"
    return None


def _store_attachments(store: Store, con: duckdb.DuckDBPyConnection, message_id: str,
                       files: Sequence[AttachmentIn | RefusedIn], ts: datetime) -> tuple[AttachmentInfo, ...]:
    if len(files) > MAX_ATTACHMENTS:
        raise DeskError(f"{len(files)} attachments; the limit is {MAX_ATTACHMENTS} a message")
    out = []
    for f in files:
        name, ctype = _safe_filename(f.filename), (f.content_type or "").split(";")[0].strip().lower() or None
        data: bytes | None = getattr(f, "data", None)
        reason: str | None
        digest: str | None = None
        rel: str | None = None
        if data is None:
            reason, size = str(getattr(f, "reason", "refused")), int(getattr(f, "size", 0))
        else:
            reason, size = _refusal(name, ctype or "", data), len(data)
            digest = hashlib.sha256(data).hexdigest() if reason is None else None
            rel = f"{digest[:2]}/{digest}" if digest else None
            if rel:
                _write_file(attachments_dir(store) / rel, data)
        info = AttachmentInfo(_new_id("A"), message_id, name, ctype, size, digest, rel, reason)
        con.execute("INSERT INTO attachments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [info.attachment_id, message_id, name, ctype, size, digest, rel, reason, ts])
        out.append(info)
    return tuple(out)


def _write_file(path: Path, data: bytes) -> None:
    if path.exists():  # content-addressed: the same bytes are already there
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def attachment_bytes(store: Store, attachment_id: str) -> tuple[AttachmentInfo, bytes]:
    """An attachment and its content (checked against its SHA-256)."""
    row = store.con.execute("SELECT attachment_id, message_id, filename, content_type, size, sha256, storage_path, "
                            "refused FROM attachments WHERE attachment_id = ?", [attachment_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no attachment {attachment_id!r}")
    info = AttachmentInfo(*row)
    if info.storage_path is None:
        raise DeskError(f"attachment {info.filename!r} was refused ({info.refused}): there is no file")
    data = (attachments_dir(store) / info.storage_path).read_bytes()
    if hashlib.sha256(data).hexdigest() != info.sha256:
        raise DeskError(f"attachment {info.filename!r}: the stored file does not match its SHA-256")
    return info, data


# -- receiving ------------------------------------------------------------------------------
def receive(store: Store, *, channel: str, identifiers: dict[str, str | None], text: str | None, ts: datetime,
            subject: str | None = None, topic: str | None = None, external_id: str | None = None,
            in_reply_to_case: str | None = None, attachments: Sequence[AttachmentIn | RefusedIn] = (),
            language: str | None = None, stage: str = "support", entered_by: str | None = None,
            facts: ContactFacts | None = None, config: DeskConfig = DEFAULT_CONFIG) -> Received:
    """A contact from a customer (or prospect) on any channel.

    Resolves the person from ``identifiers`` (``email``, ``phone``, ``social``, ``app_id`` or
    ``person_id``; an unknown sender becomes a new person), then finds the case: the one it
    answers (``in_reply_to_case``, e.g. from e-mail threading — honoured when it belongs to
    the same person), else an open case of the person about the same issue on any channel
    (:mod:`.linking`), else a new case. Appends the message (author customer), records a
    channel hop, writes an inbound ``touchpoints`` contact (one per contact: messages on one
    channel within ``config.contact_gap`` are one contact), reopens a resolved case within
    the reopen window. ``external_id`` (e.g. an e-mail Message-ID) makes a redelivery a no-op.
    ``entered_by``: the agent who typed a phone or store contact in; ``facts``: its wait,
    handling time and outcome (a call record)."""
    channel = _choice(channel, "channel", CHANNELS)
    facts = _facts(facts)
    when = _ts(ts)
    text = _text(text, "text", MAX_TEXT_CHARS, required=not attachments)
    subject = _text(subject, "subject", MAX_SUBJECT)
    topic = _topic(topic)
    stage = _choice(stage, "stage", STAGES)
    external_id = _text(external_id, "external_id", MAX_EXTERNAL_ID)
    language = (_text(language, "language", 10) or "").strip().lower() or None
    if not isinstance(identifiers, dict):
        raise DeskError("identifiers must be a dict such as {'email': 'a@b.fr'}")
    with store.write_lock, store.transaction() as con:
        if external_id:
            dup = con.execute("SELECT r.message_id, r.case_id, c.person_id, coalesce(d.version, 0) FROM message_refs r "
                              "LEFT JOIN cases c USING (case_id) LEFT JOIN desk_cases d USING (case_id) "
                              "WHERE r.external_id = ? AND r.direction = 'in' LIMIT 1", [external_id]).fetchone()
            if dup is not None:
                return Received(dup[1], dup[0], dup[2], dup[3], "duplicate")
        try:
            who = persons.ensure(con, identifiers, ts=when, source=f"desk:{channel}", country=config.country)
        except persons.PersonError as e:
            raise DeskError(f"identifiers: {e}") from None
        if who.merged:
            con.execute("UPDATE desk_inbox SET person_id = ? WHERE list_contains(?, person_id)",
                        [who.person_id, list(who.merged)])
        got = _receive_locked(store, con, who.person_id, channel, when, text, subject, topic, external_id,
                              in_reply_to_case, attachments, language, stage, entered_by, config, facts)
    store.touch()
    return replace(got, person_created=who.created)


def _facts(facts: ContactFacts | None) -> ContactFacts | None:
    if facts is None:
        return None
    for name in ("wait_s", "handle_s"):
        v = getattr(facts, name)
        if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v < 10**7):
            raise DeskError(f"{name}: {v!r} is not a number of seconds (0 or more)")
    if facts.outcome is not None:
        _choice(facts.outcome, "outcome", OUTCOMES)
    return facts


def _receive_locked(store: Store, con: duckdb.DuckDBPyConnection, person_id: str, channel: str, ts: datetime,
                    text: str | None, subject: str | None, topic: str | None, external_id: str | None,
                    in_reply_to: str | None, attachments: Sequence[AttachmentIn | RefusedIn], language: str | None,
                    stage: str, entered_by: str | None, config: DeskConfig,
                    facts: ContactFacts | None) -> Received:
    events: list[tuple[str, dict[str, Any]]] = []
    case: Case | None = None
    how, score, suggested, follow_up = "new", None, None, None
    if in_reply_to:
        case, follow_up = _thread(con, person_id, in_reply_to, ts, config)
        how = "thread" if case else how
    if case is None and follow_up is None:
        d = linking.decide(con, person_id, ts=ts, topic=topic, subject=subject, text=text, policy=config.link)
        score = d.score if d.case_id else None
        if d.action == "link" and d.case_id:
            case, how = _load(con, d.case_id), "linked"
            events.append(("linked_contact", {"channel": channel, "score": d.score}))
        elif d.action == "suggest":
            how, suggested = "suggested", d.case_id
    created = case is None
    if case is None:
        how = "follow_up" if follow_up else how
        case = _open(con, person_id, channel, ts, subject, topic, language)
        case = replace(case, sla_snapshot=clocks.policy_for(store.path, case.priority, case.team_id,
                                                            channel).snapshot())
        events.append(("opened", {"channel": channel, "by": entered_by or "customer", "follow_up_of": follow_up}))
        if suggested:
            case = replace(case, suggested_link=suggested)
            events.append(("suggested_link", {"case_id": suggested, "score": score}))
        if follow_up:
            case = replace(case, follow_up_of=follow_up)
    case, more, hop, reopened, new_contact = _customer_message(case, channel, ts, subject, text, config)
    events += more
    message_id = _add_message(con, case.case_id, ts, "customer", channel, True, None, text)
    if external_id:
        _add_ref(con, message_id, case.case_id, channel, external_id, "in", ts)
    files = _store_attachments(store, con, message_id, attachments, ts) if attachments else ()
    if new_contact or facts is not None:
        f = facts or ContactFacts()
        con.execute("INSERT INTO touchpoints (event_id, ts, person_id, channel, direction, kind, stage, topic, "
                    "case_id, agent_id, text, wait_s, handle_s, outcome, import_id) VALUES (?, ?, ?, ?, 'inbound', "
                    "'contact', ?, ?, ?, ?, ?, ?, ?, ?, 'desk')",
                    [f"desk:{message_id}", ts, person_id, channel, stage, case.topic or topic, case.case_id,
                     case.assignee, (text or subject or "")[:EXCERPT_CHARS] or None, f.wait_s, f.handle_s, f.outcome])
    events.append(("message", {"message_id": message_id, "channel": channel, "author": "customer",
                               "attachments": len(files)}))
    actor = entered_by or "customer"
    case = replace(case, version=1 if created else case.version + 1, updated_at=ts, updated_by=actor)
    _write(con, case, new=created)
    for kind, detail in events:
        _event(con, case.case_id, case.version, ts, actor, kind, detail)
    return Received(case.case_id, message_id, person_id, case.version, how, case_created=created, score=score,
                    suggested_case=suggested, follow_up_of=follow_up, channel_hop=hop, reopened=reopened,
                    attachments=files)


def _thread(con: duckdb.DuckDBPyConnection, person_id: str, case_id: str, ts: datetime,
            config: DeskConfig) -> tuple[Case | None, str | None]:
    """(the case a reply belongs to, or None; the case a new one follows up, or None)."""
    target = _resolve_merged(con, case_id)
    try:
        case = _load(con, target)
    except DeskError:
        return None, None
    if case.person_id != person_id:  # someone else's thread: never written into (privacy); linking decides
        return None, None
    if case.status in ACTIVE:
        return case, None
    if case.status == "resolved" and case.closed_at is not None and ts - case.closed_at <= config.link.reopen_window:
        return case, None
    return None, case.case_id


def _open(con: duckdb.DuckDBPyConnection, person_id: str, channel: str, ts: datetime, subject: str | None,
          topic: str | None, language: str | None) -> Case:
    if language is None:
        row = con.execute("SELECT language FROM persons WHERE person_id = ?", [person_id]).fetchone()
        language = row[0].strip().lower() if row and row[0] else None
    return Case(_new_case_id(con), person_id, "new", "normal", channel, subject, topic, None, ts,
                team_id=team_for_topic(con, topic), language=language)


def _customer_message(case: Case, channel: str, ts: datetime, subject: str | None, text: str | None,
                      config: DeskConfig) -> tuple[Case, list[tuple[str, dict[str, Any]]], tuple[str, str] | None,
                                                   bool, bool]:
    """The case after a customer message: (case, events, hop, reopened, is a new contact)."""
    events: list[tuple[str, dict[str, Any]]] = []
    reopened = False
    if case.status == "resolved":
        case = replace(case, status="open", reopen_count=case.reopen_count + 1, closed_at=None)
        events.append(("reopened", {"by": "customer message", "reopen_count": case.reopen_count}))
        reopened = True
    elif case.status == "pending":
        case = replace(case, status="open")
        events.append(("status", {"from": "pending", "to": "open", "why": "the customer replied"}))
    # the channel the customer used last (an imported case, or one an agent opened: its channel)
    prev, last = case.last_customer_channel or case.channel, case.last_customer_at
    hop = (prev, channel) if prev != channel else None
    if hop:
        events.append(("channel_hop", {"from": prev, "to": channel}))
    new_contact = last is None or hop is not None or abs(ts - last) > config.contact_gap
    latest = last is None or ts >= last
    case = replace(case, waiting_since=case.waiting_since or ts,
                   last_customer_at=ts if latest else last,
                   last_customer_channel=channel if latest else prev,
                   link_terms=tuple(linking.merge_terms(case.link_terms,
                                                        linking.terms(f"{subject or ''} {text or ''}"))))
    return case, events, hop, reopened, new_contact


# -- agents' actions ----------------------------------------------------------------------
def _check_agent(con: duckdb.DuckDBPyConnection, agent_id: str) -> None:
    row = con.execute("SELECT disabled_at FROM agents WHERE agent_id = ?", [agent_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no agent {agent_id!r}: add the agent first (desk.agents.add_agent)")
    if row[0] is not None:
        raise DeskError(f"agent {agent_id!r} is disabled")


def reply(store: Store, case_id: str, agent_id: str, body: str, *, expected_version: int, public: bool = True,
          channel: str | None = None, status: str | None = None, external_id: str | None = None,
          attachments: Sequence[AttachmentIn | RefusedIn] = (), author: str = "agent",
          ts: datetime | None = None) -> Posted:
    """A message on the case: public (to the customer, on ``channel``, by default the channel
    the customer last used) or an internal note (``public=False``). A public agent reply is
    the first response if none came before, answers whoever was waiting, and opens a new
    case; ``status`` sets the status in the same change (e.g. ``pending``). ``author``
    ``bot`` or ``system`` write as the bot or an automation (``agent_id`` is then a label).
    A closed case takes notes but no reply (:class:`ClosedCaseError`)."""
    body_ = _text(body, "body", MAX_TEXT_CHARS, required=not attachments)
    author = _choice(author, "author", AUTHORS)
    chan = _choice(channel, "channel", CHANNELS) if channel is not None else None
    ext = _text(external_id, "external_id", MAX_EXTERNAL_ID)
    if status is not None:
        status = _choice(status, "status", tuple(TRANSITIONS))
    posted: dict[str, Any] = {}

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        if author == "agent":
            _check_agent(con, agent_id)
        if c.status == "closed" and public:
            raise ClosedCaseError(
                f"case {c.case_id} is closed ({_closed_how(con, c)}): a closed case is final and takes no reply. "
                f"Write to the customer in a new case that follows it up: "
                f"desk.cases.open_case(..., follow_up_of={c.case_id!r}); internal notes are still accepted")
        via = chan or c.last_customer_channel or c.channel
        mid = _add_message(con, c.case_id, ts_, author, via, public, agent_id if author == "agent" else None, body_)
        if ext:
            _add_ref(con, mid, c.case_id, via, ext, "out", ts_)
        posted["id"] = mid
        posted["files"] = _store_attachments(store, con, mid, attachments, ts_) if attachments else ()
        events: list[tuple[str, dict[str, Any]]] = [
            ("message" if public else "note", {"message_id": mid, "channel": via, "author": author,
                                               "public": public, "attachments": len(posted["files"])})]
        if public:
            c = replace(c, waiting_since=None)
            if author == "agent":
                c = replace(c, last_agent_at=ts_, first_response_at=c.first_response_at or ts_)
                if c.status == "new":
                    c = replace(c, status="open")
                    events.append(("status", {"from": "new", "to": "open", "why": "answered"}))
        if status is not None and status != c.status:
            c, more = _transition(c, status, ts_)
            events += more
        return c, events

    case = _mutate(store, case_id, expected_version, agent_id, ts, change)
    return Posted(posted["id"], case, posted["files"])


def note(store: Store, case_id: str, agent_id: str, body: str, *, expected_version: int,
         ts: datetime | None = None) -> Posted:
    """An internal note (never shown to the customer)."""
    return reply(store, case_id, agent_id, body, expected_version=expected_version, public=False, ts=ts)


def _closed_how(con: duckdb.DuckDBPyConnection, c: Case) -> str:
    row = con.execute("SELECT ts, actor FROM case_events WHERE case_id = ? AND kind = 'closed' ORDER BY seq DESC "
                      "LIMIT 1", [c.case_id]).fetchone()
    when = row[0] if row else c.closed_at
    by = f" by {row[1]}" if row else ""
    return f"since {when:%Y-%m-%d %H:%M} UTC{by}" + (f", disposition {c.disposition}" if c.disposition else "") \
        if when else "closed"


def _transition(c: Case, to: str, ts: datetime) -> Change:
    if to == "closed":
        raise DeskError("closing records the disposition and whether the customer was asked \"anything else?\": "
                        "use desk.cases.close()")
    if to not in TRANSITIONS.get(c.status, ()):
        allowed = ", ".join(TRANSITIONS.get(c.status, ())) or "none (closed is final)"
        raise DeskError(f"case {c.case_id} is {c.status}: it cannot become {to}; allowed from {c.status}: {allowed}")
    events: list[tuple[str, dict[str, Any]]] = [("status", {"from": c.status, "to": to})]
    if to == "resolved":
        c = replace(c, status=to, closed_at=ts, waiting_since=None)
    elif c.status == "resolved":  # reopened by an agent
        c = replace(c, status=to, closed_at=None, reopen_count=c.reopen_count + 1)
        events.append(("reopened", {"by": "agent", "reopen_count": c.reopen_count}))
    elif to == "pending":
        c = replace(c, status=to, waiting_since=None)
    else:
        c = replace(c, status=to)
    return c, events


def set_status(store: Store, case_id: str, actor: str, status: str, *, expected_version: int,
               ts: datetime | None = None) -> Case:
    """new → open ⇄ pending → resolved; resolved → open reopens (reopen_count + 1).
    Closing is :func:`close`. Setting the current status again changes nothing."""
    to = _choice(status, "status", tuple(TRANSITIONS))

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        return (c, []) if to == c.status else _transition(c, to, ts_)

    return _mutate(store, case_id, expected_version, actor, ts, change)


def set_priority(store: Store, case_id: str, actor: str, priority: str, *, expected_version: int,
                 ts: datetime | None = None) -> Case:
    p = _choice(priority, "priority", PRIORITIES)

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        if p == c.priority:
            return c, []
        _not_closed(c, "change its priority")
        return replace(c, priority=p), [("priority", {"from": c.priority, "to": p})]

    return _mutate(store, case_id, expected_version, actor, ts, change)


def _not_closed(c: Case, what: str) -> None:
    if c.status == "closed":
        raise ClosedCaseError(f"case {c.case_id} is closed: a closed case is final, you cannot {what}")


def assign(store: Store, case_id: str, assignee: str | None, *, actor: str, expected_version: int,
           ts: datetime | None = None) -> Case:
    """Give the case to an agent (None: to nobody). A manual assignment may exceed the
    agent's capacity or reach an agent who is not online (a supervisor's decision; the
    event says so); routing never does. Assigning a new case opens it."""

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        if assignee == c.assignee:
            return c, []
        _not_closed(c, "assign it")
        detail: dict[str, Any] = {"from": c.assignee, "to": assignee}
        if assignee is not None:
            _check_agent(con, assignee)
            cap, status = con.execute("SELECT capacity, status FROM agents WHERE agent_id = ?", [assignee]).fetchone() \
                or (0, "offline")
            load = con.execute("SELECT count(*) FROM desk_inbox WHERE assignee = ?", [assignee]).fetchone()
            if load is not None and c.status in ACTIVE and load[0] >= cap:
                detail["over_capacity"] = True
            if status != "online":
                detail["agent_status"] = status
        events: list[tuple[str, dict[str, Any]]] = [("assigned", detail)]
        c = replace(c, assignee=assignee)
        if assignee is not None:
            mark_assigned(con, assignee, ts_)
        if assignee is not None and c.status == "new":
            c = replace(c, status="open")
            events.append(("status", {"from": "new", "to": "open", "why": "assigned"}))
        return c, events

    return _mutate(store, case_id, expected_version, actor, ts, change)


def load(con: duckdb.DuckDBPyConnection, case_id: str) -> Case:
    """The case as stored, for desk modules working inside their own transaction (routing)."""
    return _load(con, case_id)


def check_ts(ts: datetime | None, name: str = "ts") -> datetime:
    """``ts`` as an aware UTC datetime (now if None), or :class:`DeskError`."""
    return _ts(ts, name)


def assign_in(con: duckdb.DuckDBPyConnection, c: Case, agent_id: str, *, actor: str, ts: datetime,
              detail: dict[str, Any]) -> Case:
    """Write an assignment decided inside the caller's transaction (under the write lock):
    the case goes to ``agent_id`` (a new case opens), version + 1, events written."""
    after = replace(c, assignee=agent_id, status="open" if c.status == "new" else c.status, version=c.version + 1,
                    updated_at=ts, updated_by=actor)
    _write(con, after)
    _event(con, c.case_id, after.version, ts, actor, "assigned", {"from": c.assignee, "to": agent_id, **detail})
    if c.status == "new":
        _event(con, c.case_id, after.version, ts, actor, "status", {"from": "new", "to": "open", "why": "assigned"})
    mark_assigned(con, agent_id, ts)
    return after


def set_routing(store: Store, case_id: str, actor: str, *, expected_version: int, team: str | None,
                skills: Sequence[str] = (), language: str | None = None, ts: datetime | None = None) -> Case:
    """The team, required skills and language routing matches agents against."""
    if isinstance(skills, str):
        raise DeskError("skills must be a list of words, not a string")
    sk = tuple(dict.fromkeys(s.strip().lower() for s in skills if s and s.strip()))
    lang = language.strip().lower() if language else None

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        if team is not None and not con.execute("SELECT 1 FROM teams WHERE team_id = ?", [team]).fetchone():
            raise NotFoundError(f"no team {team!r}")
        if (team, sk, lang) == (c.team_id, c.skills, c.language):
            return c, []
        return replace(c, team_id=team, skills=sk, language=lang), [
            ("routing", {"team": team, "skills": list(sk), "language": lang})]

    return _mutate(store, case_id, expected_version, actor, ts, change)


def close(store: Store, case_id: str, agent_id: str, disposition: str, anything_else_asked: bool,
          opportunity: dict[str, Any] | None = None, *, expected_version: int, ts: datetime | None = None) -> Case:
    """Close the case for good: the disposition (one of :data:`DISPOSITIONS`), whether the
    agent asked "anything else I can do?" (seed 003), and a sales opportunity spotted during
    the contact (seed 004), listed by :func:`opportunities`. ``closed_at`` keeps the
    resolution time if the case was resolved before."""
    disp = _choice(disposition, "disposition", DISPOSITIONS)
    if not isinstance(anything_else_asked, bool):
        raise DeskError("anything_else_asked must be true or false: did you ask \"anything else I can do?\"")
    opp = _opportunity(opportunity)

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        _not_closed(c, "close it again")
        events: list[tuple[str, dict[str, Any]]] = [
            ("closed", {"from": c.status, "disposition": disp, "anything_else_asked": anything_else_asked})]
        if opp is not None:
            events.append(("opportunity", opp))
        return replace(c, status="closed", closed_at=c.closed_at if c.status == "resolved" else ts_,
                       waiting_since=None, disposition=disp, anything_else_asked=anything_else_asked), events

    return _mutate(store, case_id, expected_version, agent_id, ts, change)


def _opportunity(o: dict[str, Any] | None) -> dict[str, Any] | None:
    if o is None:
        return None
    if not isinstance(o, dict) or not o:
        raise DeskError("opportunity must be a non-empty dict, e.g. {'product': 'premium plan', 'amount': 120}")
    if "amount" in o and (isinstance(o["amount"], bool) or not isinstance(o["amount"], (int, float))
                          or o["amount"] < 0):
        raise DeskError(f"opportunity amount {o['amount']!r} must be a number ≥ 0")
    try:
        text = json.dumps(o, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise DeskError(f"opportunity must hold plain values (text, numbers): {e}") from None
    if len(text) > 4000:
        raise DeskError("opportunity is too long (4,000 characters of JSON at most)")
    out: dict[str, Any] = json.loads(text)
    return out


def opportunities(store: Store, *, limit: int = 200) -> list[Opportunity]:
    """Sales opportunities flagged by agents when closing cases, newest first."""
    rows = store.con.execute(
        "SELECT e.case_id, c.person_id, e.ts, e.actor, e.detail FROM case_events e "
        "LEFT JOIN cases c USING (case_id) WHERE e.kind = 'opportunity' ORDER BY e.ts DESC, e.seq DESC LIMIT ?",
        [max(1, int(limit))]).fetchall()
    return [Opportunity(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def open_case(store: Store, person: str, agent_id: str, *, channel: str, subject: str, body: str,
              topic: str | None = None, priority: str = "normal", follow_up_of: str | None = None,
              ts: datetime | None = None) -> Posted:
    """A case an agent opens by writing to a person (any identifier), e.g. to follow up a
    closed case. The case is pending (the customer has the word) and assigned to the agent."""
    chan = _choice(channel, "channel", CHANNELS)
    subj = _text(subject, "subject", MAX_SUBJECT, required=True)
    text = _text(body, "body", MAX_TEXT_CHARS, required=True)
    prio = _choice(priority, "priority", PRIORITIES)
    when = _ts(ts)
    with store.write_lock, store.transaction() as con:
        _check_agent(con, agent_id)
        pid = persons.find(store, person) if isinstance(person, str) else None
        if pid is None:
            raise NotFoundError(f"no person known by {person!r}")
        if follow_up_of is not None:
            _load(con, _resolve_merged(con, follow_up_of))
        c = _open(con, pid, chan, when, subj, _topic(topic), None)
        c = replace(c, priority=prio, assignee=agent_id, status="pending", follow_up_of=follow_up_of,
                    first_response_at=when, last_agent_at=when, version=1, updated_at=when, updated_by=agent_id,
                    link_terms=tuple(linking.merge_terms(linking.terms(f"{subj} {text}"))),
                    sla_snapshot=clocks.policy_for(store.path, prio, c.team_id, chan).snapshot())
        mid = _add_message(con, c.case_id, when, "agent", chan, True, agent_id, text)
        _write(con, c, new=True)
        _event(con, c.case_id, 1, when, agent_id, "opened", {"channel": chan, "by": agent_id,
                                                             "follow_up_of": follow_up_of})
        _event(con, c.case_id, 1, when, agent_id, "message", {"message_id": mid, "channel": chan, "author": "agent",
                                                              "public": True, "attachments": 0})
    store.touch()
    return Posted(mid, c)


# -- merge, split, links ------------------------------------------------------------------
_ACTIVITY = """
WITH m AS (SELECT ts, author::VARCHAR AS author, channel::VARCHAR AS channel, public FROM messages WHERE case_id = $1),
     r AS (SELECT max(ts) AS last_reply FROM m WHERE author IN ('agent', 'bot') AND coalesce(public, true))
SELECT (SELECT max(ts) FROM m WHERE author = 'customer'),
       (SELECT arg_max(channel, ts) FROM m WHERE author = 'customer'),
       (SELECT max(ts) FROM m WHERE author = 'agent' AND coalesce(public, true)),
       (SELECT min(m.ts) FROM m, r WHERE m.author = 'customer' AND (r.last_reply IS NULL OR m.ts > r.last_reply)),
       (SELECT min(ts) FROM m WHERE author = 'agent' AND coalesce(public, true))
"""


@dataclass(frozen=True)
class _Activity:
    last_customer_at: datetime | None
    last_customer_channel: str | None
    last_agent_at: datetime | None
    waiting_since: datetime | None  #: the first customer message after the last public answer
    first_response_at: datetime | None


def _activity(con: duckdb.DuckDBPyConnection, case_id: str) -> _Activity:
    row = con.execute(_ACTIVITY, [case_id]).fetchone()
    assert row is not None
    return _Activity(*row)


def _recompute(con: duckdb.DuckDBPyConnection, c: Case) -> Case:
    """Who waits since when, from the case's messages (after messages moved in or out)."""
    a = _activity(con, c.case_id)
    return replace(c, last_customer_at=a.last_customer_at, last_customer_channel=a.last_customer_channel,
                   last_agent_at=a.last_agent_at,
                   waiting_since=a.waiting_since if c.status in ("new", "open") else None)


def merge(store: Store, source_case: str, target_case: str, actor: str, *, expected_version: int,
          target_version: int | None = None, ts: datetime | None = None) -> Case:
    """Merge a duplicate into the case that stays: every message, reference, touchpoint and
    survey answer of ``source_case`` moves to ``target_case``; the source leaves the
    canonical ``cases`` (one issue is one case for the metrics), its desk row remembers
    ``merged_into`` and its events keep a copy of its record. The target reopens if the
    customer now waits on it. Both cases must belong to one person and neither be closed.
    Returns the target."""
    when = _ts(ts)
    with store.write_lock, store.transaction() as con:
        s = _lock(con, source_case, expected_version)
        t = _lock(con, target_case, target_version) if target_version is not None else _load(con, target_case)
        merged, events = _merge_locked(con, s, t, when)
        s_after = replace(s, merged_into=t.case_id, suggested_link=None, version=s.version + 1, updated_at=when,
                          updated_by=actor)
        _write_desk(con, s_after)
        _event(con, s.case_id, s_after.version, when, actor, "merged_into", {"case_id": t.case_id,
                                                                             "record": _record(con, s.case_id)})
        con.execute("DELETE FROM cases WHERE case_id = ?", [s.case_id])
        con.execute("DELETE FROM desk_inbox WHERE case_id = ?", [s.case_id])
        merged = replace(merged, version=t.version + 1, updated_at=when, updated_by=actor)
        _write(con, merged)
        for kind, detail in events:
            _event(con, t.case_id, merged.version, when, actor, kind, detail)
    store.touch()
    return merged


def _record(con: duckdb.DuckDBPyConnection, case_id: str) -> Any:
    row = con.execute("SELECT to_json(c) FROM cases c WHERE case_id = ?", [case_id]).fetchone()
    return json.loads(row[0]) if row else None


def _merge_locked(con: duckdb.DuckDBPyConnection, s: Case, t: Case, ts: datetime) -> Change:
    if s.case_id == t.case_id:
        raise DeskError(f"cannot merge case {s.case_id} into itself")
    if s.person_id != t.person_id:
        raise DeskError(f"cases {s.case_id} and {t.case_id} belong to different persons ({s.person_id}, "
                        f"{t.person_id}): merge the persons first if they are one customer")
    for c in (s, t):
        _not_closed(c, "merge it")
    moved = [r[0] for r in con.execute("UPDATE messages SET case_id = ? WHERE case_id = ? RETURNING message_id",
                                       [t.case_id, s.case_id]).fetchall()]
    for table in ("message_refs", "touchpoints", "responses"):
        con.execute(f"UPDATE {table} SET case_id = ? WHERE case_id = ?", [t.case_id, s.case_id])
    older = s.opened_at < t.opened_at
    responses = [x for x in (s.first_response_at, t.first_response_at) if x is not None]
    m = replace(t, opened_at=min(s.opened_at, t.opened_at), channel=s.channel if older else t.channel,
                first_response_at=min(responses) if responses else None,
                priority=max(s.priority, t.priority, key=PRIORITY_RANK.__getitem__),
                assignee=t.assignee or s.assignee, link_terms=tuple(linking.merge_terms(t.link_terms, s.link_terms)),
                suggested_link=None if t.suggested_link == s.case_id else t.suggested_link)
    events: list[tuple[str, dict[str, Any]]] = [("merged", {"case_id": s.case_id, "messages": len(moved)})]
    if _activity(con, t.case_id).waiting_since is not None:  # the customer now waits on the target
        if t.status == "resolved":
            m = replace(m, status="open", closed_at=None, reopen_count=m.reopen_count + 1)
            events.append(("reopened", {"by": f"merge of {s.case_id}", "reopen_count": m.reopen_count}))
        elif t.status == "pending":
            m = replace(m, status="open")
            events.append(("status", {"from": "pending", "to": "open", "why": f"merge of {s.case_id}"}))
    return _recompute(con, m), events


def split(store: Store, case_id: str, message_ids: Sequence[str], actor: str, *, expected_version: int,
          subject: str | None = None, topic: str | None = None, ts: datetime | None = None) -> Case:
    """Move ``message_ids`` (with their references and the contacts they started) to a new
    case of the same person — two issues in one thread. At least one message stays. The new
    case is open, with the source's priority, assignee and routing. Returns the new case."""
    ids = list(dict.fromkeys(message_ids)) if not isinstance(message_ids, str) else [message_ids]
    if not ids:
        raise DeskError("split: name at least one message to move")
    subj = _text(subject, "subject", MAX_SUBJECT)
    top = _topic(topic)
    when = _ts(ts)
    with store.write_lock, store.transaction() as con:
        s = _lock(con, case_id, expected_version)
        _not_closed(s, "split it")
        have = {r[0]: r[1:] for r in con.execute(
            "SELECT message_id, ts, channel::VARCHAR FROM messages WHERE case_id = ? ORDER BY ts, message_id",
            [case_id]).fetchall()}
        unknown = [m for m in ids if m not in have]
        if unknown:
            raise NotFoundError(f"message(s) {', '.join(unknown)} are not in case {case_id}")
        if len(ids) >= len(have):
            raise DeskError(f"split: at least one message must stay in case {case_id}")
        first = min(ids, key=lambda m: (have[m][0], m))
        n = _open(con, s.person_id or "", have[first][1], have[first][0], subj or s.subject, top or s.topic,
                  s.language)
        con.execute("UPDATE messages SET case_id = ? WHERE list_contains(?, message_id)", [n.case_id, ids])
        con.execute("UPDATE message_refs SET case_id = ? WHERE list_contains(?, message_id)", [n.case_id, ids])
        con.execute("UPDATE touchpoints SET case_id = ? WHERE list_contains(?, event_id)",
                    [n.case_id, [f"desk:{m}" for m in ids]])
        bodies = con.execute("SELECT string_agg(body, ' ' ORDER BY ts) FROM messages WHERE case_id = ? "
                             "AND author = 'customer'", [n.case_id]).fetchone()
        n = replace(n, status="open", priority=s.priority, assignee=s.assignee, team_id=s.team_id, skills=s.skills,
                    version=1, updated_at=when, updated_by=actor,
                    link_terms=tuple(linking.merge_terms(linking.terms(f"{n.subject or ''} "
                                                                       f"{(bodies or [''])[0] or ''}"))))
        n = replace(_recompute(con, n), first_response_at=_activity(con, n.case_id).first_response_at)
        s_after = replace(_recompute(con, s), version=s.version + 1, updated_at=when, updated_by=actor)
        _write(con, n, new=True)
        _write(con, s_after)
        _event(con, n.case_id, 1, when, actor, "opened", {"channel": n.channel, "by": actor, "split_from": case_id,
                                                          "messages": ids})
        _event(con, case_id, s_after.version, when, actor, "split", {"case_id": n.case_id, "messages": ids})
    store.touch()
    return n


def accept_link(store: Store, case_id: str, actor: str, *, expected_version: int, ts: datetime | None = None) -> Case:
    """Accept the case's suggested link: merge this case into the suggested one (returned)."""
    with store.write_lock:
        c = _load(store.con, case_id)
        if c.suggested_link is None:
            raise DeskError(f"case {case_id} has no suggested link to accept")
        return merge(store, case_id, c.suggested_link, actor, expected_version=expected_version, ts=ts)


def reject_link(store: Store, case_id: str, actor: str, *, expected_version: int, ts: datetime | None = None) -> Case:
    """The suggested case is another issue: the suggestion goes (recorded)."""

    def change(con: duckdb.DuckDBPyConnection, c: Case, ts_: datetime) -> Change:
        if c.suggested_link is None:
            raise DeskError(f"case {case_id} has no suggested link to reject")
        return replace(c, suggested_link=None), [("link_rejected", {"case_id": c.suggested_link})]

    return _mutate(store, case_id, expected_version, actor, ts, change)


# -- reading --------------------------------------------------------------------------------
def get(store: Store, case_id: str, *, timeline_limit: int | None = 1000) -> CaseView:
    """The case with its messages, events and the person's whole timeline across channels
    (a merged case's id leads to the case it was merged into)."""
    con = store.con
    target = _resolve_merged(con, case_id)
    case = _load(con, target)
    rows = con.execute("SELECT message_id, case_id, ts, author::VARCHAR, channel::VARCHAR, coalesce(public, true), "
                       "agent_id, body FROM messages WHERE case_id = ? ORDER BY ts, message_id", [target]).fetchall()
    ids = [r[0] for r in rows]
    files: dict[str, list[AttachmentInfo]] = {}
    refs: dict[str, list[str]] = {}
    if ids:
        for a in con.execute("SELECT attachment_id, message_id, filename, content_type, size, sha256, storage_path, "
                             "refused FROM attachments WHERE list_contains(?, message_id) ORDER BY created_at, "
                             "attachment_id", [ids]).fetchall():
            files.setdefault(a[1], []).append(AttachmentInfo(*a))
        for mid, ext in con.execute("SELECT message_id, external_id FROM message_refs WHERE case_id = ? "
                                    "ORDER BY created_at", [target]).fetchall():
            refs.setdefault(mid, []).append(ext)
    messages = [Message(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], tuple(refs.get(r[0], ())),
                        tuple(files.get(r[0], ()))) for r in rows]
    person = persons.show(store, case.person_id, limit=timeline_limit) if case.person_id else None
    return CaseView(case, messages, _events(con, target), person, case_id if target != case_id else None)


def case_for_refs(store: Store, external_ids: Sequence[str]) -> str | None:
    """The case a message answers, from the external ids it names (e-mail In-Reply-To and
    References, newest first): the case of the first one known (merges followed)."""
    for ext in external_ids:
        row = store.con.execute("SELECT case_id FROM message_refs WHERE external_id = ? ORDER BY created_at DESC "
                                "LIMIT 1", [ext]).fetchone()
        if row:
            return _resolve_merged(store.con, row[0])
    return None


def history(store: Store, case_id: str) -> list[Event]:
    return _events(store.con, case_id)


_INBOX_ACTIVE = """SELECT case_id, person_id, subject, status, priority, assignee, team_id, channel, topic, language,
       waiting_since, opened_at, updated_at, version, priority_rank FROM desk_inbox"""
_INBOX_ALL = """SELECT c.case_id, c.person_id, c.subject, c.status::VARCHAR AS status,
       coalesce(c.priority::VARCHAR, 'normal') AS priority, c.assignee, d.team_id,
       coalesce(d.last_customer_channel, c.channel::VARCHAR) AS channel, c.topic, d.language, d.waiting_since,
       c.opened_at, d.updated_at, coalesce(d.version, 0) AS version,
       CASE coalesce(c.priority::VARCHAR, 'normal') WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1
            ELSE 0 END AS priority_rank
  FROM cases c LEFT JOIN desk_cases d USING (case_id)"""
_WAIT_KEY = f"coalesce(waiting_since, '{_INFINITY}'::TIMESTAMPTZ)"


def inbox(store: Store, *, status: str | Sequence[str] | None = None, team: str | None = None,
          assignee: str | None = None, channel: str | None = None, priority: str | None = None,
          q: str | None = None, limit: int = 50, cursor: str | None = None) -> list[InboxRow]:
    """Cases by priority (urgent first), then longest-waiting first (cases nobody waits on
    last), then id. ``status`` defaults to the active ones (new, open, pending), read from
    ``desk_inbox`` — a table the size of the open workload, so the inbox costs the same with
    1M cases in the history; other statuses read the whole history. ``assignee``:
    :data:`UNASSIGNED` for cases nobody has. ``q``: a case id, a person's identifier, or
    words of the subject. Keyset pagination: pass the last row's ``cursor`` for the next page."""
    statuses = [_choice(s, "status", tuple(TRANSITIONS))
                for s in ([status] if isinstance(status, str) else list(status or ACTIVE))]
    if not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise DeskError(f"limit must be 1 to 1000 (got {limit})")
    active = set(statuses) <= set(ACTIVE)
    where = ["status IN (" + ", ".join("?" for _ in statuses) + ")"]
    params: list[Any] = list(statuses)
    for col, value, allowed in (("team_id", team, None), ("channel", channel, CHANNELS),
                                ("priority", priority, PRIORITIES)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(_choice(value, col, allowed) if allowed else value)
    if assignee == UNASSIGNED:
        where.append("assignee IS NULL")
    elif assignee is not None:
        where.append("assignee = ?")
        params.append(assignee)
    if q and q.strip():
        needle = q.strip()
        who = persons.find(store, needle)
        where.append("(case_id = ? OR person_id = ? OR subject ILIKE ? ESCAPE '\\')")
        params += [needle, who or "", "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                   + "%"]
    if cursor:
        rank, wait, last_id = _decode_cursor(cursor)
        where.append(f"(priority_rank < ? OR (priority_rank = ? AND ({_WAIT_KEY} > ?::TIMESTAMPTZ "
                     f"OR ({_WAIT_KEY} = ?::TIMESTAMPTZ AND case_id > ?))))")
        params += [rank, rank, wait, wait, last_id]
    sql = (f"SELECT * FROM ({_INBOX_ACTIVE if active else _INBOX_ALL}) WHERE {' AND '.join(where)} "
           f"ORDER BY priority_rank DESC, {_WAIT_KEY}, case_id LIMIT {int(limit)}")
    out = []
    for r in store.con.execute(sql, params).fetchall():
        out.append(InboxRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
                            _encode_cursor(r[14], r[10], r[0])))
    return out


def _encode_cursor(rank: int, waiting: datetime | None, case_id: str) -> str:
    raw = json.dumps([rank, waiting.astimezone(timezone.utc).isoformat() if waiting else _INFINITY, case_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str, str]:
    try:
        rank, wait, case_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if wait != _INFINITY:
            datetime.fromisoformat(wait)
        if not isinstance(rank, int) or not isinstance(case_id, str):
            raise ValueError
    except (ValueError, TypeError) as e:
        raise DeskError(f"cursor {cursor[:40]!r} is not one this inbox gave: start from the first page") from e
    return rank, wait, case_id


# -- housekeeping -------------------------------------------------------------------------
def adopt_imported(store: Store) -> int:
    """Give the desk the cases imported from another tool (canonical rows without a desk
    row): version 1, and the active ones in the inbox. Returns how many. Idempotent."""
    with store.write_lock, store.transaction() as con:
        con.execute("""CREATE OR REPLACE TEMP TABLE _adopt AS
            SELECT c.* FROM cases c WHERE NOT EXISTS (SELECT 1 FROM desk_cases d WHERE d.case_id = c.case_id)""")
        n = con.execute("SELECT count(*) FROM _adopt").fetchone()
        con.execute("""INSERT INTO desk_cases (case_id, version, skills, waiting_since, last_customer_channel,
                                               updated_at, updated_by)
            SELECT case_id, 1, []::VARCHAR[], CASE WHEN status::VARCHAR IN ('new', 'open') THEN opened_at END,
                   channel::VARCHAR, now(), 'import' FROM _adopt""")
        con.execute("""INSERT INTO desk_inbox
            SELECT case_id, person_id, status::VARCHAR, coalesce(priority::VARCHAR, 'normal'),
                   CASE coalesce(priority::VARCHAR, 'normal') WHEN 'urgent' THEN 3 WHEN 'high' THEN 2
                        WHEN 'normal' THEN 1 ELSE 0 END,
                   NULL, assignee, channel::VARCHAR, subject, topic, NULL, []::VARCHAR[],
                   CASE WHEN status::VARCHAR IN ('new', 'open') THEN opened_at END, opened_at, now(), 1
            FROM _adopt WHERE status::VARCHAR IN ('new', 'open', 'pending')""")
        con.execute("DROP TABLE _adopt")
    store.touch()
    return int(n[0]) if n else 0


def purge_orphans(store: Store) -> dict[str, int]:
    """Delete the desk rows of cases that no longer exist (after ``persons.erase``, which
    deletes the canonical cases and messages): desk rows, inbox rows, events, message
    references, attachments and their files no other attachment shares."""
    counts: dict[str, int] = {}
    with store.write_lock, store.transaction() as con:
        missing = dict(con.execute("SELECT case_id, merged_into FROM desk_cases d WHERE NOT EXISTS "
                                   "(SELECT 1 FROM cases c WHERE c.case_id = d.case_id)").fetchall())
        gone = [cid for cid in missing if _final(cid, missing) in missing]  # the chain ends nowhere alive
        con.execute("CREATE OR REPLACE TEMP TABLE _gone AS SELECT unnest(?::VARCHAR[]) AS case_id", [gone])
        files = con.execute("""SELECT DISTINCT a.storage_path FROM attachments a
            WHERE a.storage_path IS NOT NULL AND a.message_id NOT IN (SELECT message_id FROM messages)""").fetchall()
        for table, where in (("attachments", "message_id NOT IN (SELECT message_id FROM messages)"),
                             ("message_refs", "message_id NOT IN (SELECT message_id FROM messages)"),
                             ("case_events", "case_id IN (SELECT case_id FROM _gone)"),
                             ("desk_inbox", "case_id IN (SELECT case_id FROM _gone)"),
                             ("desk_cases", "case_id IN (SELECT case_id FROM _gone)")):
            counts[table] = len(con.execute(f"DELETE FROM {table} WHERE {where} RETURNING 1").fetchall())
        still = {r[0] for r in con.execute("SELECT DISTINCT storage_path FROM attachments "
                                           "WHERE storage_path IS NOT NULL").fetchall()}
        con.execute("DROP TABLE _gone")
    removed = 0
    for (rel,) in files:
        if rel not in still:
            p = attachments_dir(store) / rel
            if p.exists():
                p.unlink()
                removed += 1
    counts["files"] = removed
    store.touch()
    return counts


def _final(case_id: str, merged_into: dict[str, str | None]) -> str:
    """Where a chain of merges ends (``case_id`` itself when not merged)."""
    seen = {case_id}
    while merged_into.get(case_id) and merged_into[case_id] not in seen:
        case_id = merged_into[case_id] or case_id
        seen.add(case_id)
    return case_id


# -- words --------------------------------------------------------------------------------
_SAY = {
    "opened": "opened the case", "message": "wrote a message", "note": "added an internal note",
    "assigned": "changed the assignee", "status": "changed the status", "priority": "changed the priority",
    "linked_contact": "linked a new contact", "channel_hop": "wrote on another channel", "merged": "merged a case in",
    "merged_into": "merged the case into another", "split": "split messages off", "closed": "closed the case",
    "reopened": "reopened the case", "opportunity": "flagged a sales opportunity", "routing": "changed the routing",
    "suggested_link": "suggested a duplicate", "link_rejected": "rejected the suggested link",
}


def describe(e: Event) -> str:
    """One line saying what an event did: ``2026-11-23 10:02 UTC a7 set status pending``."""
    d = e.detail
    what = _SAY.get(e.kind, e.kind.replace("_", " "))
    if e.kind == "status":
        what = f"set status {d.get('to')} (was {d.get('from')})"
    elif e.kind == "priority":
        what = f"set priority {d.get('to')} (was {d.get('from')})"
    elif e.kind == "assigned":
        what = f"assigned it to {d.get('to')}" if d.get("to") else f"unassigned it (was {d.get('from')})"
    elif e.kind == "message":
        what = "replied" if d.get("author") == "agent" else f"wrote ({d.get('author')}, {d.get('channel')})"
    elif e.kind == "channel_hop":
        what = f"wrote on {d.get('to')} after {d.get('from')}"
    elif e.kind == "closed":
        what = f"closed it ({d.get('disposition')})"
    elif e.kind in ("merged", "merged_into", "split"):
        what = f"{_SAY[e.kind]} ({d.get('case_id')})"
    when = e.ts.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{when} {e.actor} {what}"
