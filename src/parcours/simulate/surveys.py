"""Survey answers: CSAT + CES after resolved cases, relational NPS waves, and verbatims.

Scores come from latent satisfaction cut into the scale. After a case the latent falls
with the episode's experience: per the peak–end rule the worst and the last contact
weigh more than the average, plus channel switches and contacts. The relational NPS
falls with recent bad episodes, late parcels and give-ups and rises with loyalty.
Comments follow the score's tone and name what happened (the *driver*).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import params as P
from . import texts
from .clock import DAY, HOUR, Clock
from .commerce import Fulfilment, Purchases
from .events import KIND, STAGE, Events
from .people import CH, People, identify
from .support import RESOLVED, Episodes

NPS, CSAT, CES = 0, 1, 2
METRICS = ("nps", "csat", "ces")
SCALES = ((0, 10), (1, 5), (1, 7))
#: Peak–end weights of the experience of an episode.
PEAK, END, MEAN, SWITCH, EXTRA_CONTACT = 0.40, 0.35, 0.25, 0.30, 0.20
SEGMENT_CASE = np.array([0.0, -0.10, -0.25])       # pro and premium expect more of service
SEGMENT_NPS = np.array([0.0, -0.20, 0.30])
#: Latent bases and cut points; the cuts are quantiles of the default world's latents at
#: target score shares (CSAT 6/7/10/27/50 %, CES 4/5/8/13/20/25/25 %,
#: NPS 3/2/2/3/3/5/6/10/20/20/26 %), so that a worse experience moves answers down the scale.
CSAT_BASE, CSAT_CUTS = 2.6, np.array([-1.19, -0.52, 0.01, 1.13])
CES_BASE, CES_CUTS = 2.6, np.array([-3.24, -2.08, -1.08, -0.05, 0.99, 2.1])
NPS_BASE, NPS_CUTS = 1.2, np.array([-1.35, -1.02, -0.78, -0.52, -0.31, -0.03, 0.25, 0.64, 1.31, 2.01])
ALL_DRIVERS = texts.DRIVERS["neg"] + texts.DRIVERS["neu"] + texts.DRIVERS["pos"]
D = {name: i for i, name in enumerate(ALL_DRIVERS)}
#: Channel a post-contact survey is answered on, per support channel of the case's first contact.
SURVEY_CHANNEL = np.array([CH[c] for c in ("sms", "email", "email", "email", "social", "sms", "sms",
                                           "email", "app")])


def experience(ep: Episodes) -> np.ndarray:
    return (PEAK * ep.peak + END * ep.end_pain + MEAN * ep.mean_pain
            + SWITCH * ep.switches + EXTRA_CONTACT * (ep.n - 1))


def _cut(latent: np.ndarray, cuts: np.ndarray, low: int) -> np.ndarray:
    return (low + np.searchsorted(cuts, latent)).astype(np.float64)


@dataclass
class Answers:
    """Coded survey answers (one row per metric answered)."""

    p: np.ndarray
    t: np.ndarray
    metric: np.ndarray
    score: np.ndarray
    tone: np.ndarray          # 0 neg, 1 neu, 2 pos; −1 no comment
    driver: np.ndarray        # index in ALL_DRIVERS
    case: np.ndarray
    event_row: np.ndarray
    survey: np.ndarray        # index in survey_ids()
    channel: np.ndarray
    agent: np.ndarray
    ids: dict[str, np.ndarray]


def survey_ids(clock: Clock) -> list[str]:
    """``post-contact``, then one id per relational NPS wave (its start date)."""
    return ["post-contact"] + [f"nps-{clock.start + timedelta(days=d)}" for d in _waves(clock)]


def _waves(clock: Clock) -> range:
    return range(P.NPS_WAVE_DAYS // 2, clock.days, P.NPS_WAVE_DAYS)


def answer(rng: np.random.Generator, people: People, clock: Clock, ep: Episodes,
           contact_rows: np.ndarray, buys: Purchases, ful: Fulfilment, stop: np.ndarray,
           kindness: np.ndarray, events: Events) -> Answers:
    case = _after_case(rng, people, clock, ep, contact_rows, kindness)
    nps = _relational(rng, people, clock, ep, buys, ful, stop)
    parts = [case, nps]
    out = Answers(**{name: np.concatenate([getattr(a, name) for a in parts])
                     for name in Answers.__dataclass_fields__ if name != "ids"},
                  ids={k: np.concatenate([a.ids[k] for a in parts]) for k in case.ids})
    _emit(people, out, ep, events)
    return out


def _after_case(rng: np.random.Generator, people: People, clock: Clock, ep: Episodes,
                contact_rows: np.ndarray, kindness: np.ndarray) -> Answers:
    c = ep.contacts
    invited = np.flatnonzero((ep.state == RESOLVED) & (rng.random(len(ep)) < P.P_ANSWER_CASE))
    t = ep.end[invited] + rng.uniform(0.5 * HOUR, 24 * HOUR, len(invited))
    t = t + rng.exponential(6 * HOUR, len(invited))
    e = invited[t < clock.end - 120]
    t = t[t < clock.end - 120]
    m = len(e)
    p = ep.p[e]
    x = experience(ep)[e]
    seg = SEGMENT_CASE[people.segment[p]]
    csat = _cut(CSAT_BASE - x + seg + rng.normal(0, 0.9, m), CSAT_CUTS, 1)
    effort = 0.5 * x + 0.45 * (ep.n[e] - 1) + 0.5 * ep.switches[e] + 0.2 * np.log1p(ep.total_wait[e] / 600)
    ces = _cut(CES_BASE - effort + seg + rng.normal(0, 0.9, m), CES_CUTS, 1)
    csat[rng.random(m) < P.P_SKIP_CSAT] = np.nan
    ces[rng.random(m) < P.P_SKIP_CES] = np.nan
    agent = _last_agent(ep)[e]
    kind = np.where(agent >= 0, kindness[np.maximum(agent, 0)], 0.0)
    tone = _tone(csat, (2, 3))
    driver = _case_driver(rng, ep, e, kind, tone)
    channel = SURVEY_CHANNEL[c.ch[ep.first[e]]]
    ids = identify(people, rng, p, channel)
    two = np.repeat(np.arange(m), 2)
    metric = np.tile([CSAT, CES], m)
    score = np.column_stack([csat, ces]).ravel()
    tone2 = np.column_stack([tone, np.full(m, -1)]).ravel()
    t2 = np.column_stack([t, t + rng.uniform(5, 60, m)]).ravel()
    return Answers(p[two], t2, metric, score, tone2, driver[two], e[two],
                   contact_rows[ep.last[e]][two], np.zeros(2 * m, np.int64), channel[two],
                   agent[two], {k: v[two] for k, v in ids.items()})


def _last_agent(ep: Episodes) -> np.ndarray:
    c = ep.contacts
    rows = np.where(c.agent >= 0, np.arange(len(c.ep)), -1)
    last = np.maximum.reduceat(rows, ep.first) if len(ep) else np.zeros(0, np.int64)
    return np.where(last >= 0, c.agent[np.maximum(last, 0)], -1)


def _tone(score: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """0 negative (≤ first bound), 1 neutral (≤ second), 2 positive; −1 if skipped."""
    tone = np.where(score <= bounds[0], 0, np.where(score <= bounds[1], 1, 2))
    return np.where(np.isnan(score), -1, tone)


def _argmax_noisy(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Row-wise argmax after Gumbel noise: the strongest reason usually, not always."""
    noise = rng.gumbel(0, 0.35, weights.shape)
    return np.argmax(np.where(weights > -np.inf, weights + noise, -np.inf), axis=1)


def _case_driver(rng: np.random.Generator, ep: Episodes, e: np.ndarray, kind: np.ndarray,
                 tone: np.ndarray) -> np.ndarray:
    n, sw = ep.n[e], ep.switches[e]
    waited = 0.9 * ep.max_wait_pain[e]
    neg = np.column_stack([waited, 0.3 * sw + 0.2 * (n - 1), 0.7 * ep.transfers[e], -kind,
                           0.6 * (n > 1), np.full(len(e), 0.3)])
    neg_names = np.array([D[d] for d in ("wait", "repeat", "transfer", "agent_rude", "unresolved",
                                         "support_bad")])
    neu = np.column_stack([waited - 0.4, 0.5 * (n > 1), np.full(len(e), 0.3)])
    neu_names = np.array([D[d] for d in ("ok_wait", "ok_repeat", "ok_generic")])
    pos = np.column_stack([0.6 * (n == 1) - 0.3 * waited, kind + 0.1, 0.5 - waited])
    pos_names = np.array([D[d] for d in ("first_time", "agent_kind", "fast")])
    return np.select([tone == 0, tone == 1], [neg_names[_argmax_noisy(rng, neg)],
                                              neu_names[_argmax_noisy(rng, neu)]],
                     pos_names[_argmax_noisy(rng, pos)])


def _window_sum(key_p: np.ndarray, key_t: np.ndarray, weight: np.ndarray, p: np.ndarray,
                t: np.ndarray, days: float) -> np.ndarray:
    """For each (p, t): sum of ``weight`` of events of p with time in [t − days, t)."""
    scale = 1e9
    keys = key_p * scale + key_t
    order = np.argsort(keys, kind="stable")
    cum = np.r_[0.0, np.cumsum(weight[order])]
    sorted_keys = keys[order]
    hi = np.searchsorted(sorted_keys, p * scale + t, side="left")
    lo = np.searchsorted(sorted_keys, p * scale + t - days * DAY, side="left")
    return cum[hi] - cum[lo]


def _relational(rng: np.random.Generator, people: People, clock: Clock, ep: Episodes,
                buys: Purchases, ful: Fulfilment, stop: np.ndarray) -> Answers:
    """Quarterly NPS waves to a panel of customers; answers a few days after the invitation."""
    panel = buys.customer & (rng.random(people.n) < P.NPS_PANEL)
    mood = rng.normal(0, 1.0, people.n)
    ps, ts, waves = [np.zeros(0, np.int64)], [np.zeros(0)], [np.zeros(0, np.int64)]
    for k, day in enumerate(_waves(clock)):
        t0 = day * DAY + 9 * HOUR
        asked = panel & (people.active_from < t0) & (stop > t0) & (rng.random(people.n) < P.P_ANSWER_NPS)
        p = np.flatnonzero(asked)
        ps.append(p)
        ts.append(t0 + rng.exponential(1.5 * DAY, len(p)))
        waves.append(np.full(len(p), k + 1))
    p, t, survey = np.concatenate(ps), np.concatenate(ts), np.concatenate(waves)
    ok = (t < clock.end) & (t < stop[p])
    p, t, survey = p[ok], t[ok], survey[ok]
    m = len(p)
    x = experience(ep)
    orders = _window_sum(buys.p, buys.t, np.ones(len(buys.p)), p, t, 365)
    late_w = ful.late & ~np.isnan(ful.delivered)
    late = _window_sum(buys.p[late_w], ful.delivered[late_w], np.ones(late_w.sum()), p, t, 180)
    bad = _window_sum(ep.p, ep.end, x, p, t, 180)
    gave_up = _window_sum(ep.p, ep.end, (ep.state != RESOLVED).astype(float), p, t, 180)
    bug = _window_sum(ep.p, ep.end, (ep.topic == texts.TOPICS.index("technical")).astype(float),
                      p, t, 180)
    good = _window_sum(ep.p, ep.end, ((ep.n == 1) & (ep.state == RESOLVED)).astype(float), p, t, 180)
    latent = (NPS_BASE + mood[p] + SEGMENT_NPS[people.segment[p]] + 0.3 * np.log1p(orders)
              - 0.35 * bad - 0.7 * late - 0.6 * gave_up + rng.normal(0, 0.8, m))
    score = _cut(latent, NPS_CUTS, 0)
    score[rng.random(m) < P.P_SKIP_NPS] = np.nan
    tone = _tone(score, (6, 8))
    one = np.ones(m)
    neg = np.column_stack([0.5 * bad + 0.6 * gave_up, 0.25 * bad, 0.25 * bad, 1.2 * late, 1.2 * bug,
                           0.5 * one, 0.4 * one])
    neg_names = np.array([D[d] for d in ("support_bad", "wait", "repeat", "delivery_late",
                                         "app_bug", "price_high", "quality_bad")])
    neu = np.column_stack([0.5 * one, 0.3 + 0.6 * late, 0.4 * one])
    neu_names = np.array([D[d] for d in ("price_ok", "delivery_slow", "ok_generic")])
    pos = np.column_stack([0.8 * good, 0.6 * people.app[p], 0.3 + 0.1 * orders, 0.4 * one, 0.5 * one])
    pos_names = np.array([D[d] for d in ("advisors", "app_good", "delivery_fast", "choice", "quality")])
    driver = np.select([tone == 0, tone == 1], [neg_names[_argmax_noisy(rng, neg)],
                                                neu_names[_argmax_noisy(rng, neu)]],
                       pos_names[_argmax_noisy(rng, pos)])
    channel = np.where(people.app[p] & (rng.random(m) < 0.3), CH["app"], CH["email"])
    none = np.full(m, -1)
    return Answers(p, t, np.full(m, NPS), score, tone, driver, none, none, survey, channel, none,
                   identify(people, rng, p, channel))


def _emit(people: People, a: Answers, ep: Episodes, events: Events) -> None:
    """One ``survey`` touchpoint per questionnaire answered (not per metric)."""
    first = a.metric != CES
    p = a.p[first]
    case = a.case[first]
    events.add(p, a.t[first], ch=a.channel[first], kind=KIND["survey"],
               stage=np.where(case >= 0, STAGE["support"], STAGE["use"]),
               topic=np.where(case >= 0, ep.topic[np.maximum(case, 0)], -1), case=case,
               ids={k: v[first] for k, v in a.ids.items()})


# --- verbatims --------------------------------------------------------------------------------
class Verbatims:
    """Pool of opener / reason / closer fragments; a comment is three codes into it."""

    def __init__(self) -> None:
        strings: list[str | None] = []
        self.base: dict[tuple, int] = {}
        self.count: dict[tuple, int] = {}
        for lang in texts.LANGS:
            v = texts.VERBATIM[lang]
            groups = [(("open", lang, tone), v["open"][tone]) for tone in ("neg", "neu", "pos", "but")]
            groups += [(("reason", lang, d), v["reason"][d]) for d in ALL_DRIVERS]
            groups += [(("close", lang, tone), v["close"][tone]) for tone in texts.TONES]
            for key, items in groups:
                self.base[key] = len(strings)
                self.count[key] = len(items)
                strings.extend(s or None for s in items)
        self.pool = pa.array(strings, type=pa.string())

    def comments(self, rng: np.random.Generator, lang: np.ndarray, tone: np.ndarray,
                 driver: np.ndarray, present: np.ndarray) -> pa.Array:
        """Comments (null where not ``present``), in each row's language."""
        m = len(lang)
        but = np.isin(driver, [D[d] for d in texts.BUT_DRIVERS])
        opener = np.where(but, 3, np.maximum(tone, 0))
        tone_names = ("neg", "neu", "pos", "but")
        ob, oc = self._table(("open",), tone_names)
        rb, rc = self._table(("reason",), ALL_DRIVERS)
        cb, cc = self._table(("close",), texts.TONES)
        u = rng.random((3, m))
        t = np.maximum(tone, 0)
        parts = [
            ob[lang, opener] + np.floor(u[0] * oc[lang, opener]).astype(np.int64),
            rb[lang, driver] + np.floor(u[1] * rc[lang, driver]).astype(np.int64),
            cb[lang, t] + np.floor(u[2] * cc[lang, t]).astype(np.int64),
        ]
        pieces = [self.pool.take(pa.array(np.where(present, x, 0))) for x in parts]
        text = pc.binary_join_element_wise(*pieces, " ", null_handling="skip")
        return pc.if_else(pa.array(present), text, pa.scalar(None, pa.string()))

    def _table(self, prefix: tuple, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        base = np.array([[self.base[(*prefix, lg, x)] for x in names] for lg in texts.LANGS])
        count = np.array([[self.count[(*prefix, lg, x)] for x in names] for lg in texts.LANGS])
        return base, count


VERBATIMS = Verbatims()


def commented(rng: np.random.Generator, a: Answers) -> np.ndarray:
    """Which answers carry a comment (more often the unhappy ones)."""
    prob = np.array([P.P_COMMENT["neg"], P.P_COMMENT["neu"], P.P_COMMENT["pos"], 0.0])[a.tone]
    return rng.random(len(a.p)) < prob

