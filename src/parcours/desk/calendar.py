"""Business calendars: when a service desk is open, and how much open time lies between instants.

An SLA target such as "answer within 4 business hours" is only meaningful against the
hours the team actually works. A :class:`BusinessCalendar` holds them: an IANA time zone,
weekly hours with several intervals a day (``mon = ["09:00-12:30", "13:30-18:00"]``),
closed dates (explicit, and optionally a country's public holidays from the ``holidays``
package), and special days with their own hours (a half day on 24 December).

The rules, stated once (docs/sla.md has the worked examples):

* Hours are **local wall-clock** intervals ``[start, end)`` on a local date. An instant is
  open when its local time, on its local date, lies in one of that date's intervals. A
  09:00–18:00 day is therefore nine hours long on both sides of a DST change.
* A wall time that does not exist (the hour skipped when clocks go forward) is never open:
  an interval starting or ending inside the gap is clipped to the instant of the change. A
  wall time that occurs twice (clocks go back) is open both times.
* An interval may not cross midnight (``22:00-06:00`` is refused); write ``22:00-24:00`` on
  one day and ``00:00-06:00`` on the next. ``24:00`` is accepted as the end of a day.
* A special day replaces that date's weekly hours and wins over holidays (a shop that opens
  on a public holiday says so explicitly).

Every function takes and returns time-zone-aware datetimes; results are in UTC (subtracting
two datetimes that share a zone, in Python, ignores DST — UTC makes that trap impossible).
Durations are computed by walking the open spans day by day, never minute by minute.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as pyholidays

__all__ = ["ALWAYS_OPEN", "WEEKDAYS", "BusinessCalendar", "CalendarError", "Interval", "aware"]

#: weekday keys, Monday first (``date.weekday()`` order)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_S = 86_400
_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)
# Every instant whose local wall time falls on a date D lies within these bounds of D's
# midnight read as UTC (UTC offsets range from -12:00 to +14:00), with an hour to spare.
_BEFORE_MIDNIGHT = timedelta(hours=15)
_AFTER_MIDNIGHT = timedelta(hours=24 + 13)
#: give up looking for open time after this many consecutive closed days
_MAX_CLOSED_DAYS = 3 * 366
_SPAN_CACHE_MAX = 20_000
_FIELDS = {"name", "timezone", "hours", "holidays", "country", "subdivision", "special_days", "always_open"}

Span = tuple[datetime, datetime]


class CalendarError(ValueError):
    """A calendar definition or a request that cannot be honoured; the message names the field."""


def aware(value: datetime, name: str) -> datetime:
    """Return ``value`` in UTC, refusing naive datetimes (their meaning would be a guess)."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name}: expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: naive datetime {value.isoformat()}; give a time zone (e.g. tzinfo=UTC)")
    return value.astimezone(UTC)


class Interval(NamedTuple):
    """Opening hours on one local date: ``[start, end)`` in seconds after local midnight."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: Any, where: str) -> Interval:
        """Read ``"09:00-12:30"`` or ``["09:00", "12:30"]``; errors name ``where``."""
        if isinstance(text, str):
            parts = [p.strip() for p in text.split("-")]
        elif isinstance(text, Sequence) and not isinstance(text, bytes | str):
            parts = list(text)
        else:
            raise CalendarError(f"{where}: expected 'HH:MM-HH:MM' or [start, end], got {text!r}")
        if len(parts) != 2:
            raise CalendarError(f"{where}: expected 'HH:MM-HH:MM' or [start, end], got {text!r}")
        start, end = _parse_time(parts[0], where), _parse_time(parts[1], where)
        return cls.checked(start, end, where)

    @classmethod
    def checked(cls, start: int, end: int, where: str) -> Interval:
        """Build an interval, refusing empty, reversed and midnight-crossing ones."""
        if not (0 <= start <= _DAY_S and 0 <= end <= _DAY_S):
            raise CalendarError(f"{where}: times must lie between 00:00 and 24:00")
        if start == _DAY_S:
            raise CalendarError(f"{where}: an interval cannot start at 24:00")
        if end == start:
            raise CalendarError(f"{where}: {_fmt(start)}-{_fmt(end)} is empty (end must be after start)")
        if end < start:
            raise CalendarError(
                f"{where}: end {_fmt(end)} is before start {_fmt(start)}; intervals cannot cross midnight — "
                f"write {_fmt(start)}-24:00 on this day and 00:00-{_fmt(end)} on the next")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{_fmt(self.start)}-{_fmt(self.end)}"


def _parse_time(text: Any, where: str) -> int:
    """``"HH:MM"`` or ``"HH:MM:SS"`` → seconds after midnight; ``24:00`` is the end of the day."""
    if not isinstance(text, str):
        raise CalendarError(f"{where}: time {text!r} is not text like '09:30'")
    bits = text.strip().split(":")
    ok = len(bits) in (2, 3) and all(len(b) == 2 and b.isdigit() for b in bits[1:]) and bits[0].isdigit()
    nums = [int(b) for b in bits] if ok else []
    if not ok or len(bits[0]) > 2 or nums[1] > 59 or (len(nums) == 3 and nums[2] > 59):
        raise CalendarError(f"{where}: {text!r} is not a time (HH:MM, 00:00 to 24:00)")
    seconds = nums[0] * 3600 + nums[1] * 60 + (nums[2] if len(nums) == 3 else 0)
    if seconds > _DAY_S:
        raise CalendarError(f"{where}: {text!r} is not a time (HH:MM, 00:00 to 24:00)")
    return seconds


def _fmt(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def _check_day(intervals: Sequence[Interval], where: str) -> tuple[Interval, ...]:
    """Sort a day's intervals and refuse overlaps (touching ends are fine)."""
    ordered = tuple(sorted(intervals))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:
            raise CalendarError(f"{where}: {before} overlaps {after}")
    return ordered


def _checked_day(intervals: Sequence[tuple[int, int]], where: str) -> tuple[Interval, ...]:
    """Validate intervals given in code (``from_dict`` input is checked while it is read)."""
    return _check_day([Interval.checked(int(a), int(b), f"{where}[{n}]") for n, (a, b) in enumerate(intervals)],
                      where)


@functools.lru_cache(maxsize=512)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(pyholidays.country_holidays(country, subdiv=subdivision, years=year))


@functools.lru_cache(maxsize=64)
def _check_country(country: str, subdivision: str | None) -> None:
    try:
        pyholidays.country_holidays(country, subdiv=subdivision, years=2000)
    except NotImplementedError as exc:
        if subdivision is not None and country in pyholidays.list_supported_countries():
            known = ", ".join(pyholidays.list_supported_countries()[country][:12])
            raise CalendarError(f"subdivision: {subdivision!r} is not a subdivision of {country} "
                                f"(known: {known}…)") from exc
        raise CalendarError(f"country: unknown country code {country!r} (ISO 3166-1 alpha-2 such as "
                            f"'FR', 'US', 'DE', as known to the holidays package)") from exc


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise CalendarError(f"timezone: expected an IANA time zone name such as 'Europe/Paris', got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"timezone: unknown IANA time zone {name!r} (e.g. 'Europe/Paris', "
                            f"'America/New_York', 'UTC')") from exc


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta:
    off = instant.astimezone(tz).utcoffset()
    assert off is not None
    return off


def _transition(lo: datetime, hi: datetime, off_lo: timedelta, tz: ZoneInfo) -> datetime:
    """First whole second in ``(lo, hi]`` whose UTC offset differs from ``off_lo`` (bisection)."""
    lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _offset(datetime.fromtimestamp(mid, UTC), tz) == off_lo:
            lo_s = mid
        else:
            hi_s = mid
    return datetime.fromtimestamp(hi_s, UTC)


def _merge(pieces: list[Span]) -> tuple[Span, ...]:
    out: list[Span] = []
    for start, end in sorted(p for p in pieces if p[0] < p[1]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return tuple(out)


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours in a time zone, with closed dates; counts business seconds between instants.

    Build one with :meth:`from_dict` / :meth:`from_toml` (the usual way) or
    :meth:`always_open`. ``hours`` has seven entries, Monday first.
    """

    name: str
    timezone: str = "UTC"
    hours: tuple[tuple[Interval, ...], ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()
    country: str | None = None
    subdivision: str | None = None
    special_days: tuple[tuple[date, tuple[Interval, ...]], ...] = ()
    _special: dict[date, tuple[Interval, ...]] = field(init=False, repr=False, compare=False, hash=False)
    _spans: dict[date, tuple[Span, ...]] = field(init=False, repr=False, compare=False, hash=False)
    _full: bool = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise CalendarError("name: a calendar needs a non-empty name")
        _zone(self.timezone)
        if len(self.hours) != 7:
            raise CalendarError(f"hours: expected 7 days (Monday first), got {len(self.hours)}")
        hours = tuple(_checked_day(ivs, f"hours.{day}") for day, ivs in zip(WEEKDAYS, self.hours, strict=True))
        object.__setattr__(self, "hours", hours)
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        if self.country is not None:
            _check_country(self.country, self.subdivision)
        elif self.subdivision is not None:
            raise CalendarError("subdivision: given without a country")
        special_days = tuple(sorted((d, _checked_day(ivs, f"special_days.{d}")) for d, ivs in self.special_days))
        object.__setattr__(self, "special_days", special_days)
        special = dict(special_days)
        if len(special) != len(special_days):
            raise CalendarError("special_days: a date is given twice")
        if clash := sorted(set(special) & self.holidays):
            raise CalendarError(f"special_days: {clash[0].isoformat()} is also listed in holidays")
        if not any(self.hours) and not any(special.values()):
            raise CalendarError("hours: the calendar is never open (no weekly hours, no special day with hours)")
        full = (Interval(0, _DAY_S),)
        object.__setattr__(self, "_special", special)
        object.__setattr__(self, "_spans", {})
        object.__setattr__(self, "_full", all(h == full for h in self.hours) and not self.holidays
                           and self.country is None and not special)

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def always_open(cls, name: str = "24/7", timezone: str = "UTC") -> BusinessCalendar:
        """A calendar open every second: business time equals elapsed wall-clock time."""
        return cls(name=name, timezone=timezone, hours=((Interval(0, _DAY_S),),) * 7)

    @classmethod
    def from_toml(cls, text: str) -> BusinessCalendar:
        """Read a calendar from TOML text (same keys as :meth:`from_dict`)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CalendarError(f"TOML: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """Read a calendar from plain data; every error names the offending field.

        Keys: ``name``, ``timezone``, ``hours`` (``{"mon-fri": ["09:00-12:30", …], "sat": …}``),
        ``holidays`` (ISO dates), ``country`` / ``subdivision`` (public holidays from the
        ``holidays`` package), ``special_days`` (``{"2026-12-24": ["09:00-12:00"]}``), or
        ``always_open = true`` instead of hours.
        """
        if not isinstance(data, Mapping):
            raise CalendarError(f"calendar: expected a table of fields, got {type(data).__name__}")
        if unknown := sorted(set(data) - _FIELDS):
            raise CalendarError(f"{unknown[0]}: unknown field (known: {', '.join(sorted(_FIELDS))})")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise CalendarError("name: a calendar needs a non-empty name")
        timezone = data.get("timezone", "UTC")
        if data.get("always_open"):
            if "hours" in data:
                raise CalendarError("always_open: give either always_open or hours, not both")
            hours: tuple[tuple[Interval, ...], ...] = ((Interval(0, _DAY_S),),) * 7
        else:
            hours = _read_hours(data.get("hours"))
        return cls(name=name, timezone=timezone, hours=hours, holidays=_read_dates(data.get("holidays", [])),
                   country=_read_code(data, "country"), subdivision=_read_code(data, "subdivision"),
                   special_days=_read_special(data.get("special_days", {})))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description that :meth:`from_dict` reads back to an equal calendar."""
        out: dict[str, Any] = {"name": self.name, "timezone": self.timezone,
                               "hours": {day: [str(i) for i in ivs] for day, ivs in zip(WEEKDAYS, self.hours,
                                                                                         strict=True) if ivs}}
        if self.holidays:
            out["holidays"] = sorted(d.isoformat() for d in self.holidays)
        if self.country:
            out["country"] = self.country
        if self.subdivision:
            out["subdivision"] = self.subdivision
        if self.special_days:
            out["special_days"] = {d.isoformat(): [str(i) for i in ivs] for d, ivs in sorted(self.special_days)}
        return out

    # ---- what is open when -------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        """The calendar's zone, for displaying results (``due.astimezone(cal.tz)``)."""
        return ZoneInfo(self.timezone)

    @property
    def is_always_open(self) -> bool:
        """True when every instant is open (then durations are plain wall-clock durations)."""
        return self._full

    def is_holiday(self, day: date) -> bool:
        """Whether a local date is closed as a holiday (explicit or public)."""
        if day in self.holidays:
            return True
        return self.country is not None and day in _public_holidays(self.country, self.subdivision, day.year)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """Wall-clock opening intervals of a local date (empty when closed)."""
        if day in self._special:
            return self._special[day]
        if self.is_holiday(day):
            return ()
        return self.hours[day.weekday()]

    def is_open(self, t: datetime) -> bool:
        """Whether instant ``t`` lies in opening hours (its local time on its local date)."""
        local = aware(t, "t").astimezone(self.tz)
        second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        return any(i.start <= second < i.end for i in self.intervals_on(local.date()))

    def next_open(self, t: datetime) -> datetime:
        """``t`` itself when open, otherwise the next instant the desk opens (UTC)."""
        start = aware(t, "t")
        for span_start, _ in self._spans_from(start):
            return span_start
        raise AssertionError("unreachable: _spans_from never ends without raising")

    def open_spans(self, start: datetime, end: datetime) -> Iterator[Span]:
        """Open UTC spans within ``[start, end)``, in order, clipped to it."""
        lo, hi = aware(start, "start"), aware(end, "end")
        if hi <= lo:
            return
        day, last = lo.astimezone(self.tz).date() - _ONE_DAY, hi.astimezone(self.tz).date() + _ONE_DAY
        while day <= last:
            for s, e in self._spans_on(day):
                if e > lo and s < hi:
                    yield max(s, lo), min(e, hi)
            day += _ONE_DAY

    # ---- business-time arithmetic ------------------------------------------------------

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Business seconds in ``[start, end)``; 0 when ``end <= start``."""
        return self.elapsed_delta(start, end).total_seconds()

    def elapsed_delta(self, start: datetime, end: datetime) -> timedelta:
        """:meth:`elapsed` as an exact timedelta (microsecond arithmetic, no float drift)."""
        lo, hi = aware(start, "start"), aware(end, "end")
        if hi <= lo:
            return _ZERO
        if self._full:
            return hi - lo
        return sum((e - s for s, e in self.open_spans(lo, hi)), _ZERO)

    def add(self, start: datetime, seconds: float) -> datetime:
        """The first instant at which ``seconds`` of business time have elapsed since ``start``.

        ``add(start, 0)`` is ``start``; for a positive amount the result is inside opening
        hours or at the end of an interval (a target that ends at 18:00 is due at 18:00,
        not at the next opening).
        """
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
            raise ValueError(f"seconds: expected a finite number, got {seconds!r}")
        if seconds < 0:
            raise ValueError(f"seconds: cannot add a negative business time ({seconds})")
        return self.add_delta(start, timedelta(seconds=seconds))

    def add_delta(self, start: datetime, amount: timedelta) -> datetime:
        """:meth:`add` with an exact timedelta."""
        begin = aware(start, "start")
        if amount < _ZERO:
            raise ValueError(f"amount: cannot add a negative business time ({amount})")
        if amount == _ZERO:
            return begin
        if self._full:
            return begin + amount
        need = amount
        for s, e in self._spans_from(begin):
            if e - s >= need:
                return s + need
            need -= e - s
        raise AssertionError("unreachable: _spans_from never ends without raising")

    # ---- spans ---------------------------------------------------------------------------

    def _spans_from(self, start: datetime) -> Iterator[Span]:
        """Open UTC spans ending after ``start`` (clipped to it), endlessly; raises after years closed."""
        day = start.astimezone(self.tz).date() - _ONE_DAY
        closed_days = 0
        while closed_days <= _MAX_CLOSED_DAYS:
            spans = self._spans_on(day)
            closed_days = 0 if spans else closed_days + 1
            for s, e in spans:
                if e > start:
                    yield max(s, start), e
            day += _ONE_DAY
        raise CalendarError(f"calendar {self.name!r}: no opening hours for {_MAX_CLOSED_DAYS} days after "
                            f"{start.isoformat()}")

    def _spans_on(self, day: date) -> tuple[Span, ...]:
        spans = self._spans.get(day)
        if spans is None:
            if len(self._spans) >= _SPAN_CACHE_MAX:
                self._spans.clear()
            spans = self._spans[day] = self._compute_spans(day)
        return spans

    def _compute_spans(self, day: date) -> tuple[Span, ...]:
        """UTC spans whose local wall time lies in the date's intervals (DST-aware, see module doc)."""
        intervals = self.intervals_on(day)
        if not intervals:
            return ()
        tz, midnight = self.tz, datetime(day.year, day.month, day.day, tzinfo=UTC)
        lo, hi = midnight - _BEFORE_MIDNIGHT, midnight + _AFTER_MIDNIGHT
        off_lo, off_hi = _offset(lo, tz), _offset(hi, tz)
        walls = [(midnight + timedelta(seconds=i.start), midnight + timedelta(seconds=i.end)) for i in intervals]
        if off_lo == off_hi:
            return _merge([(a - off_lo, b - off_lo) for a, b in walls])
        # One UTC-offset change near this date: instants before it read the wall clock with
        # the old offset, instants after it with the new one.
        switch = _transition(lo, hi, off_lo, tz)
        pieces: list[Span] = []
        for a, b in walls:
            pieces.append((a - off_lo, min(b - off_lo, switch)))
            pieces.append((max(a - off_hi, switch), b - off_hi))
        return _merge(pieces)


def _read_hours(raw: Any) -> tuple[tuple[Interval, ...], ...]:
    if raw is None:
        raise CalendarError("hours: missing (give weekly hours, or always_open = true)")
    if not isinstance(raw, Mapping):
        raise CalendarError(f"hours: expected a table like {{mon = ['09:00-18:00']}}, got {type(raw).__name__}")
    days: dict[int, tuple[Interval, ...]] = {}
    seen: dict[int, str] = {}
    for key, value in raw.items():
        for index in _day_keys(key):
            if index in seen:
                raise CalendarError(f"hours.{key}: {WEEKDAYS[index]} is already given by hours.{seen[index]}")
            seen[index] = key
            days[index] = _read_intervals(value, f"hours.{key}")
    return tuple(days.get(i, ()) for i in range(7))


def _day_keys(key: Any) -> list[int]:
    """``"mon"`` → [0]; ``"mon-fri"`` → [0..4]."""
    text = str(key).strip().lower()
    ends = [p.strip() for p in text.split("-")]
    if len(ends) not in (1, 2) or any(e not in WEEKDAYS for e in ends):
        raise CalendarError(f"hours.{key}: unknown day (use {', '.join(WEEKDAYS)} or a range like mon-fri)")
    first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
    if last < first:
        raise CalendarError(f"hours.{key}: a day range must run forward within one week (mon-fri, sat-sun)")
    return list(range(first, last + 1))


def _read_intervals(value: Any, where: str) -> tuple[Interval, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise CalendarError(f"{where}: expected a list of intervals like ['09:00-12:30', '13:30-18:00']")
    return _check_day([Interval.parse(v, f"{where}[{n}]") for n, v in enumerate(value)], where)


def _read_date(value: Any, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise CalendarError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


def _read_dates(raw: Any) -> frozenset[date]:
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        raise CalendarError("holidays: expected a list of dates (YYYY-MM-DD)")
    return frozenset(_read_date(v, f"holidays[{n}]") for n, v in enumerate(raw))


def _read_special(raw: Any) -> tuple[tuple[date, tuple[Interval, ...]], ...]:
    if not isinstance(raw, Mapping):
        raise CalendarError("special_days: expected a table {'2026-12-24' = ['09:00-12:00']}")
    days = {_read_date(k, f"special_days.{k}"): _read_intervals(v, f"special_days.{k}") for k, v in raw.items()}
    return tuple(sorted(days.items()))


def _read_code(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CalendarError(f"{key}: expected a code such as 'FR', got {value!r}")
    return value.strip().upper() if key == "country" else value.strip()


#: open every second of every day, in UTC
ALWAYS_OPEN = BusinessCalendar.always_open()
