"""Parameters of the demo world, with where each number comes from.

Changing a value changes every generated world: keep ``docs/demo-world.md`` in step.
Rates are per person-year unless said otherwise; times are in seconds or days.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Persons per chunk. Fixed (not a parameter of the output): chunk ``k`` always holds
#: persons ``k*CHUNK .. (k+1)*CHUNK-1`` and draws from ``numpy.random.default_rng([seed, k])``.
CHUNK = 20_000

# --- persons ---------------------------------------------------------------------------------
P_FRENCH = 0.80
SEGMENTS = ("particulier", "pro", "premium")
SEGMENT_P = (0.78, 0.15, 0.07)
#: Life stages: students, young actives, families, empty nesters, seniors (age at start).
AGE_BANDS = ((18, 25), (26, 35), (36, 50), (51, 65), (66, 88))
AGE_P = (0.13, 0.21, 0.30, 0.22, 0.14)
PRO_AGE_P = (0.02, 0.25, 0.43, 0.28, 0.02)
#: Share of persons first known during a 365-day window (scaled by days/365, at most 0.6).
P_NEW_PER_YEAR = 0.30
#: Mean tenure of persons known before the window (exponential), in days.
TENURE_DAYS = 900.0
P_EMAIL2 = 0.30
P_SOCIAL = (0.55, 0.42, 0.28, 0.15, 0.06)          # by age band
P_APP = (0.68, 0.62, 0.50, 0.34, 0.16)             # by age band
DEVICES_P = (0.62, 0.31, 0.07)                     # 1, 2, 3 web browsers (cookie ids)
P_OPTIN = 0.65                                     # marketing e-mails
P_DISPLAY_VARIANT = 0.06                           # rows writing an e-mail or handle in mixed case
P_PHONE_NATIONAL = 0.20                            # rows writing "06 12 34 56 78"
P_PHONE_COMPACT = 0.05                             # rows writing "0612345678"


@dataclass(frozen=True)
class BGNBD:
    """Buy-till-you-die purchases (Fader, Hardie & Lee 2005), CDNOW fit.

    Purchase rate λ ~ Gamma(r, α) (rate per week), dropout after each repeat purchase
    with p ~ Beta(a, b). ``alpha_weeks`` is the CDNOW 4.414 divided by 1.6: a general
    retailer's customers buy more often than 1997 CD buyers (≈4.6 purchases a year
    while active instead of 2.9).
    """

    r: float = 0.243
    alpha_weeks: float = 4.414 / 1.6
    a: float = 0.793
    b: float = 2.426


@dataclass(frozen=True)
class GammaGamma:
    """Spend per transaction (Fader & Hardie 2013, CDNOW fit), scaled from 1998 USD.

    Per person ν ~ Gamma(q, γ); each transaction z ~ Gamma(p, ν); mean spend
    E[z] = p·γ/(q−1) = 35.2 × ``scale`` → 70 € with scale 2.
    """

    p: float = 6.25
    q: float = 3.74
    gamma: float = 15.44
    scale: float = 2.0


BUY = BGNBD()
SPEND = GammaGamma()
SPEND_SEGMENT = (1.0, 1.5, 2.0)                    # particulier, pro, premium
P_CUSTOMER_OLD = 0.90                              # earlier persons who already bought
P_CONVERT_NEW = 0.70                               # new persons who buy at least once
FIRST_BUY_DELAY_DAYS = 7.0                         # after signup (exponential mean)
#: Where purchases happen, by age band: web, app, store, phone (app only for app users).
BUY_CHANNELS = ("web", "app", "store", "phone")
BUY_CHANNEL_P = (
    (0.50, 0.35, 0.14, 0.01), (0.50, 0.30, 0.18, 0.02), (0.52, 0.20, 0.25, 0.03),
    (0.48, 0.12, 0.35, 0.05), (0.35, 0.05, 0.50, 0.10),
)
PRE_BUY_VISITS = 1.3                               # consider visits before an online order (Poisson)
DELIVERY_DAYS = (1.0, 3.5)                         # promised delay, uniform
P_LATE = 0.08                                      # late deliveries
LATE_EXTRA_DAYS = (1.5, 9.0)
P_RETURN = 0.06
P_CANCEL_ON_DROPOUT = 0.30                         # BG/NBD dropouts who close their account

# --- browsing, app, marketing ------------------------------------------------------------
VISITS_PER_YEAR = 5.0                              # spontaneous web/app visits (Gamma-mixed)
VISIT_SHAPE = 1.5
P_LOGGED_IN = 0.35                                 # web visits with a login
P_EMAIL2_USE = 0.30                                # e-mail rows using the second address
APP_SESSIONS_PER_YEAR = 7.0                        # app users, kind usage
APP_PUSH_PER_YEAR = 5.0                            # app users, outbound
CAMPAIGN_EVERY_DAYS = 30                           # one marketing e-mail wave a month
P_CAMPAIGN_TARGET = 0.75                           # opted-in persons targeted by a wave
P_CAMPAIGN_CLICK = 0.04                            # waves followed by a visit
PRE_SIGNUP_VISITS = 1.5                            # anonymous visits before signing up (Poisson)

# --- service -------------------------------------------------------------------------------
EPISODES_PER_YEAR = 0.35                           # spontaneous issues of a customer
EPISODES_PROSPECT = 0.05
EPISODES_SEGMENT = (1.0, 1.4, 1.2)
TOPIC_P = (0.24, 0.08, 0.30, 0.18, 0.05, 0.15)    # texts.TOPICS, spontaneous issues
P_ISSUE_LATE = 0.50                                # late delivery → delivery issue
P_ISSUE_ONTIME = 0.015                             # on-time delivery → "where is my parcel"
P_ISSUE_RETURN = 0.30                              # return → refund issue
P_ISSUE_ORDER = 0.02                               # order → billing issue
MAX_CONTACTS = 12
P_LEAVE_AFTER_BAD = 0.15                           # bad episode (give-up, ≥3 contacts) → leaves
AGENTS = 80
#: Agent teams (1-based agent numbers) per human channel.
TEAMS = {"phone": (1, 30), "email": (31, 50), "social": (31, 50), "sms": (31, 50),
         "chat": (51, 65), "store": (66, 80)}
AGENT_KINDNESS_SD = 0.5

# --- surveys -------------------------------------------------------------------------------
P_ANSWER_CASE = 0.25                               # after a resolved case: CSAT + CES
P_SKIP_CSAT = 0.03
P_SKIP_CES = 0.10
NPS_PANEL = 0.35                                   # customers in the relational NPS panel
NPS_WAVE_DAYS = 91                                 # quarterly waves
P_ANSWER_NPS = 0.35
P_SKIP_NPS = 0.02
P_COMMENT = {"neg": 0.60, "neu": 0.30, "pos": 0.40}


@dataclass(frozen=True)
class Tweaks:
    """Changes planted on purpose in a generated world (to check that an analysis finds them):
    ``resolve`` adds to the probability that a contact on a channel resolves the issue
    (``{"chat": 0.10}``: chat resolves 10 points more), ``give_up`` to the probability of
    giving up after an unresolved contact on it. Channels are the support chain's
    (sisyphus.SUPPORT); probabilities are clipped to [0, 1]."""

    resolve: dict[str, float] = field(default_factory=dict)
    give_up: dict[str, float] = field(default_factory=dict)


NO_TWEAKS = Tweaks()
