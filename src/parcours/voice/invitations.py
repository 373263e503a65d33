"""Who is asked what, and when: the moments that trigger a survey, the rules that protect the
customer, and the invitations they leave.

A *moment* is something that just happened to a person and deserves a question: a case
resolved (read from the canonical ``cases``, so imported cases count too), a purchase
(``orders``), a delivery, a chatbot conversation, any touchpoint of a given kind, or — for a
relational survey — simply being an active customer, once a period. Each moment has a stable
key, and ``survey_invitations`` has one row per (survey, key): a sweep run twice, or after a
restart, asks nobody twice.

Before asking, the contact rules (:class:`~parcours.voice.model.ContactRules`) are checked
for every candidate at once: the quiet list (unsubscribed, or kept out by the company), a
cooldown per person, a cap per period, no survey while the person has an open case (unless
the survey says so), and an address for the channel. A candidate the rules hold back is
recorded as ``skipped`` with the reason, so "why did she get no survey?" has an answer.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from parcours.store import Store
from parcours.store.sql import registered
from parcours.voice import surveys as survey_defs
from parcours.voice.model import ContactRules, Survey, VoiceError

__all__ = ["Moment", "due_moments", "invite", "invite_persons", "is_quiet", "keep_quiet",
           "let_speak", "of_person", "sample", "sweep"]

ACTIVE = ("pending", "sent", "opened", "partial", "answered", "expired")  #: invitations that count as asking

# per trigger: the moments due between two instants (params: since, until); columns
# person_id, key, case_id, event_id, agent_id, touch_channel
_MOMENTS = {
    "case_resolved": """
        SELECT person_id, 'case:' || case_id AS key, case_id, NULL AS event_id, assignee AS agent_id,
               CAST(channel AS VARCHAR) AS touch_channel, closed_at AS at
        FROM cases WHERE status IN ('resolved', 'closed') AND closed_at >= ? AND closed_at < ?
          AND person_id IS NOT NULL""",
    "purchase": """
        SELECT person_id, 'order:' || order_id AS key, NULL AS case_id, NULL AS event_id, NULL AS agent_id,
               CAST(channel AS VARCHAR) AS touch_channel, ts AS at
        FROM orders WHERE ts >= ? AND ts < ? AND amount > 0 AND person_id IS NOT NULL""",
    "touchpoint": """
        SELECT person_id, 'event:' || event_id AS key, case_id, event_id, agent_id,
               CAST(channel AS VARCHAR) AS touch_channel, ts AS at
        FROM touchpoints WHERE ts >= ? AND ts < ? AND kind = ? AND person_id IS NOT NULL""",
    "bot_session": """
        SELECT person_id, 'event:' || event_id AS key, case_id, event_id, agent_id,
               CAST(channel AS VARCHAR) AS touch_channel, ts AS at
        FROM touchpoints WHERE ts >= ? AND ts < ? AND channel = 'chatbot' AND person_id IS NOT NULL""",
}


@dataclass(frozen=True)
class Moment:
    person_id: str
    key: str
    case_id: str | None = None
    event_id: str | None = None
    agent_id: str | None = None
    touch_channel: str | None = None


def due_moments(store: Store, survey: Survey, now: datetime, rules: ContactRules,
                limit: int = 1000) -> list[Moment]:
    """The moments this survey should ask about now that have no invitation yet: happened
    between ``max_age`` and ``delay_minutes`` ago (relational: active customers whose last
    invitation to it is a period old)."""
    until = now - timedelta(minutes=survey.delay_minutes)
    args: list[Any]
    if survey.trigger == "relational":
        assert survey.period_days is not None
        period = timedelta(days=survey.period_days)
        # one key per person and period: the sweep may run any number of times in it
        bucket = int(now.timestamp() // period.total_seconds())
        sql = f"""SELECT t.person_id, 'period:' || t.person_id || ':{bucket}' AS key, NULL, NULL, NULL, NULL
                  FROM (SELECT DISTINCT person_id FROM touchpoints WHERE ts >= ? AND person_id IS NOT NULL) t
                  WHERE NOT EXISTS (SELECT 1 FROM survey_invitations v WHERE v.survey_id = ?
                                    AND v.person_id = t.person_id AND v.created_at >= ?)"""
        args = [now - period, survey.survey_id, now - period]
    else:
        base = _MOMENTS["touchpoint" if survey.trigger in ("delivery", "touchpoint") else survey.trigger]
        args = [now - rules.max_age, until]
        if survey.trigger in ("delivery", "touchpoint"):
            args.append("delivery" if survey.trigger == "delivery" else survey.trigger_kind)
        sql = f"""SELECT m.person_id, m.key, m.case_id, m.event_id, m.agent_id, m.touch_channel FROM ({base}) m
                  WHERE NOT EXISTS (SELECT 1 FROM survey_invitations v WHERE v.survey_id = ? AND v.trigger_key = m.key)
                  ORDER BY m.at"""
        args.append(survey.survey_id)
    rows = store.query(f"{sql} LIMIT {int(limit)}", args)
    return [Moment(*r) for r in rows]


def _checks(store: Store, survey: Survey, moments: list[Moment], now: datetime,
            rules: ContactRules) -> list[tuple[str | None, str | None, str]]:
    """Per moment: (reason it is held back or None, address, language), in one query."""
    want = {"email": "email", "sms": "phone"}.get(survey.channel)
    cand = pa.table({"i": list(range(len(moments))), "person_id": [m.person_id for m in moments],
                     "case_id": [m.case_id for m in moments]})
    con = store.con
    with registered(con, "_candidates", cand):
        rows = con.execute(f"""
            SELECT c.i,
              q.reason AS quiet,
              (SELECT max(v.created_at) FROM survey_invitations v WHERE v.person_id = c.person_id
                 AND v.status IN {ACTIVE}) AS last_at,
              (SELECT count(*) FROM survey_invitations v WHERE v.person_id = c.person_id
                 AND v.status IN {ACTIVE} AND v.created_at >= ?) AS in_period,
              (SELECT min(i.case_id) FROM desk_inbox i WHERE i.person_id = c.person_id
                 AND i.case_id IS DISTINCT FROM c.case_id) AS open_case,
              (SELECT min(d.value) FROM identities d WHERE d.person_id = c.person_id AND d.kind = ?) AS address,
              (SELECT any_value(p.language) FROM persons p WHERE p.person_id = c.person_id) AS language
            FROM _candidates c LEFT JOIN survey_quiet q USING (person_id) ORDER BY c.i""",
            [now - rules.cap_period, want or "email"]).fetchall()
    out = []
    for _, quiet, last_at, in_period, open_case, address, language in rows:
        lang = language if language in survey.question else "fr"
        reason = None
        if quiet:
            reason = f"quiet list ({quiet})"
        elif last_at is not None and last_at > now - rules.cooldown:
            reason = f"cooldown: already asked on {last_at:%Y-%m-%d} (one survey per {rules.cooldown.days} days)"
        elif in_period >= rules.cap:
            reason = f"cap: {in_period} surveys in the last {rules.cap_period.days} days (at most {rules.cap})"
        elif open_case and not survey.ask_during_open_case:
            reason = f"open case {open_case}: no survey while a request is open"
        elif want and not address:
            reason = f"no {'e-mail address' if want == 'email' else 'phone number'} known for a {survey.channel} survey"
        out.append((reason, address if want else None, lang))
    return out


_INVITE_COLUMNS = ("invitation_id", "survey_id", "trigger_key", "person_id", "language", "channel", "address",
                   "case_id", "event_id", "agent_id", "touch_channel", "status", "reason", "created_at", "expires_at")


def invite(store: Store, survey: Survey, moments: list[Moment], *, now: datetime | None = None,
           rules: ContactRules = ContactRules()) -> dict[str, int]:
    """Record an invitation for each moment (``pending``, or ``skipped`` with its reason);
    the rules also hold between the moments of one call. Counts by status."""
    now = now or datetime.now(timezone.utc)
    if not moments:
        return {}
    with store.write_lock:  # the rules read and the rows written under one lock: no two callers both pass
        return _invite_locked(store, survey, moments, now, rules)


def _invite_locked(store: Store, survey: Survey, moments: list[Moment], now: datetime,
                   rules: ContactRules) -> dict[str, int]:
    checks = _checks(store, survey, moments, now, rules)
    rows: dict[str, list[Any]] = {c: [] for c in _INVITE_COLUMNS}
    asked: set[str] = set()
    for m, (reason, address, lang) in zip(moments, checks):
        if reason is None and m.person_id in asked:
            reason = f"cooldown: already asked today (one survey per {rules.cooldown.days} days)"
        status = "skipped" if reason else "pending"
        if status == "pending":
            asked.add(m.person_id)
        for col, v in zip(_INVITE_COLUMNS, (secrets.token_hex(16), survey.survey_id, m.key, m.person_id, lang,
                                            survey.channel, address, m.case_id, m.event_id, m.agent_id,
                                            m.touch_channel, status, reason, now,
                                            now + timedelta(days=survey.expires_days))):
            rows[col].append(v)
    table = pa.table({c: pa.array(v, pa.timestamp("us", "UTC") if c in ("created_at", "expires_at") else pa.string())
                      for c, v in rows.items()})
    # one statement for the whole batch: a wave of thousands holds the write lock for milliseconds
    with store.transaction() as con:
        with registered(con, "_invites", table):
            got = con.execute(f"""INSERT INTO survey_invitations ({', '.join(_INVITE_COLUMNS)})
                                  SELECT * FROM _invites ON CONFLICT DO NOTHING RETURNING status""").fetchall()
    counts: dict[str, int] = {}
    for (status,) in got:
        counts[status] = counts.get(status, 0) + 1
    store.touch()
    return counts


def invite_persons(store: Store, survey_id: str, person_ids: list[str], *, now: datetime | None = None,
                   rules: ContactRules = ContactRules()) -> dict[str, int]:
    """Ask these persons now (a relational wave sent by hand, `parcours surveys send`)."""
    s = survey_defs.get(store, survey_id)
    if s is None:
        raise VoiceError(f"survey_id: no survey {survey_id!r}")
    now = now or datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S")
    return invite(store, s, [Moment(p, f"manual:{p}:{stamp}") for p in dict.fromkeys(person_ids)], now=now, rules=rules)


def sample(store: Store, *, segment: str | None = None, active_days: int = 365, limit: int = 1000,
           now: datetime | None = None) -> list[str]:
    """A random sample of persons active in the last ``active_days`` (a relational wave)."""
    now = now or datetime.now(timezone.utc)
    where, args = "", [now - timedelta(days=active_days)]
    if segment:
        where = "AND person_id IN (SELECT person_id FROM persons WHERE segment = ?)"
        args.append(segment)  # type: ignore[arg-type]  # a text beside the timestamp
    rows = store.query(f"""SELECT person_id FROM (SELECT DISTINCT person_id FROM touchpoints
                           WHERE ts >= ? AND person_id IS NOT NULL {where}) ORDER BY hash(person_id || ?)
                           LIMIT {int(limit)}""", [*args, now.isoformat()])
    return [r[0] for r in rows]


def keep_quiet(store: Store, person_id: str, reason: str, *, actor: str) -> None:
    """Put a person on the quiet list: no survey of any kind from now on — those waiting to be
    sent or answered are withdrawn (skipped, "quiet list")."""
    with store.write_lock, store.transaction() as con:
        con.execute("INSERT OR REPLACE INTO survey_quiet VALUES (?, ?, ?, ?)",
                    [person_id, reason, datetime.now(timezone.utc), actor])
        con.execute("UPDATE survey_invitations SET status = 'skipped', reason = ? WHERE person_id = ? "
                    "AND status IN ('pending', 'sent', 'opened')", [f"quiet list ({reason})", person_id])
    store.touch()


def let_speak(store: Store, person_id: str) -> bool:
    """Take a person off the quiet list (they asked to be surveyed again); False if not on it."""
    with store.write_lock, store.transaction() as con:
        gone = con.execute("DELETE FROM survey_quiet WHERE person_id = ? RETURNING 1", [person_id]).fetchall()
    store.touch()
    return bool(gone)


def is_quiet(store: Store, person_id: str) -> str | None:
    """Why a person is on the quiet list, or None."""
    rows = store.query("SELECT reason FROM survey_quiet WHERE person_id = ?", [person_id])
    return rows[0][0] if rows else None


def of_person(store: Store, person_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """A person's invitations, newest first, with the rule that held back those skipped:
    "why did she get no survey?" """
    keys = ("invitation_id", "survey_id", "status", "reason", "channel", "case_id", "created_at", "sent_at",
            "opened_at", "answered_at", "expires_at")
    rows = store.query(f"SELECT {', '.join(keys)} FROM survey_invitations WHERE person_id = ? "
                       f"ORDER BY created_at DESC LIMIT {int(limit)}", [person_id])
    return [dict(zip(keys, r)) for r in rows]


def sweep(store: Store, *, now: datetime | None = None, rules: ContactRules = ContactRules(),
          limit: int = 1000) -> dict[str, dict[str, int]]:
    """Invite for every active survey's due moments (idempotent), and expire old links."""
    now = now or datetime.now(timezone.utc)
    done = {}
    for s in survey_defs.listed(store, active=True):
        got = invite(store, s, due_moments(store, s, now, rules, limit), now=now, rules=rules)
        if got:
            done[s.survey_id] = got
    with store.write_lock, store.transaction() as con:
        # a link that reached the person and was not answered in time is expired (it counted as
        # asking); one that never left (no relay, a widget never shown) is unsent (it did not)
        con.execute("UPDATE survey_invitations SET status = CASE WHEN status = 'pending' THEN 'unsent' "
                    "ELSE 'expired' END WHERE status IN ('pending', 'sent', 'opened') AND expires_at <= ?", [now])
    return done
