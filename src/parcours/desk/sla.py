"""SLA policies and clocks: first response, next response and resolution, on business time.

A :class:`SlaPolicy` names a :class:`~parcours.desk.calendar.BusinessCalendar`, targets in
business minutes per priority, and when a running target counts as *at risk*. A case keeps
the policy's :meth:`~SlaPolicy.snapshot`, so editing a policy never rewrites old cases.

:func:`evaluate` replays a case's history (a list of :class:`CaseEvent`) up to ``now`` and
returns an :class:`SlaState`: one :class:`TargetState` per clock instance. It is a pure
function of (policy, history, now), so the same call answers "what is due?" for the inbox,
"what happened?" for reports (with a past ``now``), and feeds :func:`breaches`, which lists
breach and at-risk events under stable keys for the rules engine and the UI.

The rules (docs/sla.md gives them with examples and the peers they follow):

* **first_response** runs from ``opened`` to the first public ``agent_reply``. Internal
  notes are not responses.
* **next_response** starts at the oldest customer message left unanswered after a response
  (no other response clock running) and stops at the next public agent reply.
* **resolution** runs per cycle: from ``opened`` (or a reopen) to ``resolved``/``closed``. A
  reopen starts a new cycle with a fresh target; each cycle is judged on its own.
* ``pending`` (waiting on the customer) pauses every running clock; leaving it resumes them;
  a customer message on a pending case resumes them too (the wait is over).
  ``resolved``/``closed`` stop every clock, each judged at that instant.
* A priority change swaps the target **without restarting the clock**: business time keeps
  counting from the clock's start (for first response and the first cycle, ``opened``). A
  breach is final: raising the priority past the elapsed time breaches at the change;
  lowering it after a breach does not undo the breach.
* ``due_at`` is the first instant at which the business time reaches the target; a clock
  still running (or stopped) after ``due_at`` is breached. Reaching it exactly is met.
"""

from __future__ import annotations

import functools
import json
import math
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from parcours.desk.calendar import BusinessCalendar, CalendarError, aware
from parcours.schema import CASE_STATUSES, PRIORITIES

__all__ = ["EVENT_KINDS", "STATES", "TARGETS", "CaseEvent", "SlaError", "SlaEvent", "SlaPolicy", "SlaState",
           "TargetState", "breaches", "evaluate", "is_reopen"]

#: the clocks a policy can set targets for
TARGETS = ("first_response", "next_response", "resolution")
#: what a case history is made of
EVENT_KINDS = ("opened", "customer_message", "agent_reply", "note", "status", "reopened", "priority")
#: states of one clock instance; ``none`` = no target, or the clock never started
STATES = ("running", "at_risk", "paused", "met", "breached", "none")
SNAPSHOT_VERSION = 1
_ACTIVE = ("new", "open")
_DONE = ("resolved", "closed")
_ZERO = timedelta(0)
_POLICY_FIELDS = {"version", "name", "calendar", "targets", "at_risk"}
_AT_RISK_FIELDS = {"fraction", "minutes_before"}


class SlaError(ValueError):
    """A policy definition or a case history that cannot be evaluated; the message says where."""


# ---- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseEvent:
    """One fact of a case's history, as the SLA clocks see it.

    ``status`` is set for ``kind="status"`` (one of ``CASE_STATUSES``), ``priority`` for
    ``kind="priority"`` (one of ``PRIORITIES``). ``agent_reply`` means a *public* answer;
    an internal note is ``kind="note"`` and never counts as a response.
    """

    ts: datetime
    kind: str
    status: str | None = None
    priority: str | None = None

    def __post_init__(self) -> None:
        aware(self.ts, "ts")
        if self.kind not in EVENT_KINDS:
            raise SlaError(f"kind: unknown event kind {self.kind!r} (known: {', '.join(EVENT_KINDS)})")
        if (self.kind == "status") != (self.status is not None):
            raise SlaError("status: give a status exactly for kind='status'")
        if self.status is not None and self.status not in CASE_STATUSES:
            raise SlaError(f"status: unknown status {self.status!r} (known: {', '.join(CASE_STATUSES)})")
        if (self.kind == "priority") != (self.priority is not None):
            raise SlaError("priority: give a priority exactly for kind='priority'")
        if self.priority is not None and self.priority not in PRIORITIES:
            raise SlaError(f"priority: unknown priority {self.priority!r} (known: {', '.join(PRIORITIES)})")


# ---- policy ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=True)
class SlaPolicy:
    """Targets in business minutes per clock and priority, on one calendar.

    ``targets`` maps a clock name (``TARGETS``) to ``{priority: minutes}``; a missing
    priority means no target. A running clock is *at risk* once ``at_risk_fraction`` of its
    target has elapsed or ``at_risk_minutes`` remain, whichever comes first.
    """

    name: str
    calendar: BusinessCalendar
    targets: Mapping[str, Mapping[str, float]]
    at_risk_fraction: float | None = 0.8
    at_risk_minutes: float | None = None
    __hash__ = None  # type: ignore[assignment]  # targets is a mapping

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SlaError("name: a policy needs a non-empty name")
        object.__setattr__(self, "targets", _read_targets(self.targets))
        frac, mins = self.at_risk_fraction, self.at_risk_minutes
        if frac is not None and (not _number(frac) or not 0 < frac <= 1):
            raise SlaError(f"at_risk.fraction: expected a number in (0, 1], got {frac!r}")
        if mins is not None and (not _number(mins) or mins < 0):
            raise SlaError(f"at_risk.minutes_before: expected a number of minutes >= 0, got {mins!r}")

    def target_seconds(self, target: str, priority: str) -> float | None:
        """The target of one clock for one priority, in business seconds (None = no target)."""
        minutes = self.targets.get(target, {}).get(priority)
        return None if minutes is None else minutes * 60.0

    def at_risk_seconds(self, target_s: float | None) -> float | None:
        """Elapsed business seconds from which a clock with this target is at risk."""
        if target_s is None:
            return None
        marks = [target_s * self.at_risk_fraction] if self.at_risk_fraction is not None else []
        if self.at_risk_minutes is not None:
            marks.append(target_s - self.at_risk_minutes * 60.0)
        return max(0.0, min(marks)) if marks else None

    def snapshot(self) -> dict[str, Any]:
        """Everything the policy means, as JSON-able data; :meth:`from_snapshot` reads it back."""
        return {"version": SNAPSHOT_VERSION, "name": self.name, "calendar": self.calendar.to_dict(),
                "targets": {t: {p: _plain(m) for p, m in by.items()} for t, by in self.targets.items()},
                "at_risk": {"fraction": self.at_risk_fraction,
                            "minutes_before": None if self.at_risk_minutes is None else _plain(self.at_risk_minutes)}}

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> SlaPolicy:
        """Rebuild a policy from :meth:`snapshot` output or a hand-written config of the same shape."""
        if not isinstance(data, Mapping):
            raise SlaError(f"policy: expected a table of fields, got {type(data).__name__}")
        if unknown := sorted(set(data) - _POLICY_FIELDS):
            raise SlaError(f"{unknown[0]}: unknown field (known: {', '.join(sorted(_POLICY_FIELDS))})")
        if data.get("version", SNAPSHOT_VERSION) != SNAPSHOT_VERSION:
            raise SlaError(f"version: snapshot version {data.get('version')!r} is not {SNAPSHOT_VERSION}")
        if "calendar" not in data:
            raise SlaError("calendar: missing")
        try:
            calendar = BusinessCalendar.from_dict(data["calendar"])
        except CalendarError as exc:
            raise SlaError(f"calendar.{exc}") from exc
        at_risk = data.get("at_risk", {"fraction": 0.8})
        if not isinstance(at_risk, Mapping) or (unknown := sorted(set(at_risk) - _AT_RISK_FIELDS)):
            raise SlaError(f"at_risk: expected a table with {' and/or '.join(sorted(_AT_RISK_FIELDS))}")
        return cls(name=data.get("name", ""), calendar=calendar, targets=data.get("targets", {}),
                   at_risk_fraction=at_risk.get("fraction"), at_risk_minutes=at_risk.get("minutes_before"))

    @classmethod
    def from_toml(cls, text: str) -> SlaPolicy:
        """Read a policy from TOML (the snapshot's shape, with a ``[calendar]`` table)."""
        try:
            return cls.from_snapshot(tomllib.loads(text))
        except tomllib.TOMLDecodeError as exc:
            raise SlaError(f"TOML: {exc}") from exc


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _plain(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _read_targets(raw: Any) -> dict[str, dict[str, float]]:
    if not isinstance(raw, Mapping):
        raise SlaError("targets: expected {clock: {priority: minutes}}")
    out: dict[str, dict[str, float]] = {}
    for target, by_priority in raw.items():
        if target not in TARGETS:
            raise SlaError(f"targets.{target}: unknown clock (known: {', '.join(TARGETS)})")
        if not isinstance(by_priority, Mapping):
            raise SlaError(f"targets.{target}: expected {{priority: minutes}}")
        out[target] = {}
        for priority, minutes in by_priority.items():
            if priority not in PRIORITIES:
                raise SlaError(f"targets.{target}.{priority}: unknown priority (known: {', '.join(PRIORITIES)})")
            if not _number(minutes) or minutes <= 0:
                raise SlaError(f"targets.{target}.{priority}: expected business minutes > 0, got {minutes!r}")
            out[target][priority] = float(minutes)
    return out


# ---- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetState:
    """One clock instance at ``now``: when it started, is due and stopped, and how it stands.

    ``elapsed_s`` counts business seconds while running; ``paused_s`` the business seconds
    it spent paused (pending). ``remaining_s`` is negative once breached.
    """

    target: str
    instance: int
    state: str
    started_at: datetime | None = None
    due_at: datetime | None = None
    at_risk_at: datetime | None = None
    stopped_at: datetime | None = None
    stopped_by: str | None = None
    target_s: float | None = None
    elapsed_s: float = 0.0
    paused_s: float = 0.0
    remaining_s: float | None = None

    @property
    def active(self) -> bool:
        """Started and not stopped (running or paused)."""
        return self.started_at is not None and self.stopped_at is None

    @property
    def met(self) -> bool | None:
        """True/False once stopped with a target; None while open or without target."""
        return {"met": True, "breached": False}.get(self.state) if self.stopped_at else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (ISO-8601 instants in UTC)."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class SlaState:
    """All clocks of a case at ``now``; ``cycles`` holds one resolution clock per open→resolve cycle."""

    policy: str
    priority: str
    now: datetime
    first_response: TargetState
    next_responses: tuple[TargetState, ...]
    cycles: tuple[TargetState, ...]

    @property
    def next_response(self) -> TargetState:
        """The latest next-response clock (state ``none`` if the customer never wrote again)."""
        return self.next_responses[-1] if self.next_responses else TargetState("next_response", 0, "none")

    @property
    def resolution(self) -> TargetState:
        """The current (last) resolution cycle."""
        return self.cycles[-1]

    @property
    def targets(self) -> dict[str, TargetState]:
        """The clock the UI shows for each target."""
        return {"first_response": self.first_response, "next_response": self.next_response,
                "resolution": self.resolution}

    def instances(self) -> Iterator[TargetState]:
        """Every clock instance, including answered next responses and earlier cycles."""
        yield self.first_response
        yield from self.next_responses
        yield from self.cycles

    @property
    def wake_at(self) -> datetime | None:
        """Next instant after ``now`` at which a running clock turns at risk or breached (for schedulers)."""
        future = [t for s in self.instances() if s.active and s.state != "paused"
                  for t in (s.at_risk_at, s.due_at) if t is not None and t > self.now]
        return min(future, default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the API and the case page."""
        return {"policy": self.policy, "priority": self.priority, "now": self.now.isoformat(),
                "targets": {k: v.to_dict() for k, v in self.targets.items()},
                "next_responses": [s.to_dict() for s in self.next_responses],
                "cycles": [s.to_dict() for s in self.cycles],
                "wake_at": None if self.wake_at is None else self.wake_at.isoformat()}


@dataclass(frozen=True)
class SlaEvent:
    """A breach or at-risk fact for rules and the UI; ``key`` is stable across re-evaluations."""

    kind: str
    case_id: str
    target: str
    instance: int
    at: datetime
    due_at: datetime | None

    @property
    def key(self) -> str:
        """``case/target/instance/kind``: the same breach always has the same key (deduplicate on it)."""
        return f"{self.case_id}/{self.target}/{self.instance}/{self.kind}"


# ---- clocks ------------------------------------------------------------------------------


@dataclass
class _Clock:
    """A clock being replayed: windows it ran and was paused, until stopped."""

    target: str
    instance: int
    started_at: datetime
    running: bool = True
    since: datetime = field(init=False)
    runs: list[tuple[datetime, datetime]] = field(default_factory=list)
    pauses: list[tuple[datetime, datetime]] = field(default_factory=list)
    stopped_at: datetime | None = None
    stopped_by: str | None = None

    def __post_init__(self) -> None:
        self.since = self.started_at

    @property
    def live(self) -> bool:
        return self.stopped_at is None

    def _close_window(self, ts: datetime) -> None:
        (self.runs if self.running else self.pauses).append((self.since, ts))
        self.since = ts

    def pause(self, ts: datetime) -> None:
        if self.live and self.running:
            self._close_window(ts)
            self.running = False

    def resume(self, ts: datetime) -> None:
        if self.live and not self.running:
            self._close_window(ts)
            self.running = True

    def stop(self, ts: datetime, by: str) -> None:
        if self.live:
            self._close_window(ts)
            self.stopped_at, self.stopped_by = ts, by


class _Replay:
    """Walks a case history once, opening, pausing and stopping clocks (rules in the module doc)."""

    def __init__(self, opened_at: datetime, priority: str) -> None:
        self.status = "new"
        self.priorities: list[tuple[datetime, str]] = [(opened_at, priority)]
        self.first = _Clock("first_response", 1, opened_at)
        self.nexts: list[_Clock] = []
        self.cycles = [_Clock("resolution", 1, opened_at)]
        self.wrote_since_done = False

    @property
    def done(self) -> bool:
        return self.status in _DONE

    def clocks(self) -> list[_Clock]:
        return [c for c in (self.first, *self.nexts, *self.cycles) if c.live]

    def responding(self) -> bool:
        return self.first.live or any(c.live for c in self.nexts)

    def apply(self, event: CaseEvent) -> None:
        handler = getattr(self, f"_on_{event.kind}")
        handler(event.ts.astimezone(UTC), event)

    def _on_opened(self, ts: datetime, event: CaseEvent) -> None:
        raise SlaError(f"events: a second 'opened' event at {ts.isoformat()}")

    def _on_note(self, ts: datetime, event: CaseEvent) -> None:
        """Internal notes are work, not answers: no clock changes."""

    def _on_priority(self, ts: datetime, event: CaseEvent) -> None:
        assert event.priority is not None
        self.priorities.append((ts, event.priority))

    def _on_customer_message(self, ts: datetime, event: CaseEvent) -> None:
        if self.done:
            self.wrote_since_done = True  # counts only if the case is reopened
            return
        if self.status == "pending":
            self._set_status(ts, "open")
        if not self.responding():
            self._start_next(ts)

    def _on_agent_reply(self, ts: datetime, event: CaseEvent) -> None:
        for clock in (self.first, *self.nexts):
            clock.stop(ts, "agent_reply")

    def _on_reopened(self, ts: datetime, event: CaseEvent) -> None:
        if self.done:
            self._reopen(ts, "open")

    def _on_status(self, ts: datetime, event: CaseEvent) -> None:
        assert event.status is not None
        if self.done and event.status not in _DONE:
            self._reopen(ts, event.status)
        else:
            self._set_status(ts, event.status)

    def _set_status(self, ts: datetime, status: str) -> None:
        if status == "pending":
            for clock in self.clocks():
                clock.pause(ts)
        elif status in _ACTIVE:
            for clock in self.clocks():
                clock.resume(ts)
        elif not self.done:
            for clock in self.clocks():
                clock.stop(ts, status)
            self.wrote_since_done = False
        self.status = status

    def _reopen(self, ts: datetime, status: str) -> None:
        self.status = status
        cycle = _Clock("resolution", len(self.cycles) + 1, ts, running=status != "pending")
        self.cycles.append(cycle)
        if self.wrote_since_done and not self.responding():
            self._start_next(ts, running=cycle.running)
        self.wrote_since_done = False

    def _start_next(self, ts: datetime, running: bool = True) -> None:
        self.nexts.append(_Clock("next_response", len(self.nexts) + 1, ts, running=running))


# ---- judging a clock ---------------------------------------------------------------------

Window = tuple[datetime, datetime | None]


def _steps(policy: SlaPolicy, clock: _Clock, priorities: list[tuple[datetime, str]], until: datetime,
           at_risk: bool) -> list[tuple[datetime, timedelta | None]]:
    """The threshold in force over the clock's life: ``[(from, threshold)]``, first at its start."""
    def threshold(priority: str) -> timedelta | None:
        secs = policy.target_seconds(clock.target, priority)
        if at_risk:
            secs = policy.at_risk_seconds(secs)
        return None if secs is None else timedelta(seconds=secs)

    initial = [p for ts, p in priorities if ts <= clock.started_at][-1]
    steps = [(clock.started_at, threshold(initial))]
    steps += [(ts, threshold(p)) for ts, p in priorities if clock.started_at < ts <= until]
    return steps


def _clip(windows: list[Window], lo: datetime, hi: datetime | None) -> Iterator[Window]:
    for a, b in windows:
        start = max(a, lo)
        end = b if hi is None else (hi if b is None else min(b, hi))
        if end is None or start < end:
            yield start, end


def _crossing(cal: BusinessCalendar, windows: list[Window],
              steps: list[tuple[datetime, timedelta | None]]) -> datetime | None:
    """First instant at which business time run in ``windows`` reaches the threshold in force."""
    done = _ZERO
    for k, (since, limit) in enumerate(steps):
        until = steps[k + 1][0] if k + 1 < len(steps) else None
        if limit is not None and done >= limit:
            return since
        for a, b in _clip(windows, since, until):
            if b is None:  # open-ended: the threshold is reached unless there is none
                return None if limit is None else cal.add_delta(a, limit - done)
            span = cal.elapsed_delta(a, b)
            if limit is not None and done + span >= limit:
                return cal.add_delta(a, limit - done)
            done += span
    return None


def _judge(policy: SlaPolicy, clock: _Clock, priorities: list[tuple[datetime, str]], now: datetime) -> TargetState:
    cal = policy.calendar
    end = clock.stopped_at or now
    runs: list[Window] = list(clock.runs)
    pauses = list(clock.pauses)
    if clock.live:
        (runs if clock.running else pauses).append((clock.since, now))
    elapsed = sum((cal.elapsed_delta(a, b) for a, b in runs if b is not None), _ZERO)
    paused = sum((cal.elapsed_delta(a, b) for a, b in pauses), _ZERO)
    projected = _projection(clock, runs, end)
    due = _crossing(cal, projected, _steps(policy, clock, priorities, end, at_risk=False))
    risk = _crossing(cal, projected, _steps(policy, clock, priorities, end, at_risk=True))
    target = policy.target_seconds(clock.target, [p for ts, p in priorities if ts <= end][-1])
    state = _state(clock, due, risk, now, target is not None)
    return TargetState(
        target=clock.target, instance=clock.instance, state=state, started_at=clock.started_at, due_at=due,
        at_risk_at=risk, stopped_at=clock.stopped_at, stopped_by=clock.stopped_by, target_s=target,
        elapsed_s=elapsed.total_seconds(), paused_s=paused.total_seconds(),
        remaining_s=None if target is None else target - elapsed.total_seconds())


def _projection(clock: _Clock, runs: list[Window], end: datetime) -> list[Window]:
    """The run windows, continued open-ended from the clock's last instant (``now`` or its stop).

    So a running clock shows the deadline it is heading for and a stopped one the deadline
    that was in force; a paused clock has no deadline until it resumes.
    """
    if clock.live and not clock.running:
        return runs
    if runs and runs[-1][1] == end:
        return runs[:-1] + [(runs[-1][0], None)]
    return runs + [(end, None)]


def _state(clock: _Clock, due: datetime | None, risk: datetime | None, now: datetime, has_target: bool) -> str:
    end = clock.stopped_at or now
    if due is not None and due < end:
        return "breached"
    if not has_target and due is None:
        return "none"
    if not clock.live:
        return "met"
    if not clock.running:
        return "paused"
    return "at_risk" if risk is not None and risk <= now else "running"


# ---- public functions --------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _from_snapshot(canonical: str) -> SlaPolicy:
    """Policies rebuilt from snapshots, shared: an inbox's cases mostly carry the same few."""
    return SlaPolicy.from_snapshot(json.loads(canonical))



def evaluate(policy: SlaPolicy | Mapping[str, Any], priority: str, events: Iterable[CaseEvent],
             now: datetime) -> SlaState:
    """Replay a case's history up to ``now`` and judge every SLA clock.

    ``policy`` is a policy or its snapshot (what the case stored); ``priority`` is the
    priority the case was opened with (``priority`` events change it later). Events after
    ``now`` are ignored, so a past ``now`` answers what the clocks showed then.
    """
    pol = policy if isinstance(policy, SlaPolicy) else _from_snapshot(json.dumps(policy, sort_keys=True, default=str))
    if priority not in PRIORITIES:
        raise SlaError(f"priority: unknown priority {priority!r} (known: {', '.join(PRIORITIES)})")
    at = aware(now, "now")
    history = sorted(events, key=lambda e: (e.ts.astimezone(UTC), e.kind != "opened"))
    if not history or history[0].kind != "opened":
        raise SlaError("events: a case history must begin with an 'opened' event")
    opened_at = history[0].ts.astimezone(UTC)
    if at < opened_at:
        raise SlaError(f"now: {at.isoformat()} is before the case was opened ({opened_at.isoformat()})")
    replay = _Replay(opened_at, priority)
    for event in history[1:]:
        if event.ts.astimezone(UTC) > at:
            break
        replay.apply(event)
    prios = replay.priorities
    return SlaState(policy=pol.name, priority=prios[-1][1], now=at,
                    first_response=_judge(pol, replay.first, prios, at),
                    next_responses=tuple(_judge(pol, c, prios, at) for c in replay.nexts),
                    cycles=tuple(_judge(pol, c, prios, at) for c in replay.cycles))


def breaches(states: Mapping[str, SlaState] | Iterable[tuple[str, SlaState]], now: datetime) -> list[SlaEvent]:
    """Breach and at-risk events that have happened by ``now``, oldest first.

    ``states`` maps case ids to evaluated states. A breach is reported for every clock
    instance that breached (also once stopped, for reports); an at-risk warning only while
    the clock is still open and not yet breached — a warning is only worth acting on then.
    Deduplicate on :attr:`SlaEvent.key`: re-evaluating later yields the same keys.
    """
    at = aware(now, "now")
    pairs = states.items() if isinstance(states, Mapping) else states
    out: list[SlaEvent] = []
    for case_id, state in pairs:
        for clock in state.instances():
            if clock.state == "breached" and clock.due_at is not None and clock.due_at < at:
                out.append(SlaEvent("breach", case_id, clock.target, clock.instance, clock.due_at, clock.due_at))
            elif clock.active and clock.at_risk_at is not None and clock.at_risk_at <= at:
                out.append(SlaEvent("at_risk", case_id, clock.target, clock.instance, clock.at_risk_at,
                                    clock.due_at))
    return sorted(out, key=lambda e: (e.at, e.key))


def is_reopen(resolved_at: datetime, new_message_at: datetime, window: timedelta) -> bool:
    """Whether a message reopens the resolved case (True) or should open a new one (False).

    The window is wall-clock time after the resolution (customers count calendar days);
    a message before the resolution belongs to the resolved cycle, so it is not a reopen.
    """
    if window < _ZERO:
        raise ValueError(f"window: must not be negative ({window})")
    resolved, message = aware(resolved_at, "resolved_at"), aware(new_message_at, "new_message_at")
    return resolved <= message <= resolved + window
