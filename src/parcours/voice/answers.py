"""Answering a survey: a link is opened, a score is given, then the why — each step saved.

The answer is a canonical ``responses`` row (id ``srv-<invitation>``) written at the first
step and completed at the second, so a customer who gives a score and leaves still counts;
it carries the person, the case or touchpoint that triggered it, the channel it was answered
on and the agent of the moment, so every metric can slice it. An answered survey is also a
``survey`` touchpoint of the journey. The comment is analysed at once (language, sentiment,
themes) and a detractor, a low score or a negative comment opens a case (``loop``).

A link is single-use: once the why is sent (or skipped) it only thanks. Until then the person
may come back to change the score. Bad input raises :class:`AnswerError` naming the field;
the caller shows the form again with what was typed.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from parcours.store import Store
from parcours.store.sql import registered
from parcours.voice import analysis, invitations, loop, tokens
from parcours.voice import surveys as survey_defs
from parcours.voice.model import LANGUAGES, MAX_COMMENT_CHARS, AnswerError, Invitation, LinkError

__all__ = ["flush_opens", "give_comment", "give_score", "invitation", "open_link", "response_id", "summary",
           "unsubscribe"]

_ANSWERED_ON = {"email": "email", "sms": "sms", "widget": "web"}
_FIELDS = ("invitation_id", "survey_id", "person_id", "language", "channel", "status", "expires_at", "address",
           "case_id", "event_id", "agent_id", "touch_channel", "response_id")


def response_id(invitation_id: str) -> str:
    return f"srv-{invitation_id}"


def invitation(store: Store, token: str) -> Invitation:
    """The invitation behind a genuine link, whatever its state; LinkError ``invalid`` otherwise."""
    inv_id = tokens.invitation_of(tokens.link_key(store), token)
    if inv_id is None:
        raise LinkError("invalid", "this survey link is not valid (mistyped or cut?)")
    # point reads by key (a join with every answer would grow with the responses table)
    rows = store.query(f"SELECT {', '.join(_FIELDS)} FROM survey_invitations WHERE invitation_id = ?", [inv_id])
    if not rows:
        raise LinkError("invalid", "this survey link is not valid (mistyped or cut?)")
    d = dict(zip(_FIELDS, rows[0]))
    survey = survey_defs.get(store, d.pop("survey_id"))
    if survey is None:
        raise LinkError("invalid", "this survey no longer exists", d["language"])
    given = store.query("SELECT score, comment FROM responses WHERE response_id = ?",
                        [d["response_id"]]) if d["response_id"] else []
    score, comment = given[0] if given else (None, None)
    return Invitation(survey=survey, score=score, comment=comment, **d)


def open_link(store: Store, token: str, *, now: datetime | None = None) -> Invitation:
    """The invitation behind a link that may still be answered (the first visit is recorded);
    LinkError ``invalid``, ``expired`` or ``answered`` otherwise."""
    now = now or datetime.now(timezone.utc)
    inv = invitation(store, token)
    if inv.status == "answered":
        raise LinkError("answered", "this survey was already answered: thank you", inv.language)
    if inv.status in ("expired", "skipped", "failed") or (inv.expires_at is not None and inv.expires_at <= now):
        raise LinkError("expired", "this survey link has expired", inv.language)
    if inv.status in ("pending", "sent"):
        # recorded later, in groups (flush_opens): a page view must not queue for the store's
        # one write lock; a crash loses at most the open times of the last seconds
        with _OPENS_GUARD:
            store.memo.setdefault("survey_opens", {}).setdefault(inv.invitation_id, now)
        inv = replace(inv, status="opened")
    return inv


_OPENS_GUARD = threading.Lock()


def flush_opens(store: Store) -> int:
    """Write the first-open times noted by :func:`open_link` (one statement); how many."""
    with _OPENS_GUARD:
        opens = store.memo.pop("survey_opens", {})
    if not opens:
        return 0
    table = pa.table({"invitation_id": list(opens), "at": list(opens.values())})
    with store.write_lock, store.transaction() as con:
        with registered(con, "_opens", table):
            con.execute("""UPDATE survey_invitations v SET opened_at = coalesce(v.opened_at, o.at),
                             status = CASE WHEN v.status IN ('pending', 'sent') THEN 'opened' ELSE v.status END
                           FROM _opens o WHERE v.invitation_id = o.invitation_id""")
    return len(opens)


def _score(inv: Invitation, raw: Any) -> float:
    lo, hi = inv.survey.scale_min, inv.survey.scale_max
    try:
        v = float(str(raw).strip().replace(",", "."))
    except (TypeError, ValueError):
        raise AnswerError("score", f"score: choose a number from {lo} to {hi}") from None
    if not math.isfinite(v) or v != int(v) or not lo <= v <= hi:
        raise AnswerError("score", f"score: {raw!s:.20} is not on the scale; choose a whole number from {lo} to {hi}")
    return v


def _write_response(store: Store, inv: Invitation, now: datetime, score: float | None, comment: str | None,
                    language: str, found: Any = None) -> str:
    """The answer as it stands, in one transaction; with ``found`` (the comment's analysis, or
    the empty tuple for a why left blank) it is complete and the link is used up. The
    invitation is claimed first: a link answered meanwhile (a double submit, another tab)
    raises LinkError and writes nothing."""
    rid = response_id(inv.invitation_id)
    s = inv.survey
    final = found is not None
    with store.write_lock, store.transaction() as con:
        # read and written by key only (another condition in the UPDATE makes DuckDB scan the
        # table: 9 ms instead of 2); the write lock makes the two one step
        state = con.execute("SELECT status, expires_at FROM survey_invitations WHERE invitation_id = ?",
                            [inv.invitation_id]).fetchone()
        if state is None or state[0] not in ("pending", "sent", "opened", "partial") or state[1] <= now:
            raise LinkError("answered", "this survey was already answered: thank you", inv.language)
        con.execute("UPDATE survey_invitations SET status = ?, response_id = ?, opened_at = coalesce(opened_at, ?), "
                    "answered_at = CASE WHEN ? THEN ? END WHERE invitation_id = ?",
                    ["answered" if final else "partial", rid, now, final, now, inv.invitation_id])
        con.execute("DELETE FROM responses WHERE response_id = ?", [rid])
        con.execute("""INSERT INTO responses (response_id, person_id, ts, metric, score, scale_min, scale_max, comment,
                         language, case_id, event_id, survey_id, channel, agent_id, import_id)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'survey')""",
                    [rid, inv.person_id, now, s.metric, score, s.scale_min, s.scale_max, comment, language,
                     inv.case_id, inv.event_id, s.survey_id, _ANSWERED_ON[inv.channel], inv.agent_id])
        con.execute("DELETE FROM touchpoints WHERE event_id = ?", [f"survey:{inv.invitation_id}"])
        con.execute("""INSERT INTO touchpoints (event_id, ts, person_id, channel, direction, kind, stage, case_id,
                         agent_id, import_id) VALUES (?, ?, ?, ?, 'inbound', 'survey', NULL, ?, ?, 'survey')""",
                    [f"survey:{inv.invitation_id}", now, inv.person_id, _ANSWERED_ON[inv.channel], inv.case_id,
                     inv.agent_id])
        if found:
            analysis.write(con, [rid], [found], now)
    return rid


def give_score(store: Store, token: str, score: Any, *, now: datetime | None = None) -> Invitation:
    """Step one: the score, saved at once (a partial answer counts)."""
    now = now or datetime.now(timezone.utc)
    inv = open_link(store, token, now=now)
    v = _score(inv, score)
    rid = _write_response(store, inv, now, v, inv.comment, inv.language)
    store.touch()
    return replace(inv, status="partial", score=v, response_id=rid)


def give_comment(store: Store, token: str, comment: str | None, *, language: str | None = None,
                 now: datetime | None = None, close_loop: bool = True) -> Invitation:
    """Step two: the why (empty: skipped). The answer is then complete and the link used up;
    the comment is analysed and, with ``close_loop``, the loop case opened when the answer
    calls for it (a web request leaves that to after its response: ``loop.consider``)."""
    now = now or datetime.now(timezone.utc)
    inv = open_link(store, token, now=now)
    text = (comment or "").strip() or None
    if text is not None and len(text) > MAX_COMMENT_CHARS:
        raise AnswerError("comment", f"comment: {len(text)} characters, at most {MAX_COMMENT_CHARS}: "
                                     f"please shorten it (your text is kept below)")
    lang = (language or inv.language or "fr").strip().lower()
    if lang not in LANGUAGES:
        raise AnswerError("language", f"language: {language!r:.20} is not one of {', '.join(LANGUAGES)}")
    # the comment may not be in the page's language; a word or two ("ok", "bad") keeps the page's
    found = analysis.analyse_one(text, default=lang) if text else ()
    rid = _write_response(store, inv, now, inv.score, text, found.language if found else lang, found)
    store.touch()
    done = replace(inv, status="answered", comment=text, response_id=rid)
    if close_loop:
        loop.consider(store, rid, now=now)
    return done


def summary(store: Store, response_id: str, loop_case: str | None = None) -> dict[str, Any]:
    """An answer as the ``voice.survey.answered`` webhook sends it."""
    rows = store.query("""SELECT r.survey_id, r.metric, r.score, r.comment, r.language, r.person_id, r.case_id,
                                 r.agent_id, r.channel, a.label, a.sentiment, a.themes
                          FROM responses r LEFT JOIN verbatim_analysis a ON a.response_id = r.response_id
                          WHERE r.response_id = ?""", [response_id])
    keys = ("survey_id", "metric", "score", "comment", "language", "person_id", "case_id", "agent_id", "channel",
            "label", "sentiment", "themes")
    return {"response_id": response_id, **dict(zip(keys, rows[0] if rows else [None] * len(keys))),
            "loop_case": loop_case}


def unsubscribe(store: Store, token: str) -> Invitation:
    """The person asks for no more surveys (the link's unsubscribe, RFC 8058 one-click)."""
    inv = invitation(store, token)  # works on an answered or expired link too
    invitations.keep_quiet(store, inv.person_id, "unsubscribed from a survey link", actor="customer")
    return inv
