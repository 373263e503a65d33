"""What the desk's service API returns and the words it uses: constants, the dataclasses of
cases, messages and events, and :func:`describe` (one line per event).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable

from parcours import persons
from parcours.desk.linking import LinkPolicy
from parcours.schema import PRIORITIES

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


@runtime_checkable
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
