"""Promises the company makes while it serves: recorded as rows of the canonical ``promises`` table.

* :func:`from_desk` turns the service desk's SLA clocks into promises: each case's first
  response and each resolution cycle is a promise (``first_response``, ``resolution``) due at
  the clock's due time and kept when the clock stopped (on time: met; after: late). The
  promise id is the clock's (``<case>/<target>/<instance>``, as the SLA watch keys its events),
  so running it again updates the same rows: idempotent.
* The desk has no callback appointments of its own, so an agent action (or a rule) records a
  promise it makes — "we call you back before 3 pm" — with :func:`promise`, and its
  fulfilment with :func:`keep`.
* :func:`overdue` lists the open promises past due, for the rules engine and the page.

Rows written here carry ``import_id = 'desk'`` (as the desk's cases and messages do); the
figures are :mod:`parcours.metrics.promises`'. docs/promises.md describes the whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from parcours.desk import clocks
from parcours.desk.sla import TargetState
from parcours.schema import CHANNELS, MAX_TEXT_CHARS, PROMISE_KINDS
from parcours.store import Store

__all__ = ["COLUMNS", "PromiseError", "from_desk", "keep", "overdue", "promise"]

#: the columns this module writes (identifier columns stay empty: the person is known)
COLUMNS = ("promise_id", "person_id", "made_at", "kind", "channel", "due_at", "kept_at", "case_id", "detail")
CHUNK = 2000   # desk cases evaluated per query, as the SLA watch does
SOURCE = "desk"


class PromiseError(ValueError):
    """A promise that cannot be recorded or kept; the message names the field and why."""


def _aware(ts: datetime | None, name: str) -> datetime:
    if ts is None:
        return datetime.now(timezone.utc)
    if not isinstance(ts, datetime) or ts.tzinfo is None or ts.utcoffset() is None:
        raise PromiseError(f"{name}: give a timezone-aware datetime, not {ts!r}")
    return ts.astimezone(timezone.utc)


# -- the desk's SLA clocks ----------------------------------------------------------------------
def _clock_rows(case_id: str, person_id: str | None, channel: str | None, policy: str,
                clocks_: Sequence[TargetState]) -> list[tuple[Any, ...]]:
    out = []
    for c in clocks_:
        if c.state == "none" or c.due_at is None or c.started_at is None:
            continue  # no target, or paused with no deadline: nothing promised (yet)
        kept = c.stopped_at if c.state in ("met", "breached") and c.stopped_at is not None else None
        minutes = f"{c.target_s / 60:g} business minutes" if c.target_s is not None else "the target"
        what = "first response" if c.target == "first_response" else f"resolution (cycle {c.instance})"
        out.append((f"{case_id}/{c.target}/{c.instance}", person_id, c.started_at, c.target, channel, c.due_at,
                    kept, case_id, f"{what} within {minutes} ({policy})"))
    return out


def from_desk(store: Store, *, now: datetime | None = None, case_ids: Sequence[str] | None = None,
              since: datetime | None = None) -> dict[str, int]:
    """Record the desk's first-response and resolution promises as their SLA clocks stand at
    ``now`` (default: now), for ``case_ids``, else the active cases and those changed at or after
    ``since`` (what the SLA watch sweeps: run it beside the sweep, every minute), else every desk
    case. Returns counts: ``added``, ``updated`` (a clock that stopped, or a deadline moved by a
    pause or a priority change), ``unchanged``, ``cases`` evaluated. Imported cases (no desk
    history) have no clocks."""
    at = _aware(now, "now")
    if case_ids is not None:
        ids = list(case_ids)
    elif since is not None:
        ids = [r[0] for r in store.query(
            "SELECT case_id FROM desk_inbox UNION SELECT case_id FROM desk_cases WHERE updated_at >= ? "
            "AND merged_into IS NULL ORDER BY 1", [_aware(since, "since")])]
    else:
        ids = [r[0] for r in store.query("SELECT case_id FROM desk_cases WHERE merged_into IS NULL ORDER BY 1")]
    counts = {"added": 0, "updated": 0, "unchanged": 0, "cases": len(ids)}
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        meta = {r[0]: (r[1], r[2]) for r in store.query(
            "SELECT case_id, person_id, channel::VARCHAR FROM cases WHERE list_contains(?, case_id)", [part])}
        rows: list[tuple[Any, ...]] = []
        for case_id, state in clocks.states(store, part, now=at).items():
            if state is None:
                continue
            person, channel = meta.get(case_id, (None, None))
            rows += _clock_rows(case_id, person, channel, state.policy,
                                [state.first_response, *state.cycles])
        got = _upsert(store, rows)
        for k in ("added", "updated", "unchanged"):
            counts[k] += got[k]
    return counts


def _upsert(store: Store, rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """Insert new promises, rewrite changed ones; one transaction."""
    got = {"added": 0, "updated": 0, "unchanged": 0}
    if not rows:
        return got
    cols = ", ".join(COLUMNS)
    with store.write_lock, store.transaction() as con:
        stored = {r[0]: r for r in con.execute(
            f"SELECT {cols.replace('kind', 'kind::VARCHAR').replace('channel', 'channel::VARCHAR')} "
            "FROM promises WHERE list_contains(?, promise_id)", [[r[0] for r in rows]]).fetchall()}
        new = [r for r in rows if r[0] not in stored]
        changed = [r for r in rows if r[0] in stored and tuple(stored[r[0]]) != r]
        if changed:
            con.execute("DELETE FROM promises WHERE list_contains(?, promise_id)", [[r[0] for r in changed]])
        if new or changed:
            con.executemany(f"INSERT INTO promises ({cols}, import_id) VALUES ({', '.join('?' * len(COLUMNS))}, "
                            f"'{SOURCE}')", [list(r) for r in new + changed])
        got.update(added=len(new), updated=len(changed), unchanged=len(rows) - len(new) - len(changed))
    if new or changed:
        store.touch()
    return got


# -- promises an agent action makes ---------------------------------------------------------------
def promise(store: Store, person_id: str, kind: str, due_at: datetime, channel: str | None = None, *,
            case_id: str | None = None, order_id: str | None = None, detail: str | None = None,
            made_at: datetime | None = None, promise_id: str | None = None) -> str:
    """Record a promise made to ``person_id`` (a callback: ``kind="callback"``, due when the call
    is promised); returns its id. ``promise_id`` makes a retried action idempotent: the same
    promise again is a no-op, a different one under that id an error."""
    if kind not in PROMISE_KINDS:
        raise PromiseError(f"kind: unknown kind {kind!r} (expected one of: {', '.join(PROMISE_KINDS)})")
    if channel is not None and channel not in CHANNELS:
        raise PromiseError(f"channel: unknown channel {channel!r} (expected one of: {', '.join(CHANNELS)})")
    made = _aware(made_at, "made_at")
    due = _aware(due_at, "due_at")
    if detail is not None and len(detail) > MAX_TEXT_CHARS:
        raise PromiseError(f"detail: {len(detail):,} characters, over the limit of {MAX_TEXT_CHARS:,}")
    pid = promise_id or "PR-" + uuid.uuid4().hex[:16]
    row = (pid, person_id, made, kind, channel, due, None, order_id, case_id, detail)
    with store.write_lock, store.transaction() as con:
        if not con.execute("SELECT count(*) FROM persons WHERE person_id = ?", [person_id]).fetchall()[0][0]:
            raise PromiseError(f"person_id: no person {person_id!r}")
        if case_id is not None and not con.execute("SELECT count(*) FROM cases WHERE case_id = ?",
                                                   [case_id]).fetchall()[0][0]:
            raise PromiseError(f"case_id: no case {case_id!r}")
        old = con.execute("SELECT promise_id, person_id, made_at, kind::VARCHAR, channel::VARCHAR, due_at, kept_at, "
                          "order_id, case_id, detail FROM promises WHERE promise_id = ?", [pid]).fetchall()
        if old:
            # what was promised, not when the (retried) call recorded it nor whether it is kept yet
            if (old[0][1],) + old[0][3:6] + old[0][7:] != (row[1],) + row[3:6] + row[7:]:
                raise PromiseError(f"promise_id: {pid!r} is already a different promise")
            return pid  # the same promise again (a retried action): made once
        if due < made:
            raise PromiseError(f"due_at: {due.isoformat()} is before made_at ({made.isoformat()})")
        con.execute("INSERT INTO promises (promise_id, person_id, made_at, kind, channel, due_at, kept_at, order_id, "
                    f"case_id, detail, import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{SOURCE}')", list(row))
    store.touch()
    return pid


def keep(store: Store, promise_id: str, at: datetime | None = None) -> bool:
    """Record that the promise was fulfilled at ``at`` (default now). True if recorded; False if
    it was already kept (the first fulfilment stands: a callback made twice was kept once)."""
    when = _aware(at, "at")
    with store.write_lock, store.transaction() as con:
        found = con.execute("SELECT made_at, kept_at FROM promises WHERE promise_id = ?", [promise_id]).fetchall()
        if not found:
            raise PromiseError(f"promise_id: no promise {promise_id!r}")
        made, kept = found[0]
        if kept is not None:
            return False
        if when < made:
            raise PromiseError(f"at: {when.isoformat()} is before the promise was made ({made.isoformat()})")
        con.execute("UPDATE promises SET kept_at = ? WHERE promise_id = ?", [when, promise_id])
    store.touch()
    return True


def overdue(store: Store, now: datetime | None = None, *, channel: str | None = None,
            limit: int | None = None) -> list[dict[str, Any]]:
    """Open promises past due at ``now`` (default now), the longest overdue first — what a rule
    on broken promises fires on; ``channel``: only those made on it. Each: promise_id, person_id,
    kind, channel, made_at, due_at, order_id, case_id, detail, overdue_h."""
    from parcours.metrics import promises as pm
    from parcours.report import rows

    expr = pm.overdue(store.table("promises"), as_of=_aware(now, "now"))
    if channel is not None:
        expr = expr.filter(expr.channel == channel)
    return rows(expr.limit(limit) if limit else expr)
