"""Linking: a contact about an issue already open is added to that case, whatever the channel.

When a person writes, every case of theirs still in play is a candidate: cases new, open or
pending, and cases resolved within the reopen window, with some activity within
``LinkPolicy.window``. Each candidate gets a score in [0, 1]::

    score = topic_weight · topic + text_weight · text + recency_weight · recency

* ``topic``: 1 when the contact and the case name the same topic, 0 when both name
  different ones, 0.5 when either does not say (a chat rarely has a topic);
* ``text``: overlap of the terms of the contact (subject and text) with the case's terms
  (its subject and what the customer wrote), weighted: a term with a digit (an order or
  invoice number) counts twice; ``shared / (smaller side + 1)`` so that one shared word out
  of one is not a certainty;
* ``recency``: 1 for activity just now, falling linearly to 0 at the end of the window.

The best candidate decides: ``score ≥ auto`` links the contact to it; ``suggest ≤ score <
auto`` opens a new case carrying a suggestion the agent can accept (a merge) or reject;
lower opens a new case. Two named topics that differ never link automatically (at most a
suggestion). Ties go to the most recent activity, then the smaller case id.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import snowballstemmer

#: how many terms of a case are kept for linking (the first ones: subject, first messages)
MAX_TERMS = 200

_STOPWORDS = frozenset("""
a au aux avec ce ces cet cette dans de des du elle en est et eu il ils je la le les leur lui ma mais me meme mes
moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous
y ai as avez avons ont suis etes sont etait ete etre avoir fait faire plus tres bien tout tous toute toutes bonjour
bonsoir merci cordialement madame monsieur salut svp stp hello dear thanks thank regards please the and for you
your with this that have has had was were are not but can could would should will from our out about any all its
it's what when where which who why how been being there their they them then than into just also very hi hey
non rien aucun aucune encore deja toujours jamais still yet already again never
""".split())


@dataclass(frozen=True)
class LinkPolicy:
    """Thresholds and window of automatic linking (docs/desk.md)."""

    window: timedelta = timedelta(days=14)       #: candidates had activity this recently
    reopen_window: timedelta = timedelta(days=7)  #: resolved cases stay candidates (and reopen) this long
    auto: float = 0.6                             #: link at or above this score
    suggest: float = 0.35                         #: suggest at or above this score
    topic_weight: float = 0.4
    text_weight: float = 0.4
    recency_weight: float = 0.2

    def __post_init__(self) -> None:
        if not 0 <= self.suggest <= self.auto <= 1:
            raise ValueError(f"link thresholds must satisfy 0 ≤ suggest ≤ auto ≤ 1 (got suggest={self.suggest}, "
                             f"auto={self.auto})")
        if self.window <= timedelta(0) or self.reopen_window < timedelta(0):
            raise ValueError("the link window must be positive and the reopen window not negative")


@dataclass(frozen=True)
class Candidate:
    case_id: str
    score: float
    topic: float
    text: float
    recency: float
    last_activity: datetime


@dataclass(frozen=True)
class Decision:
    """``action``: ``link`` (to ``case_id``), ``suggest`` (a new case, suggesting ``case_id``) or ``new``."""

    action: str
    case_id: str | None
    score: float
    candidates: tuple[Candidate, ...] = ()


_local = threading.local()  # Snowball stemmers keep state: one pair per thread


def _stem(word: str) -> str:
    if not hasattr(_local, "stemmers"):
        _local.stemmers = (snowballstemmer.stemmer("french"), snowballstemmer.stemmer("english"))
    fr, en = _local.stemmers
    return _fold(en.stemWord(_fold(fr.stemWord(word))))


def _fold(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def terms(text: str | None) -> list[str]:
    """Words of a text for matching, in order of first appearance: lower case, stop words and
    short words dropped (numbers kept), stemmed for French then English (Snowball: "reçue"
    and "reçu" match, so do "orders" and "order"), accents folded."""
    if not text:
        return []
    out: dict[str, None] = {}
    for w in re.findall(r"[^\W_]+", text.lower()):
        if _fold(w) in _STOPWORDS or (len(w) < 3 and not w.isdigit()):
            continue
        out.setdefault(w if w.isdigit() else _stem(w), None)
    return list(out)


def merge_terms(*groups: Iterable[str]) -> list[str]:
    """Union in order of first appearance, capped at :data:`MAX_TERMS`."""
    out: dict[str, None] = {}
    for g in groups:
        for t in g:
            out.setdefault(t, None)
    return list(out)[:MAX_TERMS]


def _weight(t: str) -> float:
    return 2.0 if any(ch.isdigit() for ch in t) else 1.0


def similarity(a: Iterable[str], b: Iterable[str]) -> float:
    """Weighted overlap of two term sets: shared / (lighter side + 1), in [0, 1)."""
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    shared = sum(_weight(t) for t in sa & sb)
    return min(1.0, shared / (min(sum(map(_weight, sa)), sum(map(_weight, sb))) + 1.0))


def score(policy: LinkPolicy, *, topic: str | None, case_topic: str | None, contact_terms: Iterable[str],
          case_terms: Iterable[str], age: timedelta) -> Candidate:
    """The score of one candidate (``case_id`` and ``last_activity`` left blank)."""
    t = 0.5 if not topic or not case_topic else (1.0 if topic.strip().lower() == case_topic.strip().lower() else 0.0)
    x = similarity(contact_terms, case_terms)
    r = max(0.0, 1.0 - max(age, timedelta(0)) / policy.window)
    s = policy.topic_weight * t + policy.text_weight * x + policy.recency_weight * r
    return Candidate("", round(s, 4), t, round(x, 4), round(r, 4), datetime.min)


_CANDIDATES = """
SELECT c.case_id, c.topic, coalesce(d.link_terms, ''), coalesce(c.subject, ''),
       greatest(c.opened_at, d.last_customer_at, d.last_agent_at, c.closed_at) AS last_activity
FROM cases c LEFT JOIN desk_cases d USING (case_id)
WHERE c.person_id = ? AND d.merged_into IS NULL
  AND (c.status IN ('new', 'open', 'pending') OR (c.status = 'resolved' AND c.closed_at >= ?))
"""


def decide(con: duckdb.DuckDBPyConnection, person_id: str, *, ts: datetime, topic: str | None,
           subject: str | None, text: str | None, policy: LinkPolicy) -> Decision:
    """Where a contact of ``person_id`` at ``ts`` goes (see the module docstring)."""
    rows = con.execute(_CANDIDATES, [person_id, ts - policy.reopen_window]).fetchall()
    contact = terms(f"{subject or ''} {text or ''}")
    scored = []
    for case_id, case_topic, case_terms, case_subject, last in rows:
        age = ts - last
        if age > policy.window:
            continue
        c = score(policy, topic=topic, case_topic=case_topic, contact_terms=contact,
                  case_terms=case_terms.split() or terms(case_subject), age=age)
        scored.append(Candidate(case_id, c.score, c.topic, c.text, c.recency, last))
    if not scored:
        return Decision("new", None, 0.0)
    scored.sort(key=lambda c: (-c.score, -c.last_activity.timestamp(), c.case_id))
    best = scored[0]
    if best.score >= policy.auto and best.topic > 0:
        action = "link"
    elif best.score >= policy.suggest:
        action = "suggest"
    else:
        action = "new"
    return Decision(action, best.case_id if action != "new" else None, best.score, tuple(scored))
