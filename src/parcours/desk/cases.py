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

The code lives in small modules behind this one (import from here; the names below are the API):

* :mod:`.model` — constants, the dataclasses returned, :func:`describe`;
* :mod:`.errors` — :class:`DeskError` and its kinds;
* :mod:`.checks` — checks of what callers pass in;
* :mod:`.records` — reading and writing rows (cases, events, messages, references);
* :mod:`.attachments` — attachment files;
* :mod:`.intake` — :func:`receive`;
* :mod:`.actions` — replies, notes, status, priority, assignment, routing, closing, :func:`open_case`;
* :mod:`.merging` — merge, split, suggested links;
* :mod:`.reads` — :func:`get`, :func:`inbox`, :func:`history`, :func:`case_for_refs`, :func:`opportunities`,
  :func:`pipeline_totals`;
* :mod:`.housekeeping` — :func:`adopt_imported`, :func:`purge_orphans`.
"""

from __future__ import annotations

from parcours.desk.actions import (
    assign,
    assign_in,
    close,
    hand_over,
    note,
    open_case,
    open_for_feedback,
    reply,
    set_priority,
    set_routing,
    set_status,
)
from parcours.desk.attachments import (
    CONTENT_TYPES,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    attachment_bytes,
    attachments_dir,
    check_uploads,
)
from parcours.desk.checks import check_ts
from parcours.desk.errors import ClosedCaseError, ConflictError, DeskError, MergedCaseError, NotFoundError
from parcours.desk.housekeeping import adopt_imported, purge_orphans
from parcours.desk.intake import receive
from parcours.desk.merging import accept_link, merge, reject_link, split
from parcours.desk.model import (
    ACTIVE,
    AUTHORS,
    DEFAULT_CONFIG,
    DISPOSITIONS,
    EXCERPT_CHARS,
    MAX_EXTERNAL_ID,
    MAX_SUBJECT,
    MAX_TOPIC,
    PRIORITY_RANK,
    TRANSITIONS,
    UNASSIGNED,
    Attachment,
    AttachmentIn,
    AttachmentInfo,
    Case,
    CaseView,
    ContactFacts,
    DeskConfig,
    Event,
    InboxRow,
    Message,
    Opportunity,
    Posted,
    Received,
    RefusedIn,
    describe,
)
from parcours.desk.reads import case_for_refs, get, history, inbox, opportunities, pipeline_totals
from parcours.desk.records import Change, load

__all__ = [
    # writing: contacts in, agents' actions, merge and split
    "receive", "reply", "note", "assign", "set_status", "set_priority", "set_routing", "hand_over", "close",
    "open_case", "open_for_feedback", "merge", "split", "accept_link", "reject_link",
    # reading
    "get", "inbox", "history", "case_for_refs", "opportunities", "pipeline_totals",
    "describe",
    # attachments
    "attachments_dir", "attachment_bytes", "check_uploads",
    # housekeeping
    "adopt_imported", "purge_orphans",
    # for other desk modules working inside their own transaction
    "load", "check_ts", "assign_in", "Change",
    # what the API returns and takes
    "Case", "Message", "Event", "Received", "Posted", "CaseView", "InboxRow", "Opportunity", "DeskConfig",
    "ContactFacts", "Attachment", "AttachmentInfo", "AttachmentIn", "RefusedIn",
    # errors
    "DeskError", "NotFoundError", "ClosedCaseError", "MergedCaseError", "ConflictError",
    # constants
    "ACTIVE", "PRIORITY_RANK", "TRANSITIONS", "DISPOSITIONS", "AUTHORS", "UNASSIGNED", "MAX_SUBJECT", "MAX_TOPIC",
    "MAX_EXTERNAL_ID", "EXCERPT_CHARS", "MAX_ATTACHMENT_BYTES", "MAX_ATTACHMENTS", "CONTENT_TYPES", "DEFAULT_CONFIG",
]
