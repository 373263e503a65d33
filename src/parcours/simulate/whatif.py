"""What-if: a journey model calibrated on the data, asked how a change would move contacts,
give-up and NPS ("chat resolves 10 points more: how many calls disappear, how does NPS move?").

**The chain.** A service episode is an absorbing Markov chain over contacts (Kemeny & Snell,
*Finite Markov Chains*, 1960, ch. III). A transient state is a channel and whether the contact
is the episode's first; at a contact on channel c the issue is resolved with probability
R[c, first]; a resolved issue comes back (a reopening) with probability ρ[c], on channel
c' with probability Tr[c, c']; an unresolved one is given up with probability G[c], otherwise
the customer tries again on c' with probability Tu[c, c']. Every probability is the share
counted in the data (maximum likelihood for a Markov chain, Anderson & Goodman 1957). With Q
the transient-to-transient matrix and α the start distribution, the fundamental matrix
N = (I − Q)⁻¹ gives the expected contacts per state αN and the absorption probabilities αN·a
(Kemeny & Snell, ch. III); the variance of the contacts on a set of states (indicator r) follows by
first-step analysis from the second moment αN(r + 2 r∘QNr).

**NPS** is linked to episodes through the answers: each NPS answer gets the sums, over the
person's episodes that ended in the 180 days before it, of contacts, switches, give-ups and
episodes settled at the first contact; a linear model of the answer's NPS value (+100 promoter,
−100 detractor, 0 passive) on those sums, fit by least squares, turns the chain's change per
episode into a change of NPS (a linear probability model: the mean of the fitted values is the
NPS itself).

**Intervals** are percentile bootstrap intervals (Efron & Tibshirani, *An Introduction to the
Bootstrap*, 1993, ch. 13): episodes are resampled with replacement, the chain refit and the
scenario recomputed, and the NPS answers likewise for the score model. ``expected`` intervals
are those of the expected figures; ``period`` intervals add the sampling noise of one period
with as many episodes (and answers) as the data — what comparing this period with a period
under the scenario would show.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import numpy as np
from scipy import sparse

from parcours.store import Store

from .whatif_data import (
    NOT_RESOLVED,
    RESOLVED,
    JourneyData,
    WhatIfError,
    answer_features,
    load,
)

__all__ = ["Figure", "JourneyModel", "Scenario", "WhatIf", "WhatIfError", "cached_model", "fit", "scenario",
           "what_if"]

DRAWS = 400
WINDOW_DAYS = 180.0
#: Bootstrap replicates per block (bounds the memory of the resampling weights).
_BLOCK = 50


@dataclass(frozen=True)
class Scenario:
    """A change to ask the model about. Changes are in probability (0.10 = 10 points).

    ``resolve``: added to the probability that a contact on the channel resolves the issue,
    on every contact of that channel (``scope='every'``, the channel's first-contact resolution
    as the generator and the NICE–BCG study define it) or only on an episode's first contact
    (``scope='first'``). ``give_up``: added to the probability of giving up after an unresolved
    contact on the channel. ``shift``: (from, to, share) moves that share of the episodes that
    start on ``from`` to start on ``to`` instead (0.10: 10 % of the calls start in chat).
    """

    resolve: dict[str, float] = field(default_factory=dict)
    give_up: dict[str, float] = field(default_factory=dict)
    shift: tuple[str, str, float] | None = None
    scope: Literal["every", "first"] = "every"

    def describe(self) -> str:
        parts = [f"resolution {c} {d * 100:+g} pts ({self.scope} contact)" for c, d in self.resolve.items()]
        parts += [f"give-up {c} {d * 100:+g} pts" for c, d in self.give_up.items()]
        if self.shift:
            parts.append(f"{self.shift[2] * 100:g} % of episodes starting on {self.shift[0]} start on "
                         f"{self.shift[1]}")
        return "; ".join(parts) or "no change"


NO_CHANGE = Scenario()


@dataclass(frozen=True)
class Figure:
    """One figure, baseline against scenario. ``observed``: the same figure measured in the data
    (None when the data does not show it directly). Intervals are (low, high) at 95 %."""

    key: str                  # contacts, contacts_total, give_up, one_done, nps
    channel: str | None       # for contacts; None for every channel together
    unit: str                 # per_1000_episodes, episodes_in_period, percent, nps
    observed: float | None
    baseline: float
    baseline_ci: tuple[float, float]
    scenario: float
    scenario_ci: tuple[float, float]
    scenario_period_ci: tuple[float, float]
    change: float
    change_ci: tuple[float, float]
    change_period_ci: tuple[float, float]

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class WhatIf:
    """The answer: figures, how many episodes and answers it rests on, and notes (clipping…)."""

    scenario: Scenario
    figures: list[Figure]
    episodes: int
    answers: int
    draws: int
    notes: list[str]

    def figure(self, key: str, channel: str | None = None) -> Figure:
        return next(f for f in self.figures if f.key == key and f.channel == channel)

    def as_dict(self) -> dict[str, Any]:
        s = self.scenario
        return {"scenario": {"resolve": s.resolve, "give_up": s.give_up, "scope": s.scope,
                             "shift": list(s.shift) if s.shift else None, "text": s.describe()},
                "episodes": self.episodes, "answers": self.answers, "draws": self.draws, "notes": self.notes,
                "figures": [f.as_dict() for f in self.figures]}


# --- sufficient statistics --------------------------------------------------------------------
class _Layout:
    """Columns of the per-episode count matrix, for K channels (states: K first, K later)."""

    def __init__(self, k: int) -> None:
        self.k = k
        names = {"start": k, "n": 2 * k, "r": 2 * k, "gave_up": k, "cont": k, "tu": k * k, "tr": k * k}
        self.at: dict[str, int] = {}
        pos = 0
        for name, size in names.items():
            self.at[name] = pos
            pos += size
        self.size = pos

    def cols(self, stats: np.ndarray, name: str, shape: tuple[int, ...]) -> np.ndarray:
        size = int(np.prod(shape))
        return stats[..., self.at[name]:self.at[name] + size].reshape(*stats.shape[:-1], *shape)


def _counts(d: JourneyData, lay: _Layout) -> sparse.csr_matrix:
    """Episodes × counts: first channel, contacts and resolutions per state, give-ups and moves."""
    k = lay.k
    state = d.ch + k * (d.step > 1)
    nxt = np.r_[d.ch[1:], 0]
    known = d.outcome != -1
    res = d.outcome == RESOLVED
    unres = d.outcome == NOT_RESOLVED
    censored = d.censored[d.ep]
    parts = [
        (d.step == 1, lay.at["start"] + d.ch),
        (known, lay.at["n"] + state),
        (res, lay.at["r"] + state),
        (unres & d.last & ~censored, lay.at["gave_up"] + d.ch),
        (unres & ~d.last, lay.at["cont"] + d.ch),
        (unres & ~d.last, lay.at["tu"] + d.ch * k + nxt),
        (res & ~d.last, lay.at["tr"] + d.ch * k + nxt),
    ]
    rows = np.concatenate([d.ep[m] for m, _ in parts])
    cols = np.concatenate([c[m] for m, c in parts])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(d.n_episodes, lay.size))


def _weights(rng: np.random.Generator, n: int, draws: int) -> np.ndarray:
    """How many times each of ``n`` rows is drawn in each of ``draws`` resamples with replacement."""
    idx = rng.integers(0, n, (draws, n)) + (np.arange(draws) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=draws * n).reshape(draws, n).astype(np.float64)


def _resampled(rng: np.random.Generator, rows: Any, draws: int) -> np.ndarray:
    """Column totals of ``draws`` bootstrap resamples of the rows of ``rows`` (a sparse or dense
    matrix), one row per draw: one matrix product per block of draws."""
    n = rows.shape[0]
    out = np.empty((draws, rows.shape[1]))
    rows_t = rows.T.tocsr() if sparse.issparse(rows) else None
    for lo in range(0, draws, _BLOCK):
        b = min(_BLOCK, draws - lo)
        w = _weights(rng, n, b)
        out[lo:lo + b] = (rows_t @ w.T).T if rows_t is not None else w @ rows
    return out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


@dataclass
class _Chain:
    """Chain parameters, with a leading axis of draws (draw 0 = the point estimate)."""

    start: np.ndarray         # (B, K)
    resolve: np.ndarray       # (B, 2K): first contact, then later contacts
    reopen: np.ndarray        # (B, K)
    give_up: np.ndarray       # (B, K)
    t_unres: np.ndarray       # (B, K, K)
    t_res: np.ndarray         # (B, K, K)

    def copy(self) -> _Chain:
        return _Chain(*(np.array(getattr(self, f)) for f in self.__dataclass_fields__))


def _chain(stats: np.ndarray, lay: _Layout) -> _Chain:
    """Shares counted in the data; a share with no data takes the point estimate's (draws) or a
    neutral value (no resolution, no reopening, give up: the state is never reached)."""
    k = lay.k
    start = lay.cols(stats, "start", (k,))
    n, r = lay.cols(stats, "n", (2 * k,)), lay.cols(stats, "r", (2 * k,))
    resolve = _ratio(r, n)
    # a channel seen only as a first (or only as a later) contact lends its rate to the other
    resolve = np.where(np.isnan(resolve), np.roll(resolve, k, axis=-1), resolve)
    resolved = r[..., :k] + r[..., k:]
    tu, tr = lay.cols(stats, "tu", (k, k)), lay.cols(stats, "tr", (k, k))
    gave_up, cont = lay.cols(stats, "gave_up", (k,)), lay.cols(stats, "cont", (k,))
    c = _Chain(start=_ratio(start, start.sum(-1, keepdims=True)), resolve=resolve,
               reopen=_ratio(tr.sum(-1), resolved), give_up=_ratio(gave_up, gave_up + cont),
               t_unres=_ratio(tu, tu.sum(-1, keepdims=True)), t_res=_ratio(tr, tr.sum(-1, keepdims=True)))
    neutral = {"start": 0.0, "resolve": 0.0, "reopen": 0.0, "give_up": 1.0, "t_unres": 0.0, "t_res": 0.0}
    for name, value in neutral.items():
        a = getattr(c, name)
        point = np.where(np.isnan(a[0]), value, a[0])
        setattr(c, name, np.where(np.isnan(a), point, a))
    return c


@dataclass
class _Outcome:
    """Expected figures per episode, per draw."""

    contacts: np.ndarray      # (B, K+1): per channel, then all channels
    contacts_var: np.ndarray  # (B, K+1): variance per episode
    give_up: np.ndarray       # (B,)
    one_done: np.ndarray      # (B,)
    switches: np.ndarray      # (B,)


def _solve(c: _Chain) -> _Outcome:
    k = c.start.shape[-1]
    b = c.start.shape[0]
    unres = 1 - c.resolve                                            # (B, 2K)
    reopen2 = np.concatenate([c.reopen, c.reopen], -1)
    give2 = np.concatenate([c.give_up, c.give_up], -1)
    tu2 = np.concatenate([c.t_unres, c.t_unres], 1)                  # (B, 2K, K)
    tr2 = np.concatenate([c.t_res, c.t_res], 1)
    q = np.zeros((b, 2 * k, 2 * k))
    q[:, :, k:] = ((c.resolve * reopen2)[..., None] * tr2 + (unres * (1 - give2))[..., None] * tu2)
    alpha = np.concatenate([c.start, np.zeros_like(c.start)], -1)
    i_q = np.eye(2 * k) - q
    rewards = np.concatenate([np.vstack([np.eye(k), np.eye(k)]), np.ones((2 * k, 1))], 1)   # (2K, K+1)
    m = np.linalg.solve(i_q, np.broadcast_to(rewards, (b, 2 * k, k + 1)))
    s2 = np.linalg.solve(i_q, rewards + 2 * rewards * (q @ m))
    mean = np.einsum("bs,bsj->bj", alpha, m)
    var = np.einsum("bs,bsj->bj", alpha, s2) - mean ** 2
    visits = np.linalg.solve(np.swapaxes(i_q, 1, 2), alpha[..., None])[..., 0]   # (B, 2K)
    lost = unres * give2
    other = 1 - np.eye(k)
    moved = (q[:, :, k:] * np.concatenate([other, other], 0)).sum(-1)
    return _Outcome(contacts=mean, contacts_var=np.maximum(var, 0.0),
                    give_up=(visits * lost).sum(-1),
                    one_done=(c.start * c.resolve[:, :k] * (1 - c.reopen)).sum(-1),
                    switches=(visits * moved).sum(-1))


# --- the model ----------------------------------------------------------------------------------
@dataclass
class JourneyModel:
    """The chain and the score model fit on a store's data, with their bootstrap draws."""

    channels: tuple[str, ...]
    episodes: int
    answers: int
    observed: dict[str, Any]
    chain: _Chain
    beta: np.ndarray          # (B, 5): NPS on [1, contacts, switches, gave_up, one_done] sums
    episodes_per_answer: np.ndarray   # (B,)
    nps: np.ndarray           # (B,)
    nps_var: float            # variance of one answer's NPS value (for the period noise)
    seed: int
    notes: list[str]

    @property
    def draws(self) -> int:
        return len(self.nps) - 1

    def rates(self) -> list[dict[str, Any]]:
        """What the chain learnt, per channel, in %: start share, resolution at a first and at a
        later contact, giving up after an unresolved contact, reopening after a resolved one; each
        with its 95 % bootstrap interval (``<name>_ci``)."""
        c, k = self.chain, len(self.channels)
        cols = {"start": c.start, "resolve_first": c.resolve[:, :k], "resolve_later": c.resolve[:, k:],
                "give_up": c.give_up, "reopen": c.reopen}
        out = []
        for i, channel in enumerate(self.channels):
            row: dict[str, Any] = {"channel": channel}
            for name, a in cols.items():
                row[name] = 100 * float(a[0, i])
                row[f"{name}_ci"] = tuple(100 * x for x in _pct(a[:, i]))
            out.append(row)
        return out

    def ask(self, sc: Scenario) -> WhatIf:
        """Baseline against ``sc``: contacts per channel, give-up, first-contact settlement, NPS."""
        changed, notes = self._apply(sc)
        try:
            base, new = _solve(self.chain), _solve(changed)
        except np.linalg.LinAlgError:
            # a loop with no way out: some channel never resolves nor loses anyone, and sends back to itself
            raise WhatIfError("the journeys never end in this model: a channel (or a loop of channels) neither "
                              "resolves nor loses anyone; look at its rates (JourneyModel.rates)") from None
        rng = np.random.default_rng([self.seed, 1])
        n = self.episodes
        z = rng.standard_normal((2, *base.contacts.shape))
        figs: list[Figure] = []
        obs = self.observed
        for j, ch in enumerate([*self.channels, None]):
            noise_b = np.sqrt(base.contacts_var[:, j] / n) * z[0, :, j]
            noise_s = np.sqrt(new.contacts_var[:, j] / n) * z[1, :, j]
            o = obs["contacts"][j]
            figs.append(_figure("contacts", ch, "per_1000_episodes", 1000 * o, 1000 * base.contacts[:, j],
                                1000 * new.contacts[:, j], 1000 * noise_b, 1000 * noise_s))
            figs.append(_figure("contacts_total", ch, "episodes_in_period", n * o, n * base.contacts[:, j],
                                n * new.contacts[:, j], n * noise_b, n * noise_s))
        zg = rng.standard_normal((2, len(base.give_up)))
        for key, b_, s_ in (("give_up", base.give_up, new.give_up), ("one_done", base.one_done, new.one_done)):
            nb = np.sqrt(np.clip(b_ * (1 - b_), 0, None) / n) * zg[0]
            ns = np.sqrt(np.clip(s_ * (1 - s_), 0, None) / n) * zg[1]
            figs.append(_figure(key, None, "percent", 100 * obs[key], 100 * b_, 100 * s_, 100 * nb, 100 * ns))
        figs.append(self._nps(base, new, rng))
        return WhatIf(sc, figs, self.episodes, self.answers, self.draws, [*self.notes, *notes])

    def _nps(self, base: _Outcome, new: _Outcome, rng: np.random.Generator) -> Figure:
        per_episode = np.column_stack([new.contacts[:, -1] - base.contacts[:, -1], new.switches - base.switches,
                                       new.give_up - base.give_up, new.one_done - base.one_done])
        delta = self.episodes_per_answer * (self.beta[:, 1:] * per_episode).sum(-1)
        sd = np.sqrt(self.nps_var / max(self.answers, 1))
        z = rng.standard_normal((2, len(delta)))
        return _figure("nps", None, "nps", self.observed["nps"], self.nps, self.nps + delta, sd * z[0], sd * z[1])

    def _apply(self, sc: Scenario) -> tuple[_Chain, list[str]]:
        """The chain under ``sc``; a change that takes the point estimate out of [0, 1] is refused,
        draws pushed out are clipped (and the notes say how many)."""
        c, k, notes = self.chain.copy(), len(self.channels), []
        if sc.scope not in ("every", "first"):
            raise WhatIfError(f"scope must be 'every' or 'first', not {sc.scope!r}")
        for field_name, changes in (("resolve", sc.resolve), ("give_up", sc.give_up)):
            for channel, d in changes.items():
                i = self._channel(channel, field_name)
                every = field_name == "resolve" and sc.scope == "every"
                cols = [i, k + i] if every else [i]        # resolve: first-contact state, then later
                arr = getattr(c, field_name)
                for col in cols:
                    point = arr[0, col] + d
                    if not 0.0 <= point <= 1.0:
                        raise WhatIfError(
                            f"{field_name}[{channel}]: {arr[0, col] * 100:.1f} % in the data, a change of "
                            f"{d * 100:+.1f} points gives {point * 100:.1f} %, outside 0–100 %; the change "
                            f"must lie between {-arr[0, col] * 100:+.1f} and {(1 - arr[0, col]) * 100:+.1f} points")
                    out = ((arr[:, col] + d < 0) | (arr[:, col] + d > 1)).sum()
                    if out:
                        notes.append(f"{field_name}[{channel}]: {out} of {len(arr) - 1} bootstrap draws "
                                     "clipped to 0–100 %")
                    arr[:, col] = np.clip(arr[:, col] + d, 0.0, 1.0)
        if sc.shift is not None:
            src, dst, share = sc.shift
            i, j = self._channel(src, "shift"), self._channel(dst, "shift")
            if not 0.0 <= share <= 1.0:
                raise WhatIfError(f"shift: the share moved must lie in 0–1 (0.10 = 10 %), not {share!r}")
            moved = c.start[:, i] * share
            c.start[:, i] -= moved
            c.start[:, j] += moved
        return c, notes

    def _channel(self, name: str, what: str) -> int:
        if name not in self.channels:
            raise WhatIfError(f"{what}: unknown channel {name!r}; the data's service channels are "
                              f"{', '.join(self.channels)}")
        return self.channels.index(name)


def _pct(a: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(a[1:] if len(a) > 1 else a, [2.5, 97.5])
    return float(lo), float(hi)


def _figure(key: str, channel: str | None, unit: str, observed: float | None, base: np.ndarray,
            new: np.ndarray, noise_base: np.ndarray, noise_new: np.ndarray) -> Figure:
    change = new - base
    return Figure(key, channel, unit, None if observed is None else float(observed),
                  float(base[0]), _pct(base), float(new[0]), _pct(new), _pct(new + noise_new),
                  float(change[0]), _pct(change), _pct(change + noise_new - noise_base))


def fit(store: Store, *, draws: int = DRAWS, seed: int = 0, window_days: float = WINDOW_DAYS,
        horizon: timedelta = timedelta(days=7)) -> JourneyModel:
    """Fit the chain and the NPS model on the store's episodes and answers, with ``draws``
    bootstrap replicates (0: point estimates only, intervals collapse to the point)."""
    return fit_data(load(store, horizon=horizon), draws=draws, seed=seed, window_days=window_days)


def fit_data(d: JourneyData, *, draws: int = DRAWS, seed: int = 0, window_days: float = WINDOW_DAYS) -> JourneyModel:
    """:func:`fit` on data already loaded."""
    if draws < 0:
        raise WhatIfError(f"draws must be 0 or more, not {draws}")
    rng = np.random.default_rng(seed)
    lay = _Layout(len(d.channels))
    counts = _counts(d, lay)
    stats = np.vstack([np.asarray(counts.sum(axis=0)), _resampled(rng, counts, draws)])
    chain = _chain(stats, lay)
    notes = []
    feats = answer_features(d, window_days)
    y = 100.0 * (d.answer_score >= 9) - 100.0 * (d.answer_score <= 6)
    beta, per_answer, nps, nps_var = _score_model(rng, feats, y, draws)
    if len(y) == 0:
        notes.append("no NPS answer linked to a person: the NPS change is not estimated")
    elif len(y) < 100:
        notes.append(f"only {len(y)} NPS answers: the NPS change is rough")
    ep_feats = _observed(d)
    return JourneyModel(channels=d.channels, episodes=d.n_episodes, answers=len(y),
                        observed={**ep_feats, "nps": float(y.mean()) if len(y) else None},
                        chain=chain, beta=beta, episodes_per_answer=per_answer, nps=nps, nps_var=nps_var,
                        seed=seed, notes=notes)


def _observed(d: JourneyData) -> dict[str, Any]:
    k = len(d.channels)
    per_channel = np.bincount(d.ch, minlength=k) / d.n_episodes
    last = d.outcome[d.last]
    settled = ~d.censored
    return {"contacts": np.r_[per_channel, d.n_contacts / d.n_episodes],
            "give_up": float(((last == NOT_RESOLVED) & settled).sum() / max(settled.sum(), 1)),
            "one_done": float(((np.bincount(d.ep) == 1) & (last == RESOLVED)).mean())}


def _score_model(rng: np.random.Generator, feats: np.ndarray, y: np.ndarray,
                 draws: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Least squares of the answers' NPS value on their episode sums, per bootstrap draw.

    Returns beta (B, 5), episodes per answer (B,), NPS (B,) and the variance of one answer's value.
    Each draw's normal equations X'WX β = X'Wy come from resampled totals of the answers' rows
    x xᵀ, x·y, y and their episodes, so the draws cost one matrix product.
    """
    n = len(y)
    if n == 0:
        zeros = np.zeros(draws + 1)
        return np.zeros((draws + 1, 5)), zeros, zeros, 0.0
    x = np.column_stack([np.ones(n), feats[:, 1:]])
    k = x.shape[1]
    per_row = np.column_stack([(x[:, :, None] * x[:, None, :]).reshape(n, k * k), x * y[:, None], y, feats[:, 0]])
    totals = np.vstack([per_row.sum(axis=0), _resampled(rng, per_row, draws)])
    xtx = totals[:, :k * k].reshape(-1, k, k)
    xty = totals[:, k * k:k * k + k]
    beta = np.einsum("bij,bj->bi", np.linalg.pinv(xtx), xty)
    return beta, totals[:, -1] / n, totals[:, -2] / n, float(y.var())


def scenario(channel: str | None = None, *, resolve_points: float = 0.0, give_up_points: float = 0.0,
             scope: str = "every", shift_to: str | None = None, shift_points: float = 0.0) -> Scenario:
    """A scenario from the web form or the API's fields, in points (10 = 10 points)."""
    if channel is None and (resolve_points or give_up_points or shift_points):
        raise WhatIfError("channel: required for a change")
    for name, v in (("resolve_points", resolve_points), ("give_up_points", give_up_points),
                    ("shift_points", shift_points)):
        if not np.isfinite(v) or abs(v) > 100:
            raise WhatIfError(f"{name}: {v!r} is not a number of points between −100 and 100")
    if scope not in ("every", "first"):
        raise WhatIfError(f"scope: 'every' or 'first', not {scope!r}")
    shift = None
    if channel is None:
        return Scenario(scope=scope)  # type: ignore[arg-type]
    if shift_points:
        if not shift_to:
            raise WhatIfError("shift_to: which channel the moved episodes start on")
        if shift_points < 0:
            raise WhatIfError("shift_points: a share of episodes moved, 0 to 100")
        shift = (channel, shift_to, shift_points / 100)
    return Scenario(resolve={channel: resolve_points / 100} if resolve_points else {},
                    give_up={channel: give_up_points / 100} if give_up_points else {},
                    shift=shift, scope=scope)  # type: ignore[arg-type]


def what_if(store: Store, sc: Scenario, *, draws: int = DRAWS, seed: int = 0) -> WhatIf:
    """Fit on the store and answer ``sc`` (fit once with :func:`fit` to ask several questions)."""
    return fit(store, draws=draws, seed=seed).ask(sc)


_CACHE_LOCK = threading.Lock()


def cached_model(store: Store) -> JourneyModel:
    """The model of the store's current data, fit once per data version (``store.changes``) and
    shared by the store's cursors: the web page and the API ask many questions of one fit."""
    key = ("whatif", store.changes)
    with _CACHE_LOCK:
        model = store.memo.get(key)
        if model is None:
            for old in [k for k in store.memo if isinstance(k, tuple) and k and k[0] == "whatif"]:
                del store.memo[old]
            model = store.memo[key] = fit(store)
    return model
