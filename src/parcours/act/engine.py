"""Judging rules: on stored events, in sweeps over states, and back over a past period.

* :func:`judge_events` — the rows of one or more imports (API batches) or of desk writes,
  one query per enabled rule on that table's subject.
* :func:`sweep` — every enabled state rule over what is active now (one query each; a
  firing per subject and round, so a sweep every few seconds fires once).
* :func:`backtest` — the same query over a past period ("this rule would have fired 312 times
  last month"): events by their own time, states at daily check points.

A firing is claimed (``rule_firings`` row, unique per rule, subject and round) before its
action runs, then marked done, skipped or failed with the result or the error: an action
runs at most once. A rule whose query or action fails is recorded (``rules.last_error``)
and the others go on; nothing here ever raises into the ingestion path.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import duckdb
import pyarrow as pa

from parcours.act import rules as rule_store
from parcours.act.actions import Actions
from parcours.act.conditions import ConditionError
from parcours.act.rules import Rule
from parcours.act.subjects import SUBJECTS, Subject, now_sql
from parcours.store import Store
from parcours.store.sql import registered

__all__ = ["Backtest", "Firing", "backtest", "firings", "judge_events", "sweep"]

log = logging.getLogger(__name__)
TABLE_SUBJECTS = {s.table: s for s in SUBJECTS.values() if s.kind == "event"}
MAX_SHOWN = 6
MAX_BACKTEST = timedelta(days=400)  # a back-test is a question about last month or last year, not a century


@dataclass
class Firing:
    firing_id: str
    rule_id: str
    subject_key: str
    round: int
    person_id: str | None
    case_id: str | None
    event_ts: datetime | None
    reason: str
    action: str
    status: str = "pending"
    result: str | None = None
    error: str | None = None


def _query(rule: Rule, subject: Subject, where: str, now: datetime) -> tuple[str, list[Any], list[str]]:
    c = rule_store.compiled(rule)
    fields = "".join(f", {sql} AS _f{i}" for i, (_, sql, _) in enumerate(c.shown))
    shown = "".join(f", _f{i}" for i in range(min(len(c.shown), MAX_SHOWN)))
    sql = (f"SELECT _key, _person, _case, _ts{shown} FROM ("
           f"SELECT {subject.key} AS _key, t.person_id AS _person, {subject.case} AS _case, {subject.ts} AS _ts"
           f"{fields} FROM {subject.source} WHERE {where}) WHERE ({c.sql})")
    return sql.replace("{now}", now_sql(now)), c.params, [(label, typ) for label, _, typ in c.shown[:MAX_SHOWN]]


def _reason(rule: Rule, labels: list[tuple[str, str]], values: Iterable[Any]) -> str:
    shown = ", ".join(f"{label} = {_fmt(v, typ)}" for (label, typ), v in zip(labels, values))
    return f"{rule.condition}" + (f" ({shown})" if shown else "")


def _fmt(v: Any, typ: str) -> str:
    if v is None:
        return "empty"
    if typ == "age":
        s = float(v)
        for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
            if abs(s) >= size:
                return f"{s / size:.1f} {unit}"
        return f"{s:.0f} s"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _matches(store: Store, rule: Rule, where: str, params: list[Any], now: datetime, *, round_: int,
             fresh_only: bool) -> list[Firing]:
    subject = SUBJECTS[rule.subject]
    sql, cparams, labels = _query(rule, subject, where, now)
    spacing: list[Any] = []
    if fresh_only:  # not fired yet in this round, nor (a repeating rule) within its repeat period
        sql += (" AND NOT EXISTS (SELECT 1 FROM rule_firings f WHERE f.rule_id = ? AND f.subject_key = _key "
                "AND (f.round = ? OR f.fired_at > ?))")
        spacing = [rule.rule_id, round_, now - timedelta(seconds=rule.repeat_after_s) if rule.repeat_after_s
                   else datetime.max.replace(tzinfo=timezone.utc)]
    rows = store.con.execute(sql, [*params, *cparams, *spacing]).fetchall()
    batch = uuid.uuid4().hex[:16]  # one random part a round, a counter within it (a million firings in one sweep)
    return [Firing(f"f_{batch}{i:06x}", rule.rule_id, str(r[0]), round_, r[1], r[2], r[3],
                   _reason(rule, labels, r[4:]), rule.action) for i, r in enumerate(rows)]


def _round(rule: Rule, now: datetime) -> int:
    """States fire once per subject, or once per ``repeat_after`` period."""
    return int(now.timestamp() // rule.repeat_after_s) if rule.repeat_after_s else 0


_FIRING_COLS = ("firing_id", "rule_id", "subject_key", "round", "person_id", "case_id", "event_ts", "fired_at",
                "done_at", "reason", "action", "status", "result", "error")


def _claim(store: Store, found: list[Firing], now: datetime) -> list[Firing]:
    """Record the firings (one statement, stamped with the judging's ``now``: a repeating rule's
    period is counted on the same clock as its condition); those already recorded (a second look at
    the same row) are left out — by an anti-join: ``INSERT OR IGNORE`` checks the unique index
    row by row, 70 s for 137,000 firings where this takes a few. The ones claimed."""
    if not found:
        return []
    ts = pa.timestamp("us", tz="UTC")
    rows = pa.table({
        "firing_id": pa.array([f.firing_id for f in found], pa.string()),
        "rule_id": pa.array([f.rule_id for f in found], pa.string()),
        "subject_key": pa.array([f.subject_key for f in found], pa.string()),
        "round": pa.array([f.round for f in found], pa.int64()),
        "person_id": pa.array([f.person_id for f in found], pa.string()),
        "case_id": pa.array([f.case_id for f in found], pa.string()),
        "event_ts": pa.array([f.event_ts for f in found], ts),
        "reason": pa.array([f.reason for f in found], pa.string()),
        "action": pa.array([f.action for f in found], pa.string()),
    })
    with registered(store.con, "_firings", rows):
        got = store.con.execute("""
            INSERT INTO rule_firings (firing_id, rule_id, subject_key, round, person_id, case_id, event_ts,
                                      fired_at, reason, action, status)
            SELECT firing_id, rule_id, subject_key, round, person_id, case_id, event_ts, ?, reason, action, 'pending'
            FROM _firings f
            WHERE NOT EXISTS (SELECT 1 FROM rule_firings r WHERE r.rule_id = f.rule_id AND r.round = f.round
                              AND r.subject_key = f.subject_key)
            QUALIFY row_number() OVER (PARTITION BY rule_id, subject_key, round) = 1
            RETURNING firing_id""", [now]).fetchall()
    kept = {g[0] for g in got}
    return [f for f in found if f.firing_id in kept]


def _settle(store: Store, done: list[Firing]) -> None:
    if not done:
        return
    settled = pa.table({"firing_id": [f.firing_id for f in done], "status": [f.status for f in done],
                        "result": [f.result for f in done], "error": [f.error for f in done]})
    # done_at: the wall clock once the actions ran (fired_at is the judging's clock)
    with registered(store.con, "_settled", settled):
        store.con.execute("UPDATE rule_firings SET status = s.status, result = s.result, error = s.error, done_at = ? "
                          "FROM _settled s WHERE rule_firings.firing_id = s.firing_id", [datetime.now(timezone.utc)])


def _fire(store: Store, rule: Rule, found: list[Firing], actions: Actions, now: datetime) -> list[Firing]:
    with store.write_lock:
        claimed = _claim(store, found, now)
    if not claimed:
        return []
    actions.run(rule, claimed, now)
    with store.write_lock:
        _settle(store, claimed)
    failed = [f for f in claimed if f.status == "failed"]
    if failed:
        rule_store.record_error(store, rule.rule_id, f"{len(failed)} of {len(claimed)} actions failed; last: "
                                                     f"{failed[-1].error}", now)
    elif rule.last_error:
        rule_store.clear_error(store, rule.rule_id)
    return claimed


def _enabled(store: Store, kind: str, table: str | None = None) -> list[Rule]:
    return [r for r in rule_store.listed(store) if r.enabled and SUBJECTS[r.subject].kind == kind
            and (table is None or SUBJECTS[r.subject].table == table)]


def judge_events(store: Store, table: str, actions: Actions, *, import_ids: list[str] = (),  # type: ignore[assignment]
                 keys: list[str] = (), now: datetime | None = None) -> list[Firing]:  # type: ignore[assignment]
    """Judge freshly stored rows of ``table`` (by their imports, or by key) with every enabled
    event rule on it. Rows stored before a rule was switched on are not its business."""
    now = now or datetime.now(timezone.utc)
    subject = TABLE_SUBJECTS.get(table)
    if subject is None or not (import_ids or keys):
        return []
    # rows stored before the rule was switched on are not its business
    where = ("t.import_id IN (SELECT import_id FROM imports WHERE import_id IN (SELECT unnest(?::VARCHAR[])) "
             "AND finished_at >= ?)" if import_ids else f"{subject.key} IN (SELECT unnest(?::VARCHAR[])) AND t.ts >= ?")
    fired: list[Firing] = []
    for rule in _enabled(store, "event", table):
        try:
            found = _matches(store, rule, where, [list(import_ids or keys), rule.enabled_at], now, round_=0,
                             fresh_only=True)
            fired += _fire(store, rule, found, actions, now)
        except Exception as e:  # one broken rule never stops the others, nor the ingestion
            log.exception("rule %s failed", rule.rule_id)
            rule_store.record_error(store, rule.rule_id, f"{type(e).__name__}: {e}", now)
    return fired


#: rows written by the served process itself (the desk's contacts, survey answers): no import
#: tells the rules about them, so each sweep judges the recent ones not judged yet
LIVE_WRITES = ("desk", "survey")
RECENT = timedelta(days=1)


def sweep(store: Store, actions: Actions, *, now: datetime | None = None) -> list[Firing]:
    """Judge every enabled state rule against the clock, and the event rules on the recent rows
    the desk and the survey pages wrote."""
    now = now or datetime.now(timezone.utc)
    fired: list[Firing] = []
    for rule in _enabled(store, "event"):
        try:
            found = _matches(store, rule, "t.import_id IN (SELECT unnest(?::VARCHAR[])) AND t.ts >= ? AND t.ts >= ?",
                             [list(LIVE_WRITES), now - RECENT, rule.enabled_at], now, round_=0, fresh_only=True)
            fired += _fire(store, rule, found, actions, now)
        except Exception as e:
            log.exception("rule %s failed", rule.rule_id)
            rule_store.record_error(store, rule.rule_id, f"{type(e).__name__}: {e}", now)
    for rule in _enabled(store, "state"):
        subject = SUBJECTS[rule.subject]
        try:
            found = _matches(store, rule, subject.live, [], now, round_=_round(rule, now), fresh_only=True)
            fired += _fire(store, rule, found, actions, now)
        except Exception as e:
            log.exception("rule %s failed", rule.rule_id)
            rule_store.record_error(store, rule.rule_id, f"{type(e).__name__}: {e}", now)
    return fired


@dataclass
class Backtest:
    rule_id: str
    start: datetime
    end: datetime
    fired: int                                   # firings the rule would have made
    subjects: int                                # distinct subjects (events, cases, promises, persons)
    persons: int
    by_day: list[dict[str, Any]] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)
    check_points: int = 0                        # states: the sweeps replayed
    seconds: float = 0.0


def backtest(store: Store, raw: dict[str, Any] | Rule, start: datetime, end: datetime, *,
             step: timedelta = timedelta(days=1), examples: int = 10) -> Backtest:
    """How often a rule (saved or not) would have fired over [start, end)."""
    import time

    t0 = time.perf_counter()
    rule = raw if isinstance(raw, Rule) else rule_store.check(raw)
    try:
        rule_store.compiled(rule)
    except ConditionError as e:  # a saved rule the language no longer takes
        raise rule_store.RuleError("when", str(e)) from None
    if not start < end:
        raise rule_store.RuleError("period", "the start must be before the end")
    if end - start > MAX_BACKTEST:
        raise rule_store.RuleError("period", f"at most {MAX_BACKTEST.days} days at a time")
    if step < timedelta(hours=1):
        raise rule_store.RuleError("step", "at least an hour between check points")
    subject = SUBJECTS[rule.subject]
    found: dict[tuple[str, int], Firing] = {}
    points = 0
    try:
        if subject.kind == "event":
            for f in _matches(store, rule, "t.ts >= ? AND t.ts < ?", [start, end], end, round_=0, fresh_only=False):
                found[(f.subject_key, 0)] = f
        else:  # the sweeps replayed: once per subject, or again once its repeat period has passed
            if rule.repeat_after_s:
                step = min(step, timedelta(seconds=rule.repeat_after_s))
            last: dict[str, datetime] = {}
            at = start
            while at < end:
                points += 1
                for f in _matches(store, rule, subject.as_of, [], at, round_=_round(rule, at), fresh_only=False):
                    before = last.get(f.subject_key)
                    if before is None or (rule.repeat_after_s and (at - before).total_seconds()
                                          >= rule.repeat_after_s):
                        f.event_ts = last[f.subject_key] = at
                        found[(f.subject_key, f.round)] = f
                at += step
    except duckdb.Error as e:  # a condition the store cannot evaluate (shown, not a crash)
        raise rule_store.RuleError("when", f"the store could not evaluate it: {str(e).splitlines()[0][:300]}") \
            from None
    days: dict[str, int] = {}
    for f in found.values():
        day = f.event_ts.astimezone(timezone.utc).date().isoformat() if f.event_ts else "?"
        days[day] = days.get(day, 0) + 1
    ordered = sorted(found.values(), key=lambda f: (f.event_ts or start, f.subject_key))
    return Backtest(rule.rule_id, start, end, len(found), len({k for k, _ in found}),
                    len({f.person_id for f in found.values() if f.person_id}),
                    [{"day": d, "fired": n} for d, n in sorted(days.items())],
                    [{"subject": f.subject_key, "person_id": f.person_id, "case_id": f.case_id,
                      "at": f.event_ts, "reason": f.reason} for f in ordered[:examples]],
                    points, round(time.perf_counter() - t0, 3))


def firings(store: Store, *, rule_id: str | None = None, person_id: str | None = None, status: str | None = None,
            limit: int = 100) -> list[dict[str, Any]]:
    """The latest firings, with their reason and what came of them."""
    where, params = [], []
    for col, value in (("rule_id", rule_id), ("person_id", person_id), ("status", status)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    rows = store.con.execute(
        f"SELECT {', '.join(_FIRING_COLS)} FROM rule_firings {'WHERE ' + ' AND '.join(where) if where else ''} "
        "ORDER BY fired_at DESC, firing_id LIMIT ?", [*params, limit])
    cols = [d[0] for d in rows.description]
    return [dict(zip(cols, r)) for r in rows.fetchall()]
