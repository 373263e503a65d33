"""Business calendars and SLA clocks: concrete cases on real calendars, then properties.

The concrete cases pin the behaviour a service desk is judged on (due times across
weekends, French and US public holidays, DST weeks, pauses, reopens, priority changes);
the property tests check the calendar arithmetic against an independent minute-by-minute
oracle and against its own algebra (add/elapsed inverse, additivity, monotonicity).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcours.desk.calendar import ALWAYS_OPEN, WEEKDAYS, BusinessCalendar, CalendarError, Interval
from parcours.desk.sla import (
    CaseEvent,
    SlaError,
    SlaPolicy,
    breaches,
    evaluate,
    is_reopen,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600.0


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)  # type: ignore[misc]


def calendar(tz: str = "Europe/Paris", country: str | None = "FR", **hours: list[str]) -> BusinessCalendar:
    data: dict[str, object] = {"name": f"{tz} desk", "timezone": tz, "hours": hours or {"mon-fri": ["09:00-18:00"]}}
    if country:
        data["country"] = country
    return BusinessCalendar.from_dict(data)


FR_9_18 = calendar()
FR_SPLIT = calendar(**{"mon-fri": ["09:00-12:30", "13:30-18:00"], "sat": ["10:00-13:00"]})
NY_9_18 = calendar("America/New_York", "US")
PARIS_FULL_DAYS = BusinessCalendar.always_open("Paris 24/7", "Europe/Paris")


def policy(cal: BusinessCalendar = FR_9_18, **extra: object) -> SlaPolicy:
    targets = {"first_response": {"low": 240, "normal": 60, "high": 30, "urgent": 15},
               "next_response": {"normal": 120, "urgent": 30},
               "resolution": {"normal": 8 * 60, "urgent": 4 * 60}}
    return SlaPolicy("standard", cal, targets, **extra)  # type: ignore[arg-type]


def ev(ts: datetime, kind: str, **kw: str) -> CaseEvent:
    return CaseEvent(ts, kind, **kw)


# ---- calendar: concrete cases ----------------------------------------------------------


def test_friday_evening_ticket_is_due_monday_morning() -> None:
    assert FR_9_18.add(paris(2026, 3, 27, 17, 30), HOUR) == paris(2026, 3, 30, 9, 30)


def test_french_public_holiday_on_monday_moves_the_due_time_to_tuesday() -> None:
    # Easter Monday 2026-04-06 and Whit Monday 2026-05-25 are public holidays in France
    assert FR_9_18.add(paris(2026, 4, 3, 17, 30), HOUR) == paris(2026, 4, 7, 9, 30)
    assert FR_9_18.add(paris(2026, 5, 22, 17, 30), HOUR) == paris(2026, 5, 26, 9, 30)
    without_holidays = calendar(country=None)
    assert without_holidays.add(paris(2026, 4, 3, 17, 30), HOUR) == paris(2026, 4, 6, 9, 30)


def test_fourteenth_of_july_is_closed() -> None:
    assert FR_9_18.is_holiday(date(2026, 7, 14))
    assert not FR_9_18.is_open(paris(2026, 7, 14, 11, 0))
    assert FR_9_18.elapsed(paris(2026, 7, 14, 0, 0), paris(2026, 7, 15, 0, 0)) == 0
    assert FR_9_18.add(paris(2026, 7, 13, 17, 30), HOUR) == paris(2026, 7, 15, 9, 30)


def test_explicit_holidays_and_special_days() -> None:
    cal = BusinessCalendar.from_dict({
        "name": "shop", "timezone": "Europe/Paris", "country": "FR", "hours": {"mon-sat": ["09:00-19:00"]},
        "holidays": ["2026-08-17"],
        "special_days": {"2026-12-24": ["09:00-12:00"], "2026-11-11": ["10:00-12:00"]}})
    assert cal.elapsed(paris(2026, 8, 17, 0, 0), paris(2026, 8, 18, 0, 0)) == 0   # explicit closure
    assert cal.elapsed(paris(2026, 12, 24, 0, 0), paris(2026, 12, 25, 0, 0)) == 3 * HOUR  # half day
    assert cal.elapsed(paris(2026, 11, 11, 0, 0), paris(2026, 11, 12, 0, 0)) == 2 * HOUR  # opens on Armistice
    assert cal.elapsed(paris(2026, 12, 25, 0, 0), paris(2026, 12, 26, 0, 0)) == 0  # Christmas: public holiday


def test_several_intervals_a_day_and_saturday_mornings() -> None:
    monday = paris(2026, 6, 8, 0, 0)
    assert FR_SPLIT.elapsed(monday, monday + timedelta(days=1)) == 8 * HOUR
    assert FR_SPLIT.add(paris(2026, 6, 8, 12, 0), HOUR) == paris(2026, 6, 8, 14, 0)  # lunch is closed
    assert not FR_SPLIT.is_open(paris(2026, 6, 8, 13, 0))
    # Friday 17:30 + 4 h = 30 min Friday, Saturday 10:00-13:00, 30 min Monday
    assert FR_SPLIT.add(paris(2026, 6, 12, 17, 30), 4 * HOUR) == paris(2026, 6, 15, 9, 30)


def test_a_target_that_ends_at_closing_time_is_due_at_closing_time() -> None:
    assert FR_9_18.add(paris(2026, 6, 8, 17, 0), HOUR) == paris(2026, 6, 8, 18, 0)
    assert FR_9_18.add(paris(2026, 6, 13, 12, 0), 0) == paris(2026, 6, 13, 12, 0)  # nothing to add


def test_new_york_and_paris_calendars_read_the_same_instant_differently() -> None:
    instant = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)  # Wednesday: 17:00 in Paris, 11:00 in New York
    assert FR_9_18.add(instant, 2 * HOUR) == paris(2026, 6, 11, 10, 0)
    assert NY_9_18.add(instant, 2 * HOUR) == ny(2026, 6, 10, 13, 0)
    late = datetime(2026, 6, 10, 21, 0, tzinfo=UTC)  # 23:00 in Paris, 17:00 in New York
    assert not FR_9_18.is_open(late) and NY_9_18.is_open(late)
    # Independence Day 2026 is a Saturday: observed on Friday 3 July in the US, not in France
    assert not NY_9_18.is_open(ny(2026, 7, 3, 10, 0))
    assert FR_9_18.is_open(paris(2026, 7, 3, 10, 0))


@pytest.mark.parametrize("day", [date(2026, 3, 29), date(2026, 10, 25)])
def test_a_nine_to_six_day_is_nine_hours_on_dst_sundays(day: date) -> None:
    cal = calendar(country=None, **{"mon-sun": ["09:00-18:00"]})
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS)
    assert cal.elapsed(start, start + timedelta(days=1)) == 9 * HOUR
    assert cal.add(paris(day.year, day.month, day.day, 9, 0), 9 * HOUR) == paris(day.year, day.month, day.day, 18, 0)


def test_whole_days_follow_the_clock_change() -> None:
    spring, autumn = paris(2026, 3, 29, 0, 0), paris(2026, 10, 25, 0, 0)
    assert PARIS_FULL_DAYS.elapsed(spring, paris(2026, 3, 30, 0, 0)) == 23 * HOUR
    assert PARIS_FULL_DAYS.elapsed(autumn, paris(2026, 10, 26, 0, 0)) == 25 * HOUR
    full = calendar(country=None, **{"mon-sun": ["00:00-12:00", "12:00-24:00"]})  # not the 24/7 shortcut
    assert not full.is_always_open
    assert full.elapsed(spring, paris(2026, 3, 30, 0, 0)) == 23 * HOUR
    assert full.add(paris(2026, 3, 28, 12, 0), 24 * HOUR) == paris(2026, 3, 29, 13, 0)


def test_dst_week_with_a_weekday_calendar() -> None:
    # Friday 17:00 CET (16:00 UTC) + 2 h → Monday 10:00 CEST (08:00 UTC)
    due = FR_9_18.add(paris(2026, 3, 27, 17, 0), 2 * HOUR)
    assert due == paris(2026, 3, 30, 10, 0) and due.astimezone(UTC).hour == 8
    assert FR_9_18.elapsed(paris(2026, 10, 23, 9, 0), paris(2026, 10, 27, 9, 0)) == 18 * HOUR


def test_intervals_in_the_skipped_and_the_repeated_hour() -> None:
    cal = calendar(country=None, sun=["01:30-02:30", "02:30-04:00"])
    # 29 March: 02:00-03:00 does not exist; 01:30→02:00 and 03:00→04:00 remain
    assert cal.elapsed(paris(2026, 3, 29, 0, 0), paris(2026, 3, 30, 0, 0)) == 1.5 * HOUR
    gap_only = calendar(country=None, sun=["02:00-03:00"], mon=["09:00-10:00"])
    assert gap_only.elapsed(paris(2026, 3, 29, 0, 0), paris(2026, 3, 30, 0, 0)) == 0
    # 25 October: 02:00-03:00 happens twice and is open both times
    assert cal.elapsed(paris(2026, 10, 25, 0, 0), paris(2026, 10, 26, 0, 0)) == 3.5 * HOUR
    first = datetime(2026, 10, 25, 2, 15, tzinfo=PARIS)
    second = datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=PARIS)
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    assert cal.is_open(first) and cal.is_open(second)


def test_next_open() -> None:
    saturday = paris(2026, 3, 28, 10, 0)
    assert FR_9_18.next_open(saturday) == paris(2026, 3, 30, 9, 0)
    assert FR_9_18.next_open(paris(2026, 3, 30, 11, 0)) == paris(2026, 3, 30, 11, 0)
    assert FR_9_18.next_open(paris(2026, 4, 3, 18, 0)) == paris(2026, 4, 7, 9, 0)  # over Easter Monday


def test_naive_datetimes_are_refused_naming_the_argument() -> None:
    naive, aware_t = datetime(2026, 3, 27, 9, 0), paris(2026, 3, 27, 9, 0)
    with pytest.raises(ValueError, match="start"):
        FR_9_18.add(naive, 60)
    with pytest.raises(ValueError, match="end"):
        FR_9_18.elapsed(aware_t, naive)
    with pytest.raises(ValueError, match="^t: naive"):
        FR_9_18.is_open(naive)
    with pytest.raises(ValueError, match="seconds"):
        FR_9_18.add(aware_t, -1)


@pytest.mark.parametrize(("change", "message"), [
    ({"hours": {"mon": ["25:00-26:00"]}}, r"hours\.mon\[0\]: '25:00' is not a time"),
    ({"hours": {"mon": ["09:60-10:00"]}}, r"hours\.mon\[0\]: '09:60' is not a time"),
    ({"hours": {"mon": ["18:00-09:00"]}}, r"hours\.mon\[0\]: end 09:00 is before start 18:00.*cross midnight"),
    ({"hours": {"mon": ["09:00-09:00"]}}, r"hours\.mon\[0\]: 09:00-09:00 is empty"),
    ({"hours": {"mon": ["09:00-13:00", "12:00-18:00"]}}, r"hours\.mon: 09:00-13:00 overlaps 12:00-18:00"),
    ({"hours": {"mon-fri": ["09:00-18:00"], "fri": ["10:00-12:00"]}}, r"hours\.fri: fri is already given"),
    ({"hours": {"monday": ["09:00-18:00"]}}, r"hours\.monday: unknown day"),
    ({"hours": {"fri-mon": ["09:00-18:00"]}}, r"hours\.fri-mon: a day range must run forward"),
    ({"hours": {"mon": "09:00-18:00"}}, r"hours\.mon: expected a list"),
    ({"hours": {}}, r"hours: the calendar is never open"),
    ({"timezone": "Europe/Pariss"}, r"timezone: unknown IANA time zone 'Europe/Pariss'"),
    ({"country": "XX"}, r"country: unknown country code 'XX'"),
    ({"country": "FR", "subdivision": "Zone Z"}, r"subdivision: 'Zone Z' is not a subdivision of FR"),
    ({"subdivision": "NY"}, r"subdivision: given without a country"),
    ({"holidays": ["2026-02-30"]}, r"holidays\[0\]: '2026-02-30' is not a date"),
    ({"special_days": {"2026-12-24": ["12:00-09:00"]}}, r"special_days\.2026-12-24\[0\]: end 09:00 is before"),
    ({"holidays": ["2026-12-24"], "special_days": {"2026-12-24": ["09:00-12:00"]}}, r"also listed in holidays"),
    ({"timezon": "UTC"}, r"timezon: unknown field"),
    ({"name": ""}, r"name: a calendar needs a non-empty name"),
])
def test_bad_calendar_definitions_name_the_field_and_the_reason(change: dict[str, object], message: str) -> None:
    data: dict[str, object] = {"name": "desk", "timezone": "Europe/Paris", "hours": {"mon-fri": ["09:00-18:00"]}}
    data.update(change)
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar.from_dict(data)


def test_calendar_from_toml_and_back() -> None:
    cal = BusinessCalendar.from_toml("""
        name = "Support Paris"
        timezone = "Europe/Paris"
        country = "FR"
        holidays = ["2026-08-14"]
        [hours]
        mon-fri = ["09:00-12:30", "13:30-18:00"]
        sat = [["10:00", "13:00"]]
        sun = ["22:00-24:00"]
        [special_days]
        "2026-12-24" = ["09:00-12:00"]
    """)
    assert cal.hours[0] == (Interval(9 * 3600, 12 * 3600 + 1800), Interval(13 * 3600 + 1800, 18 * 3600))
    assert cal.hours[5] == (Interval(36000, 46800),) and cal.hours[6] == (Interval(22 * 3600, 86400),)
    assert BusinessCalendar.from_dict(json.loads(json.dumps(cal.to_dict()))) == cal
    assert cal.to_dict()["hours"]["sun"] == ["22:00-24:00"]
    with pytest.raises(CalendarError, match="TOML"):
        BusinessCalendar.from_toml("name = ")


def test_calendar_built_in_code_is_validated_too() -> None:
    with pytest.raises(CalendarError, match=r"hours\.mon\[0\]: end 09:00 is before start 18:00"):
        BusinessCalendar("x", "UTC", hours=(((18 * 3600, 9 * 3600),),) + ((),) * 6)  # type: ignore[arg-type]
    with pytest.raises(CalendarError, match="expected 7 days"):
        BusinessCalendar("x", "UTC", hours=((Interval(0, 3600),),))


def test_computing_a_month_or_a_year_walks_days_not_minutes() -> None:
    data = {"name": "fr", "timezone": "Europe/Paris", "country": "FR",
            "hours": {"mon-fri": ["09:00-12:30", "13:30-18:00"], "sat": ["10:00-13:00"]}}
    start = paris(2026, 3, 2, 10, 17)

    def best_of(n: int, work: object) -> float:
        timings = []
        for _ in range(n):
            cal = BusinessCalendar.from_dict(data)  # cold: no cached spans
            t0 = time.perf_counter()
            work(cal)  # type: ignore[operator]
            timings.append(time.perf_counter() - t0)
        return min(timings)

    month = best_of(5, lambda cal: cal.elapsed(start, start + timedelta(days=30)))
    year = best_of(3, lambda cal: cal.add(start, 2200 * HOUR))
    assert month < 0.002, f"30-day elapsed took {month * 1000:.2f} ms"
    assert year < 0.03, f"one-year add took {year * 1000:.2f} ms"


# ---- calendar: properties --------------------------------------------------------------

ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata", "UTC"]
QUARTERS = st.integers(0, 96)


@st.composite
def day_hours(draw: st.DrawFn) -> list[str]:
    cuts = sorted(draw(st.sets(QUARTERS, max_size=6)))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    return [f"{a // 4:02d}:{a % 4 * 15:02d}-{b // 4:02d}:{b % 4 * 15:02d}" for a, b in pairs if a < b]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    hours = {day: draw(day_hours()) for day in WEEKDAYS}
    if not any(hours.values()):
        hours["wed"] = ["09:00-17:00"]
    zone = draw(st.sampled_from(ZONES))
    country = draw(st.sampled_from([None, "FR", "US", "CL"]))
    closed = draw(st.lists(st.dates(date(2025, 6, 1), date(2027, 6, 1)), max_size=5))
    data = {"name": "generated", "timezone": zone, "hours": hours, "holidays": [d.isoformat() for d in closed]}
    return BusinessCalendar.from_dict(data | ({"country": country} if country else {}))


FIXED = [FR_9_18, FR_SPLIT, NY_9_18, PARIS_FULL_DAYS]
ANY_CALENDAR = st.one_of(st.sampled_from(FIXED), calendars())
# DST changes of the zones above, so that generated instants often straddle one
TRANSITIONS = [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC),
               datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC),
               datetime(2026, 4, 4, 15, tzinfo=UTC), datetime(2026, 10, 3, 15, tzinfo=UTC),
               datetime(2026, 4, 5, 3, tzinfo=UTC), datetime(2026, 9, 6, 4, tzinfo=UTC)]
NEAR_CHANGE = st.builds(lambda t, s: t + timedelta(seconds=s), st.sampled_from(TRANSITIONS),
                        st.integers(-3 * 86400, 3 * 86400))
INSTANTS = st.one_of(st.datetimes(datetime(2025, 9, 1), datetime(2027, 3, 1), timezones=st.just(UTC)), NEAR_CHANGE)
AMOUNTS = st.floats(0, 40 * 86400, allow_nan=False)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(ANY_CALENDAR, INSTANTS, AMOUNTS)
def test_elapsed_inverts_add(cal: BusinessCalendar, start: datetime, seconds: float) -> None:
    due = cal.add(start, seconds)
    assert due >= start
    assert abs(cal.elapsed(start, due) - seconds) <= 1e-6


@PROPERTY
@given(ANY_CALENDAR, INSTANTS, AMOUNTS, AMOUNTS)
def test_add_is_monotonic(cal: BusinessCalendar, start: datetime, x: float, y: float) -> None:
    x, y = sorted((x, y))
    assert cal.add(start, x) <= cal.add(start, y)


@PROPERTY
@given(ANY_CALENDAR, st.lists(INSTANTS, min_size=3, max_size=3))
def test_elapsed_is_additive(cal: BusinessCalendar, instants: list[datetime]) -> None:
    a, b, c = sorted(instants)
    assert abs(cal.elapsed(a, c) - (cal.elapsed(a, b) + cal.elapsed(b, c))) <= 1e-6
    assert 0 <= cal.elapsed(a, c) <= (c - a).total_seconds()
    assert cal.elapsed(c, a) == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_CALENDAR, INSTANTS, st.integers(1, 3 * 24 * 60))
def test_elapsed_matches_a_minute_by_minute_count(cal: BusinessCalendar, start: datetime, minutes: int) -> None:
    """The oracle: hours, holidays and DST changes all fall on whole minutes, so counting
    the open minutes one by one (with is_open, which reads the local wall clock) must give
    exactly the business time that elapsed computes from its UTC spans."""
    start = start.replace(second=0, microsecond=0)
    open_minutes = sum(cal.is_open(start + timedelta(minutes=m)) for m in range(minutes))
    assert cal.elapsed(start, start + timedelta(minutes=minutes)) == open_minutes * 60


@PROPERTY
@given(ANY_CALENDAR, INSTANTS, st.floats(1e-3, 40 * 86400))
def test_business_time_is_only_spent_in_open_hours(cal: BusinessCalendar, start: datetime, seconds: float) -> None:
    due = cal.add(start, seconds)
    just_before = due - timedelta(microseconds=1)
    assert cal.is_open(just_before)  # the last microsecond counted was in opening hours
    assert not cal.is_holiday(just_before.astimezone(cal.tz).date())  # these calendars have no special days


@PROPERTY
@given(ANY_CALENDAR, INSTANTS)
def test_is_open_agrees_with_elapsed_and_next_open(cal: BusinessCalendar, t: datetime) -> None:
    tick = timedelta(microseconds=1)
    assert cal.is_open(t) == (cal.elapsed(t, t + tick) > 0)
    opening = cal.next_open(t)
    assert cal.is_open(opening) and cal.elapsed(t, opening) == 0
    assert (opening == t) == cal.is_open(t)


@PROPERTY
@given(st.sampled_from([ALWAYS_OPEN, PARIS_FULL_DAYS, BusinessCalendar.always_open("LH", "Australia/Lord_Howe")]),
       INSTANTS, INSTANTS, AMOUNTS)
def test_always_open_calendars_count_wall_clock_seconds(cal: BusinessCalendar, a: datetime, b: datetime,
                                                        seconds: float) -> None:
    a, b = sorted((a, b))
    assert cal.elapsed(a, b) == (b - a).total_seconds()
    assert cal.add(a, seconds) == a + timedelta(seconds=seconds)


@PROPERTY
@given(INSTANTS, INSTANTS)
def test_full_days_in_a_dst_zone_equal_wall_clock_time(a: datetime, b: datetime) -> None:
    """Same hours as 24/7 but through the general (per-day, DST-aware) path."""
    a, b = sorted((a, b))
    full = calendar("Australia/Lord_Howe", None, **{"mon-sun": ["00:00-12:00", "12:00-24:00"]})
    assert not full.is_always_open
    assert full.elapsed(a, b) == (b - a).total_seconds()


# ---- SLA: concrete cases ---------------------------------------------------------------


def test_first_response_due_monday_when_opened_friday_evening() -> None:
    opened = paris(2026, 3, 27, 17, 30)
    state = evaluate(policy(), "normal", [ev(opened, "opened")], paris(2026, 3, 27, 17, 45))
    fr = state.first_response
    assert (fr.state, fr.due_at, fr.elapsed_s, fr.remaining_s) == ("running", paris(2026, 3, 30, 9, 30), 900, 2700)
    late = evaluate(policy(), "normal", [ev(opened, "opened")], paris(2026, 3, 30, 9, 31))
    assert late.first_response.state == "breached"
    answered = [ev(opened, "opened"), ev(paris(2026, 3, 30, 9, 29), "agent_reply")]
    done = evaluate(policy(), "normal", answered, paris(2026, 3, 30, 12, 0)).first_response
    assert (done.state, done.met, done.elapsed_s, done.stopped_by) == ("met", True, 59 * 60, "agent_reply")
    on_the_dot = [ev(opened, "opened"), ev(paris(2026, 3, 30, 9, 30), "agent_reply")]
    exact = evaluate(policy(), "normal", on_the_dot, paris(2026, 3, 30, 12, 0)).first_response
    assert (exact.state, exact.remaining_s) == ("met", 0)  # reaching the target exactly is met
    assert evaluate(policy(), "normal", on_the_dot[:1], paris(2026, 3, 30, 9, 30)).first_response.state == "at_risk"


def test_holidays_move_sla_due_times() -> None:
    easter = evaluate(policy(), "normal", [ev(paris(2026, 4, 3, 17, 30), "opened")], paris(2026, 4, 3, 18, 0))
    assert easter.first_response.due_at == paris(2026, 4, 7, 9, 30)
    bastille = evaluate(policy(), "normal", [ev(paris(2026, 7, 13, 17, 30), "opened")], paris(2026, 7, 14, 12))
    assert bastille.first_response.due_at == paris(2026, 7, 15, 9, 30)
    assert bastille.first_response.state == "running"  # nothing is consumed on 14 July


def test_new_york_and_paris_policies_for_the_same_case() -> None:
    opened = [ev(datetime(2026, 6, 10, 15, 0, tzinfo=UTC), "opened")]
    now = datetime(2026, 6, 10, 15, 5, tzinfo=UTC)
    assert evaluate(policy(FR_9_18), "high", opened, now).first_response.due_at == paris(2026, 6, 10, 17, 30)
    assert evaluate(policy(FR_9_18), "normal", opened, now).resolution.due_at == paris(2026, 6, 11, 16, 0)
    assert evaluate(policy(NY_9_18), "normal", opened, now).resolution.due_at == ny(2026, 6, 11, 10, 0)


def test_dst_week_due_time() -> None:
    state = evaluate(policy(), "normal", [ev(paris(2026, 3, 27, 17, 0), "opened")], paris(2026, 3, 27, 17, 1))
    assert state.resolution.due_at == paris(2026, 3, 30, 16, 0)  # 1 h Friday (CET) + 7 h Monday (CEST)


def test_internal_note_does_not_stop_the_first_response_clock() -> None:
    events = [ev(paris(2026, 6, 8, 9, 0), "opened"), ev(paris(2026, 6, 8, 9, 10), "note")]
    assert evaluate(policy(), "normal", events, paris(2026, 6, 8, 9, 30)).first_response.state == "running"
    state = evaluate(policy(), "normal", events, paris(2026, 6, 8, 10, 1))
    assert state.first_response.state == "breached"
    late = evaluate(policy(), "normal", events + [ev(paris(2026, 6, 8, 10, 30), "agent_reply")],
                    paris(2026, 6, 8, 11, 0)).first_response
    assert (late.state, late.met, late.stopped_at, late.remaining_s) == ("breached", False, paris(2026, 6, 8, 10, 30),
                                                                         -30 * 60)


def test_pending_pauses_the_clocks_and_resumes_them() -> None:
    events = [ev(paris(2026, 6, 8, 9, 0), "opened"), ev(paris(2026, 6, 8, 9, 30), "agent_reply"),
              ev(paris(2026, 6, 8, 10, 0), "status", status="pending")]
    paused = evaluate(policy(), "normal", events, paris(2026, 6, 8, 12, 0)).resolution
    assert (paused.state, paused.due_at, paused.elapsed_s, paused.paused_s) == ("paused", None, HOUR, 2 * HOUR)
    assert paused.remaining_s == 7 * HOUR
    resumed = events + [ev(paris(2026, 6, 8, 14, 0), "status", status="open")]
    running = evaluate(policy(), "normal", resumed, paris(2026, 6, 8, 15, 0)).resolution
    assert (running.state, running.due_at, running.paused_s) == ("running", paris(2026, 6, 9, 12, 0), 4 * HOUR)


def test_a_customer_message_ends_the_wait_and_starts_the_next_response_clock() -> None:
    events = [ev(paris(2026, 6, 8, 9, 0), "opened"), ev(paris(2026, 6, 8, 9, 30), "agent_reply"),
              ev(paris(2026, 6, 8, 9, 31), "status", status="pending"),
              ev(paris(2026, 6, 8, 11, 0), "customer_message"), ev(paris(2026, 6, 8, 11, 20), "customer_message")]
    state = evaluate(policy(), "normal", events, paris(2026, 6, 8, 12, 0))
    nr = state.next_response
    assert (nr.instance, nr.started_at, nr.due_at, nr.state) == (1, paris(2026, 6, 8, 11, 0), paris(2026, 6, 8, 13, 0),
                                                                 "running")
    assert state.resolution.state == "running" and state.resolution.paused_s == 89 * 60
    answered = evaluate(policy(), "normal", events + [ev(paris(2026, 6, 8, 12, 30), "agent_reply")],
                        paris(2026, 6, 8, 13, 0))
    assert answered.next_response.state == "met" and answered.next_response.elapsed_s == 90 * 60


def test_reopen_starts_a_new_resolution_cycle() -> None:
    events = [ev(paris(2026, 6, 8, 9, 0), "opened"), ev(paris(2026, 6, 8, 9, 30), "agent_reply"),
              ev(paris(2026, 6, 8, 11, 0), "status", status="resolved"),
              ev(paris(2026, 6, 9, 10, 0), "customer_message"),       # ignored until the case is reopened
              ev(paris(2026, 6, 9, 10, 5), "reopened"),
              ev(paris(2026, 6, 10, 10, 0), "agent_reply"),
              ev(paris(2026, 6, 11, 10, 0), "status", status="resolved")]
    state = evaluate(policy(), "normal", events, paris(2026, 6, 12, 9, 0))
    first, second = state.cycles
    assert (first.instance, first.elapsed_s, first.state) == (1, 2 * HOUR, "met")
    assert (second.instance, second.started_at, second.state) == (2, paris(2026, 6, 9, 10, 5), "breached")
    # Tuesday 10:05-18:00, Wednesday 9 h, Thursday 09:00-10:00; 8 h were due Wednesday 09:05
    assert second.elapsed_s == (7 * 60 + 55) * 60 + 10 * HOUR and second.due_at == paris(2026, 6, 10, 9, 5)
    nr = state.next_response
    assert (nr.started_at, nr.state) == (paris(2026, 6, 9, 10, 5), "breached")  # 2 h target, answered next day
    quiet = events[:4]  # a "thanks" after resolution, no reopen: no new clock
    assert evaluate(policy(), "normal", quiet, paris(2026, 6, 12)).next_responses == ()


def test_reopening_into_pending_starts_the_cycle_paused() -> None:
    events = [ev(paris(2026, 6, 8, 9, 0), "opened"), ev(paris(2026, 6, 8, 10, 0), "status", status="closed"),
              ev(paris(2026, 6, 8, 11, 0), "status", status="pending")]
    state = evaluate(policy(), "normal", events, paris(2026, 6, 8, 12, 0))
    assert [c.state for c in state.cycles] == ["met", "paused"]
    assert state.first_response.stopped_by == "closed"


def test_priority_change_keeps_the_clock_and_swaps_the_target() -> None:
    opened = ev(paris(2026, 6, 8, 9, 0), "opened")
    raised_early = [opened, ev(paris(2026, 6, 8, 9, 5), "priority", priority="urgent")]
    fr = evaluate(policy(), "normal", raised_early, paris(2026, 6, 8, 9, 13)).first_response
    assert (fr.due_at, fr.target_s, fr.state) == (paris(2026, 6, 8, 9, 15), 15 * 60, "at_risk")
    assert fr.at_risk_at == paris(2026, 6, 8, 9, 12)  # 80 % of the new 15 minutes, counted from 09:00
    raised_late = [opened, ev(paris(2026, 6, 8, 9, 20), "priority", priority="urgent")]
    fr = evaluate(policy(), "normal", raised_late, paris(2026, 6, 8, 9, 21)).first_response
    assert (fr.due_at, fr.state) == (paris(2026, 6, 8, 9, 20), "breached")  # breached at the change
    lowered = [opened, ev(paris(2026, 6, 8, 9, 30), "priority", priority="low")]
    fr = evaluate(policy(), "normal", lowered, paris(2026, 6, 8, 11, 0)).first_response
    assert (fr.due_at, fr.state) == (paris(2026, 6, 8, 13, 0), "running")  # 240 min from 09:00
    lowered_too_late = [opened, ev(paris(2026, 6, 8, 10, 30), "priority", priority="low")]
    fr = evaluate(policy(), "normal", lowered_too_late, paris(2026, 6, 8, 11, 0)).first_response
    assert (fr.due_at, fr.state) == (paris(2026, 6, 8, 10, 0), "breached")  # a breach is final
    state = evaluate(policy(), "normal", lowered_too_late, paris(2026, 6, 8, 11, 0))
    assert state.priority == "low"


def test_at_risk_by_fraction_or_by_minutes_before() -> None:
    events = [ev(paris(2026, 6, 8, 9, 0), "opened")]
    assert evaluate(policy(), "normal", events, paris(2026, 6, 8, 9, 47)).first_response.state == "running"
    fr = evaluate(policy(), "normal", events, paris(2026, 6, 8, 9, 48)).first_response
    assert (fr.state, fr.at_risk_at) == ("at_risk", paris(2026, 6, 8, 9, 48))
    by_minutes = policy(at_risk_fraction=None, at_risk_minutes=5)
    assert evaluate(by_minutes, "normal", events, paris(2026, 6, 8, 9, 50)).first_response.state == "running"
    assert evaluate(by_minutes, "normal", events, paris(2026, 6, 8, 9, 55)).first_response.state == "at_risk"


def test_no_target_means_state_none() -> None:
    events = [ev(paris(2026, 6, 8, 9, 0), "opened"), ev(paris(2026, 6, 8, 9, 10), "agent_reply"),
              ev(paris(2026, 6, 8, 9, 20), "customer_message")]
    state = evaluate(policy(), "low", events, paris(2026, 6, 9, 9, 0))
    assert state.next_response.state == "none" and state.resolution.state == "none"
    assert state.first_response.state == "met"


def test_snapshot_survives_json_and_later_policy_edits() -> None:
    original = policy(at_risk_minutes=10)
    stored = json.loads(json.dumps(original.snapshot()))
    assert SlaPolicy.from_snapshot(stored) == original
    edited = SlaPolicy("standard", FR_9_18, {"first_response": {"normal": 480}})
    events = [ev(paris(2026, 6, 8, 9, 0), "opened")]
    assert evaluate(stored, "normal", events, paris(2026, 6, 8, 9, 5)).first_response.due_at == paris(2026, 6, 8, 10)
    assert evaluate(edited, "normal", events, paris(2026, 6, 8, 9, 5)).first_response.due_at == paris(2026, 6, 8, 17)


def test_policy_from_toml() -> None:
    pol = SlaPolicy.from_toml("""
        name = "Gold"
        at_risk = {minutes_before = 15}
        [calendar]
        name = "24/7"
        always_open = true
        [targets.first_response]
        urgent = 10
        normal = 30.5
    """)
    assert pol.target_seconds("first_response", "normal") == 1830 and pol.calendar.is_always_open
    assert (pol.at_risk_fraction, pol.at_risk_minutes) == (None, 15)


@pytest.mark.parametrize(("snapshot", "message"), [
    ({"targets": {"first_reply": {"normal": 60}}}, r"targets\.first_reply: unknown clock"),
    ({"targets": {"resolution": {"critical": 60}}}, r"targets\.resolution\.critical: unknown priority"),
    ({"targets": {"resolution": {"normal": 0}}}, r"targets\.resolution\.normal: expected business minutes > 0"),
    ({"at_risk": {"fraction": 1.5}}, r"at_risk\.fraction"),
    ({"calendar": {"name": "x", "timezone": "Mars/Olympus", "always_open": True}}, r"calendar\.timezone: unknown"),
    ({"version": 2}, r"version: snapshot version 2"),
    ({"colour": "red"}, r"colour: unknown field"),
])
def test_bad_policies_name_the_field(snapshot: dict[str, object], message: str) -> None:
    data = policy().snapshot() | snapshot
    with pytest.raises(SlaError, match=message):
        SlaPolicy.from_snapshot(data)


def test_history_errors() -> None:
    opened = ev(paris(2026, 6, 8, 9, 0), "opened")
    with pytest.raises(SlaError, match="must begin with an 'opened'"):
        evaluate(policy(), "normal", [ev(paris(2026, 6, 8, 8, 0), "customer_message"), opened], paris(2026, 6, 9))
    with pytest.raises(SlaError, match="priority: unknown"):
        evaluate(policy(), "critical", [opened], paris(2026, 6, 9))
    with pytest.raises(SlaError, match="before the case was opened"):
        evaluate(policy(), "normal", [opened], paris(2026, 6, 7))
    with pytest.raises(ValueError, match="^now: naive"):
        evaluate(policy(), "normal", [opened], datetime(2026, 6, 9))
    with pytest.raises(SlaError, match="status: unknown status 'solved'"):
        CaseEvent(paris(2026, 6, 8), "status", status="solved")
    with pytest.raises(SlaError, match="kind: unknown event kind"):
        CaseEvent(paris(2026, 6, 8), "email")


def test_events_after_now_are_ignored() -> None:
    events = [ev(paris(2026, 6, 8, 9, 0), "opened"), ev(paris(2026, 6, 8, 9, 30), "agent_reply")]
    assert evaluate(policy(), "normal", events, paris(2026, 6, 8, 9, 20)).first_response.state == "running"
    assert evaluate(policy(), "normal", events, paris(2026, 6, 8, 9, 40)).first_response.state == "met"


def test_breach_and_at_risk_events_have_stable_keys() -> None:
    events = [ev(paris(2026, 6, 8, 9, 0), "opened")]

    def at(now: datetime) -> list[tuple[str, datetime]]:
        return [(e.key, e.at) for e in breaches({"c42": evaluate(policy(), "normal", events, now)}, now)]

    assert at(paris(2026, 6, 8, 9, 30)) == []
    assert at(paris(2026, 6, 8, 9, 50)) == [("c42/first_response/1/at_risk", paris(2026, 6, 8, 9, 48))]
    assert at(paris(2026, 6, 8, 10, 30)) == [("c42/first_response/1/breach", paris(2026, 6, 8, 10, 0))]
    assert at(paris(2026, 6, 8, 16, 0)) == [("c42/first_response/1/breach", paris(2026, 6, 8, 10, 0)),
                                           ("c42/resolution/1/at_risk", paris(2026, 6, 8, 15, 24))]
    assert at(paris(2026, 6, 9, 9, 30)) == [("c42/first_response/1/breach", paris(2026, 6, 8, 10, 0)),
                                          ("c42/resolution/1/breach", paris(2026, 6, 8, 17, 0))]
    replied = events + [ev(paris(2026, 6, 8, 10, 30), "agent_reply")]
    state = evaluate(policy(), "normal", replied, paris(2026, 6, 8, 11, 0))
    assert [e.kind for e in breaches([("c42", state)], state.now)] == ["breach"]  # late reply stays a breach


def test_wake_at_is_the_next_instant_something_changes() -> None:
    state = evaluate(policy(), "normal", [ev(paris(2026, 6, 8, 9, 0), "opened")], paris(2026, 6, 8, 9, 10))
    assert state.wake_at == paris(2026, 6, 8, 9, 48)
    json.dumps(state.to_dict())  # the API can send it as is


def test_is_reopen_window() -> None:
    resolved = paris(2026, 6, 8, 11, 0)
    week = timedelta(days=7)
    assert is_reopen(resolved, resolved + timedelta(days=6), week)
    assert not is_reopen(resolved, resolved + timedelta(days=8), week)
    assert not is_reopen(resolved, resolved - timedelta(minutes=1), week)
    with pytest.raises(ValueError, match="new_message_at"):
        is_reopen(resolved, datetime(2026, 6, 9), week)


# ---- SLA: properties ---------------------------------------------------------------------

STEPS = st.lists(st.tuples(st.integers(1, 600), st.sampled_from(
    ["customer_message", "agent_reply", "note", "pending", "open", "resolved", "reopened", "urgent", "low"])),
    max_size=12)


def history(start: datetime, steps: list[tuple[int, str]]) -> list[CaseEvent]:
    events, t = [ev(start, "opened")], start
    for minutes, what in steps:
        t += timedelta(minutes=minutes)
        if what in ("pending", "open", "resolved"):
            events.append(ev(t, "status", status=what))
        elif what in ("urgent", "low"):
            events.append(ev(t, "priority", priority=what))
        else:
            events.append(ev(t, what))
    return events


@settings(max_examples=80, deadline=None)
@given(INSTANTS, STEPS, st.integers(0, 5000))
def test_clock_invariants_on_random_histories(start: datetime, steps: list[tuple[int, str]], after: int) -> None:
    events = history(start, steps)
    now = events[-1].ts + timedelta(minutes=after)
    state = evaluate(policy(FR_SPLIT), "normal", events, now)
    for clock in state.instances():
        assert clock.state in ("running", "at_risk", "paused", "met", "breached", "none")
        if clock.started_at is None:
            continue
        end = clock.stopped_at or now
        assert abs(clock.elapsed_s + clock.paused_s - FR_SPLIT.elapsed(clock.started_at, end)) <= 1e-6
        if clock.state == "breached":
            assert clock.due_at is not None and clock.due_at < end
        if clock.state == "met" and clock.due_at is not None:
            assert clock.due_at >= clock.stopped_at  # type: ignore[operator]
        if clock.state == "running" and clock.remaining_s is not None:
            assert clock.remaining_s >= 0 and clock.due_at == FR_SPLIT.add(now, clock.remaining_s)
    assert [c.instance for c in state.cycles] == list(range(1, len(state.cycles) + 1))
    assert sum(1 for _, w in steps if w in ("reopened", "open", "pending")) + 1 >= len(state.cycles)


@settings(max_examples=60, deadline=None)
@given(INSTANTS, STEPS, st.integers(0, 3000), st.integers(0, 3000))
def test_breaches_are_never_taken_back(start: datetime, steps: list[tuple[int, str]], a: int, b: int) -> None:
    """Evaluating the same history later keeps every breach, with the same key and instant."""
    events = history(start, steps)
    earlier, later = (events[-1].ts + timedelta(minutes=m) for m in sorted((a, b)))

    def found(now: datetime) -> set[tuple[str, datetime]]:
        state = evaluate(policy(FR_SPLIT), "normal", events, now)
        return {(e.key, e.at) for e in breaches({"c": state}, now) if e.kind == "breach"}

    assert found(earlier) <= found(later)
