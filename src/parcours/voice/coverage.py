"""Silent customers: who answers, who never does, and what that does to the scores.

Seed 002: a silent customer is not a satisfied one. Scores describe respondents only; when
respondents differ from the others, the scores are biased (non-response bias; Groves 2006,
"Nonresponse rates and nonresponse bias in household surveys"). We cannot know the silent
customers' scores, but we can compare what both groups *did*: contacts, unresolved or
abandoned contacts, channel hops. The note says how the respondents differ, and which way
that probably pushes the scores.

* coverage by segment and by contact channel: of the persons active in the period (with a
  touchpoint; for a channel, with an inbound contact on it), the share who answered a survey;
* invitations: sent, answered, response rate (answers / invitations delivered);
* the never-answering: active persons with contacts and no answer ever, most contacts first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from parcours.store import Store

__all__ = ["coverage"]


def _period(start: datetime | None, end: datetime | None, col: str) -> tuple[str, list[Any]]:
    where, args = [], []
    if start is not None:
        where.append(f"{col} >= ?")
        args.append(start)
    if end is not None:
        where.append(f"{col} < ?")
        args.append(end)
    return (" AND ".join(where) or "TRUE"), args


def coverage(store: Store, *, start: datetime | None = None, end: datetime | None = None,
             silent_limit: int = 20) -> dict[str, Any]:
    """The silent-customer view of the period (see the module)."""
    tw, ta = _period(start, end, "ts")
    base = f"""
        WITH active AS (SELECT person_id, count(*) FILTER (kind = 'contact' AND direction = 'inbound') AS contacts,
                               count(*) FILTER (outcome IN ('unresolved', 'abandoned')) AS failed,
                               count(DISTINCT channel) FILTER (kind = 'contact') AS channels
                        FROM touchpoints WHERE person_id IS NOT NULL AND kind <> 'survey' AND {tw} GROUP BY person_id),
        answered AS (SELECT DISTINCT person_id FROM responses WHERE score IS NOT NULL AND {tw}),
        flagged AS (SELECT a.*, b.person_id IS NOT NULL AS answered FROM active a LEFT JOIN answered b USING (person_id))"""
    by_segment = store.query(f"""{base}
        SELECT coalesce(p.segment, '—'), count(*), count(*) FILTER (answered)
        FROM flagged f LEFT JOIN persons p USING (person_id) GROUP BY 1 ORDER BY 2 DESC""", ta + ta)
    by_channel = store.query(f"""{base},
        chan AS (SELECT DISTINCT person_id, CAST(channel AS VARCHAR) AS channel FROM touchpoints
                 WHERE kind = 'contact' AND direction = 'inbound' AND person_id IS NOT NULL AND {tw})
        SELECT c.channel, count(*), count(*) FILTER (f.answered) FROM chan c JOIN flagged f USING (person_id)
        GROUP BY 1 ORDER BY 2 DESC""", ta + ta + ta)
    groups = store.query(f"""{base}
        SELECT answered, count(*), avg(contacts), avg(CASE WHEN contacts > 0 THEN failed::DOUBLE / contacts END),
               avg(channels) FROM flagged GROUP BY 1""", ta + ta)
    silent = store.query(f"""{base}
        SELECT f.person_id, p.segment, f.contacts, f.failed FROM flagged f LEFT JOIN persons p USING (person_id)
        WHERE NOT f.answered AND f.contacts > 0
          AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.person_id = f.person_id)
        ORDER BY f.contacts DESC, f.failed DESC, f.person_id LIMIT {int(silent_limit)}""", ta + ta)
    never = store.query(f"""{base}
        SELECT count(*) FROM flagged f WHERE f.contacts > 0
          AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.person_id = f.person_id)""", ta + ta)[0][0]
    iw, ia = _period(start, end, "created_at")
    inv = store.query(f"""SELECT count(*) FILTER (status NOT IN ('skipped', 'pending', 'failed')),
                                 count(*) FILTER (status = 'answered'), count(*) FILTER (status = 'partial'),
                                 count(*) FILTER (status = 'skipped')
                          FROM survey_invitations WHERE {iw}""", ia)[0]

    def rows(data: list[tuple[Any, ...]], key: str) -> list[dict[str, Any]]:
        return [{key: k, "active": n, "answered": a, "coverage": a / n if n else None} for k, n, a in data]

    g = {bool(a): {"persons": n, "contacts": c, "failed_share": f, "channels": ch} for a, n, c, f, ch in groups}
    active = sum(v["persons"] for v in g.values())
    answered = g.get(True, {}).get("persons", 0)
    return {
        "active": active, "answered": answered, "coverage": answered / active if active else None,
        "by_segment": rows(by_segment, "segment"), "by_channel": rows(by_channel, "channel"),
        "invitations": {"delivered": inv[0], "answered": inv[1], "partial": inv[2], "skipped": inv[3],
                        "response_rate": (inv[1] + inv[2]) / inv[0] if inv[0] else None},
        "never_answered": never, "silent": [dict(zip(("person_id", "segment", "contacts", "failed"), r))
                                            for r in silent],
        "respondents": g.get(True), "non_respondents": g.get(False), "bias": _bias(g.get(True), g.get(False)),
    }


def _bias(resp: dict[str, Any] | None, silent: dict[str, Any] | None) -> dict[str, Any] | None:
    """Which way the silent probably pull: more failed contacts among them → scores flattered."""
    if not resp or not silent or resp["failed_share"] is None or silent["failed_share"] is None:
        return None
    diff = silent["failed_share"] - resp["failed_share"]
    direction = "flattered" if diff > 0.02 else "understated" if diff < -0.02 else "similar"
    return {"failed_share_respondents": resp["failed_share"], "failed_share_silent": silent["failed_share"],
            "contacts_respondents": resp["contacts"], "contacts_silent": silent["contacts"], "scores_probably": direction}
