"""Closing the loop (Bain's inner and outer loops, Reichheld & Markey 2011).

* **Inner loop**: an answer that says something went wrong — an NPS detractor (0–6), a CSAT
  of 1–2, a CES of 1–3 (the company did not make it easy), or a negative comment — opens a
  case in the service desk: high priority (urgent for a strongly felt negative comment),
  owned by the agent of the moment when there is one, else routed; the SLA's clock runs
  until someone gets back to the customer. ``voice_loops`` keeps which answer opened which
  case, so the closure rate and time are measured (:func:`closure`).
* **Outer loop**: themes that keep coming back are tracked as problems (``problems``) with a
  root cause, an action, an owner and a status (open → investigating → fixed / won't fix).

Answers older than ``max_age`` are never looped (an imported history must not flood the desk).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from parcours.desk import cases, routing
from parcours.store import Store
from parcours.voice.model import UNHAPPY, VoiceError

__all__ = ["PROBLEM_STATUSES", "Problem", "case_for", "closure", "consider", "due", "problems", "reason",
           "save_problem", "sweep"]

ACTOR = "voice"
PROBLEM_STATUSES = ("open", "investigating", "fixed", "wont_fix")
MAX_AGE = timedelta(days=3)
GRACE = timedelta(minutes=30)  #: how long a half-given survey answer waits for its why
log = logging.getLogger(__name__)


def reason(metric: str, score: float | None, label: str | None, intensity: float | None = None) -> str | None:
    """Why this answer calls for a call-back, or None."""
    if score is not None:
        if metric == "nps" and score <= UNHAPPY["nps"]:
            return f"NPS detractor ({score:g}/10)"
        if metric == "csat" and score <= UNHAPPY["csat"]:
            return f"low CSAT ({score:g}/5)"
        if metric == "ces" and score <= UNHAPPY["ces"]:
            return f"high effort (CES {score:g}/7)"
    if label == "negative":
        return "negative comment" + (" (strongly felt)" if intensity is not None and intensity >= 0.6 else "")
    return None


def due(store: Store, response_id: str) -> str | None:
    """Why this answer calls for a call-back (None: it does not) — cheap, for the thank-you page."""
    rows = store.query("SELECT r.metric, r.score, a.label, a.intensity FROM responses r LEFT JOIN verbatim_analysis a "
                       "ON a.response_id = r.response_id WHERE r.response_id = ?", [response_id])
    return reason(*rows[0]) if rows else None


def consider(store: Store, response_id: str, *, now: datetime | None = None) -> str | None:
    """Open the loop case this answer calls for (once); its id, or None."""
    now = now or datetime.now(timezone.utc)
    # point reads (a join of whole tables would grow with every answer)
    if store.query("SELECT count(*) FROM voice_loops WHERE response_id = ?", [response_id])[0][0]:
        return None
    rows = store.query("SELECT person_id, metric, score, comment, channel, case_id, agent_id, language "
                       "FROM responses WHERE response_id = ? AND person_id IS NOT NULL", [response_id])
    if not rows:
        return None
    pid, metric, score, comment, channel, case_id, agent, lang = rows[0]
    read = store.query("SELECT label, intensity, themes FROM verbatim_analysis WHERE response_id = ?", [response_id])
    label, intensity, themes = read[0] if read else (None, None, None)
    spoken = store.query("SELECT language FROM persons WHERE person_id = ? AND language IS NOT NULL LIMIT 1", [pid])
    lang = spoken[0][0] if spoken else lang
    why = reason(metric, score, label, intensity)
    if why is None:
        return None
    lang = lang if lang in ("fr", "en") else "fr"
    theme = themes[0] if themes else None
    subject = (f"Retour client à rappeler : {why}" if lang == "fr" else f"Customer to call back: {why}")
    if theme:
        from parcours.text.verbatims import theme_name

        subject += f" — {theme_name(theme, lang)}"
    note = "\n".join(x for x in (
        f"{metric.upper()} {score:g}" if score is not None else None,
        f"« {comment} »" if comment else None,
        f"(case {case_id})" if case_id else None) if x)
    urgent = label == "negative" and intensity is not None and intensity >= 0.6 and score is not None and \
        metric == "nps" and score <= 3
    # checked again and recorded under the write lock: the request's task and the sweep may both
    # look at one answer, and only one may open its case (the reads above stay outside the lock)
    with store.write_lock:
        if store.query("SELECT count(*) FROM voice_loops WHERE response_id = ?", [response_id])[0][0]:
            return None
        c = cases.open_for_feedback(store, pid, actor=ACTOR, channel=channel or "web", subject=subject[:200],
                                    note=note, topic=theme or "feedback", priority="urgent" if urgent else "high",
                                    follow_up_of=case_id, owner=agent, ts=now)
        with store.transaction() as con:
            con.execute("INSERT INTO voice_loops VALUES (?, ?, ?, ?)", [response_id, c.case_id, why, now])
    if c.assignee is None:
        try:
            routing.route(store, c.case_id, ts=now)
        except Exception:  # no agent online: the case waits in the team's queue, as any other
            log.info("loop case %s waits for an agent", c.case_id)
    return c.case_id


def case_for(store: Store, response_id: str) -> str | None:
    """The loop case an answer opened, if any."""
    rows = store.query("SELECT case_id FROM voice_loops WHERE response_id = ?", [response_id])
    return rows[0][0] if rows else None


def sweep(store: Store, *, now: datetime | None = None, max_age: timedelta = MAX_AGE, limit: int = 200,
          grace: timedelta = GRACE) -> list[str]:
    """Loop cases for recent answers not looped yet (imported, arrived through the API, or the
    process stopped before its task ran). A survey answer still being given (a score, the why
    not yet sent) waits ``grace``: its comment says what the call-back is about."""
    now = now or datetime.now(timezone.utc)
    rows = store.query(f"""
        SELECT r.response_id FROM responses r LEFT JOIN verbatim_analysis a USING (response_id)
        WHERE r.ts >= ? AND r.person_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM survey_invitations v WHERE v.response_id = r.response_id
                          AND v.status = 'partial' AND r.ts > ?)
          AND (r.score <= CASE r.metric {" ".join(f"WHEN '{m}' THEN {v}" for m, v in UNHAPPY.items())} END
               OR a.label = 'negative')
          AND NOT EXISTS (SELECT 1 FROM voice_loops l WHERE l.response_id = r.response_id)
        ORDER BY r.ts LIMIT {int(limit)}""", [now - max_age, now - grace])
    opened = []
    for (rid,) in rows:
        try:  # one answer that cannot be looped must not hold back the others
            cid = consider(store, rid, now=now)
        except Exception:
            log.exception("voice: no loop case for answer %s", rid)
            continue
        if cid:
            opened.append(cid)
    return opened


def closure(store: Store, *, start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    """Loop cases opened in the period: how many, the share closed (resolved or closed), the
    median and p90 hours to close and to the first response (the call-back)."""
    where, args = ["TRUE"], []
    if start is not None:
        where.append("l.opened_at >= ?")
        args.append(start)
    if end is not None:
        where.append("l.opened_at < ?")
        args.append(end)
    row = store.query(f"""
        SELECT count(*), count(*) FILTER (c.status IN ('resolved', 'closed')),
               median(epoch(c.closed_at - l.opened_at) / 3600) FILTER (c.closed_at IS NOT NULL),
               quantile_cont(epoch(c.closed_at - l.opened_at) / 3600, 0.9) FILTER (c.closed_at IS NOT NULL),
               median(epoch(c.first_response_at - l.opened_at) / 3600) FILTER (c.first_response_at IS NOT NULL)
        FROM voice_loops l JOIN cases c USING (case_id) WHERE {' AND '.join(where)}""", args)[0]
    n, closed, med, p90, first = row
    return {"opened": n, "closed": closed, "closure_rate": closed / n if n else None,
            "median_hours_to_close": med, "p90_hours_to_close": p90, "median_hours_to_first_response": first}


@dataclass(frozen=True)
class Problem:
    problem_id: str
    theme: str
    title: str
    root_cause: str | None
    action: str | None
    status: str
    owner: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


_P_COLS = ("problem_id", "theme", "title", "root_cause", "action", "status", "owner", "created_at", "updated_at",
           "resolved_at")


def problems(store: Store, *, status: str | None = None) -> list[Problem]:
    where = "WHERE status = ?" if status else ""
    sql = f"SELECT {', '.join(_P_COLS)} FROM problems {where} ORDER BY status = 'open' DESC, updated_at DESC"
    return [Problem(*r) for r in store.query(sql, [status] if status else [])]


def save_problem(store: Store, *, actor: str, theme: str, title: str, root_cause: str | None = None,
                 action: str | None = None, status: str = "open", owner: str | None = None,
                 problem_id: str | None = None, now: datetime | None = None) -> Problem:
    """Create a problem from a theme, or update one (``problem_id``)."""
    now = now or datetime.now(timezone.utc)
    if status not in PROBLEM_STATUSES:
        raise VoiceError(f"status: {status!r} is not one of {', '.join(PROBLEM_STATUSES)}")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise VoiceError("title: 1 to 200 characters")
    if not isinstance(theme, str) or not theme.strip() or len(theme) > 60:
        raise VoiceError("theme: the theme the problem is about (1 to 60 characters)")
    for name, v in (("root_cause", root_cause), ("action", action)):
        if v is not None and len(v) > 2000:
            raise VoiceError(f"{name}: at most 2000 characters")
    resolved = now if status in ("fixed", "wont_fix") else None
    with store.write_lock, store.transaction() as con:
        if problem_id is None:
            problem_id = f"PB-{secrets.token_hex(4)}"
            con.execute(f"INSERT INTO problems ({', '.join(_P_COLS)}, updated_by) VALUES "
                        f"({', '.join('?' * (len(_P_COLS) + 1))})",
                        [problem_id, theme, title.strip(), root_cause, action, status, owner, now, now, resolved,
                         actor])
        else:
            if not store.query("SELECT count(*) FROM problems WHERE problem_id = ?", [problem_id])[0][0]:
                raise VoiceError(f"problem_id: no problem {problem_id!r}")
            con.execute("""UPDATE problems SET theme = ?, title = ?, root_cause = ?, action = ?, status = ?, owner = ?,
                             updated_at = ?,
                             resolved_at = CASE WHEN ? IS NULL THEN NULL ELSE coalesce(resolved_at, ?) END,
                             updated_by = ? WHERE problem_id = ?""",
                        [theme, title.strip(), root_cause, action, status, owner, now, resolved, resolved, actor,
                         problem_id])
    store.touch()
    return next(p for p in problems(store) if p.problem_id == problem_id)
