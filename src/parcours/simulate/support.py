"""Support episodes: issues, the channel chain of contacts, cases and messages.

One episode = one issue of one person = one case. Its contacts follow the chain of
:mod:`.sisyphus`; waits and handling times are log-normal per channel; human channels
keep their opening hours. Each contact gets a *pain* (long wait, unresolved, abandoned,
transferred, minus the agent's kindness) that the surveys remember (peak–end).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from parcours.schema import CHANNELS

from . import params as P
from . import sisyphus as S
from . import texts
from .clock import DAY, HOUR, Clock
from .commerce import Fulfilment, Purchases
from .events import CATALOGUE, KIND, OUTCOME, STAGE, Events
from .people import CH, People, identify

K = len(S.SUPPORT)
SUP2CH = np.array([CH[name] for name in S.SUPPORT])
#                     phone  email   chat  bot  social   store  sms     web  app
WAIT_MEDIAN = np.array([150, 5 * HOUR, 45, 2, 1.5 * HOUR, 240, 2 * HOUR, 0, 0])
WAIT_SIGMA = np.array([0.9, 0.9, 0.8, 0.5, 1.0, 0.8, 1.0, 0, 0])
WAIT_CAP = np.array([3600, 72 * HOUR, 1800, 30, 72 * HOUR, 3600, 48 * HOUR, 0, 0])
HANDLE_MEDIAN = np.array([330, 420, 600, 120, 300, 600, 180, 240, 150])
HANDLE_SIGMA = np.array([0.6, 0.5, 0.6, 0.5, 0.6, 0.6, 0.6, 0.7, 0.7])
#: Answered later (wait = time to the reply) rather than live.
ASYNC = np.isin(np.arange(K), [S.EMAIL, S.SOCIAL, S.SMS])
HUMAN = np.isin(np.arange(K), [S.PHONE, S.EMAIL, S.CHAT, S.SOCIAL, S.STORE, S.SMS])
WRITTEN = np.isin(np.arange(K), [S.EMAIL, S.CHAT, S.CHATBOT, S.SOCIAL, S.SMS])
#: Share of unresolved (not transferred) contacts that end with the customer hanging up.
ABANDON = np.array([0.45, 0, 0.35, 0.30, 0, 0, 0, 0, 0])
P_TRANSFER_PHONE = 0.6                 # phone → phone: transfer (else a later call back)
GAP_MEDIAN = np.array([2, 1, 0.5, 0.2, 3, 30, 2, 0.3, 0.3]) * HOUR   # before a contact on c
GAP_SIGMA = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.6, 1.0, 1.0, 1.0])
REF_WAIT = np.array([120, 4 * HOUR, 60, 10, 2 * HOUR, 300, 2 * HOUR, 60, 60])
PROFILE = ("office", "day", "office", "day", "day", "office", "day", "day", "day")
#: Contact pain (see docs/demo-world.md): wait, unresolved, abandoned, transferred.
PAIN = {"wait": 0.9, "unresolved": 0.8, "abandoned": 1.2, "transferred": 0.7}
TEAM_LO = np.array([P.TEAMS.get(name, (0, 0))[0] for name in S.SUPPORT])
TEAM_HI = np.array([P.TEAMS.get(name, (0, 0))[1] for name in S.SUPPORT])
RESOLVED, GAVE_UP, OPEN = 1, 2, 3
_CONTACT_DTYPES = {"ep": np.int64, "step": np.int64, "ch": np.int64, "outcome": np.int8,
                   "agent": np.int16}


@dataclass
class Issues:
    p: np.ndarray
    t0: np.ndarray
    topic: np.ndarray


def issues(rng: np.random.Generator, people: People, clock: Clock, buys: Purchases,
           ful: Fulfilment) -> Issues:
    """Spontaneous issues (Poisson over the active time) and issues triggered by orders."""
    years = (clock.end - people.active_from) / (365 * DAY)
    rate = np.where(buys.customer, P.EPISODES_PER_YEAR, P.EPISODES_PROSPECT)
    rate = rate * np.array(P.EPISODES_SEGMENT)[people.segment]
    count = rng.poisson(rate * years)
    p = np.repeat(np.arange(people.n), count)
    t0 = people.active_from[p] + rng.random(len(p)) * (clock.end - people.active_from[p])
    topic = rng.choice(len(texts.TOPICS), size=len(p), p=P.TOPIC_P)
    m = len(buys.p)
    u = rng.random((4, m))
    tp = texts.TOPICS.index
    late = ful.late & (u[0] < P.P_ISSUE_LATE)
    ontime = ~np.isnan(ful.delivered) & ~ful.late & (u[0] < P.P_ISSUE_ONTIME)
    ret = ~np.isnan(ful.returned) & (u[1] < P.P_ISSUE_RETURN)
    bill = u[2] < P.P_ISSUE_ORDER
    triggered = [
        (late, ful.promised + rng.uniform(0.2, 2.0, m) * DAY, tp("delivery")),
        (ontime, ful.promised - rng.uniform(0, 1.0, m) * DAY, tp("delivery")),
        (ret, ful.returned + rng.uniform(5, 12, m) * DAY, tp("returns")),
        (bill, buys.t + rng.uniform(0, 3, m) * DAY, tp("billing")),
    ]
    ps, ts, topics = [p], [t0], [topic]
    for mask, when, top in triggered:
        ps.append(buys.p[mask])
        ts.append(when[mask])
        topics.append(np.full(mask.sum(), top))
    return Issues(np.concatenate(ps), np.concatenate(ts), np.concatenate(topics).astype(np.int8))


@dataclass
class Contacts:
    """Contacts, sorted by episode then step."""

    ep: np.ndarray
    step: np.ndarray
    ch: np.ndarray            # support channel (index in sisyphus.SUPPORT)
    t: np.ndarray
    wait: np.ndarray
    handle: np.ndarray
    outcome: np.ndarray       # OUTCOMES code, −1 while awaiting a reply at the window end
    agent: np.ndarray         # 0-based agent, −1 for none
    pain: np.ndarray

    def take(self, rows: np.ndarray) -> Contacts:
        return Contacts(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


@dataclass
class Episodes:
    p: np.ndarray
    topic: np.ndarray
    state: np.ndarray         # RESOLVED, GAVE_UP, OPEN
    reopens: np.ndarray
    contacts: Contacts
    # summaries (filled by _summarise)
    first: np.ndarray | None = None      # row of the first contact
    last: np.ndarray | None = None       # row of the last contact
    n: np.ndarray | None = None
    switches: np.ndarray | None = None
    transfers: np.ndarray | None = None
    peak: np.ndarray | None = None
    end_pain: np.ndarray | None = None
    mean_pain: np.ndarray | None = None
    total_wait: np.ndarray | None = None
    max_wait_pain: np.ndarray | None = None
    end: np.ndarray | None = None        # when the last contact ended

    def __len__(self) -> int:
        return len(self.p)


def simulate(rng: np.random.Generator, people: People, clock: Clock, iss: Issues,
             kindness: np.ndarray, tweaks: P.Tweaks = P.NO_TWEAKS) -> Episodes:
    """Run the channel chain for every issue; contacts stop at the window end."""
    resolve_p, give_up_p = _tweaked(S.RESOLVE, tweaks.resolve), _tweaked(S.GIVE_UP, tweaks.give_up)
    group = people.band[iss.p] * 4 + people.social[iss.p] * 2 + people.app[iss.p]
    first_cum = np.array([S.first_channel_p(g // 4, bool(g // 2 % 2), bool(g % 2))
                          for g in range(20)]).cumsum(axis=1)
    next_cum = np.array([S.next_channel_p(bool(g // 2), bool(g % 2))
                         for g in range(4)]).cumsum(axis=2)
    ch = _draw(first_cum[group], rng.random(len(group)))
    start = rng.exponential(0.3 * DAY, len(ch)) + iss.t0
    start = _at_profile(rng, clock, start, ch)
    inside = start < clock.end
    p, topic, ch, t, sgroup = iss.p[inside], iss.topic[inside], ch[inside], start[inside], group[inside] % 4
    n_ep = len(p)
    state = np.full(n_ep, OPEN, dtype=np.int8)
    reopens = np.zeros(n_ep, dtype=np.int16)
    rows: dict[str, list[np.ndarray]] = {f.name: [np.zeros(0, _CONTACT_DTYPES.get(f.name, float))]
                                         for f in fields(Contacts)}
    active = np.arange(n_ep)
    for step in range(P.MAX_CONTACTS):
        if not len(active):
            break
        row, nxt, t_next, out = _contacts(rng, clock, ch, t, next_cum[sgroup[active], ch], step,
                                          kindness, resolve_p, give_up_p)
        row["ep"] = active
        for name, value in row.items():
            rows[name].append(value)
        reopens[active[out["reopen"]]] += 1
        state[active[out["resolved"]]] = RESOLVED
        state[active[out["gave_up"]]] = GAVE_UP
        keep = out["go_on"] & (t_next < clock.end)
        active, ch, t = active[keep], nxt[keep], t_next[keep]
    cols = {name: np.concatenate(parts) for name, parts in rows.items()}
    order = np.lexsort((cols["step"], cols["ep"]))
    contacts = Contacts(**{name: col[order] for name, col in cols.items()})
    ep = Episodes(p, topic, state, reopens, contacts)
    _summarise(ep)
    return ep


def _tweaked(base: np.ndarray, delta: dict[str, float]) -> np.ndarray:
    """Per-channel probabilities with the planted changes (unknown channel: an error, not a no-op)."""
    if not delta:
        return base
    unknown = sorted(set(delta) - set(S.SUPPORT))
    if unknown:
        raise ValueError(f"unknown support channel(s) {', '.join(unknown)}; known: {', '.join(S.SUPPORT)}")
    return np.clip(base + np.array([delta.get(name, 0.0) for name in S.SUPPORT]), 0.0, 1.0)


def _contacts(rng: np.random.Generator, clock: Clock, c: np.ndarray, t: np.ndarray,
              next_cum: np.ndarray, step: int, kindness: np.ndarray,
              resolve_p: np.ndarray = S.RESOLVE, give_up_p: np.ndarray = S.GIVE_UP,
              ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One contact of each active episode: outcome, durations, agent, and what comes next."""
    m = len(c)
    u = rng.random((6, m))
    resolved = u[0] < resolve_p[c]
    reopen = resolved & (u[1] < S.REOPEN)
    give = ~resolved & ((u[1] < give_up_p[c]) | (step == P.MAX_CONTACTS - 1))
    nxt = np.where(reopen, c, _draw(next_cum, u[2]))
    go_on = reopen | (~resolved & ~give)
    transfer = go_on & ~resolved & (((c == S.PHONE) & (nxt == S.PHONE) & (u[3] < P_TRANSFER_PHONE))
                                    | ((c == S.CHATBOT) & (nxt == S.CHAT)))
    abandon = ~resolved & ~transfer & (u[4] < ABANDON[c])
    outcome = np.select([resolved, transfer, abandon],
                        [OUTCOME["resolved"], OUTCOME["transferred"], OUTCOME["abandoned"]],
                        OUTCOME["unresolved"]).astype(np.int8)
    wait = np.minimum(WAIT_MEDIAN[c] * np.exp(WAIT_SIGMA[c] * rng.standard_normal(m)), WAIT_CAP[c])
    written = np.flatnonzero(ASYNC[c])              # replies come in back-office hours
    wait[written] = clock.next_open(t[written] + wait[written], "backoffice", rng) - t[written]
    wait = np.where(abandon, np.minimum(wait * 2.2 + 30, 2 * WAIT_CAP[c]), wait)
    handle = HANDLE_MEDIAN[c] * np.exp(HANDLE_SIGMA[c] * rng.standard_normal(m))
    handle = np.where(abandon, np.where(c == S.CHATBOT, handle * 0.3, 0.0), handle)
    agent = np.where(HUMAN[c] & ~abandon,
                     TEAM_LO[c] - 1 + np.floor(u[5] * (TEAM_HI[c] - TEAM_LO[c] + 1)), -1)
    # a written contact still unanswered at the window end: outcome unknown, episode open
    awaiting = ASYNC[c] & (t + wait >= clock.end)
    outcome[awaiting] = -1
    wait[awaiting] = np.nan
    handle[awaiting] = np.nan
    agent = np.where(awaiting, -1, agent).astype(np.int16)
    row = {"step": np.full(m, step), "ch": c, "t": t, "wait": wait, "handle": handle,
           "outcome": outcome, "agent": agent, "pain": _pain(wait, c, outcome, agent, kindness)}
    done = np.nan_to_num(t + wait + np.where(ASYNC[c], 0.0, handle))
    gap = np.where(transfer, rng.uniform(5, 40, m),
                   np.where(reopen, 3 * DAY * np.exp(0.7 * rng.standard_normal(m)),
                            GAP_MEDIAN[nxt] * np.exp(GAP_SIGMA[nxt] * rng.standard_normal(m))))
    t_next = done + gap
    later = ~transfer
    t_next[later] = clock.open_hours(t_next[later], SUP2CH[nxt[later]], CHANNELS, rng)
    out = {"reopen": reopen & ~awaiting, "resolved": resolved & ~reopen & ~awaiting,
           "gave_up": give & ~awaiting, "go_on": go_on & ~awaiting}
    return row, nxt, t_next, out


def _draw(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Categorical draws, one per row of cumulative probabilities."""
    return np.minimum((cum < u[:, None]).sum(axis=1), cum.shape[1] - 1)


def _at_profile(rng: np.random.Generator, clock: Clock, t0: np.ndarray, ch: np.ndarray) -> np.ndarray:
    out = np.empty_like(t0)
    for profile in sorted(set(PROFILE)):
        sel = np.flatnonzero(np.isin(ch, [i for i, p in enumerate(PROFILE) if p == profile]))
        out[sel] = clock.at_hour(t0[sel], profile, rng)
    return clock.open_hours(out, SUP2CH[ch], CHANNELS, rng)


def _pain(wait: np.ndarray, c: np.ndarray, outcome: np.ndarray, agent: np.ndarray,
          kindness: np.ndarray) -> np.ndarray:
    waited = np.log1p(np.nan_to_num(wait) / REF_WAIT[c])
    return (PAIN["wait"] * waited
            + PAIN["unresolved"] * (outcome == OUTCOME["unresolved"])
            + PAIN["abandoned"] * (outcome == OUTCOME["abandoned"])
            + PAIN["transferred"] * (outcome == OUTCOME["transferred"])
            - np.where(agent >= 0, kindness[np.maximum(agent, 0)], 0.0))


def _summarise(ep: Episodes) -> None:
    c = ep.contacts
    n = np.bincount(c.ep, minlength=len(ep)).astype(np.int64)
    first = np.cumsum(n) - n
    ep.n, ep.first, ep.last = n, first, first + n - 1
    same_ep = np.r_[False, c.ep[1:] == c.ep[:-1]]
    ep.switches = np.bincount(c.ep, weights=same_ep & np.r_[False, c.ch[1:] != c.ch[:-1]],
                              minlength=len(ep))
    ep.transfers = np.bincount(c.ep, weights=c.outcome == OUTCOME["transferred"], minlength=len(ep))
    ep.peak = np.maximum.reduceat(c.pain, first) if len(c.ep) else np.zeros(0)
    ep.end_pain = c.pain[ep.last]
    ep.mean_pain = np.bincount(c.ep, weights=c.pain, minlength=len(ep)) / n
    wait = np.nan_to_num(c.wait)
    ep.total_wait = np.bincount(c.ep, weights=wait, minlength=len(ep))
    ep.max_wait_pain = (np.maximum.reduceat(np.log1p(wait / REF_WAIT[c.ch]), first)
                        if len(c.ep) else np.zeros(0))
    ep.end = c.t[ep.last] + wait[ep.last] + np.where(ASYNC[c.ch[ep.last]], 0,
                                                     np.nan_to_num(c.handle[ep.last]))


def subset(ep: Episodes, keep: np.ndarray) -> Episodes:
    """Episodes ``keep`` (bool), contacts renumbered."""
    new_index = np.cumsum(keep) - 1
    rows = np.flatnonzero(keep[ep.contacts.ep])
    contacts = ep.contacts.take(rows)
    contacts.ep = new_index[contacts.ep]
    out = Episodes(ep.p[keep], ep.topic[keep], ep.state[keep], ep.reopens[keep], contacts)
    _summarise(out)
    return out


def leave_times(rng: np.random.Generator, people: People, ep: Episodes) -> np.ndarray:
    """When a person leaves after a bad episode (gave up, or three contacts or more); inf if never."""
    bad = (ep.state == GAVE_UP) | (ep.n >= 3)
    leaves = bad & (rng.random(len(ep)) < P.P_LEAVE_AFTER_BAD)
    when = ep.end + rng.uniform(1, 20, len(ep)) * DAY
    out = np.full(people.n, np.inf)
    np.minimum.at(out, ep.p[leaves], when[leaves])
    return out


def emit_contacts(rng: np.random.Generator, people: People, ep: Episodes, events: Events) -> dict:
    """Add contact touchpoints; return the identifier selectors and event rows of contacts."""
    c = ep.contacts
    p = ep.p[c.ep]
    lang = people.lang[p]
    topic = ep.topic[c.ep]
    variant = rng.integers(0, 4, len(ep))[c.ep]           # one wording per issue
    ids = identify(people, rng, p, SUP2CH[c.ch], logged_in=rng.random(len(p)) < 0.7)
    said = np.where(c.step == 0, CATALOGUE.codes("msg", lang, variant, topic),
                    CATALOGUE.codes("followup", lang, (variant + c.step) % 4))
    text = np.where(WRITTEN[c.ch], said, -1)
    row0 = events.add(p, c.t, ch=SUP2CH[c.ch], kind=KIND["contact"], stage=STAGE["support"],
                      topic=topic, case=c.ep, outcome=c.outcome, wait=np.round(c.wait),
                      handle=np.round(c.handle), agent=c.agent, text=text, ids=ids)
    return {"ids": ids, "rows": row0 + np.arange(len(p)), "said": said}


# --- cases and messages ---------------------------------------------------------------------
def _reply_pool() -> tuple[list[str | None], dict[tuple, int]]:
    strings: list[str | None] = []
    base: dict[tuple, int] = {}
    for lang in texts.LANGS:
        for kind, replies in texts.AGENT_REPLIES[lang].items():
            base[("reply", lang, kind)] = len(strings)
            strings.extend(replies)
        base[("bot", lang)] = len(strings)
        strings.extend(texts.BOT_REPLIES[lang])
    base[("note",)] = len(strings)
    strings.extend(texts.INTERNAL_NOTES)
    return strings, base


_REPLIES, _REPLY_BASE = _reply_pool()
#: Message bodies: the touchpoint texts, then replies, bot answers and internal notes.
MESSAGE_BODIES = CATALOGUE.strings + _REPLIES
_R0 = len(CATALOGUE.strings)
AUTHOR = {"customer": 0, "agent": 1, "bot": 2, "system": 3}
SUBJECTS = [s for lang in texts.LANGS for topic in texts.TOPICS
            for s in texts.CASE_SUBJECTS[lang][topic]]
SLA = ("standard-48h", "pro-8h", "premium-4h")
STATUS = {"new": 0, "open": 1, "pending": 2, "resolved": 3, "closed": 4}


def case_columns(rng: np.random.Generator, people: People, ep: Episodes, contact_ids: dict,
                 clock: Clock) -> dict[str, np.ndarray]:
    """Coded columns of the cases table, one row per episode (in episode order)."""
    c = ep.contacts
    m = len(ep)
    lang = people.lang[ep.p]
    responded = (c.agent >= 0) & ~np.isnan(c.wait)
    row = np.where(responded, np.arange(len(c.ep)), len(c.ep))
    first_human = np.minimum.reduceat(row, ep.first) if m else np.zeros(0, np.int64)
    has_human = first_human < len(c.ep)
    fh = np.minimum(first_human, len(c.ep) - 1)
    first_response = np.where(has_human, c.t[fh] + c.wait[fh], np.nan)
    first_response[first_response >= clock.end] = np.nan
    awaiting = c.outcome[ep.last] == -1
    closed = np.select([ep.state == RESOLVED, ep.state == GAVE_UP], [ep.end, ep.end + 7 * DAY], np.nan)
    status = np.select(
        [(ep.state == OPEN) & awaiting & (ep.n == 1), (ep.state == OPEN) & awaiting,
         ep.state == OPEN, (ep.state == RESOLVED) & (closed + 3 * DAY < clock.end),
         ep.state == RESOLVED, closed < clock.end],
        [STATUS["new"], STATUS["open"], STATUS["pending"], STATUS["closed"], STATUS["resolved"],
         STATUS["closed"]], STATUS["pending"])
    closed[closed >= clock.end] = np.nan
    prio = np.searchsorted([0.12, 0.82, 0.97], rng.random(m))     # low, normal, high, urgent
    prio = np.minimum(prio + ((people.segment[ep.p] == 2) & (rng.random(m) < 0.5))
                      + (ep.n >= 3), 3)
    first_ch = c.ch[ep.first]
    return {
        "ids": {k: v[ep.first] for k, v in contact_ids.items()},
        "opened": c.t[ep.first], "channel": SUP2CH[first_ch], "status": status,
        "priority": prio, "topic": ep.topic,
        "subject": (lang * len(texts.TOPICS) + ep.topic) * 2 + rng.integers(0, 2, m),
        "sla": people.segment[ep.p], "assignee": np.where(has_human, c.agent[fh], -1),
        "first_response": first_response, "closed": closed, "reopens": ep.reopens,
    }


def message_columns(rng: np.random.Generator, people: People, ep: Episodes, said: np.ndarray,
                    clock: Clock) -> dict[str, np.ndarray]:
    """Customer messages (``said``: text codes per contact), replies of written contacts,
    internal notes of calls and store visits."""
    c = ep.contacts
    lang = people.lang[ep.p[c.ep]]
    written = WRITTEN[c.ch]
    msg = said
    v = rng.integers(0, 4, len(c.ep))
    kind = np.select([c.outcome == OUTCOME["resolved"], c.outcome == OUTCOME["transferred"]], [0, 2], 1)
    reply_base = np.array([[_REPLY_BASE[("reply", lg, k)] for k in ("resolved", "pending", "handover")]
                           for lg in texts.LANGS])[lang, kind]
    bot_base = np.array([_REPLY_BASE[("bot", lg)] for lg in texts.LANGS])[lang]
    bot_v = np.select([kind == 0, kind == 2], [np.where(v < 2, 0, 2), 3], 1)
    is_bot = c.ch == S.CHATBOT
    reply = _R0 + np.where(is_bot, bot_base + bot_v, reply_base + v)
    reply_t = c.t + np.nan_to_num(c.wait, nan=np.inf)
    replied = written & (c.outcome >= 0) & (c.outcome != OUTCOME["abandoned"]) & (reply_t < clock.end)
    noted = np.isin(c.ch, [S.PHONE, S.STORE]) & (c.agent >= 0) & (rng.random(len(c.ep)) < 0.25)
    note_t = c.t + np.nan_to_num(c.wait) + np.nan_to_num(c.handle) + 30
    noted &= note_t < clock.end
    note = _R0 + _REPLY_BASE[("note",)] + rng.integers(0, len(texts.INTERNAL_NOTES), len(c.ep))
    parts = [
        (written, c.t, AUTHOR["customer"], True, -1, msg),
        (replied, reply_t, np.where(is_bot, AUTHOR["bot"], AUTHOR["agent"]), True, c.agent, reply),
        (noted, note_t, AUTHOR["agent"], False, c.agent, note),
    ]
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("case", "t", "author", "channel", "public",
                                                         "agent", "body")}
    for mask, t, author, public, agent, body in parts:
        sel = np.flatnonzero(mask)
        for name, value in (("case", c.ep), ("t", t), ("author", author), ("public", public),
                            ("agent", agent), ("body", body)):
            out[name].append(np.broadcast_to(value, mask.shape)[sel])
        out["channel"].append(SUP2CH[c.ch[sel]])
    return {k: np.concatenate(v) for k, v in out.items()}
