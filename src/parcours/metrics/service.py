"""Service metrics: response, resolution, reopens, first-contact resolution across channels,
contacts per issue, bot containment and SLA attainment.

Every function takes Ibis tables (the canonical ``cases``, ``messages`` and ``touchpoints``)
and returns an Ibis table expression; nothing here knows an engine, so the same expressions
run on the embedded DuckDB store and on Spark (checked: same results on both).

Conventions shared by every function:

* ``by``: columns to group by (for cases: ``channel``, ``priority``, ``assignee``, ``topic``,
  ``sla_policy``…; for contacts: ``channel``, ``agent_id``, ``topic``…). ``"period"`` is
  derived when the table has no such column: the anchor timestamp (``opened_at`` of a case,
  ``ts`` of a contact, the first contact of an episode) truncated to ``period`` (``day``,
  ``week``, ``month``, ``quarter``, ``year``; UTC).
* Every row carries ``n``, the denominator of its figures, and counts of what was kept out
  of it (and why), so the UI can show n and flag small n. Shares are percentages (0–100)
  with their 95 % Wilson score interval (Wilson 1927), as in :mod:`.voc`.
* Empty input: without ``by`` one row with ``n = 0`` and NULL figures; with ``by`` no row.
  A figure is never 0 for lack of data: divisions by ``n = 0`` give NULL.
* Durations are whole seconds (``_s``) and hours (``_h``), in **calendar** time. Medians and
  p90 are exact, linearly interpolated quantiles (numpy's default, Excel PERCENTILE.INC):
  DuckDB ``percentile_cont`` and Spark ``percentile`` (not ``percentile_approx``) agree.
* "Data end" (the instant up to which the data are complete) is ``as_of`` if given, else
  the latest timestamp in the tables used; figures that need a time window to be over
  (repeat contacts, containment, SLA clocks) exclude what is not decided yet at that
  instant and count it apart (``n_pending``), so recent periods are not biased upward.

Sources are given in each function's docstring; docs/metrics-service.md collects them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import ibis

from parcours.metrics.journeys import contacts as _contacts
from parcours.metrics.journeys import episodes as _episodes
from parcours.metrics.stats import seconds_between, wilson, with_data_end

DONE = ("resolved", "closed")
#: Channels where a human answers (help centre pages ``web``/``app`` and the ``chatbot`` do not).
HUMAN_CHANNELS = ("phone", "email", "chat", "social", "store", "sms", "video")
#: Contact outcomes that mean the contact did not resolve the issue.
FAILED_OUTCOMES = ("unresolved", "abandoned")
_UNITS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
_HOUR = 3600.0


@dataclass(frozen=True)
class SlaPolicy:
    """Targets of one SLA policy, per priority (``low``, ``normal``, ``high``, ``urgent``).

    Targets are calendar durations. A priority without a target is not measured on it.
    Business-hours calendars come with the service desk (desk/) issue.
    """

    name: str
    first_response: Mapping[str, timedelta] = field(default_factory=dict)
    resolution: Mapping[str, timedelta] = field(default_factory=dict)


#: Default policy: urgent 1 h / 8 h, high 4 h / 24 h, normal 8 h / 72 h, low 24 h / 120 h.
STANDARD = SlaPolicy(
    "standard",
    first_response={"urgent": timedelta(hours=1), "high": timedelta(hours=4),
                    "normal": timedelta(hours=8), "low": timedelta(hours=24)},
    resolution={"urgent": timedelta(hours=8), "high": timedelta(hours=24),
                "normal": timedelta(hours=72), "low": timedelta(hours=120)},
)


# --- helpers ----------------------------------------------------------------------------

def _with_period(t: Any, by: list[str] | None, anchor: str, period: str) -> Any:
    if by and "period" in by and "period" not in t.columns:
        if period not in _UNITS:
            raise ValueError(f"period must be one of {', '.join(_UNITS)}, not {period!r}")
        return t.mutate(period=t[anchor].truncate(_UNITS[period]))
    return t


def _count(t: Any, cond: Any) -> Any:
    """Rows of ``t`` where ``cond`` (NULL is false); 0, not NULL, on no rows (Spark sums)."""
    return t.count(where=cond.fill_null(False)).fill_null(0)


def _aggregate(t: Any, by: list[str] | None, **metrics: Any) -> Any:
    return (t.group_by(by) if by else t).aggregate(**metrics)


def _share(agg: Any, k: str, name: str, n: str = "n") -> dict[str, Any]:
    """``name`` = 100·k/n with its Wilson 95 % interval; NULL when n = 0."""
    return {name: 100 * agg[k].cast("float64") / agg[n].nullif(0).cast("float64"), **wilson(agg[k], agg[n], name)}


def _finish(out: Any, by: list[str] | None) -> Any:
    return out.order_by(by) if by else out


def _done(cases: Any) -> Any:
    return cases.status.cast("string").isin(DONE)


def _first_agent_reply(cases: Any, messages: Any) -> Any:
    """Per case (``_cid``): the first public agent message at or after the opening."""
    m = messages
    m = m.filter((m.author.cast("string") == "agent") & m.public.fill_null(True))
    c = cases.select(_cid=cases.case_id, _opened=cases.opened_at)
    j = m.join(c, m.case_id == c._cid)
    j = j.filter(j.ts >= j._opened)
    return j.group_by("_cid").aggregate(_first_reply=j.ts.min())


def _responded_at(cases: Any, messages: Any | None) -> Any:
    """``cases`` with ``_responded``: ``first_response_at``, else the first public agent reply."""
    if messages is None:
        return cases.mutate(_responded=cases.first_response_at)
    first = _first_agent_reply(cases, messages)
    j = cases.left_join(first, cases.case_id == first._cid)
    return j.mutate(_responded=j.first_response_at.fill_null(j._first_reply)).drop("_cid", "_first_reply")


def _masked(x: Any, ok: Any) -> Any:
    """``x`` where ``ok``, else NULL. Quantiles take masked values rather than ``where=``:
    Ibis 12 compiles ``median(where=…)`` for Spark into ``percentile(x, IF(…, 0.5, NULL))``,
    which Spark refuses (the percentage must be a constant)."""
    return ibis.ifelse(ok, x.cast("float64"), ibis.null("float64"))


def _durations(secs: Any, ok: Any) -> dict[str, Any]:
    kept = _masked(secs, ok)
    return {"median_s": kept.quantile(0.5), "p90_s": kept.quantile(0.9), "mean_s": kept.mean()}


def _in_hours(agg: Any) -> Any:
    return agg.mutate(median_h=agg.median_s / _HOUR, p90_h=agg.p90_s / _HOUR, mean_h=agg.mean_s / _HOUR)


# --- reactivity -------------------------------------------------------------------------
def first_response_time(cases: Any, messages: Any | None = None, by: list[str] | None = None,
                        *, period: str = "month") -> Any:
    """Time from a case's opening to the first public agent reply, per group.

    Formula: ``responded = first_response_at``, else (when ``messages`` is given) the first
    public message by an ``agent`` at or after ``opened_at`` (bot and system messages and
    internal notes do not count); time = responded − opened_at.

    Columns: ``n`` (cases with a response: the denominator of ``median/p90/mean``, in
    ``_s`` and ``_h``), ``n_without_response`` (no response recorded), of which
    ``n_waiting`` (not resolved or closed: still waiting, so the median leaves out the
    longest waits — look at both), ``n_invalid`` (response before the opening; kept out).

    Source: Zendesk "first reply time" — ticket creation to the first public agent
    comment, bots excluded (Zendesk help centre, "Calculating first reply time", 2024);
    Freshdesk "first response time" likewise.
    """
    c = _with_period(_responded_at(cases, messages), by, "opened_at", period)
    secs = seconds_between(c._responded, c.opened_at)
    ok = secs >= 0
    agg = _aggregate(c, by, n=_count(c, ok),
                     n_without_response=_count(c, c._responded.isnull()),
                     n_waiting=_count(c, c._responded.isnull() & ~_done(c)),
                     n_invalid=_count(c, secs < 0), **_durations(secs, ok))
    return _finish(_in_hours(agg), by)


def resolution_time(cases: Any, by: list[str] | None = None, *, period: str = "month") -> Any:
    """Time from a case's opening to its (last) resolution, per group.

    Formula: closed_at − opened_at, over cases with status ``resolved`` or ``closed``.
    ``closed_at`` is the last resolution, so a reopened case counts its whole life
    (Zendesk's "full resolution time", not "first resolution time").

    Columns: ``n`` (resolved or closed cases with a usable ``closed_at``: the denominator),
    ``median/p90/mean`` in ``_s`` and ``_h``, ``n_open`` (new, open, pending: not resolved
    yet, so not in the figures — the median of a young backlog looks better than it is),
    ``n_unknown`` (resolved or closed without ``closed_at``, or with one before the opening).

    Source: Zendesk native duration metrics "full resolution time" (creation → last
    solved) and "first resolution time"; Freshdesk "resolution time".
    """
    c = _with_period(cases, by, "opened_at", period)
    done = _done(c)
    secs = seconds_between(c.closed_at, c.opened_at)
    ok = done & (secs >= 0)
    agg = _aggregate(c, by, n=_count(c, ok), n_open=_count(c, ~done),
                     n_unknown=_count(c, done & ~(secs >= 0).fill_null(False)),
                     **_durations(secs, ok))
    return _finish(_in_hours(agg), by)


def reopen_rate(cases: Any, by: list[str] | None = None, *, period: str = "month") -> Any:
    """Share of resolved or closed cases that were reopened at least once, per group.

    Formula: ``reopened`` = resolved/closed cases with ``reopen_count > 0`` (NULL counts
    as 0); ``n`` = resolved/closed cases; ``reopen_rate`` = 100·reopened/n with its Wilson
    interval; ``reopens`` = total reopen events of those cases. Cases reopened and not
    resolved again (status new/open/pending) are outside the denominator and counted in
    ``n_reopened_open``.

    Source: Zendesk "reopens" (number of times a ticket went from solved back to open) and
    "% reopened tickets" over solved tickets; Freshdesk "reopened tickets".
    """
    c = _with_period(cases, by, "opened_at", period)
    done = _done(c)
    count = c.reopen_count.fill_null(0)
    agg = _aggregate(c, by, n=_count(c, done), reopened=_count(c, done & (count > 0)),
                     reopens=count.sum(where=done).fill_null(0).cast("int64"),
                     n_reopened_open=_count(c, ~done & (count > 0)))
    return _finish(agg.mutate(**_share(agg, "reopened", "reopen_rate")), by)


# --- first-contact resolution -----------------------------------------------------------
def _issue_contacts(touchpoints: Any) -> Any:
    """Inbound contacts with ``_person`` and ``_issue`` keys."""
    c = _contacts(touchpoints)
    return c.mutate(
        _person=c.person_id.fill_null("event:" + c.event_id),
        _issue=ibis.ifelse(c.case_id.notnull(), "case:" + c.case_id, "topic:" + c.topic.fill_null("")))


def first_contact_resolution(touchpoints: Any, by: list[str] | None = None, *,
                             window: timedelta = timedelta(days=7), as_of: datetime | None = None,
                             failed_outcomes: Sequence[str] = FAILED_OUTCOMES,
                             first_only: bool = False, period: str = "month") -> Any:
    """First-contact resolution **across channels**, beside the single-channel figure.

    A contact (touchpoint of kind ``contact``, direction inbound) is *resolved at first
    contact* when no other contact by the same person about the same issue — same
    ``case_id`` if it has one, else same ``topic`` — follows within ``window`` (default 7
    days), **on any channel**, and its ``outcome``, when known, is not in
    ``failed_outcomes`` (default unresolved, abandoned; add ``"transferred"`` for the
    stricter "no transfer" reading). The same-channel variant counts only repeats on the
    contact's own channel: what a channel sees of itself. ``overstatement`` (points) is how
    much that single-channel view flatters the channel.

    Denominator ``n``: contacts whose window is over at the data end (``as_of``, else the
    latest touchpoint). Younger contacts are counted apart in ``n_pending``: including them
    would inflate FCR, because their repeats have not happened yet. With ``first_only``
    only the first contact of an issue (no contact about it in the ``window`` before)
    counts: FCR per issue instead of per contact (SQM's customer-based formula).

    Columns: ``n``, ``resolved_first``, ``fcr`` (% with Wilson ``fcr_low``/``fcr_high``),
    ``resolved_first_same_channel``, ``fcr_same_channel`` (+ interval), ``overstatement``,
    ``n_repeat`` (followed by a repeat on any channel), ``n_repeat_other_channel_only``
    (repeats only on other channels: what single-channel FCR misses), ``n_failed_outcome``,
    ``n_pending``. ``by`` columns are the contact's (``channel``, ``agent_id``, ``topic``…).

    Sources: SQM Group, "What is First Call Resolution (FCR) and how is it measured?"
    (FCR: resolved on the first call with no repeat calls or other contact channels needed;
    internal measurement by repeat-call tracking within a number of days) and SQM's
    *One Contact Resolution* (resolved on one contact using one channel only, the
    cross-channel figure: call-centre FCR 70 % vs OCR 59 % in SQM's research); Gartner's
    glossary: "the ability to successfully resolve a customer's issue during their first
    interaction with an organization". Repeat-call tracking tools default to a 7-day window
    (QueueMetrics: 168 h; Capturi: 7 days, which also warns that the last days of a period
    are incomplete). ICMI and COPC publish FCR guidance behind membership; their exact
    wording is not checked here and no formula is attributed to them.
    """
    return _fcr_shares(_fcr_counts(touchpoints, by, window=window, as_of=as_of, failed_outcomes=failed_outcomes,
                                   first_only=first_only, period=period), by)


_FCR_COUNTS = ("n", "resolved_first", "resolved_first_same_channel", "n_repeat", "n_repeat_other_channel_only",
               "n_failed_outcome", "n_pending")


def _fcr_counts(touchpoints: Any, by: list[str] | None, *, window: timedelta, as_of: datetime | None,
                failed_outcomes: Sequence[str] = FAILED_OUTCOMES, first_only: bool = False,
                period: str = "month") -> Any:
    """The counts behind first-contact resolution (``_FCR_COUNTS``), per ``by`` group."""
    c = _issue_contacts(touchpoints)
    c = _with_period(c, by, "ts", period)
    win = float(window.total_seconds())
    c = with_data_end(c, as_of, (touchpoints, ["ts"]))
    issue = ibis.window(group_by=[c._person, c._issue], order_by=[c.ts, c.event_id])
    same = ibis.window(group_by=[c._person, c._issue, c.channel], order_by=[c.ts, c.event_id])
    c = c.mutate(_next_any=c.ts.lead().over(issue), _next_same=c.ts.lead().over(same),
                 _prev_any=c.ts.lag().over(issue))
    repeat_any = (seconds_between(c._next_any, c.ts) <= win).fill_null(False)
    repeat_same = (seconds_between(c._next_same, c.ts) <= win).fill_null(False)
    failed = c.outcome.cast("string").isin(list(failed_outcomes)).fill_null(False)
    first = ~(seconds_between(c.ts, c._prev_any) <= win).fill_null(False) if first_only else ibis.literal(True)
    over = (seconds_between(c._end, c.ts) >= win).fill_null(False)
    counted = over & first
    return _aggregate(
        c, by, n=_count(c, counted),
        resolved_first=_count(c, counted & ~repeat_any & ~failed),
        resolved_first_same_channel=_count(c, counted & ~repeat_same & ~failed),
        n_repeat=_count(c, counted & repeat_any),
        n_repeat_other_channel_only=_count(c, counted & repeat_any & ~repeat_same),
        n_failed_outcome=_count(c, counted & failed),
        n_pending=_count(c, ~over & first))


def _fcr_shares(agg: Any, by: list[str] | None) -> Any:
    out = agg.mutate(**_share(agg, "resolved_first", "fcr"),
                     **_share(agg, "resolved_first_same_channel", "fcr_same_channel"))
    return _finish(out.mutate(overstatement=out.fcr_same_channel - out.fcr), by)


# --- effort: contacts per issue ---------------------------------------------------------
def _episode_summary(touchpoints: Any, gap: timedelta,
                     human_channels: Sequence[str] = HUMAN_CHANNELS, episodes_t: Any | None = None) -> Any:
    """One row per episode: the first contact's columns, ``contacts``, ``channels``,
    ``_human`` (contacts on a human channel), ``_last_ts``, ``_last_outcome``."""
    e = episodes_t if episodes_t is not None else _episodes(_contacts(touchpoints), gap)
    human = e.channel.cast("string").isin(list(human_channels))
    e = e.mutate(_is_last=e.step == e.steps, _hum=human.cast("int64"))
    per = e.group_by(e.episode_id.name("_eid")).aggregate(
        contacts=e.count(), channels=e.channel.cast("string").nunique(),
        _human=e._hum.sum(), _last_ts=e.ts.max(),
        _last_outcome=e.outcome.cast("string").max(where=e._is_last))
    firsts = e.filter(e.step == 1).drop("_is_last", "_hum")
    return firsts.join(per, firsts.episode_id == per._eid).drop("_eid")


def contacts_per_issue(touchpoints: Any, by: list[str] | None = None, *,
                       gap: timedelta = timedelta(days=7), as_of: datetime | None = None,
                       period: str = "month", episodes_t: Any | None = None) -> Any:
    """Contacts (and channels) per issue, an issue being an episode of
    :func:`parcours.metrics.journeys.episodes` (the contacts of a case, or of a person
    about a topic with gaps under ``gap``).

    Columns: ``n`` (complete episodes: the last contact is at least ``gap`` before the
    data end — a younger episode may still grow, so it is counted in ``n_incomplete``),
    ``contacts_mean``, ``contacts_median``, ``channels_mean`` (distinct channels),
    ``multi_contact`` (episodes with 2 contacts or more) and its share ``repeat_issue``
    with Wilson interval. ``by`` columns are those of the episode's first contact.

    Source: customer effort as contacts and channels per issue (Dixon, Toman & DeLisi,
    *The Effortless Experience*, 2013: repeat contacts and channel switching are the main
    effort drivers); SQM's "calls needed to resolve" (1.5 at 67 % FCR).

    ``episodes_t``: those episodes (with this ``gap``) if already computed, to save a pass.
    """
    e = _with_period(_episode_summary(touchpoints, gap, episodes_t=episodes_t), by, "ts", period)
    e = with_data_end(e, as_of, (touchpoints, ["ts"]))
    complete = (seconds_between(e._end, e._last_ts) >= float(gap.total_seconds())).fill_null(False)
    n_contacts = e.contacts.cast("float64")
    agg = _aggregate(e, by, n=_count(e, complete),
                     contacts_mean=n_contacts.mean(where=complete),
                     contacts_median=_masked(n_contacts, complete).quantile(0.5),
                     channels_mean=e.channels.cast("float64").mean(where=complete),
                     multi_contact=_count(e, complete & (e.contacts >= 2)),
                     n_incomplete=_count(e, ~complete))
    return _finish(agg.mutate(**_share(agg, "multi_contact", "repeat_issue")), by)


def contacts_per_case(cases: Any, touchpoints: Any, by: list[str] | None = None, *,
                      period: str = "month") -> Any:
    """Inbound contacts (touchpoints with the case's ``case_id``) per resolved or closed case.

    Columns: ``n`` (resolved or closed cases with at least one contact), ``contacts_mean``,
    ``contacts_median``, ``channels_mean``, ``n_open`` (not resolved yet: may still grow),
    ``n_without_contacts`` (resolved or closed cases no contact names: imported without
    their touchpoints, so not counted as 0). ``by`` columns are the case's.
    """
    k = _contacts(touchpoints)
    k = k.filter(k.case_id.notnull())
    per = k.group_by(k.case_id.name("_cid")).aggregate(
        _contacts=k.count(), _channels=k.channel.cast("string").nunique())
    c = _with_period(cases, by, "opened_at", period)
    j = c.left_join(per, c.case_id == per._cid)
    j = j.mutate(_contacts=j._contacts.fill_null(0)).drop("_cid")
    done = _done(j)
    ok = done & (j._contacts > 0)
    agg = _aggregate(j, by, n=_count(j, ok),
                     contacts_mean=j._contacts.cast("float64").mean(where=ok),
                     contacts_median=_masked(j._contacts, ok).quantile(0.5),
                     channels_mean=j._channels.cast("float64").mean(where=ok),
                     n_open=_count(j, ~done),
                     n_without_contacts=_count(j, done & (j._contacts == 0)))
    return _finish(agg, by)


# --- bot containment --------------------------------------------------------------------
def bot_containment(touchpoints: Any, by: list[str] | None = None, *,
                    gap: timedelta = timedelta(days=7), as_of: datetime | None = None,
                    human_channels: Sequence[str] = HUMAN_CHANNELS, period: str = "month",
                    episodes_t: Any | None = None) -> Any:
    """Share of bot-started issues that never reached a human, across channels.

    An issue (episode, as in :func:`contacts_per_issue`) *starts with the bot* when its
    first contact is on ``chatbot``; it is *contained* when none of its contacts is on a
    human channel (``human_channels``: phone, e-mail, chat, social, store, SMS, video — a
    call after the bot is an escalation even if the bot never "transferred"). Escalated
    issues are decided at once; an issue with no human contact yet is decided when its last
    contact is at least ``gap`` before the data end, else counted in ``n_pending``.

    Columns: ``n`` (decided bot-started issues), ``contained``, ``containment`` (% with
    Wilson interval), ``contained_resolved`` (contained and the last contact's outcome is
    ``resolved``: containment is not resolution — a customer who gives up in the bot is
    "contained" too), ``n_pending``. ``by`` columns are those of the first (bot) contact.

    Sources: "containment rate" is the contact-centre term for contacts handled in
    self-service without reaching a live agent (from IVR containment); no standard body
    fixes its formula. Gartner measures self-service success over the whole *resolution
    journey* (2019 survey of ~8,000 journeys: 70 % of customers use self-service at some
    point, only 9 % resolve there fully — Gartner press release, 2019), which is why later
    contacts on other channels count here, not only explicit bot handovers.
    ``episodes_t``: the episodes (with this ``gap``) if already computed, to save a pass.
    """
    e = _with_period(_episode_summary(touchpoints, gap, human_channels, episodes_t), by, "ts", period)
    e = with_data_end(e, as_of, (touchpoints, ["ts"]))
    bot = e.channel.cast("string") == "chatbot"
    escalated = e._human > 0
    complete = (seconds_between(e._end, e._last_ts) >= float(gap.total_seconds())).fill_null(False)
    contained = bot & ~escalated & complete
    agg = _aggregate(e, by, n=_count(e, bot & (escalated | complete)),
                     contained=_count(e, contained),
                     contained_resolved=_count(e, contained & (e._last_outcome == "resolved")),
                     n_pending=_count(e, bot & ~escalated & ~complete))
    return _finish(agg.mutate(**_share(agg, "contained", "containment")), by)


def bot_containment_cases(cases: Any, messages: Any, touchpoints: Any | None = None,
                          by: list[str] | None = None, *,
                          human_channels: Sequence[str] = HUMAN_CHANNELS, period: str = "month") -> Any:
    """Bot containment per case, from the messages.

    A case *starts with the bot* when the first message not written by the customer (nor
    by the system) is the bot's. It is *escalated* when it has an agent message (public
    or internal note: a human worked on it) or, if ``touchpoints`` is given, a contact on
    a human channel with its ``case_id`` (calls leave no message but a note). A case not
    escalated is *contained* once resolved or closed; still open, it is ``n_pending``.

    Columns: ``n`` (decided bot-started cases), ``contained``, ``containment`` (% with
    Wilson interval), ``n_pending``. ``by`` columns are the case's. Sources: as
    :func:`bot_containment`.
    """
    m = messages
    m = m.filter(m.author.cast("string").isin(["agent", "bot"]))
    w = ibis.window(group_by=m.case_id, order_by=[m.ts, m.message_id])
    m = m.mutate(_rank=ibis.row_number().over(w))
    per = m.group_by(m.case_id.name("_cid")).aggregate(
        _first=m.author.cast("string").max(where=m._rank == 0),
        _agent=_count(m, m.author.cast("string") == "agent"))
    c = _with_period(cases, by, "opened_at", period)
    j = c.left_join(per, c.case_id == per._cid).drop("_cid")
    if touchpoints is not None:
        k = _contacts(touchpoints)
        k = k.filter(k.case_id.notnull() & k.channel.cast("string").isin(list(human_channels)))
        hk = k.group_by(k.case_id.name("_hcid")).aggregate(_hc=k.count())
        j = j.left_join(hk, j.case_id == hk._hcid).drop("_hcid")
        j = j.mutate(_agent=j._agent.fill_null(0) + j._hc.fill_null(0))
    human = j._agent.fill_null(0) > 0
    bot = (j._first == "bot").fill_null(False)
    done = _done(j)
    agg = _aggregate(j, by, n=_count(j, bot & (human | done)),
                     contained=_count(j, bot & ~human & done),
                     n_pending=_count(j, bot & ~human & ~done))
    return _finish(agg.mutate(**_share(agg, "contained", "containment")), by)


# --- SLA --------------------------------------------------------------------------------
def _target(policy: Any, priority: Any, policies: Sequence[SlaPolicy], which: str) -> Any:
    branches = [((policy == p.name) & (priority == prio), float(d.total_seconds()))
                for p in policies for prio, d in getattr(p, which).items()]
    if not branches:
        return ibis.null("float64")
    return ibis.cases(*branches, else_=ibis.null("float64"))


def sla_attainment(cases: Any, messages: Any | None = None, by: list[str] | None = None, *,
                   policies: Sequence[SlaPolicy] = (STANDARD,), default: str | None = None,
                   as_of: datetime | None = None, period: str = "month") -> Any:
    """Share of cases within their SLA targets, for first response and for resolution.

    Policy of a case: its ``sla_policy`` when it names one of ``policies``; otherwise the
    ``default`` policy (by name) if given; otherwise none — the case is counted in
    ``n_no_policy`` only. The applied policy is column ``policy`` (usable in ``by``).
    Priority: ``priority``, NULL read as ``normal`` (the schema's default).

    * **Response**: the clock stops at the first response (``first_response_at``, else the
      first public agent message), or at the resolution if the case was resolved without
      one. Met when it stopped within the target; breached when it stopped later, or when it
      still runs at the data end past the target; otherwise pending.
    * **Resolution**: met when a resolved or closed case's ``closed_at`` is within the
      target; breached when later, or when the case is still not resolved at the data end
      and past the target (``resolution_breached_open``); otherwise pending. Resolved cases
      without ``closed_at`` are ``resolution_unknown``.

    Columns: ``n`` (cases under a policy), ``n_no_policy``; for ``response`` and
    ``resolution``: ``_n`` (decided: met + breached, the denominator), ``_met``,
    ``_breached``, ``_pending``, attainment in % with Wilson interval (``response``,
    ``resolution`` and their ``_low``/``_high``). Data end: ``as_of``, else the latest
    timestamp of the cases (and messages). Calendar hours; business-hours calendars
    come with the service desk.

    Source: SLA policies with first-reply and resolution targets per priority, in calendar
    or business hours, and "open tickets past target are breached" (Zendesk, "Defining SLA
    policies"; Freshdesk SLA policies); attainment = share of tickets meeting the target.
    """
    names = [p.name for p in policies]
    if default is not None and default not in names:
        raise ValueError(f"default policy {default!r} is not among the policies ({', '.join(names)})")
    c = _with_period(_responded_at(cases, messages), by, "opened_at", period)
    sources = [(cases, ["opened_at", "first_response_at", "closed_at"])]
    if messages is not None:
        sources.append((messages, ["ts"]))
    c = with_data_end(c, as_of, *sources)
    known = c.sla_policy.isin(names).fill_null(False)
    c = c.mutate(policy=ibis.ifelse(known, c.sla_policy, ibis.literal(default, type="string")))
    prio = c.priority.cast("string").fill_null("normal")
    done = _done(c)
    resp_target = _target(c.policy, prio, policies, "first_response")
    res_target = _target(c.policy, prio, policies, "resolution")
    has = c.policy.notnull()

    stop = c._responded.fill_null(ibis.ifelse(done, c.closed_at, ibis.null("timestamp('UTC')")))
    elapsed_now = seconds_between(c._end, c.opened_at)
    resp_met = has & (seconds_between(stop, c.opened_at) <= resp_target).fill_null(False)
    resp_breached = has & ((seconds_between(stop, c.opened_at) > resp_target).fill_null(False)
                           | (stop.isnull() & (elapsed_now > resp_target).fill_null(False)))
    resp_pending = has & resp_target.notnull() & stop.isnull() & ~(elapsed_now > resp_target).fill_null(False)

    closed = done & c.closed_at.notnull()
    res_secs = seconds_between(c.closed_at, c.opened_at)
    res_met = has & closed & (res_secs <= res_target).fill_null(False)
    res_late = has & closed & (res_secs > res_target).fill_null(False)
    res_open_breached = has & ~done & (elapsed_now > res_target).fill_null(False)
    res_pending = has & ~done & res_target.notnull() & ~(elapsed_now > res_target).fill_null(False)
    agg = _aggregate(
        c, by, n=_count(c, has), n_no_policy=_count(c, ~has),
        response_met=_count(c, resp_met), response_breached=_count(c, resp_breached),
        response_pending=_count(c, resp_pending),
        resolution_met=_count(c, res_met),
        resolution_breached=_count(c, res_late | res_open_breached),
        resolution_breached_open=_count(c, res_open_breached),
        resolution_pending=_count(c, res_pending),
        resolution_unknown=_count(c, has & done & c.closed_at.isnull() & res_target.notnull()))
    agg = agg.mutate(response_n=agg.response_met + agg.response_breached,
                     resolution_n=agg.resolution_met + agg.resolution_breached)
    out = agg.mutate(**_share(agg, "response_met", "response", "response_n"),
                     **_share(agg, "resolution_met", "resolution", "resolution_n"))
    return _finish(out, by)


# --- summary ----------------------------------------------------------------------------
def service_summary(cases: Any, messages: Any, touchpoints: Any, *,
                    policies: Sequence[SlaPolicy] = (STANDARD,), default: str | None = None,
                    window: timedelta = timedelta(days=7), as_of: datetime | None = None,
                    contacts_t: Any | None = None, contacts_end: datetime | None = None,
                    episodes_t: Any | None = None, keep: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Every service metric overall, plus FCR by channel (the cross-channel view), as
    Ibis tables keyed by name, for the report.

    ``contacts_t``: the inbound contacts of ``touchpoints`` if the caller has them already
    (the report caches them once): the contact-based figures read them instead of scanning
    every touchpoint, with ``contacts_end`` (default ``as_of``, else the last of those
    contacts) as the data end — pass the last touchpoint's time to match the default;
    ``episodes_t``: their episodes with the gap ``window``, if computed already. FCR overall
    is the sum of FCR's counts by channel (a row per channel), which ``keep`` is applied to:
    the report passes Ibis' ``cache`` so that FCR's windows are computed once, not twice."""
    k, k_end = (touchpoints, as_of) if contacts_t is None else (contacts_t, contacts_end or as_of)
    fcr = _fcr_counts(k, ["channel"], window=window, as_of=k_end)
    fcr = keep(fcr) if keep else fcr
    return {
        "first_response": first_response_time(cases, messages),
        "resolution": resolution_time(cases),
        "reopen": reopen_rate(cases),
        "fcr": _fcr_shares(fcr.aggregate(**{n: fcr[n].sum().fill_null(0) for n in _FCR_COUNTS}), None),
        "fcr_by_channel": _fcr_shares(fcr, ["channel"]),
        "contacts_per_issue": contacts_per_issue(k, gap=window, as_of=k_end, episodes_t=episodes_t),
        "contacts_per_case": contacts_per_case(cases, k),
        "bot_containment": bot_containment(k, gap=window, as_of=k_end, episodes_t=episodes_t),
        "sla": sla_attainment(cases, messages, policies=policies, default=default, as_of=as_of),
    }


__all__ = [
    "HUMAN_CHANNELS", "STANDARD", "SlaPolicy", "bot_containment", "bot_containment_cases",
    "contacts_per_case", "contacts_per_issue", "first_contact_resolution", "first_response_time",
    "reopen_rate", "resolution_time", "service_summary", "sla_attainment",
]
