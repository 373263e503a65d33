"""Time in the demo world: seconds since the window start (UTC), Paris local time, hours.

Internally every instant is a float ``t`` = seconds since ``start`` 00:00 UTC. Opening
hours and daily rhythms are expressed in Europe/Paris local time (CET/CEST, with the
EU rule: summer time from the last Sunday of March to the last Sunday of October, 01:00 UTC).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np

DAY = 86_400.0
HOUR = 3_600.0

#: Relative weight of each local hour 0..23 for spontaneous activity.
PROFILES: dict[str, np.ndarray] = {
    "office": np.array([0, 0, 0, 0, 0, 0, 0, 1, 4, 9, 10, 10, 7, 6, 9, 9, 8, 7, 5, 3, 2, 1, 0, 0.]),
    "leisure": np.array([1, .5, .2, .1, .1, .2, .8, 2, 3, 4, 4, 5, 7, 7, 5, 4, 4, 5, 7, 9, 10, 9, 6, 3]),
    "day": np.array([.5, .2, .1, .1, .1, .3, 1, 3, 6, 8, 8, 7, 6, 6, 7, 7, 6, 6, 6, 6, 5, 4, 2, 1]),
}
#: Opening hours (local, seconds from midnight) per weekday Monday..Sunday; (0, 0) = closed.
_H = 3600
OPENING: dict[str, tuple[tuple[int, int], ...]] = {
    "phone": ((8 * _H, 20 * _H),) * 5 + ((9 * _H, 18 * _H), (0, 0)),
    "chat": ((8 * _H, 21 * _H),) * 6 + ((0, 0),),
    "store": ((10 * _H, 19 * _H),) * 6 + ((0, 0),),
    # agents answering e-mails, social messages and SMS
    "backoffice": ((8 * _H, 19 * _H),) * 5 + ((9 * _H, 17 * _H), (0, 0)),
}


class Clock:
    """The window [start, start + days) and Paris local time, vectorised."""

    def __init__(self, start: date, days: int) -> None:
        self.start = start
        self.days = days
        self.origin = datetime(start.year, start.month, start.day, tzinfo=timezone.utc).timestamp()
        self.end = days * DAY
        bounds = [_summer_time(y) for y in range(start.year - 1, start.year + days // 365 + 3)]
        self._dst = np.array([(a - self.origin, b - self.origin) for a, b in bounds]).ravel()

    def epoch(self, t: np.ndarray) -> np.ndarray:
        """Seconds since 1970 (UTC) of window times ``t``."""
        return np.asarray(t, dtype=np.float64) + self.origin

    def offset(self, t: np.ndarray) -> np.ndarray:
        """Paris UTC offset in seconds (3600 or 7200) at window times ``t``."""
        summer = np.searchsorted(self._dst, t, side="right") % 2 == 1
        return np.where(summer, 2 * HOUR, HOUR)

    def local(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(local day number since 1970, seconds since local midnight, weekday 0=Monday)."""
        loc = self.epoch(t) + self.offset(t)
        day = np.floor(loc / DAY)
        return day, loc - day * DAY, (np.nan_to_num(day).astype(np.int64) + 3) % 7

    def from_local(self, day: np.ndarray, tod: np.ndarray) -> np.ndarray:
        """Window time of a local (day, time of day)."""
        loc = day * DAY + tod - self.origin
        return loc - self.offset(loc - HOUR)

    def at_hour(self, t0: np.ndarray, profile: str, rng: np.random.Generator) -> np.ndarray:
        """A time on or after ``t0``: the local day of ``t0`` (or the next) at an hour of ``profile``."""
        n = len(t0)
        weights = PROFILES[profile]
        hour = rng.choice(24, size=n, p=weights / weights.sum())
        tod = hour * HOUR + rng.random(n) * HOUR
        day, _, _ = self.local(t0)
        t = self.from_local(day, tod)
        return np.where(t < t0, t + DAY, t)

    def open_hours(self, t: np.ndarray, channel: np.ndarray, names: tuple[str, ...],
                   rng: np.random.Generator) -> np.ndarray:
        """Move times that fall outside a channel's opening hours to just after the next opening."""
        t = np.array(t, dtype=np.float64)
        for code, name in enumerate(names):
            sel = np.flatnonzero(channel == code)
            if name in OPENING and len(sel):
                t[sel] = self.next_open(t[sel], name, rng)
        return t

    def next_open(self, t: np.ndarray, schedule: str, rng: np.random.Generator) -> np.ndarray:
        """``t`` if the ``schedule`` (a key of OPENING) is open then, else soon after it opens."""
        hours = np.array(OPENING[schedule], dtype=np.float64)
        jitter = rng.exponential(0.4 * HOUR, size=len(t))
        for _ in range(4):
            day, tod, wd = self.local(t)
            opens, closes = hours[wd, 0], hours[wd, 1]
            early = (tod < opens) & (closes > 0)
            late = (tod >= closes) | (closes == 0)
            if not (early.any() or late.any()):
                break
            t = np.where(early, self.from_local(day, opens + np.minimum(jitter, closes - opens - 60)), t)
            t = np.where(late, self.from_local(day + 1, np.zeros_like(t)), t)  # opened next pass
        return t


def _summer_time(year: int) -> tuple[float, float]:
    """UTC epoch seconds of the start and end of EU summer time in ``year``."""

    def last_sunday(month: int) -> datetime:
        d = datetime(year, month + 1, 1, 1, tzinfo=timezone.utc) - timedelta(days=1)
        return d - timedelta(days=(d.weekday() + 1) % 7)

    return last_sunday(3).timestamp(), last_sunday(10).timestamp()
