"""The rest of the journey: visits, signup, app use, marketing, identity links, leaving."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from parcours.schema import CHANNELS

from . import params as P
from .clock import DAY, HOUR, Clock
from .commerce import Purchases
from .events import CATALOGUE, KIND, OUTBOUND, STAGE, Events
from .people import CH, MAX_DEVICES, People, identify


def first_purchase(people: People, buys: Purchases) -> np.ndarray:
    """Time of the first purchase: −inf for earlier customers, inf for prospects."""
    first = np.where(buys.customer & (people.created < 0), -np.inf, np.inf)
    np.minimum.at(first, buys.p, buys.t)
    return first


def emit_journeys(rng: np.random.Generator, people: People, clock: Clock, buys: Purchases,
                  stop: np.ndarray, events: Events) -> None:
    """All touchpoints of a person outside purchases and support, until ``stop``."""
    until = np.minimum(stop, clock.end)
    first = first_purchase(people, buys)
    _visits(rng, people, clock, buys, until, first, events)
    _app(rng, people, clock, buys, until, events)
    _campaigns(rng, people, clock, until, first, events)
    _signup(rng, people, events)
    _links(rng, people, until, first, events)


def _span(rng: np.random.Generator, people: People, until: np.ndarray, rate: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Poisson(rate × active years) times per person, uniform over [active_from, until)."""
    span = np.maximum(until - people.active_from, 0.0)
    count = rng.poisson(rate * span / (365 * DAY))
    p = np.repeat(np.arange(people.n), count)
    return p, people.active_from[p] + rng.random(len(p)) * span[p]


def _same_day(rng: np.random.Generator, clock: Clock, t: np.ndarray, profile: str) -> np.ndarray:
    day, _, _ = clock.local(t)
    return clock.at_hour(clock.from_local(day, np.zeros_like(t)), profile, rng)


def _visit_stage(first: np.ndarray, p: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.where(t >= first[p], STAGE["consider"], STAGE["discover"])


def _visits(rng: np.random.Generator, people: People, clock: Clock, buys: Purchases,
            until: np.ndarray, first: np.ndarray, events: Events) -> None:
    taste = rng.gamma(P.VISIT_SHAPE, 1.0 / P.VISIT_SHAPE, people.n)
    rate = P.VISITS_PER_YEAR * taste * np.where(buys.customer, 1.2, 0.6)
    p, t = _span(rng, people, until, rate)
    t = _same_day(rng, clock, t, "leisure")
    ok = (t >= people.active_from[p]) & (t < until[p])
    p, t = p[ok], t[ok]
    ch = np.where(people.app[p] & (rng.random(len(p)) < 0.45), CH["app"], CH["web"])
    events.add(p, t, ch=ch, kind=KIND["visit"], stage=_visit_stage(first, p, t),
               handle=np.round(rng.lognormal(np.log(200), 0.9, len(p))),
               ids=identify(people, rng, p, ch, logged_in=rng.random(len(p)) < P.P_LOGGED_IN))


def _app(rng: np.random.Generator, people: People, clock: Clock, buys: Purchases,
         until: np.ndarray, events: Events) -> None:
    """App sessions (usage) and push notifications, for app users."""
    use = P.APP_SESSIONS_PER_YEAR * people.app * np.where(buys.customer, 1.0, 0.3)
    p, t = _span(rng, people, until, use)
    t = _same_day(rng, clock, t, "leisure")
    ok = (t >= people.active_from[p]) & (t < until[p])
    p, t = p[ok], t[ok]
    ch = np.full(len(p), CH["app"])
    events.add(p, t, ch=ch, kind=KIND["usage"], stage=STAGE["use"],
               handle=np.round(rng.lognormal(np.log(90), 0.8, len(p))),
               ids=identify(people, rng, p, ch))
    p, t = _span(rng, people, until, P.APP_PUSH_PER_YEAR * people.app * people.optin)
    t = _same_day(rng, clock, t, "day")
    ok = (t >= people.active_from[p]) & (t < until[p])
    p, t = p[ok], t[ok]
    ch = np.full(len(p), CH["app"])
    events.add(p, t, ch=ch, dir=OUTBOUND, kind=KIND["notification"], stage=STAGE["use"],
               text=CATALOGUE.codes("campaign", people.lang[p], rng.integers(0, 12, len(p))),
               ids=identify(people, rng, p, ch))


def _campaigns(rng: np.random.Generator, people: People, clock: Clock, until: np.ndarray,
               first: np.ndarray, events: Events) -> None:
    """Monthly marketing e-mail waves to opted-in persons; a few clicks become visits."""
    for wave_day in range(3, clock.days, P.CAMPAIGN_EVERY_DAYS):
        month = (clock.start + timedelta(days=wave_day)).month - 1
        t0 = clock.from_local(np.floor(clock.local(np.array([wave_day * DAY]))[0]),
                              np.array([10 * HOUR]))[0]
        sent = people.optin & (people.active_from < t0) & (until > t0)
        sent &= rng.random(people.n) < P.P_CAMPAIGN_TARGET
        p = np.flatnonzero(sent)
        t = t0 + rng.uniform(0, 2 * HOUR, len(p))
        ch = np.full(len(p), CH["email"])
        stage = np.where(first[p] < t, STAGE["consider"], STAGE["discover"])
        events.add(p, t, ch=ch, dir=OUTBOUND, kind=KIND["notification"], stage=stage,
                   text=CATALOGUE.codes("campaign", people.lang[p], month),
                   ids=identify(people, rng, p, ch, email_slot=np.zeros(len(p), np.int64)))
        click = rng.random(len(p)) < P.P_CAMPAIGN_CLICK
        cp, ct = p[click], t[click] + rng.exponential(3 * HOUR, click.sum())
        ok = ct < until[cp]
        cp, ct = cp[ok], ct[ok]
        wch = np.full(len(cp), CH["web"])
        events.add(cp, ct, ch=wch, kind=KIND["visit"], stage=_visit_stage(first, cp, ct),
                   handle=np.round(rng.lognormal(np.log(150), 0.8, len(cp))),
                   ids=identify(people, rng, cp, wch, logged_in=rng.random(len(cp)) < 0.3))


def _signup(rng: np.random.Generator, people: People, events: Events) -> None:
    """New persons sign up (web or app), after a few anonymous visits on their first browser."""
    new = np.flatnonzero(people.created >= 0)
    on_app = people.app[new] & (rng.random(len(new)) < 0.35)
    ch = np.where(on_app, CH["app"], CH["web"])
    device0 = np.zeros(len(new), np.int64)
    events.add(new, people.created[new], ch=ch, kind=KIND["signup"], stage=STAGE["consider"],
               ids=identify(people, rng, new, ch, logged_in=np.ones(len(new), bool),
                            device=device0, email_slot=device0))
    k = rng.poisson(P.PRE_SIGNUP_VISITS, len(new))
    p = np.repeat(new, k)
    t = people.created[p] - rng.exponential(2 * DAY, len(p)) - 120
    p, t = p[t >= 0], t[t >= 0]
    wch = np.full(len(p), CH["web"])
    events.add(p, t, ch=wch, kind=KIND["visit"], stage=STAGE["discover"],
               handle=np.round(rng.lognormal(np.log(200), 0.9, len(p))),
               ids=identify(people, rng, p, wch, logged_in=np.zeros(len(p), bool),
                            device=np.zeros(len(p), np.int64)))


def _links(rng: np.random.Generator, people: People, until: np.ndarray, first: np.ndarray,
           events: Events) -> None:
    """One logged-in visit per browser (main address), and one with the second address.

    These rows make every browser id and every second e-mail co-occur with an identifier
    that leads to the person's CRM record, so identity resolution can find them.
    """
    span = np.maximum(until - people.active_from, 0.0)
    for slot in range(MAX_DEVICES + 1):
        if slot < MAX_DEVICES:
            p = np.flatnonzero(people.devices > slot)
            device, email_slot = np.full(len(p), slot), np.zeros(len(p), np.int64)
        else:
            p = np.flatnonzero(people.email2)
            device, email_slot = np.zeros(len(p), np.int64), np.full(len(p), 2)
        t = people.active_from[p] + rng.random(len(p)) * span[p]
        ch = np.full(len(p), CH["web"])
        events.add(p, t, ch=ch, kind=KIND["visit"], stage=_visit_stage(first, p, t),
                   handle=np.round(rng.lognormal(np.log(200), 0.9, len(p))),
                   ids=identify(people, rng, p, ch, logged_in=np.ones(len(p), bool),
                                device=device, email_slot=email_slot))


def emit_leaving(rng: np.random.Generator, people: People, leave: np.ndarray,
                 cancel: np.ndarray, clock: Clock, events: Events) -> None:
    """Cancellation touchpoints: after a bad experience (``leave``) or a BG/NBD dropout."""
    when = np.minimum(leave, cancel)
    p = np.flatnonzero(when < clock.end)
    u = rng.random(len(p))
    ch = np.select([u < 0.4, u < 0.8], [CH["email"], CH["web"]], CH["phone"])
    t = clock.open_hours(when[p], ch, CHANNELS, rng)
    events.add(p, t, ch=ch, kind=KIND["cancellation"], stage=STAGE["leave"],
               ids=identify(people, rng, p, ch, logged_in=np.ones(len(p), bool)))
