"""Outreach that customers welcome: proactive contacts under a contact-pressure budget.

Every proactive practice carries how customers rate it. The five of the Genesys survey
(seed 003: a thousand US web users rated each practice from 1, very annoying, to 5, very
useful) are built in; a company's own practice takes the rating it measured.

A rule's ``send_message`` queues an outreach. Each round, :func:`dispatch` decides per
person: the ``budget`` of proactive contacts per ``period_days`` caps what goes out, the
best-rated practices first; the last ``reserve`` contacts of the budget are kept for
practices rated at least ``welcome`` — so as pressure rises the lowest-rated practices are
the first to go. What is held back is recorded with the reason, never silently dropped.

Held-back outreach gives a comparison group for free: :func:`effect` compares the answers
of persons reached with those held back, per practice, with 95 % intervals.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from parcours.store import Store
from parcours.store.sql import registered

__all__ = ["PRACTICES", "Budget", "Practice", "budget", "dispatch", "effect", "queue", "set_budget", "summary"]


@dataclass(frozen=True)
class Practice:
    practice_id: str
    rating: float          # 1 (very annoying) … 5 (very useful)
    channel: str
    name_fr: str
    name_en: str
    source: str


_GENESYS = "Genesys survey of 1,000 US web users, rated 1 (very annoying) to 5 (very useful), seed 003"
PRACTICES: dict[str, Practice] = {p.practice_id: p for p in (
    Practice("personal_call_after_change", 3.7, "phone", "Appel personnel après un changement sensible (code PIN)",
             "Personal call after a sensitive change (PIN)", _GENESYS),
    Practice("in_store_promotion", 2.9, "app", "Notification d'une promotion dans le magasin visité",
             "Notification of a promotion in the store being visited", _GENESYS),
    Practice("abandoned_cart_email", 2.4, "email", "E-mail de relance d'un panier abandonné",
             "Abandoned-cart reminder e-mail", _GENESYS),
    Practice("social_reply", 2.4, "social", "Réponse sur les réseaux sociaux après une mention",
             "Reply on social media after a mention", _GENESYS),
    Practice("thank_you_email", 2.3, "email", "E-mail de remerciement après une visite",
             "Thank-you e-mail after a visit", _GENESYS),
)}


@dataclass(frozen=True)
class Budget:
    per_person: int = 3        # proactive contacts a person may receive …
    period_days: int = 30      # … in this many days
    reserve: int = 1           # the last contacts of the budget, kept for welcome practices
    welcome: float = 3.0       # the rating from which a practice counts as welcome


def budget(store: Store) -> Budget:
    rows = store.query("SELECT value FROM act_settings WHERE key = 'budget'")
    return Budget(**json.loads(rows[0][0])) if rows else Budget()


def set_budget(store: Store, b: Budget, *, now: datetime | None = None) -> Budget:
    if not (1 <= b.per_person <= 100 and 1 <= b.period_days <= 366 and 0 <= b.reserve < b.per_person
            and 1 <= b.welcome <= 5):
        raise ValueError("budget: per_person 1–100, period_days 1–366, reserve 0 to per_person − 1, welcome 1–5")
    with store.write_lock, store.transaction() as con:
        con.execute("DELETE FROM act_settings WHERE key = 'budget'")
        con.execute("INSERT INTO act_settings VALUES ('budget', ?, ?)",
                    [json.dumps(asdict(b)), now or datetime.now(timezone.utc)])
    return b


def queue(store: Store, items: list[dict[str, Any]], *, now: datetime) -> list[str]:
    """Queue outreach (person_id, practice, channel, body, rule_id, firing_id); their ids."""
    if not items:
        return []
    rows = []
    for it in items:
        p = PRACTICES[it["practice"]]
        rows.append({"outreach_id": "o_" + uuid.uuid4().hex[:16], "person_id": it["person_id"],
                     "practice": p.practice_id, "rating": p.rating, "channel": it.get("channel") or p.channel,
                     "rule_id": it.get("rule_id"), "firing_id": it.get("firing_id"), "body": it.get("body"),
                     "created_at": now, "status": "queued", "reason": None, "decided_at": None})
    with registered(store.con, "_outreach", pa.Table.from_pylist(rows)):
        store.con.execute("INSERT INTO outreach SELECT * FROM _outreach")
    return [r["outreach_id"] for r in rows]


def dispatch(store: Store, *, now: datetime | None = None, b: Budget | None = None) -> list[dict[str, Any]]:
    """Decide every queued outreach: sent (to hand to its channel) or held, with the reason.
    Returns the ones to send. Call with the store's write lock held or from its one writer."""
    now = now or datetime.now(timezone.utc)
    b = b or budget(store)
    since = now - timedelta(days=b.period_days)
    rows = store.query("""
        SELECT q.outreach_id, q.person_id, q.practice, q.rating, q.channel, q.body, q.rule_id,
               (SELECT count(*) FROM outreach s WHERE s.person_id = q.person_id AND s.status = 'sent'
                AND s.decided_at > ?) AS used
        FROM outreach q WHERE q.status = 'queued' ORDER BY q.person_id, q.rating DESC, q.created_at, q.outreach_id""",
                       [since])
    decided, to_send, taken = [], [], {}
    for oid, pid, practice, rating, channel, body, rule_id, used in rows:
        n = used + taken.get(pid, 0)
        limit = b.per_person if rating >= b.welcome else b.per_person - b.reserve
        if n < limit:
            taken[pid] = taken.get(pid, 0) + 1
            decided.append((oid, "sent", None))
            to_send.append({"outreach_id": oid, "person_id": pid, "practice": practice, "channel": channel,
                            "body": body, "rule_id": rule_id})
        else:
            why = (f"contact-pressure budget: {n} of {b.per_person} proactive contacts in {b.period_days} days"
                   + ("" if rating >= b.welcome else
                      f"; the last {b.reserve} kept for practices rated {b.welcome:g}+ (this one {rating:g})"))
            decided.append((oid, "held", why))
    if decided:
        table = pa.table({"outreach_id": [d[0] for d in decided], "status": [d[1] for d in decided],
                          "reason": [d[2] for d in decided]})
        with registered(store.con, "_decided", table):
            store.con.execute("UPDATE outreach SET status = d.status, reason = d.reason, decided_at = ? "
                              "FROM _decided d WHERE outreach.outreach_id = d.outreach_id", [now])
    return to_send


def summary(store: Store) -> list[dict[str, Any]]:
    """Per practice: its rating, queued, sent and held."""
    got = {r[0]: r[1:] for r in store.query(
        "SELECT practice, count(*) FILTER (status = 'queued'), count(*) FILTER (status = 'sent'), "
        "count(*) FILTER (status = 'held') FROM outreach GROUP BY practice")}
    return [{**asdict(p), "queued": got.get(k, (0, 0, 0))[0], "sent": got.get(k, (0, 0, 0))[1],
             "held": got.get(k, (0, 0, 0))[2]} for k, p in sorted(PRACTICES.items(), key=lambda kv: -kv[1].rating)]


def effect(store: Store, *, days: int = 30) -> list[dict[str, Any]]:
    """Per practice (and overall): the NPS of the answers given within ``days`` after the
    decision, by persons reached vs held back (``metrics.voc.nps``: its margin of error), the
    difference with its 95 % interval (``metrics.voc.nps_change``), and how many answered at all.
    Held-back persons were not chosen at random (they had had more outreach): read the
    difference as evidence, not proof."""
    import ibis

    from parcours.metrics import voc

    answers = f"""
        SELECT o.practice, o.status, o.person_id, r.response_id, r.metric, r.score
        FROM outreach o LEFT JOIN responses r ON r.person_id = o.person_id AND r.metric = 'nps'
             AND r.score IS NOT NULL AND r.ts > o.decided_at AND r.ts <= o.decided_at + INTERVAL {int(days)} DAY
        WHERE o.status IN ('sent', 'held')"""
    people = {(pr or "all", st): (n, k) for pr, st, n, k in store.query(
        "SELECT practice, status, count(DISTINCT person_id), count(DISTINCT person_id) FILTER (score IS NOT NULL) "
        f"FROM ({answers}) GROUP BY GROUPING SETS ((practice, status), (status))")}
    t = store.ibis().sql(answers)
    overall = t.select("status", "response_id", "metric", "score").distinct()  # an answer once, whatever the practices
    scored = {(r["practice"], r["status"]): r for r in [
        *voc.nps(t, by=["practice", "status"]).to_pyarrow().to_pylist(),
        *voc.nps(overall.mutate(practice=ibis.literal("all")), by=["practice", "status"]).to_pyarrow().to_pylist()]}
    out = []
    for practice in [*PRACTICES, "all"]:
        sent, held = (scored.get((practice, st), {}) for st in ("sent", "held"))
        change = voc.nps_change(held, sent)
        row: dict[str, Any] = {"practice": practice, "days": days}
        for st, g in (("sent", sent), ("held", held)):
            n_people, n_answered = people.get((practice, st), (0, 0))
            row |= {f"{st}_persons": n_people, f"{st}_answered": n_answered, f"{st}_nps": g.get("nps"),
                    f"{st}_moe95": g.get("moe95"), f"{st}_n": g.get("n") or 0}
        diff = change["delta"]
        row |= {"difference": diff, "difference_ci95": None if diff is None else
                [diff - change["moe95"], diff + change["moe95"]]}
        out.append(row)
    return out
