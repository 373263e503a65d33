"""The verbatims of the store, read by the text analytics (``parcours.text.verbatims``):
each comment's language, sentiment, intensity, themes and aspects in ``verbatim_analysis``,
and what the voice pages show from them — themes with their tone and examples, the comments
of a theme, the tone over time."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from parcours.store import Store
from parcours.store.sql import registered

if TYPE_CHECKING:
    from parcours.text.verbatims import Analysis

__all__ = ["ThemeRow", "analyse_one", "analyse_pending", "recent", "themes", "theme_names", "tone", "unthemed_topics",
           "write"]

BATCH = 20_000


def analyse_one(text: str, language: str | None = None, *, default: str = "fr") -> Analysis:
    """One comment read; ``language`` trusted when given, else detected (``default`` on a tie)."""
    from parcours.text.language import detect_language
    from parcours.text.verbatims import analyse  # its lexicons load on first use, not at start-up

    return analyse([text], [language or detect_language(text, default)])[0]


def write(con: duckdb.DuckDBPyConnection, response_ids: Sequence[str], found: Sequence[Analysis],
          now: datetime) -> None:
    """Store what was read, one statement for the batch (DuckDB's executemany costs ~1 ms a row)."""
    table = pa.table({
        "response_id": pa.array(list(response_ids), pa.string()),
        "language": pa.array([a.language for a in found], pa.string()),
        "sentiment": pa.array([a.sentiment for a in found], pa.float64()),
        "label": pa.array([a.label for a in found], pa.string()),
        "intensity": pa.array([a.intensity for a in found], pa.float64()),
        "themes": pa.array([list(a.themes) for a in found], pa.list_(pa.string())),
        "aspects": pa.array([json.dumps(dict(a.aspects)) for a in found], pa.string()),
    })
    with registered(con, "_analysed", table):
        con.execute("INSERT OR REPLACE INTO verbatim_analysis SELECT response_id, language, sentiment, label, "
                    "intensity, themes, aspects::JSON, ? FROM _analysed", [now])


def theme_names(language: str) -> dict[str, str]:
    """Every theme's name in ``language``."""
    from parcours.text.verbatims import THEMES, theme_name

    return {key: theme_name(key, language) for key in THEMES}


def analyse_pending(store: Store, *, limit: int | None = None,
                    progress: Callable[[int, int], object] | None = None) -> int:
    """Analyse every comment not analysed yet (imported answers, the demo world's), in
    batches; ``progress(done, total)`` after each. Returns how many were analysed."""
    total = store.query("""SELECT count(*) FROM responses r WHERE r.comment IS NOT NULL AND trim(r.comment) <> ''
                           AND NOT EXISTS (SELECT 1 FROM verbatim_analysis a
                                           WHERE a.response_id = r.response_id)""")[0][0]
    total = min(total, limit) if limit is not None else total
    if not total:
        return 0
    from parcours.text.verbatims import analyse

    done = 0
    while done < total:
        rows = store.query(f"""SELECT r.response_id, r.comment, r.language FROM responses r
                               WHERE r.comment IS NOT NULL AND trim(r.comment) <> ''
                                 AND NOT EXISTS (SELECT 1 FROM verbatim_analysis a WHERE a.response_id = r.response_id)
                               LIMIT {min(BATCH, total - done)}""")
        if not rows:
            break
        found = analyse([r[1] for r in rows], [r[2] if r[2] in ("fr", "en") else None for r in rows])
        with store.write_lock, store.transaction() as con:
            write(con, [r[0] for r in rows], found, datetime.now(timezone.utc))
        done += len(rows)
        if progress is not None:
            progress(done, total)
    if done:
        store.touch()
    return done


@dataclass(frozen=True)
class ThemeRow:
    theme: str
    name: str
    n: int
    negative: int
    positive: int
    mean_score_nps: float | None   #: the NPS of the answers mentioning it (None without NPS answers)
    examples: list[dict[str, Any]]

    @property
    def negative_share(self) -> float:
        return self.negative / self.n if self.n else 0.0


def _where(start: datetime | None, end: datetime | None, channel: str | None, segment: str | None,
           metric: str | None) -> tuple[str, list[Any]]:
    where, args = ["TRUE"], []
    for cond, value in (("r.ts >= ?", start), ("r.ts < ?", end), ("r.channel = ?", channel), ("r.metric = ?", metric),
                        ("r.person_id IN (SELECT person_id FROM persons WHERE segment = ?)", segment)):
        if value is not None:
            where.append(cond)
            args.append(value)
    return " AND ".join(where), args


def themes(store: Store, *, language: str = "fr", start: datetime | None = None, end: datetime | None = None,
           channel: str | None = None, segment: str | None = None, metric: str | None = None,
           examples: int = 3) -> list[ThemeRow]:
    """Themes by how often they are mentioned, with their tone (aspect polarity), the NPS of
    those who mention them, and the latest negative examples first."""
    from parcours.text.verbatims import theme_name

    where, args = _where(start, end, channel, segment, metric)
    rows = store.query(f"""
        WITH t AS (SELECT a.response_id, unnest(a.themes) AS theme, a.label, a.aspects, r.ts, r.comment, r.metric,
                          r.score, r.case_id
                   FROM verbatim_analysis a JOIN responses r USING (response_id) WHERE {where}),
        pol AS (SELECT t.*, coalesce(json_extract_string(t.aspects, '$.' || t.theme), t.label) AS polarity FROM t),
        ranked AS (SELECT pol.*, row_number() OVER (PARTITION BY theme ORDER BY polarity = 'negative' DESC, ts DESC,
                                                     response_id) AS k FROM pol)
        SELECT theme, count(*) AS n, count(*) FILTER (polarity = 'negative'), count(*) FILTER (polarity = 'positive'),
               100.0 * (count(*) FILTER (metric = 'nps' AND score >= 9)
                        - count(*) FILTER (metric = 'nps' AND score <= 6))
                 / nullif(count(*) FILTER (metric = 'nps' AND score IS NOT NULL), 0),
               list({{'comment': comment, 'polarity': polarity, 'metric': metric, 'score': score, 'ts': ts,
                      'case_id': case_id}} ORDER BY k) FILTER (k <= {int(examples)})
        FROM ranked GROUP BY theme ORDER BY n DESC, theme""", args)
    return [ThemeRow(t, theme_name(t, language), n, neg, pos, nps, ex or []) for t, n, neg, pos, nps, ex in rows]


def recent(store: Store, *, start: datetime | None = None, end: datetime | None = None,
           channel: str | None = None, segment: str | None = None, metric: str | None = None,
           theme: str | None = None, label: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest answers with a comment and what the analysis read in it (None: not yet)."""
    where, args = _where(start, end, channel, segment, metric)
    extra = ""
    if theme:
        extra += " AND list_contains(a.themes, ?)"
        args.append(theme)
    if label:
        extra += " AND a.label = ?"
        args.append(label)
    keys = ("response_id", "ts", "metric", "score", "scale_min", "scale_max", "channel", "comment", "person_id",
            "case_id", "language", "label", "sentiment", "intensity", "themes", "aspects", "loop_case")
    rows = store.query(f"""
        SELECT r.response_id, r.ts, r.metric, r.score, r.scale_min, r.scale_max, r.channel, r.comment, r.person_id,
               r.case_id, coalesce(a.language, r.language), a.label, a.sentiment, a.intensity, a.themes, a.aspects,
               l.case_id
        FROM responses r LEFT JOIN verbatim_analysis a USING (response_id) LEFT JOIN voice_loops l USING (response_id)
        WHERE r.comment IS NOT NULL AND trim(r.comment) <> '' AND {where}{extra}
        ORDER BY r.ts DESC, r.response_id LIMIT {int(limit)}""", args)
    out = [dict(zip(keys, r)) for r in rows]
    for r in out:
        r["aspects"] = json.loads(r["aspects"]) if r["aspects"] else {}
    return out


def unthemed_topics(store: Store, *, limit: int = 2000, k: int = 6) -> list[Any]:
    """What the latest comments that no theme caught talk about (``discover``: k-means on their
    words), kept until the data change — a page must not cluster on every view."""
    version, kept = store.changes, store.memo.get("unthemed_topics")
    if kept is not None and kept[0] == (version, limit, k):
        return kept[1]
    from parcours.text.verbatims import discover

    rows = store.query(f"""SELECT r.comment, a.language FROM verbatim_analysis a JOIN responses r USING (response_id)
                           WHERE len(a.themes) = 0 ORDER BY r.ts DESC, r.response_id LIMIT {int(limit)}""")
    topics = [t for t in discover([r[0] for r in rows], [r[1] for r in rows], k=k) if t.size >= 3]
    store.memo["unthemed_topics"] = ((version, limit, k), topics)
    return topics


def tone(store: Store, *, start: datetime | None = None, end: datetime | None = None, channel: str | None = None,
         segment: str | None = None, metric: str | None = None) -> dict[str, Any]:
    """How the comments feel: counts by label and language, mean intensity of negative ones."""
    where, args = _where(start, end, channel, segment, metric)
    rows = store.query(f"""SELECT a.label, a.language, count(*), sum(a.intensity) FROM verbatim_analysis a
                           JOIN responses r USING (response_id) WHERE {where} GROUP BY ALL""", args)
    out: dict[str, Any] = {"n": 0, "labels": {}, "languages": {}, "negative_intensity": None}
    negative_sum = 0.0
    for label, lang, n, intensity in rows:
        out["n"] += n
        out["labels"][label] = out["labels"].get(label, 0) + n
        out["languages"][lang] = out["languages"].get(lang, 0) + n
        if label == "negative":
            negative_sum += intensity
    if out["labels"].get("negative"):
        out["negative_intensity"] = negative_sum / out["labels"]["negative"]
    return out
