"""The service API of the desk is ``parcours.desk.cases``: the names it exports are pinned."""

from __future__ import annotations

from parcours.desk import cases

API = {
    # writing
    "receive", "reply", "note", "assign", "set_status", "set_priority", "set_routing", "hand_over", "close",
    "open_case", "open_for_feedback",
    "merge", "split", "accept_link", "reject_link",
    # reading
    "get", "inbox", "history", "case_for_refs", "opportunities", "pipeline_totals", "describe",
    # attachments, housekeeping
    "attachments_dir", "attachment_bytes", "check_uploads", "adopt_imported", "purge_orphans",
    # for desk modules working inside their own transaction
    "load", "check_ts", "assign_in", "Change",
    # what the API returns and takes
    "Case", "Message", "Event", "Received", "Posted", "CaseView", "InboxRow", "Opportunity", "DeskConfig",
    "ContactFacts", "Attachment", "AttachmentInfo", "AttachmentIn", "RefusedIn",
    # errors
    "DeskError", "NotFoundError", "ClosedCaseError", "MergedCaseError", "ConflictError",
    # constants
    "ACTIVE", "PRIORITY_RANK", "TRANSITIONS", "DISPOSITIONS", "AUTHORS", "UNASSIGNED", "MAX_SUBJECT", "MAX_TOPIC",
    "MAX_EXTERNAL_ID", "EXCERPT_CHARS", "MAX_ATTACHMENT_BYTES", "MAX_ATTACHMENTS", "CONTENT_TYPES", "DEFAULT_CONFIG",
}


def test_cases_exports_the_pinned_names_and_each_resolves():
    assert set(cases.__all__) == API
    assert len(cases.__all__) == len(API)  # no name listed twice
    for name in API:
        assert getattr(cases, name) is not None, name


def test_errors_are_desk_errors_and_value_errors():
    for err in (cases.NotFoundError, cases.ClosedCaseError, cases.MergedCaseError, cases.ConflictError):
        assert issubclass(err, cases.DeskError)
    assert issubclass(cases.DeskError, ValueError)
