"""The FAQ knowledge base: articles in French and English, searched offline with BM25.

Articles ship as one TOML file per language in ``desk/kb/`` (id, title, topic, body,
paraphrased ``questions`` and the id of the ``translation``). Search reads customer text the
way customers write it: accents or not, SMS shorthand, one typo per word, French elisions
(see :mod:`parcours.text.language`). Each search also says how sure it is: a confidence in
[0, 1] from a logistic model of the score margin and of how much of the question the best
article explains, fitted when the base is built on the base's own questions, held out fold
by fold, and on its off-topic examples. The bot answers above a threshold, hands over below.

>>> kb = KnowledgeBase.load()
>>> found = kb.search("jai oublie mon mdp", "fr")
>>> found.best.article.id, found.confidence > 0.5
('mot-de-passe-connexion', True)
"""

from __future__ import annotations

import math
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import ClassVar

import bm25s
import numpy as np

from parcours.text.language import LANGUAGES, fold, stems, terms

__all__ = ["Article", "Calibration", "Hit", "KnowledgeBase", "Search", "TOPICS", "read_articles"]

#: Topics of articles: the demo world's case topics, plus shops and ways to reach us.
TOPICS = ("billing", "delivery", "product", "account", "returns", "technical", "stores")
#: Weight of the title's words against the body's (the title says what the article is about).
TITLE_WEIGHT = 2
#: Weight of words matched as written, beside their stems: stems join "ferme" (closes) and
#: "fermer" (close an account), "sms" and "sm"; the exact word settles such ties.
SURFACE_WEIGHT = 0.5
_FOLDS = 4
_MIN_TYPO_LEN = 7


@dataclass(frozen=True)
class Article:
    """One answer of the FAQ, in one language, linked to its translation."""

    id: str
    language: str
    title: str
    body: str
    topic: str
    questions: tuple[str, ...] = ()
    translation: str | None = None

    @property
    def text(self) -> str:
        """What the customer reads: the title, then the body."""
        return f"{self.title}\n\n{self.body}"


@dataclass(frozen=True)
class Hit:
    """An article and its BM25 score for one question."""

    article: Article
    score: float


@dataclass(frozen=True)
class Search:
    """The articles found for a question, best first, and how sure the base is of the first."""

    query: str
    language: str
    hits: tuple[Hit, ...]
    confidence: float
    terms: tuple[str, ...]

    @property
    def best(self) -> Hit | None:
        """The first hit, or None when no article shares a word with the question."""
        return self.hits[0] if self.hits else None


@dataclass(frozen=True)
class _Source:
    """One language's file: its articles, query synonyms and off-topic examples."""

    language: str
    articles: tuple[Article, ...]
    synonyms: Mapping[str, tuple[str, ...]]
    offtopic: tuple[str, ...]


def read_articles(text: str) -> list[Article]:
    """The articles of one TOML file (the format of ``desk/kb/*.toml``)."""
    return list(_read_source(text).articles)


def _read_source(text: str) -> _Source:
    """Parse one language's file, checking what the search relies on."""
    data = tomllib.loads(text)
    language = data["language"]
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: expected one of {LANGUAGES}")
    articles = tuple(_article(item, language) for item in data.get("article", []))
    synonyms = {fold(k): tuple(fold(v).split()) for k, v in data.get("synonyms", {}).items()}
    return _Source(language, articles, synonyms, tuple(data.get("offtopic", [])))


def _article(item: Mapping[str, object], language: str) -> Article:
    """One [[article]] table as an Article, with its topic checked."""
    topic = str(item["topic"])
    if topic not in TOPICS:
        raise ValueError(f"article {item['id']!r}: unknown topic {topic!r}")
    questions = item.get("questions", [])
    if not isinstance(questions, list):
        raise ValueError(f"article {item['id']!r}: questions must be a list of strings")
    translation = item.get("translation")
    return Article(id=str(item["id"]), language=language, title=str(item["title"]).strip(),
                   body=" ".join(str(item["body"]).split()), topic=topic,
                   questions=tuple(str(q) for q in questions),
                   translation=str(translation) if translation else None)


def _packaged() -> Traversable:
    """The shipped articles, wherever the package is installed."""
    return resources.files("parcours.desk").joinpath("kb")


# --- typo-tolerant vocabulary --------------------------------------------------------------


def _deletes(word: str) -> set[str]:
    """The word with one letter removed, in every position."""
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _osa(a: str, b: str) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


_ELIDED_FR = ("qu", "l", "d", "j", "m", "n", "s", "t", "c")


class _Vocabulary:
    """Words of the articles, to put a misspelt word back on a known one (one edit away).

    A symmetric-delete lookup (as in SymSpell): every known word is stored under its
    one-letter deletions, so candidates are found by a few dictionary reads.
    """

    def __init__(self, counts: Counter[str], known_stems: set[str], language: str) -> None:
        self.counts, self.known_stems, self.language = counts, known_stems, language
        self.by_delete: dict[str, set[str]] = {}
        for word in counts:
            if len(word) >= _MIN_TYPO_LEN and not word.isdigit():
                for key in _deletes(word) | {word}:
                    self.by_delete.setdefault(key, set()).add(word)

    def correct(self, word: str) -> str:
        """The known word nearest to ``word`` (most frequent on ties), or ``word`` itself."""
        if word in self.counts or len(word) < _MIN_TYPO_LEN or word.isdigit():
            return word
        if stems([word], self.language)[0] in self.known_stems:
            return word
        elided = self._elided(word)
        if elided is not None:
            return elided
        candidates = set(self.by_delete.get(word, ()))
        for key in _deletes(word):
            candidates |= self.by_delete.get(key, set())
        near = [c for c in candidates if c[0] == word[0] and _osa(word, c) <= 1]
        return max(near, key=lambda c: (self.counts[c], c)) if near else word

    def _elided(self, word: str) -> str | None:
        """A known French word behind an elision typed without its apostrophe ("letiquette")."""
        if self.language != "fr":
            return None
        for prefix in _ELIDED_FR:
            rest = word[len(prefix):]
            if word.startswith(prefix) and len(rest) >= 4 and rest[0] in "aeiouyh" and rest in self.counts:
                return rest
        return None


# --- one language's index --------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    """A question read by one language's index."""

    stems: list[str]
    words: list[str]
    known: float


def _document(article: Article) -> list[str]:
    """The words an article is found by: title (weighted), questions, body."""
    lang = article.language
    title = terms(article.title, lang) * TITLE_WEIGHT
    questions = [w for q in article.questions for w in terms(q, lang)]
    return title + questions + terms(article.body, lang)


class _Index:
    """BM25 over one language's articles, and what the confidence model needs to know."""

    def __init__(self, articles: Sequence[Article], synonyms: Mapping[str, tuple[str, ...]]) -> None:
        self.articles = tuple(articles)
        self.language = articles[0].language
        self.synonyms = {stems([k], self.language)[0]: tuple(stems(list(v), self.language))
                         for k, v in synonyms.items()}
        docs = [_document(a) for a in self.articles]
        doc_stems = [stems(d, self.language) for d in docs]
        self.stem_sets = [set(d) for d in doc_stems]
        known = set().union(*self.stem_sets)
        self.vocabulary = _Vocabulary(Counter(w for d in docs for w in d), known, self.language)
        n = len(docs)
        df = Counter(s for d in self.stem_sets for s in d)
        self.idf = {s: math.log(1 + (n - c + 0.5) / (c + 0.5)) for s, c in df.items()}
        self.max_idf = math.log(1 + (n - 0.5) / 1.5)
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self.bm25.index(doc_stems, show_progress=False)
        self.surface = bm25s.BM25(k1=1.2, b=0.75)
        self.surface.index(docs, show_progress=False)

    def query(self, text: str) -> _Query:
        """The question as the index reads it: typos corrected, synonyms added to the stems.

        ``known`` counts a corrected word as half known: a correction is a guess.
        """
        words = terms(text, self.language)
        corrected = [self.vocabulary.correct(w) for w in words]
        raw, fixed = stems(words, self.language), stems(corrected, self.language)
        known = sum(1.0 if r in self.idf else 0.5 if f in self.idf else 0.0 for r, f in zip(raw, fixed))
        expanded = [t for s in fixed for t in (s, *self.synonyms.get(s, ()))]
        return _Query(expanded, corrected, known / len(raw) if raw else 0.0)

    def scores(self, query: _Query) -> np.ndarray:
        """BM25 of the stems plus a share of BM25 of the words as written (zeros when no word
        of the question is known)."""
        out = np.zeros(len(self.articles))
        for bm25, tokens, weight in ((self.bm25, query.stems, 1.0), (self.surface, query.words, SURFACE_WEIGHT)):
            known = [t for t in tokens if t in bm25.vocab_dict]
            if known:
                out += weight * np.asarray(bm25.get_scores(known), dtype=float)
        return out


# --- confidence --------------------------------------------------------------------------------


def _features(index: _Index, query: _Query, scores: np.ndarray) -> np.ndarray:
    """What makes a first hit trustworthy: it stands out from the second, the question's words
    are known as written, the score itself, the rarity of the words it matched, and the
    rarity of those it left unexplained (an off-topic question often matches one word)."""
    order = np.argsort(-scores, kind="stable")
    top = float(scores[order[0]]) if len(order) else 0.0
    second = float(scores[order[1]]) if len(order) > 1 else 0.0
    margin = (top - second) / top if top > 0 else 0.0
    words = set(query.stems)
    matched = {s for s in words if s in index.stem_sets[int(order[0])]} if top > 0 else set()
    explained = sum(index.idf.get(s, 0.0) for s in matched)
    unexplained = sum(index.idf.get(s, index.max_idf) for s in words - matched)
    return np.array([1.0, margin, query.known, math.log1p(top), math.log1p(explained), math.log1p(unexplained)])


@dataclass(frozen=True)
class Calibration:
    """Logistic model from search features to the probability that the first hit is right."""

    weights: tuple[float, ...]

    #: The shipped base's model, rounded: for a base too small to fit its own (fewer than
    #: ``MIN_EXAMPLES`` held-out questions, or only right or only wrong ones).
    DEFAULT: ClassVar[tuple[float, ...]] = (-5.7, 4.13, 2.71, 6.56, -4.69, 0.12)
    MIN_EXAMPLES: ClassVar[int] = 40

    def confidence(self, features: np.ndarray) -> float:
        """Probability in [0, 1] that the first hit answers the question."""
        z = float(np.dot(self.weights, features))
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, l2: float = 0.1, steps: int = 50) -> Calibration:
        """Maximum likelihood by Newton's method, a little ridge penalty keeping it finite
        when the examples separate; the default model when there is too little to learn from."""
        if len(y) < cls.MIN_EXAMPLES or len(set(y.tolist())) < 2:
            return cls(cls.DEFAULT)
        w = np.zeros(x.shape[1])
        penalty = l2 * np.eye(x.shape[1])
        penalty[0, 0] = 0.0
        for _ in range(steps):
            p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -40, 40)))
            gradient = x.T @ (p - y) + penalty @ w
            hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty
            step = np.linalg.solve(hessian, gradient)
            w -= step
            if float(np.abs(step).max()) < 1e-8:
                break
        return cls(tuple(float(v) for v in w))


def _typo(text: str) -> str:
    """The question with its longest word's two middle letters swapped: a typical slip."""
    parts = text.split()
    longest = max(range(len(parts)), key=lambda i: len(parts[i]), default=None)
    if longest is None or len(parts[longest]) < 6:
        return text
    w = parts[longest]
    mid = len(w) // 2
    parts[longest] = w[: mid - 1] + w[mid] + w[mid - 1] + w[mid + 1:]
    return " ".join(parts)


def _examples(source: _Source) -> tuple[list[np.ndarray], list[float]]:
    """Features and outcomes of held-out questions (each fold's questions removed from the
    index it is asked of), their typo'd and keyword-only forms, and off-topic questions."""
    xs: list[np.ndarray] = []
    ys: list[float] = []
    arts = source.articles
    for fold_no in range(_FOLDS):
        held = {(i, j) for i, a in enumerate(arts) for j in range(len(a.questions)) if (i + j) % _FOLDS == fold_no}
        kept = [replace(a, questions=tuple(q for j, q in enumerate(a.questions) if (i, j) not in held))
                for i, a in enumerate(arts)]
        index = _Index(kept, source.synonyms)
        for i, j in sorted(held):
            q = arts[i].questions[j]
            for variant in (q, _typo(q), " ".join(terms(q, source.language))):
                query = index.query(variant)
                scores = index.scores(query)
                xs.append(_features(index, query, scores))
                ys.append(float(scores.max() > 0 and int(np.argmax(scores)) == i))
    full = _Index(arts, source.synonyms)
    for q in source.offtopic:
        query = full.query(q)
        xs.append(_features(full, query, full.scores(query)))
        ys.append(0.0)
    return xs, ys


# --- the base ----------------------------------------------------------------------------------


class KnowledgeBase:
    """Articles of every language, one BM25 index per language, one confidence model."""

    def __init__(self, sources: Iterable[_Source]) -> None:
        self._sources = {s.language: s for s in sources if s.articles}
        self._by_id = {a.id: a for s in self._sources.values() for a in s.articles}
        if len(self._by_id) != sum(len(s.articles) for s in self._sources.values()):
            ids = Counter(a.id for s in self._sources.values() for a in s.articles)
            raise ValueError(f"article ids must be unique: {sorted(i for i, n in ids.items() if n > 1)}")
        self._indexes = {lang: _Index(s.articles, s.synonyms) for lang, s in self._sources.items()}
        xs: list[np.ndarray] = []
        ys: list[float] = []
        for source in self._sources.values():
            x, y = _examples(source)
            xs += x
            ys += y
        self.calibration = Calibration.fit(np.array(xs).reshape(len(xs), len(Calibration.DEFAULT)), np.array(ys))

    @classmethod
    def load(cls, directory: Path | Traversable | None = None) -> KnowledgeBase:
        """Build the base from every ``*.toml`` file of ``directory`` (default: the shipped one)."""
        root = directory if directory is not None else _packaged()
        files = sorted((f for f in root.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
        return cls(_read_source(f.read_text(encoding="utf-8")) for f in files)

    @classmethod
    @lru_cache(maxsize=1)
    def shipped(cls) -> KnowledgeBase:
        """The shipped base, built once per process (building fits the confidence model)."""
        return cls.load()

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages that have articles."""
        return tuple(self._sources)

    @property
    def articles(self) -> tuple[Article, ...]:
        """Every article, language by language."""
        return tuple(a for s in self._sources.values() for a in s.articles)

    def get(self, article_id: str) -> Article:
        """The article with this id (KeyError if none)."""
        return self._by_id[article_id]

    def in_language(self, article: Article, language: str) -> Article:
        """The article itself or its translation in ``language`` (itself when untranslated)."""
        if article.language == language or article.translation not in self._by_id:
            return article
        other = self._by_id[str(article.translation)]
        return other if other.language == language else article

    def known_share(self, text: str, language: str) -> float:
        """Share of the text's words that this language's articles use: a tie-breaker for
        language detection when a question is only nouns ("remboursement ?")."""
        return self._indexes[language].query(text).known

    def search(self, text: str, language: str, k: int = 3, exclude: Iterable[str] = ()) -> Search:
        """The ``k`` best articles of ``language`` for ``text``, and the confidence in the first.

        ``exclude`` drops articles already given (and found unhelpful) in a conversation.
        """
        if language not in self._indexes:
            raise ValueError(f"no articles in {language!r}: the base has {self.languages}")
        index = self._indexes[language]
        query = index.query(text)
        scores = index.scores(query)
        banned = set(exclude)
        keep = np.array([a.id not in banned for a in index.articles])
        scores = np.where(keep, scores, 0.0)
        order = [int(i) for i in np.argsort(-scores, kind="stable") if scores[i] > 0][:k]
        hits = tuple(Hit(index.articles[i], float(scores[i])) for i in order)
        confidence = self.calibration.confidence(_features(index, query, scores)) if hits else 0.0
        return Search(text, language, hits, confidence, tuple(query.stems))
