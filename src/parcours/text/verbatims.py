"""Verbatim analysis, offline, French and English: language, sentiment with intensity,
themes and the sentiment of each theme (aspects), and topics found in what is left.

>>> [a] = analyse(["Livraison rapide mais le service client ne répond jamais"])
>>> a.language, a.label, a.themes
('fr', 'negative', ('delivery', 'reachability'))
>>> a.aspects
(('delivery', 'positive'), ('reachability', 'negative'))

How it works and how well: docs/verbatims.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .language import LANGUAGES, detect_language
from .sentiment import label, read
from .themes import THEMES, Topic, discover, find, theme_name

__all__ = ["THEMES", "Analysis", "Topic", "analyse", "discover", "theme_name"]


@dataclass(frozen=True, slots=True)
class Analysis:
    """What one verbatim says."""

    language: str                              # "fr" or "en"
    sentiment: float                           # polarity, −1..1
    label: str                                 # "negative", "neutral" or "positive"
    intensity: float                           # 0..1: how strongly it is felt
    themes: tuple[str, ...]                    # keys of THEMES, named in most clauses first
    aspects: tuple[tuple[str, str], ...]       # (theme, label of the clauses that mention it)


def analyse(texts: Sequence[str | None], languages: Sequence[str | None] | None = None) -> list[Analysis]:
    """One Analysis per text, in order. A language given as "fr" or "en" is trusted; otherwise
    (None, "", "de"…) the text's language is detected. An empty text is neutral and themeless,
    in the language given, else French. Pure and thread-safe."""
    if languages is not None and len(languages) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
    return [_one(text, languages[i] if languages is not None else None) for i, text in enumerate(texts)]


def _one(text: str | None, given: str | None) -> Analysis:
    if not text or not text.strip():
        return Analysis(given if given in LANGUAGES else "fr", 0.0, "neutral", 0.0, (), ())
    language = given if given in LANGUAGES else detect_language(text, "fr")
    reading = read(text, language)
    mentions: dict[str, int] = {}         # theme -> clauses naming it
    scores: dict[str, float] = {}         # theme -> sum of those clauses' scores
    for clause in reading.clauses:
        for key in dict.fromkeys(find(clause.stems, language)):
            mentions[key] = mentions.get(key, 0) + 1
            scores[key] = scores.get(key, 0.0) + clause.score
    order = sorted(mentions, key=lambda key: -mentions[key])       # stable: first named first on ties
    overall = label(reading.polarity)
    # a theme named where no opinion is said ("Quarante minutes pour avoir quelqu'un.") takes the
    # comment's tone: a short comment is about what it names
    return Analysis(language, round(reading.polarity, 4), overall, round(reading.intensity, 4), tuple(order),
                    tuple((key, label(scores[key]) if label(scores[key]) != "neutral" else overall) for key in order))
