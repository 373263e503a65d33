"""Purchases (BG/NBD × Gamma-Gamma), deliveries, returns and refunds of a chunk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from parcours.schema import CHANNELS, PROMISE_KINDS

from . import params as P
from . import texts
from .clock import DAY, HOUR, Clock
from .events import CATALOGUE, KIND, OUTBOUND, STAGE, Events
from .people import CH, People, identify

BUY_CODES = np.array([CH[name] for name in P.BUY_CHANNELS])


@dataclass
class Purchases:
    p: np.ndarray             # person (chunk index)
    t: np.ndarray             # window seconds
    channel: np.ndarray       # code in CHANNELS
    cents: np.ndarray         # amount incl. tax
    customer: np.ndarray      # per person: ever bought (before or during the window)
    dropout: np.ndarray       # per person: window time of the BG/NBD dropout, inf if none


def buy_till_you_die(rng: np.random.Generator, people: People, clock: Clock) -> Purchases:
    """Repeat purchases of each customer in the window, by the BG/NBD generative process.

    Rate λ ~ Gamma(r, α), dropout after each repeat purchase with p ~ Beta(a, b). Persons
    known before the window are alive at its start with probability exp(−λ·p·age): the
    dropout purchases form a Poisson process of rate λ·p (thinning).
    """
    n, end = people.n, clock.end
    new = people.created >= 0
    customer = rng.random(n) < np.where(new, P.P_CONVERT_NEW, P.P_CUSTOMER_OLD)
    lam = rng.gamma(P.BUY.r, 1.0 / P.BUY.alpha_weeks, size=n) / (7 * DAY)   # per second
    drop = rng.beta(P.BUY.a, P.BUY.b, size=n)
    age = np.maximum(-people.created, 0.0)
    alive = customer & (new | (rng.random(n) < np.exp(-lam * drop * age)))
    first = np.where(new, people.created + rng.exponential(P.FIRST_BUY_DELAY_DAYS * DAY, n), 0.0)
    first_bought = customer & new & (first < end)
    ps, ts = [np.flatnonzero(first_bought)], [first[first_bought]]
    dropout = np.full(n, np.inf)
    active = np.flatnonzero(alive & (first < end))
    t = first[active]
    while len(active):
        t = t + rng.exponential(1.0, len(active)) / lam[active]
        inside = t < end
        active, t = active[inside], t[inside]
        ps.append(active)
        ts.append(t)
        dies = rng.random(len(active)) < drop[active]
        dropout[active[dies]] = t[dies]
        active, t = active[~dies], t[~dies]
    p = np.concatenate(ps)
    t = np.concatenate(ts)
    channel = _buy_channel(rng, people, p)
    shop = _shop_hours(rng, clock, t, channel)
    t = np.where((shop >= people.active_from[p]) & (shop < end), shop, t)
    return Purchases(p, t, channel, _spend(rng, people, p), customer, dropout)


def _buy_channel(rng: np.random.Generator, people: People, p: np.ndarray) -> np.ndarray:
    """A habitual channel per person (60 % of purchases), else by age band; app users only."""
    probs = np.array(P.BUY_CHANNEL_P)[people.band]
    probs[:, 1] *= people.app
    probs /= probs.sum(axis=1, keepdims=True)
    cum = probs.cumsum(axis=1)
    habit = (cum < rng.random(people.n)[:, None]).sum(axis=1)
    any_ = (cum[p] < rng.random(len(p))[:, None]).sum(axis=1)
    choice = np.where(rng.random(len(p)) < 0.6, habit[p], any_)
    return BUY_CODES[np.minimum(choice, len(BUY_CODES) - 1)]


def _shop_hours(rng: np.random.Generator, clock: Clock, t: np.ndarray,
                channel: np.ndarray) -> np.ndarray:
    """Same local day, at a shopping hour; stores and phone within opening hours."""
    day, _, _ = clock.local(t)
    midnight = clock.from_local(day, np.zeros_like(t))
    online = np.isin(channel, [CH["web"], CH["app"]])
    out = np.empty_like(t)
    out[online] = clock.at_hour(midnight[online], "leisure", rng)
    out[~online] = clock.at_hour(midnight[~online], "office", rng)
    return clock.open_hours(out, channel, CHANNELS, rng)


def _spend(rng: np.random.Generator, people: People, p: np.ndarray) -> np.ndarray:
    """Gamma-Gamma: ν ~ Gamma(q, γ) per person, z ~ Gamma(p, ν) per purchase."""
    nu = rng.gamma(P.SPEND.q, 1.0 / P.SPEND.gamma, size=people.n)
    z = rng.gamma(P.SPEND.p, 1.0, size=len(p)) / nu[p]
    euros = z * P.SPEND.scale * np.array(P.SPEND_SEGMENT)[people.segment[p]]
    return np.maximum(np.round(euros * 100), 100).astype(np.int64)


@dataclass
class Fulfilment:
    delivered: np.ndarray     # per purchase: delivery time (nan for store purchases)
    promised: np.ndarray
    late: np.ndarray          # bool
    shipped: np.ndarray
    returned: np.ndarray      # return time (nan if none)
    refunded: np.ndarray      # refund time (nan if none)
    refund_cents: np.ndarray


def fulfil(rng: np.random.Generator, clock: Clock, buys: Purchases) -> Fulfilment:
    """Shipping, delivery (some late), returns and refunds of each purchase."""
    m = len(buys.p)
    shipped_ch = np.isin(buys.channel, [CH["web"], CH["app"], CH["phone"]])
    shipped = np.where(shipped_ch, buys.t + rng.uniform(3 * HOUR, 30 * HOUR, m), np.nan)
    promised = shipped + rng.uniform(*P.DELIVERY_DAYS, m) * DAY
    late = shipped_ch & (rng.random(m) < P.P_LATE)
    delivered = np.where(late, promised + rng.uniform(*P.LATE_EXTRA_DAYS, m) * DAY,
                         promised - rng.uniform(0, 0.8, m) * DAY)
    delivered = np.maximum(delivered, shipped + 6 * HOUR)
    day, _, _ = clock.local(delivered)
    retimed = clock.at_hour(clock.from_local(day, np.zeros(m)), "office", rng)
    delivered = np.where(shipped_ch, np.maximum(retimed, shipped + 6 * HOUR), np.nan)
    received = np.where(shipped_ch, delivered, buys.t)
    returned = np.where(rng.random(m) < P.P_RETURN, received + rng.uniform(2, 20, m) * DAY, np.nan)
    refunded = returned + rng.uniform(2, 8, m) * DAY
    partial = np.where(rng.random(m) < 0.3, rng.uniform(0.3, 0.9, m), 1.0)
    refund_cents = -np.round(buys.cents * partial).astype(np.int64)
    return Fulfilment(delivered, promised, late, shipped, returned, refunded, refund_cents)


@dataclass
class Sold:
    """What the commerce touchpoints said, for the tables built from purchases."""

    ids: dict[str, np.ndarray]          # identifier selectors of each purchase (orders, delivery promises)
    returns: np.ndarray                 # purchase rows returned
    return_channel: np.ndarray          # channel code of each return
    return_ids: dict[str, np.ndarray]   # identifier selectors of each return (refund promises)


def emit_commerce(rng: np.random.Generator, people: People, buys: Purchases, ful: Fulfilment,
                  events: Events) -> Sold:
    """Purchase, payment, shipping, delivery, return and refund touchpoints.

    Returns the identifiers each purchase and return was made with (orders, promises).
    """
    p, t, ch = buys.p, buys.t, buys.channel
    m = len(p)
    ids = identify(people, rng, p, ch, logged_in=np.ones(m, bool))
    events.add(p, t, ch=ch, kind=KIND["purchase"], stage=STAGE["buy"], ids=ids)
    online = np.flatnonzero(np.isin(ch, [CH["web"], CH["app"]]))
    events.add(p[online], t[online] + rng.uniform(20, 180, len(online)), ch=ch[online],
               kind=KIND["payment"], stage=STAGE["buy"], ids=_rows(ids, online))
    _pre_buy_visits(rng, people, buys, online, events)
    sent = np.flatnonzero(~np.isnan(ful.shipped))
    _notify(rng, people, events, p[sent], ful.shipped[sent], CH["email"], "transactional",
            texts.SHIPPED, STAGE["buy"])
    delivered = np.flatnonzero(~np.isnan(ful.delivered))
    dp = p[delivered]
    events.add(dp, ful.delivered[delivered], ch=CH["sms"], dir=OUTBOUND, kind=KIND["delivery"],
               stage=STAGE["buy"], text=CATALOGUE.codes("transactional", people.lang[dp], texts.DELIVERED),
               ids=identify(people, rng, dp, np.full(len(dp), CH["sms"])))
    ret = np.flatnonzero(~np.isnan(ful.returned))
    rch = np.where(rng.random(len(ret)) < 0.35, CH["store"], CH["web"])
    rp = p[ret]
    ret_ids = identify(people, rng, rp, rch, logged_in=np.ones(len(ret), bool))
    events.add(rp, ful.returned[ret], ch=rch, kind=KIND["return"], stage=STAGE["use"], ids=ret_ids)
    _notify(rng, people, events, rp, ful.refunded[ret], CH["email"], "transactional",
            texts.REFUND, STAGE["use"])
    return Sold(ids, ret, rch, ret_ids)


def _rows(ids: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in ids.items()}


def _pre_buy_visits(rng: np.random.Generator, people: People, buys: Purchases, online: np.ndarray,
                    events: Events) -> None:
    """Consider-stage visits in the days before an online order, on the same channel."""
    k = rng.poisson(P.PRE_BUY_VISITS, len(online))
    rows = np.repeat(online, k)
    p = buys.p[rows]
    t = buys.t[rows] - rng.exponential(1.5 * DAY, len(rows)) - 60
    ok = t >= people.active_from[p]
    p, t, ch = p[ok], t[ok], buys.channel[rows][ok]
    events.add(p, t, ch=ch, kind=KIND["visit"], stage=STAGE["consider"],
               handle=np.round(rng.lognormal(np.log(240), 0.8, len(p))),
               ids=identify(people, rng, p, ch, logged_in=rng.random(len(p)) < 0.5))


def _notify(rng: np.random.Generator, people: People, events: Events, p: np.ndarray,
            t: np.ndarray, channel: int, group: str, which: int, stage: int) -> None:
    ch = np.full(len(p), channel)
    email_slot = np.zeros(len(p), dtype=np.int64)           # transactional mail: main address
    events.add(p, t, ch=ch, dir=OUTBOUND, kind=KIND["notification"], stage=stage,
               text=CATALOGUE.codes(group, people.lang[p], which),
               ids=identify(people, rng, p, ch, email_slot=email_slot))


# --- promises ------------------------------------------------------------------------------
#: Refunds are promised within the legal limit: 14 days from the withdrawal (French Code de la
#: consommation, art. L221-24; EU directive 2011/83, art. 13).
REFUND_DAYS = 14
#: ``detail`` of the promises, by language (texts.LANGS order); the date follows the delivery one.
DELIVERY_BY = ("Livraison au plus tard le ", "Delivery by ")
REFUND_WITHIN = ("Remboursement sous 14 jours", "Refund within 14 days")
DELIVERY, REFUND = PROMISE_KINDS.index("delivery"), PROMISE_KINDS.index("refund")


@dataclass
class Promised:
    """The retailer's promises in a chunk: a delivery date per shipped order (made at the
    purchase, on its channel) and a refund per return (made at the return, on its channel)."""

    order: np.ndarray         # purchase row the promise is about
    p: np.ndarray             # person (chunk index)
    kind: np.ndarray          # code in PROMISE_KINDS
    made: np.ndarray          # window seconds, whole
    due: np.ndarray
    kept: np.ndarray          # nan while not kept at the window end
    channel: np.ndarray       # code in CHANNELS
    ids: dict[str, np.ndarray]
    due_day: np.ndarray       # local day number of a delivery date (for its detail), else nan


def promise(clock: Clock, buys: Purchases, ful: Fulfilment, sold: Sold) -> Promised:
    """Delivery and refund promises, with no random draw of their own (every other table of
    the world stays byte-identical).

    A delivery promise is a *date*: "delivered by <the promised local day>", due at its last
    second (Paris time); kept when the parcel arrives by then. A parcel delivered on the
    promised day is on time, a late one (``params.P_LATE``) arrives 1.5–9 days later: so the
    share kept recovers 1 − P_LATE. A refund is promised within :data:`REFUND_DAYS` of the
    return. ``kept`` is the delivery or refund time, or nan if it falls after the window.
    """
    end = clock.end
    ship = np.flatnonzero(~np.isnan(ful.shipped))
    day, _, _ = clock.local(ful.promised[ship])
    d_due = clock.from_local(day + 1, np.zeros(len(ship))) - 1          # 23:59:59 local
    d_kept = ful.delivered[ship]
    ret = sold.returns
    inside = ful.returned[ret] < end
    ret, r_channel = ret[inside], sold.return_channel[inside]
    r_made = np.floor(ful.returned[ret])
    r_kept = ful.refunded[ret]
    kept = np.floor(np.r_[d_kept, r_kept])
    return Promised(
        order=np.r_[ship, ret],
        p=buys.p[np.r_[ship, ret]],
        kind=np.r_[np.full(len(ship), DELIVERY), np.full(len(ret), REFUND)],
        made=np.r_[np.floor(buys.t[ship]), r_made],
        due=np.r_[d_due, r_made + REFUND_DAYS * DAY],
        kept=np.where(kept < end, kept, np.nan),
        channel=np.r_[buys.channel[ship], r_channel],
        ids={k: np.r_[v[ship], sold.return_ids[k][inside]] for k, v in sold.ids.items()},
        due_day=np.r_[day, np.full(len(ret), np.nan)],
    )
