"""Silent customers: who answers, who never does, and what that does to the scores.

Seed 002: a silent customer is not a satisfied one. Scores describe respondents only; when
respondents differ from the others, the scores are biased (non-response bias; Groves 2006,
"Nonresponse rates and nonresponse bias in household surveys"). We cannot know the silent
customers' scores, but we can compare what both groups *did*: contacts, unresolved or
abandoned contacts, channel hops. The note says how the respondents differ, and which way
that probably pushes the scores.

* coverage by segment and by contact channel: of the persons active in the period (with a
  touchpoint; for a channel, with an inbound contact on it), the share who answered a survey;
* invitations, overall and per survey: delivered, answered, response rate (answers /
  invitations delivered) with its Wilson interval;
* the never-answering: active persons with contacts and no answer ever, most contacts first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from parcours.metrics.stats import SMALL_N, wilson_bounds
from parcours.store import Store
from parcours.store.sql import period

__all__ = ["coverage"]



_GUARD = threading.Lock()


def coverage(store: Store, *, start: datetime | None = None, end: datetime | None = None,
             silent_limit: int = 20) -> dict[str, Any]:
    """The silent-customer view of the period (see the module). It scans every touchpoint of
    the period, so it is kept until the data change (the store's change counter)."""
    key, kept = (start, end, silent_limit), store.memo.setdefault("coverage", OrderedDict())
    version = store.changes  # read before: a write during the computation makes it stale at once
    with _GUARD:
        hit = kept.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
    got = _coverage(store, start, end, silent_limit)
    with _GUARD:
        kept[key] = (version, got)
        kept.move_to_end(key)
        while len(kept) > 32:
            kept.popitem(last=False)
    return got


def _coverage(store: Store, start: datetime | None, end: datetime | None, silent_limit: int) -> dict[str, Any]:
    tw, ta = period(start, end, "ts")
    # one statement, the per-person table materialised once and read by every breakdown
    rows = store.query(f"""
        WITH active AS MATERIALIZED (
               SELECT person_id, count(*) FILTER (kind = 'contact' AND direction = 'inbound') AS contacts,
                      count(*) FILTER (outcome IN ('unresolved', 'abandoned')) AS failed,
                      count(DISTINCT channel) FILTER (kind = 'contact') AS channels,
                      list(DISTINCT CAST(channel AS VARCHAR)) FILTER (kind = 'contact' AND direction = 'inbound')
                        AS contact_channels
               FROM touchpoints WHERE person_id IS NOT NULL AND kind <> 'survey' AND {tw} GROUP BY person_id),
        flagged AS MATERIALIZED (
               SELECT a.*,
                      a.person_id IN (SELECT person_id FROM responses WHERE score IS NOT NULL AND {tw}) AS answered,
                      a.person_id IN (SELECT person_id FROM responses) AS ever, coalesce(p.segment, '—') AS segment
               FROM active a LEFT JOIN persons p USING (person_id))
        SELECT 'segment', segment, count(*), count(*) FILTER (answered), NULL, NULL, NULL FROM flagged GROUP BY 2
        UNION ALL
        SELECT 'channel', c, count(*), count(*) FILTER (answered), NULL, NULL, NULL
          FROM (SELECT unnest(contact_channels) AS c, answered FROM flagged) GROUP BY 2
        UNION ALL
        SELECT 'group', answered::VARCHAR, count(*), avg(contacts),
               avg(CASE WHEN contacts > 0 THEN failed::DOUBLE / contacts END), avg(channels), NULL
          FROM flagged GROUP BY 2
        UNION ALL
        SELECT 'never', NULL, count(*), NULL, NULL, NULL, NULL FROM flagged WHERE contacts > 0 AND NOT ever
        UNION ALL
        SELECT * FROM (SELECT 'silent', person_id, contacts, failed, NULL, NULL, segment FROM flagged
                       WHERE contacts > 0 AND NOT ever ORDER BY contacts DESC, failed DESC, person_id
                       LIMIT {int(silent_limit)})""", ta + ta)
    by_segment = sorted(((k, n, a) for kind, k, n, a, *_ in rows if kind == "segment"), key=lambda r: (-r[1], r[0]))
    by_channel = sorted(((k, n, a) for kind, k, n, a, *_ in rows if kind == "channel"), key=lambda r: (-r[1], r[0]))
    groups = [(k == "true", n, c, f, ch) for kind, k, n, c, f, ch, _ in rows if kind == "group"]
    never = next((n for kind, _, n, *_ in rows if kind == "never"), 0)
    silent = sorted(((pid, seg, n, failed) for kind, pid, n, failed, _, _, seg in rows if kind == "silent"),
                    key=lambda r: (-r[2], -r[3], r[0]))
    iw, ia = period(start, end, "created_at")
    per_survey = store.query(f"""
        SELECT i.survey_id, any_value(s.name), count(*) FILTER (i.sent_at IS NOT NULL OR i.opened_at IS NOT NULL),
               count(*) FILTER (i.status = 'answered'), count(*) FILTER (i.status = 'partial'),
               count(*) FILTER (i.status = 'skipped')
        FROM (SELECT * FROM survey_invitations WHERE {iw}) i LEFT JOIN surveys s USING (survey_id)
        GROUP BY i.survey_id ORDER BY 3 DESC, 1""", ia)
    inv = [sum(r[k] for r in per_survey) for k in range(2, 6)]

    def breakdown(data: list[tuple[Any, ...]], key: str) -> list[dict[str, Any]]:
        return [{key: k, "active": n, "answered": a, "coverage": a / n if n else None} for k, n, a in data]

    g = {bool(a): {"persons": n, "contacts": c, "failed_share": f, "channels": ch} for a, n, c, f, ch in groups}
    active = sum(v["persons"] for v in g.values())
    answered = g.get(True, {}).get("persons", 0)
    return {
        "active": active, "answered": answered, "coverage": answered / active if active else None,
        "by_segment": breakdown(by_segment, "segment"), "by_channel": breakdown(by_channel, "channel"),
        "invitations": _invitations(*inv),
        "by_survey": [{"survey_id": sid, "name": name, **_invitations(*counts)} for sid, name, *counts in per_survey],
        "never_answered": never, "silent": [dict(zip(("person_id", "segment", "contacts", "failed"), r))
                                            for r in silent],
        "respondents": g.get(True), "non_respondents": g.get(False), "bias": _bias(g.get(True), g.get(False)),
    }


def _invitations(delivered: int, answered: int, partial: int, skipped: int) -> dict[str, Any]:
    """Invitation counts and the response rate (answered, fully or partly, / delivered) with its
    Wilson 95 % interval, flagged below SMALL_N deliveries."""
    responded = answered + partial
    return {"delivered": delivered, "answered": answered, "partial": partial, "skipped": skipped,
            "responded": responded, "response_rate": responded / delivered if delivered else None,
            "response_rate_ci95": wilson_bounds(responded, delivered), "small_n": delivered < SMALL_N}


def _bias(resp: dict[str, Any] | None, silent: dict[str, Any] | None) -> dict[str, Any] | None:
    """Which way the silent probably pull: more failed contacts among them → scores flattered."""
    if not resp or not silent or resp["failed_share"] is None or silent["failed_share"] is None:
        return None
    diff = silent["failed_share"] - resp["failed_share"]
    direction = "flattered" if diff > 0.02 else "understated" if diff < -0.02 else "similar"
    return {"failed_share_respondents": resp["failed_share"], "failed_share_silent": silent["failed_share"],
            "contacts_respondents": resp["contacts"], "contacts_silent": silent["contacts"],
            "scores_probably": direction}
