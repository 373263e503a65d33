"""What a rule is about, and the fields its condition may name.

Two kinds of subject:

* **events** — ``touchpoint``, ``response``: judged once, when the row is stored (and by the
  back-test over a past period). Every time-window field counts *back from the event's own
  time*, so a back-test and the live engine judge a row the same way.
* **states** — ``case`` (active cases), ``promise`` (promises not kept yet), ``person``
  (customers with a churn score): judged by a sweep, against the clock (``now``); the
  back-test replays the sweep at daily check points ("as of" each day).

Each subject is a SQL source with the aliases ``t`` (the row), ``p`` (its person) and ``k``
(the person's churn score); a :class:`~parcours.act.conditions.Field` is an expression over
them. Nothing here runs a query; :mod:`parcours.act.engine` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from parcours.act.conditions import Field
from parcours.schema import CASE_STATUSES, CHANNELS, DIRECTIONS, METRICS, OUTCOMES, PRIORITIES, PROMISE_KINDS, STAGES
from parcours.schema import TOUCHPOINT_KINDS as KINDS

__all__ = ["SUBJECTS", "Subject", "now_sql"]


def now_sql(now: datetime) -> str:
    """A timestamp literal (ours, never a user's text) for the sources' ``{now}``."""
    return f"TIMESTAMPTZ '{now.astimezone(timezone.utc).isoformat()}'"


def _person_fields(ts: str) -> list[Field]:
    """Fields every subject gets from its person (``ts``: the moment judged)."""
    return [
        Field("segment", "text", "the person's segment (particulier, pro, premium…)", "p.segment"),
        Field("churn_risk", "number", "the person's latest churn risk, 0–1 (parcours churn score)", "k.risk"),
        Field("clv", "number", "the person's expected customer lifetime value", "k.clv"),
        Field("last_nps", "number", "the person's latest NPS answer before this moment",
              f"(SELECT r.score FROM responses r WHERE r.person_id = t.person_id AND r.metric = 'nps' "
              f"AND r.score IS NOT NULL AND r.ts <= {ts} ORDER BY r.ts DESC LIMIT 1)"),
        Field("open_cases", "number", "the person's active cases now",
              "(SELECT count(*) FROM desk_inbox i WHERE i.person_id = t.person_id)"),
    ]


def _window(ts: str, where: str, what: str = "count(*)") -> str:
    """An aggregate over the person's touchpoints in the ``{arg}`` seconds up to ``ts``."""
    return (f"(SELECT {what} FROM touchpoints o WHERE o.person_id = t.person_id "
            f"AND o.ts > {ts} - to_seconds({{arg}}) AND o.ts <= {ts} AND {where})")


_ISSUE = "(o.case_id = t.case_id OR o.topic = t.topic)"
_CONTACT = "o.kind = 'contact' AND o.direction = 'inbound'"


@dataclass(frozen=True)
class Subject:
    name: str
    kind: str                     # "event" or "state"
    table: str                    # the canonical table its rows come from
    key: str                      # SQL of its key (firings are unique per rule, key, round)
    source: str                   # FROM … (with {now} for states)
    live: str                     # WHERE of the rows a live sweep judges (states), "" for events
    as_of: str                    # WHERE of the rows a back-test judges at {now} (states)
    ts: str                       # SQL of the moment judged
    case: str                     # SQL of the case concerned, or NULL
    fields: dict[str, Field]
    doc: str

    def field_docs(self) -> list[dict[str, str]]:
        return [{"name": f.name + ("(duration)" if f.takes_duration else ""), "type": f.type, "doc": f.doc,
                 **({"values": ", ".join(f.values)} if f.values else {})} for f in self.fields.values()]


def _index(fields: list[Field]) -> dict[str, Field]:
    return {f.name: f for f in fields}


_PERSON_JOIN = ("LEFT JOIN persons p ON p.person_id = t.person_id "
                "LEFT JOIN churn_scores k ON k.person_id = t.person_id")

TOUCHPOINT = Subject(
    "touchpoint", "event", "touchpoints", "t.event_id",
    f"touchpoints t {_PERSON_JOIN}", "", "", "t.ts", "t.case_id",
    _index([
        Field("channel", "enum", "channel of the touchpoint", "t.channel", CHANNELS),
        Field("direction", "enum", "inbound (the customer) or outbound (the company)", "t.direction", DIRECTIONS),
        Field("kind", "enum", "what happened", "t.kind", KINDS),
        Field("stage", "enum", "journey stage", "t.stage", STAGES),
        Field("topic", "text", "subject of the contact", "t.topic"),
        Field("outcome", "enum", "outcome of a contact", "t.outcome", OUTCOMES),
        Field("wait", "age", "how long the customer waited", "t.wait_s"),
        Field("handle", "age", "handling time", "t.handle_s"),
        Field("agent_id", "text", "agent who handled it", "t.agent_id"),
        Field("text", "text", "the touchpoint's text", "t.text"),
        Field("has_case", "bool", "the touchpoint belongs to a case", "t.case_id IS NOT NULL"),
        Field("channels", "number", "distinct channels the person contacted us on about this issue (same case "
              "or topic) within the duration up to this touchpoint, e.g. channels(48h)",
              _window("t.ts", f"{_CONTACT} AND {_ISSUE}", "count(DISTINCT o.channel)"), takes_duration=True,
              default_duration_s=48 * 3600),
        Field("contacts", "number", "the person's inbound contacts within the duration, e.g. contacts(7d)",
              _window("t.ts", _CONTACT), takes_duration=True, default_duration_s=7 * 86_400),
        Field("unresolved", "number", "the person's unresolved or abandoned contacts within the duration",
              _window("t.ts", f"{_CONTACT} AND o.outcome IN ('unresolved', 'abandoned')"), takes_duration=True,
              default_duration_s=30 * 86_400),
        *_person_fields("t.ts"),
    ]),
    "a touchpoint as it is stored (a contact, a purchase, a delivery…)")

_UNHAPPY = ("(t.metric = 'nps' AND t.score <= 6) OR (t.metric = 'csat' AND t.score <= 2) "
            "OR (t.metric = 'ces' AND t.score <= 3)")
RESPONSE = Subject(
    "response", "event", "responses", "t.response_id",
    f"responses t {_PERSON_JOIN}", "", "", "t.ts", "t.case_id",
    _index([
        Field("metric", "enum", "nps, csat, ces or custom", "t.metric", METRICS),
        Field("score", "number", "the score given (empty if skipped)", "t.score"),
        Field("comment", "text", "the verbatim", "t.comment"),
        Field("channel", "enum", "channel answered on", "t.channel", CHANNELS),
        Field("survey_id", "text", "survey", "t.survey_id"),
        Field("language", "text", "language of the comment", "t.language"),
        Field("detractor", "bool", "an NPS of 0–6", "t.metric = 'nps' AND t.score <= 6"),
        Field("promoter", "bool", "an NPS of 9–10", "t.metric = 'nps' AND t.score >= 9"),
        Field("unhappy", "bool", "NPS 0–6, CSAT 1–2 or CES 1–3", _UNHAPPY),
        Field("has_case", "bool", "the answer is about a case", "t.case_id IS NOT NULL"),
        *_person_fields("t.ts"),
    ]),
    "a survey answer as it is stored")

_ACTIVE = "t.status IN ('new', 'open', 'pending')"
_CASE_SLA = ("EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = t.case_id AND e.kind = '{kind}' "
             "AND e.ts <= {{now}})")
CASE = Subject(
    "case", "state", "cases", "t.case_id",
    f"cases t {_PERSON_JOIN} LEFT JOIN desk_cases d ON d.case_id = t.case_id",
    _ACTIVE, "t.opened_at <= {now} AND (t.closed_at IS NULL OR t.closed_at > {now})",
    "{now}", "t.case_id",
    _index([
        Field("status", "enum", "new, open or pending", "t.status", CASE_STATUSES),
        Field("priority", "enum", "priority", "t.priority", PRIORITIES),
        Field("channel", "enum", "channel of the first contact", "t.channel", CHANNELS),
        Field("topic", "text", "reason for contact", "t.topic"),
        Field("assignee", "text", "agent the case is assigned to", "t.assignee"),
        Field("assigned", "bool", "someone has the case", "t.assignee IS NOT NULL"),
        Field("age", "age", "time since the case was opened", "epoch({now}) - epoch(t.opened_at)"),
        Field("idle", "age", "time since the last message of the customer or an agent",
              "epoch({now}) - epoch(coalesce(greatest(d.last_customer_at, d.last_agent_at), t.opened_at))"),
        Field("answered", "bool", "an agent has answered", "t.first_response_at IS NOT NULL "
              "AND t.first_response_at <= {now}"),
        Field("reopened", "number", "times the case was reopened", "t.reopen_count"),
        Field("sla_at_risk", "bool", "an SLA clock of the case is close to its due time",
              _CASE_SLA.format(kind="sla_at_risk")),
        Field("sla_breached", "bool", "an SLA clock of the case passed its due time",
              _CASE_SLA.format(kind="sla_breach")),
        *_person_fields("{now}"),
    ]),
    "an active case, judged as time passes")

PROMISE = Subject(
    "promise", "state", "promises", "t.promise_id",
    f"promises t {_PERSON_JOIN}", "t.kept_at IS NULL",
    "t.made_at <= {now} AND (t.kept_at IS NULL OR t.kept_at > {now})",
    "{now}", "t.case_id",
    _index([
        Field("kind", "enum", "what was promised", "t.kind", PROMISE_KINDS),
        Field("channel", "enum", "channel the promise was made on", "t.channel", CHANNELS),
        Field("age", "age", "time since the promise was made (e.g. an order shipped 5 days ago: age > 5d)",
              "epoch({now}) - epoch(t.made_at)"),
        Field("overdue", "age", "time past the due date (negative before it)", "epoch({now}) - epoch(t.due_at)"),
        Field("due_in", "age", "time left before the due date (negative once past)",
              "epoch(t.due_at) - epoch({now})"),
        Field("kept", "bool", "the promise was fulfilled", "t.kept_at IS NOT NULL AND t.kept_at <= {now}"),
        Field("has_order", "bool", "the promise is about an order", "t.order_id IS NOT NULL"),
        Field("detail", "text", "what was said", "t.detail"),
        *_person_fields("{now}"),
    ]),
    "a promise not kept yet, judged as time passes")

PERSON = Subject(
    "person", "state", "persons",
    "t.person_id",
    "persons t LEFT JOIN persons p ON p.person_id = t.person_id LEFT JOIN churn_scores k ON k.person_id = t.person_id",
    "k.person_id IS NOT NULL", "k.person_id IS NOT NULL", "{now}", "NULL",
    _index([
        Field("since_last_order", "age", "time since the person's last order",
              "epoch({now}) - epoch((SELECT max(o.ts) FROM orders o WHERE o.person_id = t.person_id "
              "AND o.ts <= {now}))"),
        Field("since_last_contact", "age", "time since the person's last inbound contact",
              "epoch({now}) - epoch((SELECT max(o.ts) FROM touchpoints o WHERE o.person_id = t.person_id "
              "AND o.kind = 'contact' AND o.direction = 'inbound' AND o.ts <= {now}))"),
        *_person_fields("{now}"),
    ]),
    "a customer with a churn score, judged as time passes (scores as last computed)")

SUBJECTS: dict[str, Subject] = {s.name: s for s in (TOUCHPOINT, RESPONSE, CASE, PROMISE, PERSON)}
