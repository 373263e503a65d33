"""Checks of what callers pass in: times, texts, choices (a refusal names the field)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from parcours.desk.errors import DeskError
from parcours.desk.model import MAX_TOPIC


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


def check_ts(ts: datetime | None, name: str = "ts") -> datetime:
    """``ts`` as an aware UTC datetime (now if None), or :class:`DeskError`."""
    return _ts(ts, name)
