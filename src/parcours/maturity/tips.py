"""Advice: Bruce Temkin's customer-experience tips (seed 003) for the weakest points.

Temkin posted 100 tips in 2015–2016, each tagged with one of his four competencies. Seed 003
holds ContactDistance's French translation of tips 1–80 (parts 1–4, by Temkin's permission);
tips 81–100 are not in the seed and are not invented here. ``tips.toml`` keeps the French as
the seed gives it and an English rendering translated back from that French (Temkin's own
English wording is not in the seed).

Advice is picked two ways: for a failed Ovum criterion, the tips mapped to it in
:data:`CRITERION_TIPS` (what the criterion measures, in Temkin's words); for a weak
competency of the self-assessment, the tips of its weakest statements first
(:data:`parcours.maturity.temkin.STATEMENTS` name theirs), then the competency's others.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["COMPETENCIES", "CRITERION_TIPS", "Tip", "advice", "all_tips", "by_competency", "tip"]

#: Temkin's four competencies, in his order, with the seed's French tag
COMPETENCIES: dict[str, dict[str, str]] = {
    "leadership": {"tag": "ED", "en": "Purposeful leadership", "fr": "Engagement des dirigeants"},
    "brand_values": {"tag": "VAM", "en": "Compelling brand values", "fr": "Valeurs absolues de la marque"},
    "employees": {"tag": "EE", "en": "Employee engagement", "fr": "Engagement des employés"},
    "customers": {"tag": "CC", "en": "Customer connectedness", "fr": "Connexion client"},
}

#: the tips that speak to each Ovum criterion, most relevant first
CRITERION_TIPS: dict[str, tuple[int, ...]] = {
    # one customer recognised everywhere: journeys as a whole, use the data you have, behaviour
    "identity": (1, 22, 24, 70),
    # context carried between channels: never ask twice, small things that matter, last acts
    "context": (22, 1, 6, 28, 27),
    # the same experience on every channel: every interaction builds or destroys the brand
    "consistency": (26, 34, 51, 4, 11),
    # stores and remote channels alike: the brand is how customers are treated, train to keep promises
    "physical_remote": (34, 26, 78, 50),
    # acting before the problem, and measuring it: customer knowledge in small decisions
    "proactive": (62, 65, 38, 55, 9),
}

HERE = Path(__file__).parent
LANGUAGES = ("fr", "en")


@dataclass(frozen=True)
class Tip:
    number: int
    competency: str
    tag: str
    fr: str
    en: str

    def text(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


@lru_cache(maxsize=1)
def all_tips() -> dict[int, Tip]:
    """Every tip of the seed (1–80), by number."""
    data = tomllib.loads((HERE / "tips.toml").read_text(encoding="utf-8"))
    return {t["number"]: Tip(**t) for t in data["tip"]}


def tip(number: int) -> Tip:
    """One tip; KeyError names a number the seed does not hold (81–100 are not in it)."""
    try:
        return all_tips()[number]
    except KeyError:
        raise KeyError(f"tip {number}: the seed holds Temkin's tips 1–80 only") from None


def by_competency(competency: str) -> list[Tip]:
    """The tips of one competency, by number."""
    if competency not in COMPETENCIES:
        raise KeyError(f"competency {competency!r}: one of {', '.join(COMPETENCIES)}")
    return [t for t in all_tips().values() if t.competency == competency]


def _row(t: Tip, lang: str) -> dict[str, Any]:
    return {"number": t.number, "competency": t.competency, "text": t.text(lang)}


def advice(*, failed_criteria: list[str] | tuple[str, ...] = (), weak: list[dict[str, Any]] | None = None,
           lang: str = "en", per_point: int = 3) -> list[dict[str, Any]]:
    """A short list of tips for each weak point, in ``lang`` (fr or en).

    ``failed_criteria``: ids of failed Ovum criteria (see :data:`CRITERION_TIPS`).
    ``weak``: weak competencies as :func:`parcours.maturity.temkin.latest` gives them
    (``competency`` and ``statements``, each with ``tips`` and ``score``).
    Returns rows ``{"kind": "criterion"|"competency", "id", "tips": [{number, competency, text}]}``;
    a tip already given for an earlier point is not repeated.
    """
    lang = lang if lang in LANGUAGES else "en"
    given: set[int] = set()
    out: list[dict[str, Any]] = []

    def pick(numbers: list[int]) -> list[dict[str, Any]]:
        rows = []
        for n in numbers:
            if n in given or n not in all_tips():
                continue
            given.add(n)
            rows.append(_row(all_tips()[n], lang))
            if len(rows) == per_point:
                break
        return rows

    for cid in failed_criteria:
        if cid not in CRITERION_TIPS:
            raise KeyError(f"criterion {cid!r}: one of {', '.join(CRITERION_TIPS)}")
        out.append({"kind": "criterion", "id": cid, "tips": pick(list(CRITERION_TIPS[cid]))})
    for w in weak or []:
        # the tips of the lowest-scored statements first, then the competency's others in order
        statements = sorted(w.get("statements", []), key=lambda s: (s["score"], s["id"]))
        numbers = [n for s in statements for n in s["tips"]] + [t.number for t in by_competency(w["competency"])]
        out.append({"kind": "competency", "id": w["competency"], "tips": pick(numbers)})
    return out
