"""Journey features for key-driver analysis: per episode, per survey answer, per person.

What a customer lived, measured from the touchpoints, as candidate *drivers* of what they
say (NPS, CSAT, CES) and do (churn); :mod:`parcours.analysis.drivers` does the statistics.
Episodes and contacts are those of :mod:`parcours.metrics.journeys`.

Definitions (per episode; per answer or person they are summed, or the maximum is taken):

* ``contacts`` — inbound contacts; ``channels`` — distinct channels of the episode (the most
  of one episode when several are summed); ``switches`` — moves
  from one channel to another between consecutive contacts (the off-diagonal of the
  channel-switching matrix);
* ``unresolved`` / ``abandoned`` / ``transferred`` — contacts with that outcome;
  ``unresolved_episodes`` — episodes whose last contact is not ``resolved`` (given up or
  still open);
* ``reopens`` — contacts that follow a ``resolved`` contact in the same episode (the issue
  came back);
* ``max_wait_excess`` / ``last_wait_excess`` — the worst and the last wait of the episode,
  as ``ln(1 + wait / the channel's median wait)``: waits are compared within a channel (a
  5-hour e-mail reply is normal, a 5-minute phone queue is long) and on a log scale, as waits
  are felt (Maister 1985, "The psychology of waiting lines"); the same scale as
  :func:`parcours.metrics.journeys.contact_pain`. A contact without a recorded wait counts 0.
  Worst and last follow the peak–end rule (Kahneman et al. 1993; Temkin in seed 003);
* ``peak_pain``, ``end_pain``, ``mean_pain`` — the worst, the last and the average contact
  *pain* of :func:`parcours.metrics.journeys.contact_pain` (wait on that log scale + 1 if
  unresolved, 1.5 if abandoned, 1 if transferred); ``pain_sum`` — all contacts' pain added;
  the peak–end rule says the first two weigh more than the average;
* ``total_wait_s`` — seconds waited in all;
* ``last_channel``, ``last_agent`` — of the last contact (the agent: of the last contact
  handled by an agent); ``main_channel`` — the most used channel (ties: by name);
* ``days_since_last_contact`` — days from the last contact to the answer (or to the end of
  observation for a person).

An answer is linked to its journey by ``case_id`` (the episode of that case), else by
``event_id`` (the episode of that contact), else (``link = 'history'``) to the person's
episodes that ended in the ``window`` (default 180 days) before it. Answers and persons
without any contact get zeros (no contact, no wait), ``'none'`` as channel and agent, and
a null ``days_since_last_contact``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import ibis

from parcours.metrics.journeys import contact_pain, contacts, episodes
from parcours.metrics.loyalty import relationships

DAY_S = 86_400.0
#: Episode features summed over episodes (per answer history or per person).
SUMMED = ("contacts", "switches", "unresolved", "abandoned", "transferred", "reopens", "total_wait_s", "pain_sum")


def _days(start: Any, end: Any) -> Any:
    return (end.epoch_seconds() - start.epoch_seconds()).cast("float64") / DAY_S


def contact_waits(episodes_t: Any) -> Any:
    """Episodes' contacts with ``wait_excess = ln(1 + wait_s / median wait of the channel)``
    (0 when the wait is unknown or the channel's median is 0)."""
    e = episodes_t
    med = e.group_by("channel").aggregate(_med=e.wait_s.median())
    j = e.left_join(med, "channel").drop("channel_right")
    excess = ibis.ifelse(j._med > 0, (1 + j.wait_s.fill_null(0) / j._med.nullif(0)).ln(), 0.0)
    return j.mutate(wait_excess=excess.fill_null(0.0)).drop("_med")


def episode_features(touchpoints: Any, gap: timedelta = timedelta(days=7), *, episodes_t: Any | None = None) -> Any:
    """One row per contact episode: episode_id, person_id, case_id, topic, started, ended,
    contacts, channels, switches, unresolved, abandoned, transferred, reopens, resolved (last
    contact resolved), total_wait_s, max_wait_excess, last_wait_excess, peak_pain, end_pain,
    pain_sum, mean_pain (= pain_sum / contacts), first_channel, last_channel, last_agent
    (definitions in the module docstring). The channel medians of the waits are those of all
    the contacts in ``touchpoints``. ``episodes_t``: the episodes of ``touchpoints`` if already
    computed (:func:`parcours.metrics.journeys.episodes`, e.g. cached), to save a pass."""
    if episodes_t is None:
        episodes_t = episodes(contacts(touchpoints), gap)
    e = contact_waits(contact_pain(episodes_t))
    w = ibis.window(group_by=e.episode_id, order_by=[e.ts, e.event_id])
    whole = ibis.window(group_by=e.episode_id)
    e = e.mutate(_prev_ch=e.channel.lag().over(w), _prev_out=e.outcome.lag().over(w),
                 _astep=ibis.ifelse(e.agent_id.notnull(), e.step, ibis.null("int64")))
    e = e.mutate(_last_astep=e._astep.max().over(whole))
    out = e.outcome.fill_null("")
    agg = e.group_by("episode_id").aggregate(
        person_id=e.person_id.max(), case_id=e.case_id.max(), topic=e.topic.max(),
        started=e.ts.min(), ended=e.ts.max(), contacts=e.count(), channels=e.channel.nunique(),
        switches=(e._prev_ch.notnull() & (e._prev_ch != e.channel)).cast("int64").sum(),
        unresolved=(out == "unresolved").cast("int64").sum(),
        abandoned=(out == "abandoned").cast("int64").sum(),
        transferred=(out == "transferred").cast("int64").sum(),
        reopens=(e._prev_out.fill_null("") == "resolved").cast("int64").sum(),
        resolved=(out == "resolved").cast("int64").max(where=e.step == e.steps),
        total_wait_s=e.wait_s.fill_null(0).sum(),
        max_wait_excess=e.wait_excess.max(),
        last_wait_excess=e.wait_excess.max(where=e.step == e.steps),
        peak_pain=e.pain.max(), end_pain=e.pain.max(where=e.step == e.steps), pain_sum=e.pain.sum(),
        first_channel=e.channel.max(where=e.step == 1),
        last_channel=e.channel.max(where=e.step == e.steps),
        last_agent=e.agent_id.max(where=e.step == e._last_astep))
    return agg.mutate(resolved=agg.resolved == 1, last_agent=agg.last_agent.fill_null("none"),
                      mean_pain=agg.pain_sum / agg.contacts.cast("float64"))


def _history(keys: Any, key: str, at: str, eps: Any, window: timedelta | None) -> Any:
    """Episode features summed over the episodes of each key row's person that ended before its
    ``at`` column (and within ``window`` before it), plus the last episode's channel and agent."""
    k = keys.select(_key=keys[key], _person=keys.person_id, _at=keys[at])
    cond = (eps.person_id == k._person) & (eps.ended < k._at)
    if window is not None:
        cond = cond & (eps.ended >= k._at - ibis.interval(seconds=int(window.total_seconds())))
    j = k.join(eps, cond)
    w = ibis.window(group_by=j._key, order_by=[ibis.desc(j.ended), ibis.desc(j.episode_id)])
    j = j.mutate(_rk=ibis.row_number().over(w))
    return j.group_by("_key").aggregate(
        episodes=j.count(), **{c: j[c].sum() for c in SUMMED},
        channels=j.channels.max(),
        unresolved_episodes=(~j.resolved.fill_null(False)).cast("int64").sum(),
        max_wait_excess=j.max_wait_excess.max(),
        last_wait_excess=j.last_wait_excess.max(where=j._rk == 0),
        peak_pain=j.peak_pain.max(), end_pain=j.end_pain.max(where=j._rk == 0),
        last_channel=j.last_channel.max(where=j._rk == 0),
        last_agent=j.last_agent.max(where=j._rk == 0))


def _fill(t: Any) -> Any:
    """Zeros for rows without episodes (no contact, no wait), 'none' for channel and agent."""
    zero = {c: t[c].fill_null(0) for c in (*SUMMED, "episodes", "channels", "unresolved_episodes")}
    floats = {c: t[c].fill_null(0.0) for c in ("max_wait_excess", "last_wait_excess", "peak_pain", "end_pain")}
    return t.mutate(**zero, **floats, mean_pain=(t.pain_sum / t.contacts.nullif(0).cast("float64")).fill_null(0.0),
                    last_channel=t.last_channel.fill_null("none"), last_agent=t.last_agent.fill_null("none"))


FEATURE_COLUMNS = ("episodes", "contacts", "channels", "switches", "unresolved", "abandoned", "transferred",
                   "reopens", "unresolved_episodes", "total_wait_s", "max_wait_excess", "last_wait_excess",
                   "peak_pain", "end_pain", "mean_pain", "pain_sum", "last_channel", "last_agent")


def answer_features(responses: Any, touchpoints: Any, orders: Any | None = None, *, metric: str | None = None,
                    window: timedelta = timedelta(days=180), gap: timedelta = timedelta(days=7),
                    episodes_t: Any | None = None, features_t: Any | None = None) -> Any:
    """One row per answered survey question with the journey it is about.

    Columns: response_id, person_id, ts, metric, score, link (``case``, ``event`` or
    ``history``), the features of :data:`FEATURE_COLUMNS` (of the linked episode, or summed
    over the person's episodes that ended in ``window`` before the answer), days_since_last_contact
    and, with ``orders``, ``orders_365d`` (purchases in the 365 days before the answer).
    Skipped answers (no score) are left out. ``metric`` keeps one question type.
    ``episodes_t`` / ``features_t``: the episodes and :func:`episode_features` of ``touchpoints``
    if already computed (the report caches them once for all its sections).
    """
    if episodes_t is None:
        episodes_t = episodes(contacts(touchpoints), gap)
    r = responses.filter(responses.score.notnull() & responses.person_id.notnull())
    if metric is not None:
        r = r.filter(r.metric == metric)
    answers = r.select("response_id", "person_id", "ts", metric=r.metric.cast("string"),
                       score=r.score.cast("float64"), _case=r.case_id, _event=r.event_id)
    eps = features_t if features_t is not None else episode_features(touchpoints, gap, episodes_t=episodes_t)
    by_event = episodes_t.select(_ev=episodes_t.event_id, _ev_ep=episodes_t.episode_id)
    by_case = eps.filter(eps.case_id.notnull()).select(_c=eps.case_id, _c_ep=eps.episode_id)
    r = answers.left_join(by_case, answers._case == by_case._c).drop("_c")
    r = r.left_join(by_event, r._event == by_event._ev).drop("_ev")
    r = r.mutate(_ep=r._c_ep.coalesce(r._ev_ep),
                 link=ibis.cases((r._c_ep.notnull(), "case"), (r._ev_ep.notnull(), "event"), else_="history"))
    # Every later step joins back on response_id from `answers` (the bare answers), not from a
    # table derived from `r`: engines inline each use of a subquery, so a derived key table
    # would repeat r's joins (twelve times over, before).
    linked = r.filter(r._ep.notnull())
    one = eps.rename(_ep="episode_id").drop("person_id")
    lk = linked.join(one, "_ep")
    lk = lk.select("response_id", "link", episodes=ibis.literal(1, "int64"), **{c: lk[c] for c in SUMMED},
                   channels=lk.channels, unresolved_episodes=(~lk.resolved.fill_null(False)).cast("int64"),
                   max_wait_excess=lk.max_wait_excess, last_wait_excess=lk.last_wait_excess,
                   peak_pain=lk.peak_pain, end_pain=lk.end_pain,
                   last_channel=lk.last_channel, last_agent=lk.last_agent)
    hist = _history(r.filter(r._ep.isnull()), "response_id", "ts", eps, window)
    hist = hist.rename(response_id="_key").mutate(link=ibis.literal("history"))
    feats = lk.union(hist.select(*lk.columns))
    out = answers.left_join(feats, "response_id").drop("response_id_right")
    out = out.mutate(link=out.link.fill_null("history"))  # no episode at all: the (empty) history
    c = episodes_t
    keys = answers.select(_rid=answers.response_id, _p=answers.person_id, _t=answers.ts)
    lc = keys.join(c, (c.person_id == keys._p) & (c.ts <= keys._t))
    lc = lc.group_by("_rid").aggregate(_last_contact=lc.ts.max())
    out = out.left_join(lc, out.response_id == lc._rid).drop("_rid")
    out = out.mutate(days_since_last_contact=_days(out._last_contact, out.ts))
    cols = ["response_id", "person_id", "ts", "metric", "score", "link", *FEATURE_COLUMNS, "days_since_last_contact"]
    if orders is not None:
        o = orders.filter(orders.amount > 0)
        oj = keys.join(o, (o.person_id == keys._p) & (o.ts < keys._t)
                       & (o.ts >= keys._t - ibis.interval(days=365)))
        oj = oj.group_by("_rid").aggregate(orders_365d=oj.count())
        out = out.left_join(oj, out.response_id == oj._rid).drop("_rid")
        out = out.mutate(orders_365d=out.orders_365d.fill_null(0))
        cols.append("orders_365d")
    return _fill(out).select(cols)


def person_features(touchpoints: Any, persons: Any | None = None, orders: Any | None = None, *,
                    as_of: datetime | None = None, gap: timedelta = timedelta(days=7),
                    episodes_t: Any | None = None, features_t: Any | None = None,
                    relationships_t: Any | None = None) -> Any:
    """One row per person: journey features and the churn outcome, for churn-driver models.

    Observation ends at the person's first ``cancellation`` (``churned = True``) or at ``as_of``
    (default: the last touchpoint in the data); only what happened before it is counted, so a
    feature never describes the time after leaving. Columns: person_id, churned, the features of
    :data:`FEATURE_COLUMNS` (summed over the person's episodes), main_channel,
    days_since_last_contact (to the observation end), tenure_days (start of the relationship
    to the observation end, see :func:`parcours.metrics.loyalty.relationships`) and, with
    ``orders``, orders and spend before the observation end. Everyone of ``persons`` (or seen
    in ``touchpoints``) has a row. ``episodes_t`` / ``features_t`` as in :func:`answer_features`;
    ``relationships_t``: ``relationships(touchpoints, persons, orders)`` if computed already.
    """
    if episodes_t is None:
        episodes_t = episodes(contacts(touchpoints), gap)
    tp = touchpoints.filter(touchpoints.person_id.notnull())
    rel = relationships_t if relationships_t is not None else relationships(tp, persons, orders)
    end_all = ibis.literal(as_of) if as_of is not None else tp.ts.max().as_scalar()
    src = persons if persons is not None else tp
    p = src.select("person_id").distinct()
    r2 = rel.rename(_pid="person_id")
    p = p.left_join(r2, p.person_id == r2._pid).drop("_pid")
    churned = p.end.notnull() & (p.end <= end_all)
    p = p.mutate(churned=churned, _until=ibis.ifelse(churned, p.end, end_all))
    p = p.mutate(_cut=p._until + ibis.interval(seconds=1))
    eps = features_t if features_t is not None else episode_features(tp, gap, episodes_t=episodes_t)
    hist = _history(p, "person_id", "_cut", eps, None)
    out = p.left_join(hist, p.person_id == hist._key).drop("_key")
    c = episodes_t.mutate(channel=episodes_t.channel.cast("string"))
    keys = p.select(_p=p.person_id, _u=p._until)
    cj = keys.join(c, (c.person_id == keys._p) & (c.ts <= keys._u))
    per_ch = cj.group_by(["_p", "channel"]).aggregate(_k=cj.count(), _lt=cj.ts.max())
    w = ibis.window(group_by=per_ch._p, order_by=[ibis.desc(per_ch._k), per_ch.channel])
    main = per_ch.mutate(_rk=ibis.row_number().over(w))
    main = main.filter(main._rk == 0).select("_p", main_channel=main.channel)
    last = per_ch.group_by("_p").aggregate(_last_contact=per_ch._lt.max()).rename(_p2="_p")
    out = out.left_join(main, out.person_id == main._p).drop("_p")
    out = out.left_join(last, out.person_id == last._p2).drop("_p2")
    out = out.mutate(
        main_channel=out.main_channel.fill_null("none"),
        days_since_last_contact=_days(out._last_contact, out._until),
        tenure_days=_days(out.start, out._until))
    cols = ["person_id", "churned", *FEATURE_COLUMNS, "main_channel", "days_since_last_contact", "tenure_days"]
    if orders is not None:
        o = orders.filter(orders.person_id.notnull())
        oj = keys.join(o, (o.person_id == keys._p) & (o.ts <= keys._u))
        oj = oj.group_by("_p").aggregate(orders=(oj.amount > 0).cast("int64").sum(),
                                         spend=oj.amount.sum().cast("float64"))
        out = out.left_join(oj, out.person_id == oj._p).drop("_p")
        out = out.mutate(orders=out.orders.fill_null(0), spend=out.spend.fill_null(0.0))
        cols += ["orders", "spend"]
    return _fill(out).select(cols)


__all__ = ["FEATURE_COLUMNS", "answer_features", "contact_waits", "episode_features", "person_features"]
