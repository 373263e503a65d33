"""The channel-switching chain of a support episode, calibrated on NICE–BCG (seed 003).

An episode is a first-order Markov chain over support channels. At a contact on
channel c the issue is resolved with probability ``R[c]`` (and then reopened on the
same channel with probability ``REOPEN``); otherwise the customer gives up with
probability ``G[c]`` or tries again on channel c' with probability ``T[c, c']``.
A person without a social handle writes an e-mail instead; without the app, uses the
website.

``expected_figures`` computes, exactly, the NICE–BCG figures on phone contacts that
the chain implies; the free values below were fitted by least squares on it (the
target numbers are ``TARGETS``). Definitions, per phone contact of an episode:

- ``email_before``: an earlier contact of the episode was an e-mail (15.1 %);
- ``avoidable``: an earlier contact on another channel was not resolved (70 %);
- ``continue_after``: a later contact is on another channel (40 %);
- ``chat_after``: a later contact is a chat (6.4 %);
- ``give_up`` (per episode with at least one phone contact): the episode ends
  unresolved or abandoned (3.2 %).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

#: Support channels, in the order of every vector and matrix below.
SUPPORT = ("phone", "email", "chat", "chatbot", "social", "store", "sms", "web", "app")
PHONE, EMAIL, CHAT, CHATBOT, SOCIAL, STORE, SMS, WEB, APP = range(len(SUPPORT))

TARGETS = {"email_before": 0.151, "avoidable": 0.70, "continue_after": 0.40,
           "chat_after": 0.064, "give_up": 0.032}

#: First channel of an episode (before the age tilt).
FIRST = np.array([0.139, 0.182, 0.101, 0.101, 0.051, 0.122, 0.041, 0.203, 0.061])
#: Multiplier of FIRST per age band (students … seniors).
FIRST_TILT = np.array([
    # phone email chat  bot  social store sms  web  app
    [0.70, 0.80, 1.40, 1.50, 1.80, 0.70, 1.0, 1.20, 1.50],
    [0.85, 1.00, 1.30, 1.30, 1.40, 0.80, 1.0, 1.10, 1.20],
    [1.00, 1.05, 1.00, 1.00, 0.90, 1.00, 1.0, 1.00, 1.00],
    [1.20, 1.10, 0.80, 0.70, 0.60, 1.20, 1.0, 0.90, 0.70],
    [1.60, 1.00, 0.40, 0.30, 0.30, 1.50, 1.0, 0.70, 0.40],
])
#: Resolution at a contact (first-contact resolution of the channel).
RESOLVE = np.array([0.573, 0.50, 0.60, 0.30, 0.45, 0.75, 0.40, 0.35, 0.35])
#: Giving up after an unresolved contact.
GIVE_UP = np.array([0.034, 0.057, 0.057, 0.091, 0.091, 0.023, 0.091, 0.045, 0.045])
REOPEN = 0.03
#: Next channel after an unresolved contact (rows: from, columns: to).
NEXT = np.array([
    # phone  email  chat   bot    social store  sms    web    app
    [0.080, 0.353, 0.095, 0.020, 0.080, 0.252, 0.040, 0.060, 0.020],  # phone
    [0.221, 0.391, 0.093, 0.031, 0.078, 0.093, 0.047, 0.031, 0.015],  # email
    [0.696, 0.091, 0.073, 0.012, 0.031, 0.061, 0.012, 0.018, 0.006],  # chat
    [0.552, 0.034, 0.344, 0.014, 0.014, 0.020, 0.007, 0.015, 0.000],  # chatbot
    [0.652, 0.095, 0.063, 0.013, 0.095, 0.032, 0.019, 0.031, 0.000],  # social
    [0.696, 0.091, 0.031, 0.000, 0.031, 0.122, 0.012, 0.017, 0.000],  # store
    [0.696, 0.091, 0.060, 0.012, 0.031, 0.049, 0.031, 0.030, 0.000],  # sms
    [0.696, 0.091, 0.049, 0.060, 0.031, 0.037, 0.006, 0.030, 0.000],  # web
    [0.697, 0.061, 0.049, 0.049, 0.031, 0.037, 0.006, 0.012, 0.058],  # app
])
#: Episode mix of the default world: share of episodes per (age band, social handle, app).
DEFAULT_MIX = np.array([
    [[0.016, 0.033], [0.021, 0.043]],
    [[0.049, 0.081], [0.036, 0.054]],
    [[0.114, 0.116], [0.049, 0.044]],
    [[0.128, 0.063], [0.024, 0.013]],
    [[0.091, 0.017], [0.006, 0.002]],
])


def fold(matrix_or_vector: np.ndarray, social: bool, app: bool) -> np.ndarray:
    """Move the probability of channels a person lacks (social, app) to e-mail and web."""
    m = np.array(matrix_or_vector, dtype=np.float64)
    if not social:
        m[..., EMAIL] += m[..., SOCIAL]
        m[..., SOCIAL] = 0.0
    if not app:
        m[..., WEB] += m[..., APP]
        m[..., APP] = 0.0
    return m


def first_channel_p(band: int, social: bool, app: bool) -> np.ndarray:
    p = fold(FIRST * FIRST_TILT[band], social, app)
    return p / p.sum()


def next_channel_p(social: bool, app: bool) -> np.ndarray:
    m = fold(NEXT, social, app)
    return m / m.sum(axis=1, keepdims=True)


def default_groups() -> list[tuple[float, int, bool, bool]]:
    """The episode mix of the default world, as ``expected_figures`` groups."""
    return [(float(DEFAULT_MIX[b, s, a]), b, bool(s), bool(a))
            for b in range(5) for s in range(2) for a in range(2)]


def expected_figures(groups: Iterable[tuple[float, int, bool, bool]] | None = None,
                     resolve: np.ndarray = RESOLVE, give_up: np.ndarray = GIVE_UP,
                     reopen: float = REOPEN) -> dict[str, float]:
    """The NICE–BCG figures implied by the chain for a mix of episodes.

    ``groups`` are (weight, age band, has social handle, has app) with weights the
    share of episodes of each kind of person (default: the default world's mix).
    """
    totals: dict[str, float] = {}
    for weight, band, social, app in (default_groups() if groups is None else groups):
        for key, value in _group_totals(first_channel_p(band, social, app),
                                        next_channel_p(social, app), resolve, give_up,
                                        reopen).items():
            totals[key] = totals.get(key, 0.0) + weight * value
    return {
        "email_before": totals["phone_email_before"] / totals["phone"],
        "avoidable": totals["phone_avoidable"] / totals["phone"],
        "continue_after": totals["phone_continue"] / totals["phone"],
        "chat_after": totals["phone_chat_after"] / totals["phone"],
        "give_up": totals["phone_episode_give_up"] / totals["phone_episode"],
        "contacts_per_episode": totals["contacts"],
    }


def _group_totals(first: np.ndarray, nxt: np.ndarray, resolve: np.ndarray,
                  give_up: np.ndarray, reopen: float) -> dict[str, float]:
    """Expected counts per episode, from the chain with history flags.

    State = (channel, an e-mail before, an unresolved other channel before, phone so far).
    """
    k = len(SUPPORT)

    def state(c: int, e: int, u: int, p: int) -> int:
        return ((c * 2 + e) * 2 + u) * 2 + p

    size = k * 8
    move = np.zeros((size, size))
    start = np.zeros(size)
    for c in range(k):
        start[state(c, 0, 0, int(c == PHONE))] += first[c]
    for c in range(k):
        for e in range(2):
            for u in range(2):
                for p in range(2):
                    s = state(c, e, u, p)
                    e2 = e | (c == EMAIL)
                    move[s, state(c, e2, u, p)] += resolve[c] * reopen
                    u2 = u | (c != PHONE)
                    for c2 in range(k):
                        move[s, state(c2, e2, u2, p | (c2 == PHONE))] += (
                            (1 - resolve[c]) * (1 - give_up[c]) * nxt[c, c2])
    visits = np.linalg.solve((np.eye(size) - move).T, start).reshape(k, 2, 2, 2)
    phone = visits[PHONE].sum()
    # probabilities, from a contact on channel c, that some later contact is in a set
    step = np.diag(resolve * reopen) + ((1 - resolve) * (1 - give_up))[:, None] * nxt

    def later(targets: np.ndarray) -> np.ndarray:
        return np.linalg.solve(np.eye(k) - step * ~targets, (step * targets).sum(axis=1))

    is_phone = np.arange(k) == PHONE
    lost = (1 - resolve) * give_up
    ends = resolve * (1 - reopen) + lost
    return {
        "contacts": visits.sum(),
        "phone": phone,
        "phone_email_before": visits[PHONE, 1].sum(),
        "phone_avoidable": visits[PHONE, :, 1].sum(),
        "phone_continue": phone * later(~is_phone)[PHONE],
        "phone_chat_after": phone * later(np.arange(k) == CHAT)[PHONE],
        "phone_episode": (visits[:, :, :, 1].sum(axis=(1, 2)) * ends).sum(),
        "phone_episode_give_up": (visits[:, :, :, 1].sum(axis=(1, 2)) * lost).sum(),
    }
