"""What the voice of the customer is made of: surveys, invitations, the rules on contact
pressure, and the errors each step raises (each names the field and the reason)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["CHANNELS", "HAPPY", "LANGUAGES", "METRIC_SCALES", "TRIGGERS", "UNHAPPY", "AnswerError",
           "ContactRules", "Invitation", "LinkError", "Survey", "VoiceError", "score_tone"]

#: Fixed scales (NPS is always 0–10, Reichheld 2003); a custom question states its own.
METRIC_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
#: Scores that call for a call-back (NPS detractors; CSAT 1–2; CES 1–3: "not easy") and the
#: scores of the happy (NPS promoters; CSAT 4–5; CES 5–7), on the fixed scales
UNHAPPY = {"nps": 6, "csat": 2, "ces": 3}
HAPPY = {"nps": 9, "csat": 4, "ces": 5}


def score_tone(metric: str, score: float | None) -> str:
    """"lo", "mid" or "hi": how a score reads (a detractor, a passive, a promoter and the like)."""
    if score is None or metric not in UNHAPPY:
        return "mid"
    return "lo" if score <= UNHAPPY[metric] else "hi" if score >= HAPPY[metric] else "mid"


#: What sends a survey: ``relational`` every ``period_days`` to active customers; the others
#: right after the moment they name (transactional). ``touchpoint`` takes a touchpoint kind.
TRIGGERS = ("relational", "case_resolved", "purchase", "delivery", "bot_session", "touchpoint")
#: How the link reaches the person: an e-mail, an SMS (through the SMS gateway's webhook), or
#: the web/app widget (the app asks the API for the person's pending survey).
CHANNELS = ("email", "sms", "widget")
LANGUAGES = ("fr", "en")
MAX_COMMENT_CHARS = 5000


class VoiceError(ValueError):
    """Bad input to the voice module; the message names the field and the reason."""


class LinkError(VoiceError):
    """A survey link that cannot be used. ``kind``: ``invalid`` (unknown, forged or
    malformed: nothing tells which), ``expired`` or ``answered`` (single use)."""

    def __init__(self, kind: str, message: str, language: str = "fr") -> None:
        super().__init__(message)
        self.kind, self.language = kind, language


class AnswerError(VoiceError):
    """An answer that cannot be stored as given (out-of-range score, oversized comment, unknown
    language): nothing of it is lost — the page shows it back with the reason."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Survey:
    survey_id: str
    name: str
    metric: str                      #: nps, csat, ces or custom
    scale_min: int
    scale_max: int
    question: dict[str, str]         #: per language ("fr", "en")
    why: dict[str, str]              #: the open question, per language
    trigger: str                     #: one of TRIGGERS
    trigger_kind: str | None = None  #: the touchpoint kind for trigger ``touchpoint``
    channel: str = "email"           #: one of CHANNELS
    delay_minutes: int = 0           #: wait this long after the moment before asking
    expires_days: int = 14           #: the link works this long
    period_days: int | None = None   #: relational surveys: ask each active customer this often
    ask_during_open_case: bool = False  #: survey even a person with an open case (off: respect)
    active: bool = True


@dataclass(frozen=True)
class ContactRules:
    """How often a person may be asked, whatever the survey (seed 002: measure regularly, but
    a customer asked too often stops answering — and stops liking us)."""

    cooldown: timedelta = timedelta(days=30)  #: no two surveys to one person closer than this
    cap: int = 4                              #: at most this many surveys per person …
    cap_period: timedelta = timedelta(days=365)  # … over this period
    #: transactional moments older than this are not surveyed (an imported history, a backlog)
    max_age: timedelta = timedelta(days=3)
    #: one reminder to an e-mail or SMS invitation still unopened this long after it was sent
    #: (None: never); an opened link that was not answered is an answer of sorts, left alone
    remind_after: timedelta | None = timedelta(days=3)


@dataclass(frozen=True)
class Invitation:
    invitation_id: str
    survey: Survey
    person_id: str
    language: str
    channel: str
    status: str                      #: pending, sent, opened, partial, answered, skipped, failed
    expires_at: datetime | None
    address: str | None = None
    case_id: str | None = None
    event_id: str | None = None
    agent_id: str | None = None
    touch_channel: str | None = None  #: the channel of the moment surveyed (what the answer is about)
    response_id: str | None = None
    score: float | None = None       #: the score given so far (a partial answer)
    comment: str | None = None
