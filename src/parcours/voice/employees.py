"""The employees' voice (seed 004, Temkin: your employees have things to say too).

Every user of Parcours (agents, analysts, managers) may answer, once a quarter, an eNPS
question — "How likely is it that you would recommend this company as a place to work?",
0–10, scored like the NPS — and leave suggestions about what would help them serve
customers. Answers are pseudonymous: the store keeps a keyed hash of (user, quarter) only to
refuse a second answer in the same quarter, never who answered; a team's figures are shown
only from ``MIN_GROUP`` answers so that nobody can be singled out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timezone
from typing import Any

from parcours.metrics import voc
from parcours.store import Store
from parcours.voice import tokens
from parcours.voice.model import LANGUAGES, MAX_COMMENT_CHARS, AnswerError

__all__ = ["MIN_GROUP", "QUESTION", "SUGGESTION", "answer", "answered", "enps", "period_of", "suggestions", "team_of"]

MIN_GROUP = 5
QUESTION = {"fr": "Quelle est la probabilité que vous recommandiez notre entreprise comme employeur à un proche ?",
            "en": "How likely is it that you would recommend this company as a place to work?"}
SUGGESTION = {"fr": "Qu'est-ce qui vous aiderait à mieux servir nos clients ?",
              "en": "What would help you serve our customers better?"}


def period_of(ts: datetime) -> str:
    return f"{ts.year}-Q{(ts.month - 1) // 3 + 1}"


def _voter(store: Store, user_id: str, period: str) -> str:
    return hmac.new(tokens.link_key(store), f"employee:{user_id}:{period}".encode(), hashlib.sha256).hexdigest()


def answered(store: Store, user_id: str, *, now: datetime | None = None) -> bool:
    period = period_of(now or datetime.now(timezone.utc))
    return bool(store.query("SELECT count(*) FROM employee_answers WHERE period = ? AND voter_sha256 = ?",
                            [period, _voter(store, user_id, period)])[0][0])


def answer(store: Store, user_id: str, score: Any, suggestion: str | None, *, team_id: str | None = None,
           language: str = "fr", now: datetime | None = None) -> str:
    """Record this quarter's answer of a user; AnswerError names a bad field (and a second answer)."""
    now = now or datetime.now(timezone.utc)
    text = (suggestion or "").strip() or None
    if score in (None, ""):
        v = None
    else:
        try:
            v = int(str(score).strip())
        except ValueError:
            raise AnswerError("score", "score: choose a whole number from 0 to 10") from None
        if not 0 <= v <= 10:
            raise AnswerError("score", f"score: {v} is not on the scale; choose a whole number from 0 to 10")
    if text is not None and len(text) > MAX_COMMENT_CHARS:
        raise AnswerError("suggestion", f"suggestion: {len(text)} characters, at most {MAX_COMMENT_CHARS}")
    if language not in LANGUAGES:
        raise AnswerError("language", f"language: {language!r:.20} is not one of {', '.join(LANGUAGES)}")
    if v is None and text is None:
        raise AnswerError("score", "score: give a score, a suggestion, or both")
    period = period_of(now)
    answer_id = f"EA-{secrets.token_hex(6)}"
    with store.write_lock, store.transaction() as con:
        if store.query("SELECT count(*) FROM employee_answers WHERE period = ? AND voter_sha256 = ?",
                       [period, _voter(store, user_id, period)])[0][0]:
            raise AnswerError("score", f"you already answered for {period}: thank you (next time next quarter)")
        con.execute("INSERT INTO employee_answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [answer_id, now, period, _voter(store, user_id, period), team_id, v, text, language])
    store.touch()
    return answer_id


def enps(store: Store, *, period: str | None = None, by_team: bool = False) -> list[dict[str, Any]]:
    """eNPS (the NPS formula, ``metrics.voc.nps``) with n and margin of error, overall or per
    team (teams under MIN_GROUP answers are folded into "other")."""
    import ibis

    t = store.table("employee_answers")
    if period:
        t = t.filter(t.period == period)
    t = t.mutate(metric=ibis.literal("nps"))
    if by_team:
        counts = t.group_by("team_id").aggregate(k=t.count())
        t = t.join(counts, "team_id", how="left")
        t = t.mutate(team=(t.k >= MIN_GROUP).ifelse(t.team_id.fill_null("—"), ibis.literal("other")))
        rows = voc.nps(t, by=["team"]).to_pyarrow().to_pylist()
        # "other" folds the small teams together; small itself, or one team alone, it would name them
        small = counts.filter(counts.k < MIN_GROUP).to_pyarrow().to_pylist()
        if len(small) < 2 or sum(r["k"] for r in small) < MIN_GROUP:
            rows = [r for r in rows if r["team"] != "other"]
    else:
        rows = voc.nps(t).to_pyarrow().to_pylist()
    return [r for r in rows if r["n"]]


def team_of(store: Store, user_id: str) -> str | None:
    """The first team of the agent a user is, if any (the eNPS per team)."""
    rows = store.query("SELECT teams[1] FROM agents WHERE user_id = ? AND disabled_at IS NULL LIMIT 1", [user_id])
    return rows[0][0] if rows else None


def suggestions(store: Store, *, limit: int = 50) -> list[dict[str, Any]]:
    rows = store.query("SELECT ts, period, score, suggestion, language FROM employee_answers "
                       "WHERE suggestion IS NOT NULL ORDER BY ts DESC LIMIT ?", [limit])
    return [dict(zip(("ts", "period", "score", "suggestion", "language"), r)) for r in rows]
