"""What the what-if model learns from: service episodes and NPS answers read from the store.

Episodes are those of :mod:`parcours.metrics.journeys` (the contacts of one case, or of one
person about one topic with no gap over 7 days), read once through Ibis and turned into
integer arrays: the model's fitting and its bootstrap work on arrays, not on SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pyarrow as pa

from parcours.metrics import journeys
from parcours.store import Store

#: Contact outcome codes of the model: the issue resolved at the contact, or not (unresolved,
#: abandoned, transferred), or not known (no outcome recorded, e.g. an e-mail awaiting a reply).
RESOLVED, NOT_RESOLVED, UNKNOWN = 0, 1, -1
DAY_S = 86_400.0


class WhatIfError(ValueError):
    """The question cannot be answered from this data, or is not a valid question."""


@dataclass(frozen=True)
class JourneyData:
    """Contacts (sorted by episode, then step) and NPS answers, as arrays.

    ``censored``: the episode's last contact left the issue open (or its outcome unknown) less
    than ``horizon`` before the end of the data: the customer may still come back, so it is
    neither a give-up nor a move.
    """

    channels: tuple[str, ...]
    ep: np.ndarray            # episode number (0..n_episodes-1) of each contact
    step: np.ndarray          # 1 = first contact of the episode
    ch: np.ndarray            # index in ``channels``
    outcome: np.ndarray       # RESOLVED, NOT_RESOLVED, UNKNOWN
    last: np.ndarray          # last contact of its episode
    censored: np.ndarray      # per episode
    person: np.ndarray        # per episode, index into the persons of the data
    ended: np.ndarray         # per episode, epoch seconds of its last contact
    answer_person: np.ndarray  # per NPS answer
    answer_ts: np.ndarray     # per NPS answer, epoch seconds
    answer_score: np.ndarray  # per NPS answer, 0..10
    data_end: float           # epoch seconds of the latest touchpoint

    @property
    def n_episodes(self) -> int:
        return len(self.person)

    @property
    def n_contacts(self) -> int:
        return len(self.ep)


def load(store: Store, *, horizon: timedelta = timedelta(days=7)) -> JourneyData:
    """Episodes and NPS answers of the store; :class:`WhatIfError` if there is no service episode."""
    tp = store.table("touchpoints")
    e = journeys.episodes(journeys.contacts(tp))
    e = e.select("episode_id", "person_id", "step", "channel", "outcome", ts=e.ts.epoch_seconds().cast("float64"))
    rows = e.order_by(["episode_id", "step"]).to_pyarrow()
    if rows.num_rows == 0:
        raise WhatIfError("no service episode in the store: the what-if model needs contacts "
                          "(touchpoints of kind 'contact', inbound)")
    end = store.query("SELECT epoch(max(ts)) FROM touchpoints")[0][0]
    r = store.table("responses")
    nps = r.filter((r.metric == "nps") & r.score.notnull() & r.person_id.notnull())
    answers = nps.select("person_id", "score", ts=nps.ts.epoch_seconds().cast("float64")).to_pyarrow()
    return _arrays(rows, answers, float(end), horizon.total_seconds())


def _arrays(rows: pa.Table, answers: pa.Table, data_end: float, horizon_s: float) -> JourneyData:
    episode_id = rows["episode_id"].to_numpy(zero_copy_only=False)
    new = np.r_[True, episode_id[1:] != episode_id[:-1]]
    ep = np.cumsum(new) - 1
    last = np.r_[new[1:], True]
    channel = rows["channel"].to_numpy(zero_copy_only=False).astype(str)
    channels, ch = np.unique(channel, return_inverse=True)
    outcome_s = rows["outcome"].to_numpy(zero_copy_only=False)
    outcome = np.where(outcome_s == "resolved", RESOLVED,
                       np.where(np.isin(outcome_s, journeys.NOT_RESOLVED), NOT_RESOLVED, UNKNOWN))
    ts = rows["ts"].to_numpy(zero_copy_only=False).astype(np.float64)
    open_end = last & (outcome != RESOLVED) & (ts > data_end - horizon_s)
    persons_ep = rows["person_id"].to_numpy(zero_copy_only=False)[new].astype(str)
    persons_ans = answers["person_id"].to_numpy(zero_copy_only=False).astype(str)
    _, person = np.unique(np.r_[persons_ep, persons_ans], return_inverse=True)
    n_ep = int(ep[-1]) + 1
    return JourneyData(
        channels=tuple(str(c) for c in channels), ep=ep, step=rows["step"].to_numpy().astype(np.int64),
        ch=ch.astype(np.int64), outcome=outcome.astype(np.int8), last=last,
        censored=open_end[last], person=person[:n_ep], ended=ts[last],
        answer_person=person[n_ep:], answer_ts=answers["ts"].to_numpy(zero_copy_only=False).astype(np.float64),
        answer_score=answers["score"].to_numpy(zero_copy_only=False).astype(np.float64), data_end=data_end)


def episode_features(d: JourneyData) -> np.ndarray:
    """Per episode (columns of :data:`FEATURES`): contacts, channel switches, given up (the
    last contact left the issue open, not censored), settled at the first contact (one contact,
    resolved)."""
    n = d.n_episodes
    contacts = np.bincount(d.ep, minlength=n).astype(np.float64)
    same_ep = np.r_[False, d.ep[1:] == d.ep[:-1]]
    switch = same_ep & np.r_[False, d.ch[1:] != d.ch[:-1]]
    switches = np.bincount(d.ep, weights=switch, minlength=n)
    last_outcome = d.outcome[d.last]
    gave_up = ((last_outcome == NOT_RESOLVED) & ~d.censored).astype(np.float64)
    one_done = ((contacts == 1) & (last_outcome == RESOLVED)).astype(np.float64)
    return np.column_stack([contacts, switches, gave_up, one_done])


FEATURES = ("contacts", "switches", "gave_up", "one_done")


def answer_features(d: JourneyData, window_days: float) -> np.ndarray:
    """Per NPS answer: episodes of the person that ended in the ``window_days`` before it, and
    the sums of their :func:`episode_features` (columns: episodes, then FEATURES)."""
    per_ep = np.column_stack([np.ones(d.n_episodes), episode_features(d)])
    # one sorted key per (person, time): windows become two binary searches on a cumulative sum
    t0 = min(d.ended.min(), d.answer_ts.min(initial=d.data_end)) - window_days * DAY_S
    # times relative to t0, so that the keys stay exact in float64
    scale = max(d.data_end, d.answer_ts.max(initial=0.0)) - t0 + DAY_S
    keys = d.person * scale + (d.ended - t0)
    order = np.argsort(keys, kind="stable")
    cum = np.vstack([np.zeros(per_ep.shape[1]), np.cumsum(per_ep[order], axis=0)])
    sorted_keys = keys[order]
    at = d.answer_person * scale + (d.answer_ts - t0)
    hi = np.searchsorted(sorted_keys, at, side="left")
    lo = np.searchsorted(sorted_keys, at - window_days * DAY_S, side="left")
    return cum[hi] - cum[lo]
