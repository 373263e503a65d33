"""Sentiment and intensity of short French and English texts: lexicons and a few rules.

A text is cut into clauses (at punctuation and at "mais"/"but"); each word found in the
lexicons adds its polarity to its clause, changed by the words around it, as VADER does
(Hutto & Gilbert 2014). Words are folded ("DÉÇU" and "decu" meet); the hand-written CX words
are matched by Snowball stem ("remboursée", "rembourses"), the vendored lexicons by folded
form, because their thousands of entries would collide on short French stems ("génère" is not
"généreux").

- a negation up to three words before flips it and weakens it (× −0.74): "pas bon", "not good",
  "ne répond jamais"; SMS French drops the "ne", so "recommande pas" is read too;
- an intensifier or a downtoner just before scales it: "très" × 1.5, "un peu" × 0.5;
  "peu aimable" means unfriendly in French, so a bare "peu" flips like a weak negation;
- capitals ("NUL") and exclamation marks strengthen it;
- after "mais" / "but" the clause weighs 1.5 and what came before it in the sentence (or the
  sentence before, when "Mais" opens one) 0.5;
- a clause in the conditional ("would", "aurait") says what did not happen and counts for
  nothing (irrealis blocking, Taboada et al. 2011);
- negative words weigh 1.5 (Taboada et al. 2011): reviews use more positive words than they
  mean, and a plain sum leans positive.

The polarity is the weighted sum squashed into −1..1 (x / √(x² + 1)); the intensity is the
strongest word's strength with its emphasis, squashed into 0..1. Lexicons: lexicons/SOURCES.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .language import LANGUAGES, _stem, fold

__all__ = ["Clause", "Reading", "label", "pieces", "read"]

NEGATION = -0.74          # VADER's N_SCALAR: "not good" is less bad than "bad" is bad
NEGATIVE_WEIGHT = 1.5     # Taboada et al. (2011), "negative weighting"
CAPS = 1.3                # a word in capitals, or its intensifier ("TRÈS lent")
EXCLAMATION = 0.15        # per "!" closing the clause, at most three
BEFORE_CONTRAST, AFTER_CONTRAST = 0.5, 1.5
WINDOW = 3                # words a negation or intensifier reaches forward
NEUTRAL = 0.05            # |polarity| under this is neutral (VADER's compound threshold)

_NEGATORS = {
    "fr": frozenset("ne pas jamais rien aucun aucune aucunement nullement sans ni guere".split()),
    "en": frozenset(("not no never nothing nobody none neither nor without cannot cant dont didnt doesnt isnt"
                     " wasnt wont wouldnt shouldnt couldnt arent werent havent hasnt hadnt aint nowhere hardly"
                     " barely").split()),
}
#: Negations that may follow the word they negate when "ne" is dropped: "ça marche pas".
_AFTER_NEGATORS = frozenset("pas jamais".split())
_INTENSIFIERS: dict[str, dict[tuple[str, ...], float]] = {
    "fr": {("tres",): 1.5, ("trop",): 1.5, ("vraiment",): 1.3, ("tellement",): 1.5, ("si",): 1.3,
           ("extremement",): 1.8, ("hyper",): 1.5, ("super",): 1.4, ("totalement",): 1.5,
           ("completement",): 1.5, ("absolument",): 1.5, ("vachement",): 1.5, ("carrement",): 1.5,
           ("particulierement",): 1.3, ("franchement",): 1.2, ("beaucoup",): 1.3,
           ("bien",): 1.2, ("assez",): 0.8, ("plutot",): 0.8, ("legerement",): 0.5, ("moyennement",): 0.5,
           ("un", "peu"): 0.5, ("un", "petit", "peu"): 0.4, ("peu",): -0.5, ("pas", "assez"): -0.5},
    "en": {("very",): 1.5, ("really",): 1.3, ("so",): 1.3, ("too",): 1.5, ("extremely",): 1.8,
           ("totally",): 1.5, ("absolutely",): 1.5, ("completely",): 1.5, ("incredibly",): 1.6,
           ("super",): 1.4, ("truly",): 1.3, ("highly",): 1.4, ("particularly",): 1.3, ("quite",): 1.1,
           ("pretty",): 1.1, ("rather",): 0.8, ("somewhat",): 0.7, ("fairly",): 0.8, ("slightly",): 0.5,
           ("a", "bit"): 0.5, ("a", "little"): 0.5, ("kind", "of"): 0.6, ("sort", "of"): 0.6,
           ("not", "enough"): -0.5},
}
_IRREALIS = {
    "en": frozenset("would could should might if".split()),
    "fr": frozenset(("aurait aurais auraient serait serais seraient pourrait pourrais pourraient devrait devrais"
                     " devraient voudrais aimerais faudrait").split()),
}
#: Vendored lexicons per language. VADER-fr is a translation of the English VADER and is not
#: used: it agrees less with the native French lexicon than VADER does with the English one,
#: and it cost 4 points on the French reviews (docs/verbatims.md says how this was decided).
_SOURCES = {"fr": ("textblob",), "en": ("textblob", "vader")}
_CONTRASTS = {
    "fr": frozenset({("mais",), ("cependant",), ("pourtant",), ("toutefois",), ("neanmoins",),
                     ("par", "contre"), ("en", "revanche")}),
    "en": frozenset({("but",), ("however",), ("except",)}),
}
_INTENSIFIER_FIRSTS = {lang: frozenset(k[0] for k in table) for lang, table in _INTENSIFIERS.items()}
_CONTRAST_ENDS = {lang: frozenset(k[-1] for k in table) for lang, table in _CONTRASTS.items()}
_CLAUSE_ONLY = frozenset(",:-–")   # these end a clause, not a sentence
_EMOTICONS = {":)": 0.5, ":-)": 0.5, ":d": 0.6, ":-d": 0.6, ";)": 0.4, ";-)": 0.4, ":p": 0.3, "<3": 0.7,
              ":(": -0.5, ":-(": -0.5, ":'(": -0.6, ":/": -0.3, ":-/": -0.3, ":|": -0.1, ">:(": -0.7}
_TOKEN = re.compile(r"(?P<emo>>?[:;=][-']?[()dDpP/|]|<3)|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)"
                    r"|(?P<bang>!)|(?P<stop>[.?;…\n]|,|:|\s[-–]\s)")
_ELISION_FR = re.compile(r"^(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu)'")
_SUFFIX_EN = re.compile(r"'(?:s|m|re|ve|ll|d)$")


@dataclass(frozen=True, slots=True)
class Clause:
    """A run of words between punctuation or contrast words."""

    stems: tuple[str, ...]
    score: float      # sum of the words' polarities after negation and intensifiers
    weight: float     # 0.5 before a contrast, 1.5 after it, else 1


@dataclass(frozen=True, slots=True)
class Reading:
    polarity: float
    intensity: float
    clauses: tuple[Clause, ...]


@dataclass(frozen=True, slots=True)
class _Lexicon:
    forms: dict[str, float]                                    # folded word -> polarity (vendored)
    words: dict[str, float]                                    # stem -> polarity (hand-written, emoticons)
    phrases: dict[str, tuple[tuple[tuple[str, ...], float, bool], ...]]  # first stem -> (stems, polarity, closed)


def read(text: str, language: str) -> Reading:
    """Polarity (−1..1), intensity (0..1) and the scored clauses of ``text``."""
    lexicon = _lexicon(language)
    clauses: list[Clause] = []
    sentences: list[int] = []
    peak = 0.0
    for words, bangs, contrast, sentence in _clauses(text, language):
        if contrast and clauses:
            reach = sentence if sentences[-1] == sentence else sentences[-1]
            clauses = [Clause(c.stems, c.score, BEFORE_CONTRAST) if s >= reach else c
                       for c, s in zip(clauses, sentences)]
        score, strongest = _score(words, language, lexicon)
        if any(w[0] in _IRREALIS[language] for w in words):
            score = strongest = 0.0
        emphasis = 1.0 + EXCLAMATION * min(bangs, 3)
        clauses.append(Clause(tuple(w[1] for w in words), score * emphasis,
                              AFTER_CONTRAST if contrast and clauses else 1.0))
        sentences.append(sentence)
        peak = max(peak, strongest * emphasis)
    total = sum(c.score * c.weight for c in clauses)
    return Reading(total / math.sqrt(total * total + 1.0), 1.0 - math.exp(-2.0 * peak), tuple(clauses))


def label(polarity: float) -> str:
    """"negative", "neutral" or "positive"."""
    return "positive" if polarity >= NEUTRAL else "negative" if polarity <= -NEUTRAL else "neutral"


_Word = tuple[str, str, bool]   # folded word, stem, in capitals


def _clauses(text: str, language: str) -> Iterator[tuple[list[_Word], int, bool, int]]:
    """(words, "!" count after them, follows a contrast word, sentence number) for each clause."""
    words: list[_Word] = []
    bangs, contrast, sentence = 0, False, 0
    contrast_ends = _CONTRAST_ENDS[language]
    for match in _TOKEN.finditer(text):
        kind, token = match.lastgroup, match.group()
        if kind == "bang":
            bangs += 1
        elif kind == "stop" or bangs:       # "Super ! Rapide" : the "!" closed a clause too
            if words:
                yield words, bangs, contrast, sentence
                words, contrast = [], False
            if bangs or token.strip() not in _CLAUSE_ONLY:
                sentence += 1
            bangs = 0
        if kind == "word" or kind == "emo":
            caps = kind == "word" and len(token) > 1 and token.isupper()
            for folded, stem in pieces(language, token.lower()):
                words.append((folded, stem, caps))
                if folded in contrast_ends and (n := _contrast_at(words, language)):
                    del words[-n:]
                    if words:
                        yield words, 0, contrast, sentence
                    words, contrast = [], True
    if words:
        yield words, bangs, contrast, sentence


def _contrast_at(words: list[_Word], language: str) -> int:
    """Length of a contrast word or phrase ending the words, 0 if none."""
    for n in (2, 1):
        if len(words) >= n and tuple(w[0] for w in words[-n:]) in _CONTRASTS[language]:
            return n
    return 0


@lru_cache(maxsize=131072)
def pieces(language: str, token: str) -> tuple[tuple[str, str], ...]:
    """(folded word, stem) pairs of a lower-case token: "n'est" → ne, est; "don't" → do, not."""
    if token in _EMOTICONS:
        return ((token, token),)
    folded = fold(token)
    if language == "fr":
        elided = _ELISION_FR.match(folded)
        parts = ["ne" if elided.group() == "n'" else "", folded[elided.end():]] if elided else [folded]
    elif folded.endswith("n't"):
        parts = [folded[:-3], "not"]
    else:
        parts = [_SUFFIX_EN.sub("", folded)]
    return tuple((p, _stem(language, p.replace("'", ""))) for p in parts if p)


_NEG = 0.0     # role of a negation; an intensifier's role is its factor


def _parse(words: list[_Word], language: str, lexicon: _Lexicon) -> tuple[list[float], list[float | None], list[bool]]:
    """Per position: lexicon polarity, grammatical role, and whether the polarity is an idiom
    holding its own negation ("pas terrible"). Idioms come first, then negations and
    intensifiers ("kind of" is not "kind"), then single words."""
    n = len(words)
    values, closed = [0.0] * n, [False] * n
    roles: list[float | None] = [None] * n
    taken = [False] * n
    for i in range(n):
        for stems, value, holds in lexicon.phrases.get(words[i][1], ()):
            if not any(taken[i:i + len(stems)]) and tuple(w[1] for w in words[i:i + len(stems)]) == stems:
                values[i], closed[i] = value, holds
                taken[i:i + len(stems)] = [True] * len(stems)
                break
    intensifiers, firsts, negators = _INTENSIFIERS[language], _INTENSIFIER_FIRSTS[language], _NEGATORS[language]
    i = 0
    while i < n:
        for span in (3, 2, 1) if words[i][0] in firsts else ():
            key = tuple(w[0] for w in words[i:i + span])
            if len(key) == span and not any(taken[i:i + span]) and key in intensifiers:
                roles[i + span - 1] = intensifiers[key]
                taken[i:i + span - 1] = [True] * (span - 1)
                i += span
                break
        else:
            if not taken[i] and words[i][0] in negators:
                roles[i] = _NEG
            i += 1
    for i in range(n):
        if not taken[i] and roles[i] != _NEG:
            values[i] = lexicon.words.get(words[i][1]) or lexicon.forms.get(words[i][0], 0.0)
    return values, roles, closed


def _score(words: list[_Word], language: str, lexicon: _Lexicon) -> tuple[float, float]:
    """(sum of the clause's polarities after modifiers, strongest absolute one)."""
    folded = [w[0] for w in words]
    values, roles, closed = _parse(words, language, lexicon)
    n = len(words)
    score = strongest = 0.0
    for i, value in enumerate(values):
        if value == 0.0:
            continue
        ahead = values[i + 1:i + 1 + WINDOW]
        if roles[i] is not None and any(ahead):
            continue                       # "super" in "super rapide" only strengthens "rapide"
        negated, caps = False, words[i][2]
        for j in range(i - 1, max(-1, i - 1 - WINDOW), -1):
            if values[j] and roles[j] is None:
                break                      # an earlier opinion word takes the modifiers before it
            if roles[j] == _NEG:
                negated = True
            elif roles[j] is not None:
                value *= roles[j]          # type: ignore[operator]
                caps = caps or words[j][2]
        if (not negated and language == "fr" and i + 1 < n and folded[i + 1] in _AFTER_NEGATORS
                and not (i + 2 < n and values[i + 2])):
            negated = True                 # "recommande pas", "marche plus"
        if negated and not closed[i]:
            value *= NEGATION
        if caps:
            value *= CAPS
        if value < 0:
            value *= NEGATIVE_WEIGHT
        score += value
        strongest = max(strongest, abs(value))
    return score, strongest


@lru_cache(maxsize=None)
def _lexicon(language: str) -> _Lexicon:
    """The vendored lexicons (a form in both: the mean), and the hand-written CX words over them."""
    if language not in LANGUAGES:
        raise ValueError(f"no lexicon for language {language!r}")
    forms: dict[str, list[float]] = {}
    for source in _SOURCES[language]:
        for form, written in _rows(f"{source}-{language}.tsv"):
            forms.setdefault(fold(form), []).append(float(written))
    words = dict(_EMOTICONS)
    phrases: dict[str, list[tuple[tuple[str, ...], float, bool]]] = {}
    negators = _NEGATORS[language]
    for phrase, polarity in _cx(language):
        parts = [p for token in phrase.split() for p in pieces(language, token)]
        stems = tuple(stem for _, stem in parts)
        if len(stems) == 1:
            words[stems[0]] = polarity
        else:
            holds = any(folded in negators for folded, _ in parts)
            phrases.setdefault(stems[0], []).append((stems, polarity, holds))
    longest_first = {k: tuple(sorted(v, key=lambda e: -len(e[0]))) for k, v in phrases.items()}
    return _Lexicon({form: sum(v) / len(v) for form, v in forms.items()}, words, longest_first)


def _rows(name: str) -> Iterator[list[str]]:
    text = resources.files("parcours.text").joinpath("lexicons", name).read_text(encoding="utf-8")
    return (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))


def _cx(language: str) -> list[tuple[str, float]]:
    return [(phrase, float(value)) for lang, phrase, value in _rows("cx.tsv") if lang == language]
