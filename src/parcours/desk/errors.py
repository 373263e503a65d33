"""The desk's errors: each message says why and what to do."""

from __future__ import annotations

from parcours.desk.model import Event, describe


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
