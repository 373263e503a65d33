"""Every metric with its default options, as a function of the canonical tables.

One list for the conformance suite (each entry must give the same rows on DuckDB and on
Spark), the docs and the benchmarks. An entry takes the tables (name → Ibis table) and
returns an Ibis table expression.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from datetime import date

from parcours.metrics import features, loyalty, segments
from parcours.metrics import journeys as j
from parcours.metrics import service as sv
from parcours.metrics import voc
from parcours.metrics.value import rfm_summary

Tables = dict[str, Any]


def _eps(t: Tables) -> Any:
    return j.episodes(j.contacts(t["touchpoints"]))


def _flags(t: Tables) -> Any:
    return j.contact_flags(_eps(t))


CATALOG: dict[str, Callable[[Tables], Any]] = {
    "nps": lambda t: voc.nps(t["responses"]),
    "nps_by_channel": lambda t: voc.nps(t["responses"].mutate(channel=t["responses"].channel.cast("string")),
                                        by=["channel"]),
    "csat": lambda t: voc.csat(t["responses"]),
    "ces": lambda t: voc.ces(t["responses"]),
    "channel_switching": lambda t: j.channel_switching(_eps(t)),
    "preceded_by_other_channel": lambda t: j.preceded_by_other_channel(_flags(t)),
    "preceded_by": lambda t: j.preceded_by(_flags(t)),
    "avoidable_contacts": lambda t: j.avoidable_contacts(_flags(t), by=["channel"]),
    "avoidable_other_channel": lambda t: j.avoidable_contacts(_flags(t), other_channel=True),
    "continue_after_call": lambda t: j.continue_after(_flags(t), "phone"),
    "give_up": lambda t: j.give_up(j.episode_summary(_eps(t))),
    "give_up_calls": lambda t: j.give_up(j.episode_summary(_eps(t)), channel="phone"),
    "effort": lambda t: j.effort(j.episode_summary(_eps(t))),
    "paths": lambda t: j.paths(_eps(t), top=15),
    "stage_funnel": lambda t: j.stage_funnel(t["touchpoints"]),
    "peak_end": lambda t: j.peak_end(_eps(t), t["responses"]),
    "moments": lambda t: j.moments(t["touchpoints"]),
    "first_response_time": lambda t: sv.first_response_time(t["cases"], t["messages"], by=["priority"]),
    "resolution_time": lambda t: sv.resolution_time(t["cases"], by=["channel"]),
    "reopen_rate": lambda t: sv.reopen_rate(t["cases"]),
    "first_contact_resolution": lambda t: sv.first_contact_resolution(t["touchpoints"], by=["channel"]),
    "contacts_per_issue": lambda t: sv.contacts_per_issue(t["touchpoints"]),
    "contacts_per_case": lambda t: sv.contacts_per_case(t["cases"], t["touchpoints"]),
    "bot_containment": lambda t: sv.bot_containment(t["touchpoints"]),
    "bot_containment_cases": lambda t: sv.bot_containment_cases(t["cases"], t["messages"], t["touchpoints"]),
    "sla_attainment": lambda t: sv.sla_attainment(t["cases"], t["messages"], default="standard"),
    "rfm_summary": lambda t: rfm_summary(t["orders"], date(2025, 10, 1), date(2026, 1, 1), "week"),
    "retention": lambda t: loyalty.retention(t["orders"], period="quarter"),
    "contractual_churn": lambda t: loyalty.contractual_churn(t["touchpoints"], t["persons"], t["orders"], period="quarter"),
    "cohort_retention": lambda t: loyalty.cohort_retention(t["orders"], period="quarter"),
    "loyalty_matrix": lambda t: loyalty.loyalty_matrix(loyalty.loyalty_satisfaction(t["persons"], t["orders"],
                                                                                    t["responses"], t["touchpoints"])),
    "rfm_segments": lambda t: segments.segment_sizes(segments.rfm(t["orders"], t["persons"]), "segment"),
    "behaviour_segments": lambda t: segments.segment_sizes(segments.behaviour(t["touchpoints"], t["persons"]), "segment"),
    "answer_features": lambda t: features.answer_features(t["responses"], t["touchpoints"], t["orders"]),
    "person_features": lambda t: features.person_features(t["touchpoints"], t["persons"], t["orders"]),
}
