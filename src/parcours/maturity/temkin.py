"""Temkin's four customer-experience competencies, by a short self-assessment.

Bruce Temkin (seed 003) names four competencies a company needs for a good customer
experience: purposeful leadership, compelling brand values, employee engagement and
customer connectedness. They are about culture, which the data cannot see, so the CX team
answers three statements per competency on a 1–5 agreement scale (1 strongly disagree,
5 strongly agree). Each statement restates tips of the seed in a checkable form and names them.

A competency's score is the mean of its answers put on 0–100: ``100 · (mean − 1) / 4``
(3, "neither agree nor disagree", is 50). The weakest competencies are the lowest-scored
one (ties included) and every one below 50 (more disagreement than agreement).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from parcours.store import Store

__all__ = ["COMPETENCY_ORDER", "STATEMENTS", "MaturityError", "Statement", "latest", "record", "score_of"]

SCALE = (1, 5)
NEUTRAL = 50.0   # a competency below this has more disagreement than agreement: weak
COMPETENCY_ORDER = ("leadership", "brand_values", "employees", "customers")


class MaturityError(ValueError):
    """Bad maturity input; ``field`` names the statement (or field) at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Statement:
    id: str
    competency: str
    fr: str
    en: str
    tips: tuple[int, ...]   # the seed's tips the statement restates

    def text(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


STATEMENTS: tuple[Statement, ...] = (
    Statement("ED1", "leadership",
              "Nos dirigeants examinent les indicateurs de l’expérience client à chaque comité de direction, "
              "et en tirent des décisions.",
              "Our leaders review the customer-experience figures at every executive meeting, and decide "
              "from them.", (35, 29)),
    Statement("ED2", "leadership",
              "Nos dirigeants ont expliqué pourquoi l’expérience client doit changer, et répètent une vision "
              "simple et claire de ce changement.",
              "Our leaders have explained why the customer experience must change, and keep repeating a "
              "simple, clear vision of it.", (14, 30, 43)),
    Statement("ED3", "leadership",
              "Nos dirigeants se comportent comme ils demandent aux employés de se comporter ; leurs décisions "
              "sont conformes à leurs discours.",
              "Our leaders behave as they ask employees to behave; their decisions match what they say.",
              (63, 47, 3)),
    Statement("VAM1", "brand_values",
              "Nous savons compléter la phrase « nous promettons à nos clients de… », et nos clients s’y "
              "reconnaîtraient.",
              "We can complete the sentence \"we promise our customers to…\", and our customers would "
              "recognise it.", (67, 4, 54)),
    Statement("VAM2", "brand_values",
              "Chaque employé connaît les promesses faites aux clients, et il est formé et accompagné pour "
              "les tenir.",
              "Every employee knows the promises made to customers, and is trained and coached to keep them.",
              (58, 78, 50)),
    Statement("VAM3", "brand_values",
              "Nous mesurons si nous tenons nos promesses (délais, rappels, échéances) et corrigeons celles "
              "que nous ne tenons pas.",
              "We measure whether we keep our promises (delivery dates, callbacks, deadlines) and fix the "
              "ones we break.", (51, 11, 34)),
    Statement("EE1", "employees",
              "Nous demandons régulièrement leur avis aux employés sur l’expérience client et donnons suite "
              "à ce qu’ils disent.",
              "We regularly ask employees what they think of the customer experience, and follow up on what "
              "they say.", (7, 76, 71)),
    Statement("EE2", "employees",
              "Le recrutement, l’intégration, la formation et les primes transmettent nos valeurs client.",
              "Hiring, onboarding, training and incentives carry our customer values.", (23, 37, 15)),
    Statement("EE3", "employees",
              "Nous partageons les histoires d’employés qui ont aidé des clients et célébrons les réussites "
              "de l’expérience client.",
              "We share stories of employees who helped customers, and celebrate customer-experience "
              "successes.", (12, 40, 77)),
    Statement("CC1", "customers",
              "Nous examinons les parcours de nos clients dans leur ensemble, tous canaux confondus, et non "
              "canal par canal.",
              "We look at our customers' journeys as a whole, across channels, not channel by channel.",
              (1, 70)),
    Statement("CC2", "customers",
              "Nous utilisons ce que nous savons des clients (historique, comportements, segment) pour ne "
              "jamais leur demander deux fois la même chose et adapter ce que nous faisons.",
              "We use what we know about customers (history, behaviour, segment) never to ask them the same "
              "thing twice, and to tailor what we do.", (22, 62, 9)),
    Statement("CC3", "customers",
              "Nous lisons les mots mêmes des clients (questions ouvertes, verbatims) et agissons en "
              "conséquence, pas seulement sur les scores.",
              "We read customers' own words (open questions, verbatims) and act on them, not only on "
              "scores.", (17, 6, 65)),
)
_BY_ID = {s.id: s for s in STATEMENTS}


def _score(statement: str, value: Any) -> int:
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise MaturityError(statement, f"{statement}: no answer; choose a whole number from 1 to 5")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise MaturityError(statement, f"{statement}: {value!r} is not a whole number; "
                                           "choose one from 1 to 5") from None
    if not isinstance(value, int):
        raise MaturityError(statement, f"{statement}: {value!r} is not a whole number; choose one from 1 to 5")
    if not SCALE[0] <= value <= SCALE[1]:
        raise MaturityError(statement, f"{statement}: {value} is not on the scale; choose a whole number "
                                       "from 1 to 5")
    return value


def check(answers: Mapping[str, Any]) -> dict[str, int]:
    """The answers as {statement: score}; MaturityError names the first statement at fault
    (unknown, unanswered, not a whole number, off the 1–5 scale)."""
    if not isinstance(answers, Mapping):
        raise MaturityError("answers", "answers: give an object {statement id: score 1–5}")
    for sid in answers:
        if sid not in _BY_ID:
            raise MaturityError(str(sid), f"{sid}: unknown statement; the statements are "
                                          f"{', '.join(_BY_ID)}")
    return {s.id: _score(s.id, answers.get(s.id)) for s in STATEMENTS}


def record(store: Store, answers: Mapping[str, Any], by: str | None, *, now: datetime | None = None) -> str:
    """Store one complete self-assessment (every statement answered); returns its id."""
    scores = check(answers)
    aid, at = uuid.uuid4().hex[:16], now or datetime.now(timezone.utc)
    rows = [[aid, at, by, sid, _BY_ID[sid].competency, v] for sid, v in scores.items()]
    with store.write_lock, store.transaction() as con:
        con.executemany("INSERT INTO maturity_answers (assessment_id, answered_at, answered_by, statement, "
                        "competency, score) VALUES (?, ?, ?, ?, ?, ?)", rows)
    store.touch()
    return aid


def score_of(values: list[int]) -> float:
    """A competency's 0–100 score from its 1–5 answers: 100 · (mean − 1) / 4."""
    return 100.0 * (sum(values) / len(values) - SCALE[0]) / (SCALE[1] - SCALE[0])


def latest(store: Store, lang: str = "en") -> dict[str, Any] | None:
    """The latest self-assessment: scores per competency (0–100), the statements with their
    answers, and the weakest competencies (see the module); None before the first one."""
    rows = store.query("""
        SELECT assessment_id, answered_at, answered_by, statement, score FROM maturity_answers
         WHERE assessment_id = (SELECT assessment_id FROM maturity_answers
                                 ORDER BY answered_at DESC, assessment_id DESC LIMIT 1)""")
    if not rows:
        return None
    answers = {r[3]: r[4] for r in rows if r[3] in _BY_ID}  # statements retired since are ignored
    statements = {c: [{"id": s.id, "text": s.text(lang), "score": answers[s.id], "tips": list(s.tips)}
                      for s in STATEMENTS if s.competency == c and s.id in answers] for c in COMPETENCY_ORDER}
    scores = {c: score_of([s["score"] for s in st]) for c, st in statements.items() if st}
    low = min(scores.values())
    weakest = [{"competency": c, "score": v, "statements": statements[c]}
               for c, v in sorted(scores.items(), key=lambda kv: (kv[1], COMPETENCY_ORDER.index(kv[0])))
               if v == low or v < NEUTRAL]
    return {"assessment_id": rows[0][0], "answered_at": rows[0][1], "answered_by": rows[0][2],
            "scores": scores, "statements": statements, "weakest": weakest}
