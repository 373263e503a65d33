"""Journeys: episodes, channel switching, effort, paths, funnel and peak–end.

An **episode** is one issue as the customer lives it, across channels: the contacts of
one case (``case_id``), or, for contacts without a case, those of one person about one
topic with no gap longer than ``gap`` between two of them (default 7 days).

The **channel-switching matrix** counts, inside episodes, each move from the channel of
one contact to the channel of the next (the diagonal is a repeat on the same channel), with
the share of each row. This is the directly-follows relation of process mining (van der
Aalst, *Process Mining*, 2016) taken over channels. The per-contact figures (preceded by
another channel, avoidable, continue after a call, give-up) follow the definitions of the
NICE–BCG "Sisyphus" study quoted in seed 003 (15.1 % of callers had tried e-mail first,
70 % of calls avoidable, 40 % of callers go on elsewhere, 3.2 % give up).

Contacts are ordered by ``(ts, event_id)`` everywhere, so ties are broken the same way on
every engine.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import ibis

from parcours.metrics.stats import share
from parcours.schema import CHANNELS, STAGES

NOT_RESOLVED = ("unresolved", "abandoned", "transferred")  # outcomes that leave the issue open
GAVE_UP = ("unresolved", "abandoned")                       # an episode ending so was given up
PATH_STEPS = 8                                               # paths show the first 8 contacts


def contacts(touchpoints: Any) -> Any:
    """Customer-initiated service contacts: kind ``contact``, direction inbound (or unknown)."""
    t = touchpoints
    return t.filter((t.kind == "contact") & (t.direction.isnull() | (t.direction == "inbound")))


def episodes(contacts_t: Any, gap: timedelta = timedelta(days=7)) -> Any:
    """``contacts_t`` with ``episode_id``, ``step`` (1 = first contact) and ``steps`` (its length)."""
    c = contacts_t.mutate(channel=contacts_t.channel.cast("string"), outcome=contacts_t.outcome.cast("string"))
    by_topic = ibis.window(group_by=[c.person_id, c.topic], order_by=[c.ts, c.event_id])
    prev_ts = c.ts.lag().over(by_topic)
    # ts > previous + gap rather than ts − previous > gap: the difference of two zoned times is
    # calendar arithmetic on DuckDB (0.25 s per 330,000 contacts), the sum a plain addition
    starts = prev_ts.isnull() | (c.ts > prev_ts + ibis.interval(seconds=int(gap.total_seconds())))
    c = c.mutate(_start=starts.cast("int64"))
    run = ibis.cumulative_window(group_by=[c.person_id, c.topic], order_by=[c.ts, c.event_id])
    c = c.mutate(_n=c._start.sum().over(run))
    episode = ibis.ifelse(
        c.case_id.notnull(), "case:" + c.case_id,
        "p:" + c.person_id + "|" + c.topic.fill_null("") + "|" + c._n.cast("string"))
    c = c.mutate(episode_id=episode).drop("_start", "_n")
    # one window for both: the engine sorts each episode once (steps ignores the order)
    ordered = ibis.window(group_by=c.episode_id, order_by=[c.ts, c.event_id], rows=(None, None))
    return c.mutate(step=ibis.row_number().over(ordered) + 1, steps=c.count().over(ordered))


def channel_switching(episodes_t: Any, by: list[str] | None = None) -> Any:
    """Matrix rows: from_channel, to_channel, n, share (% of the from_channel row), switch."""
    e = episodes_t
    w = ibis.window(group_by=e.episode_id, order_by=[e.ts, e.event_id])
    moves = e.mutate(from_channel=e.channel.lag().over(w)).rename(to_channel="channel")
    moves = moves.filter(moves.from_channel.notnull())
    keys = [*(by or []), "from_channel", "to_channel"]
    m = moves.group_by(keys).aggregate(n=moves.count())
    row = ibis.window(group_by=[*(by or []), "from_channel"])
    return m.mutate(share=m.n.cast("float64") / m.n.sum().over(row),
                    switch=m.from_channel != m.to_channel).order_by(keys)


def contact_flags(episodes_t: Any) -> Any:
    """One row per contact with what happened before and after it in its episode.

    ``other_before`` (an earlier contact on another channel), ``unresolved_before`` (an earlier
    contact did not resolve the issue), ``unresolved_other_before`` (same, on another channel),
    ``other_after`` (a later contact on another channel), and ``before_<channel>`` /
    ``after_<channel>`` for every channel, each 0 or 1.

    Computed by pairing each contact with the others of its episode (episodes are short, so
    the pairs are few): one join and one aggregation instead of thirty window functions.
    """
    e = episodes_t
    o = e.select(episode_id=e.episode_id, _step=e.step, _channel=e.channel,
                 _open=e.outcome.isin(NOT_RESOLVED).fill_null(False))
    me = e.select("episode_id", "event_id", "step", "channel")
    p = me.join(o, "episode_id")
    earlier, later, other = p._step < p.step, p._step > p.step, p._channel != p.channel

    def any_(cond: Any) -> Any:
        return cond.cast("int64").max()

    flags = p.group_by("event_id").aggregate(
        other_before=any_(earlier & other), other_after=any_(later & other),
        unresolved_before=any_(earlier & p._open), unresolved_other_before=any_(earlier & p._open & other),
        **{f"before_{c}": any_(earlier & (p._channel == c)) for c in CHANNELS},
        **{f"after_{c}": any_(later & (p._channel == c)) for c in CHANNELS})
    return e.join(flags, "event_id")


def _shares(flags: Any, flag: str, name: str, by: list[str] | None, where: Any = None) -> Any:
    f = flags if where is None else flags.filter(where)
    g = f.group_by(by) if by else f
    agg = g.aggregate(n=f.count(), k=f[flag].sum().fill_null(0))
    return share(agg, "k", "n", name)


def preceded_by_other_channel(flags: Any, by: list[str] | None = None) -> Any:
    """Per channel: share of its contacts preceded by a contact on another channel in the episode.

    Denominator: the channel's contacts. NICE–BCG (seed 003): 15.1 % of calls followed an
    e-mail (see :func:`preceded_by` for the channel-by-channel table).
    """
    return _shares(flags, "other_before", "share", ["channel", *(by or [])])


def preceded_by(flags: Any, by: list[str] | None = None) -> Any:
    """Rows (channel, earlier_channel, n, k, share): % of the channel's contacts that had an earlier
    contact on ``earlier_channel`` in the same episode (e.g. phone ← email: 15.1 % in seed 003)."""
    keys = ["channel", *(by or [])]
    agg = flags.group_by(keys).aggregate(n=flags.count(), **{c: flags[f"before_{c}"].sum() for c in CHANNELS})
    long = agg.pivot_longer(list(CHANNELS), names_to="earlier_channel", values_to="k")
    long = long.filter(long.earlier_channel != long.channel)
    return share(long, "k", "n", "share").order_by([*keys, "earlier_channel"])


def avoidable_contacts(flags: Any, by: list[str] | None = None, *, other_channel: bool = False) -> Any:
    """Share of contacts that follow an unresolved contact in the same episode (avoidable: the
    earlier contact should have settled the issue). ``other_channel=True`` counts only an
    unresolved earlier contact on another channel (the NICE–BCG "avoidable call", 70 %).
    Unresolved = outcome unresolved, abandoned or transferred; unknown outcomes do not count."""
    flag = "unresolved_other_before" if other_channel else "unresolved_before"
    return _shares(flags, flag, "share", by)


def continue_after(flags: Any, channel: str = "phone", by: list[str] | None = None) -> Any:
    """Share of the ``channel``'s contacts followed by a contact on another channel in the episode
    (NICE–BCG: 40 % of callers go on elsewhere), and for each next channel (``after_<c>``)."""
    f = flags.filter(flags.channel == channel)
    g = f.group_by(by) if by else f
    agg = g.aggregate(n=f.count(), k=f.other_after.sum().fill_null(0),
                      **{f"then_{c}": f[f"after_{c}"].sum().fill_null(0) for c in CHANNELS if c != channel})
    return share(agg, "k", "n", "share")


def episode_summary(episodes_t: Any) -> Any:
    """One row per episode: first/last contact, contacts, channels, last outcome, duration."""
    e = episodes_t
    last = e.filter(e.step == e.steps).select("episode_id", last_outcome="outcome", last_channel="channel")
    first = e.filter(e.step == 1).select("episode_id", "person_id", first_channel="channel", started=e.ts,
                                         topic=e.topic)
    agg = e.group_by("episode_id").aggregate(contacts=e.count(), channels=e.channel.nunique(), ended=e.ts.max(),
                                             called=(e.channel == "phone").cast("int64").max())
    s = first.join(last, "episode_id").join(agg, "episode_id")
    return s.mutate(duration_h=(s.ended.epoch_seconds() - s.started.epoch_seconds()) / 3600.0,
                    gave_up=s.last_outcome.isin(GAVE_UP).fill_null(False).cast("int64"))


def give_up(summary: Any, by: list[str] | None = None, *, channel: str | None = None) -> Any:
    """Share of episodes that end unresolved (last contact unresolved or abandoned); with
    ``channel='phone'``, among episodes with a call (NICE–BCG: 3.2 %)."""
    s = summary.filter(summary.called == 1) if channel == "phone" else (
        summary if channel is None else summary.filter(summary.first_channel == channel))
    return _shares(s, "gave_up", "share", by)


def effort(summary: Any, by: list[str] | None = None) -> Any:
    """Contacts and channels per episode: mean, median, p90, share of multi-channel episodes, n."""
    s = summary
    g = s.group_by(by) if by else s
    agg = g.aggregate(n=s.count(), contacts_mean=s.contacts.mean(), contacts_median=s.contacts.median(),
                      contacts_p90=s.contacts.quantile(0.9), channels_mean=s.channels.mean(),
                      k=(s.channels > 1).cast("int64").sum(), duration_h_median=s.duration_h.median())
    return share(agg, "k", "n", "multichannel").drop("k")


def paths(episodes_t: Any, top: int = 10, by: list[str] | None = None) -> Any:
    """The most frequent channel paths of episodes (process-mining *variants*): path, n, share.

    A path lists the channels of the first ``PATH_STEPS`` contacts ("email > phone > chat");
    longer episodes end with "> …".
    """
    e = episodes_t
    keys = ["episode_id", *(by or [])]
    cols = {f"s{i}": e.channel.cast("string").max(where=e.step == i) for i in range(1, PATH_STEPS + 1)}
    p = e.group_by(keys).aggregate(_len=e.step.max(), **cols)
    path = p.s1
    for i in range(2, PATH_STEPS + 1):
        path = path + ibis.ifelse(p[f"s{i}"].isnull(), "", " > " + p[f"s{i}"].fill_null(""))
    path = path + ibis.ifelse(p._len > PATH_STEPS, " > …", "")
    p = p.select(*keys[1:], path=path)
    g = p.group_by([*(by or []), "path"]).aggregate(n=p.count())
    total = ibis.window(group_by=by) if by else ibis.window()
    ranked = g.mutate(share=100 * g.n.cast("float64") / g.n.sum().over(total),
                      rank=ibis.row_number().over(ibis.window(group_by=by, order_by=[ibis.desc(g.n), g.path])) + 1)
    return ranked.filter(ranked.rank <= top).order_by([*(by or []), "rank"])


def stage_funnel(touchpoints: Any, by: list[str] | None = None) -> Any:
    """Stage funnel discover → consider → buy → use → support → leave.

    Per stage: persons who reached it (a touchpoint of that stage), conversion from the previous
    stage (% of the previous stage's persons who also reached this one, later or at the same
    time), and the median days from the previous stage's first touchpoint to this one's.
    """
    t = touchpoints.filter(touchpoints.stage.notnull())
    t = t.mutate(stage=t.stage.cast("string"))
    keys = ["person_id", *(by or [])]
    first = t.group_by(keys).aggregate(**{s: t.ts.min(where=t.stage == s) for s in STAGES})
    rows = []
    for i, s in enumerate(STAGES):
        prev = STAGES[i - 1] if i else None
        g = first.group_by(by) if by else first
        # the first stage's base is everyone with a staged touchpoint
        reached_prev = first[prev].notnull() if prev else first.person_id.notnull()
        converted = reached_prev & first[s].notnull() & ((first[s] >= first[prev]) if prev else True)
        # NULL for the others rather than median(where=…), which Spark cannot compile
        days = (ibis.ifelse(converted, (first[s].epoch_seconds() - first[prev].epoch_seconds()) / 86400.0,
                            ibis.null("float64")) if prev else ibis.null("float64"))
        agg = g.aggregate(reached=first[s].notnull().cast("int64").sum(),
                          n=reached_prev.cast("int64").sum(), k=converted.cast("int64").sum(),
                          days_from_previous=days.median() if prev else ibis.null("float64"))
        rows.append(agg.mutate(stage=ibis.literal(s), order=ibis.literal(i + 1)))
    out = ibis.union(*rows)
    return share(out, "k", "n", "conversion").drop("k").order_by([*(by or []), "order"])


def contact_pain(episodes_t: Any) -> Any:
    """Each contact's *pain*, from what the data shows: ln(1 + wait / the channel's median wait)
    + 1 if unresolved + 1.5 if abandoned + 1 if transferred (weights: one unit per failure,
    abandonment worse; waits on a log scale as they are felt, Maister 1985)."""
    e = episodes_t
    med = e.group_by("channel").aggregate(_med=e.wait_s.median())
    j = e.left_join(med, "channel").drop("channel_right")
    wait = ibis.ifelse(j._med > 0, (1 + j.wait_s.fill_null(0) / j._med).ln(), 0.0)
    outcome = j.outcome.fill_null("")
    pain = (wait + (outcome == "unresolved").cast("float64") + 1.5 * (outcome == "abandoned").cast("float64")
            + (outcome == "transferred").cast("float64"))
    return j.mutate(pain=pain).drop("_med")


def peak_end(episodes_t: Any, responses: Any, metric: str = "csat") -> Any:
    """How well the worst (peak) and the last contact of an episode predict its survey score,
    against the average contact (Kahneman et al. 1993; Temkin, seed 003).

    Answers are linked to episodes by ``case_id``. Rows: predictor (peak, end, mean,
    peak_end = mean of peak and end), r (Pearson correlation with the score; negative: more
    pain, lower score), r2, n (episodes with an answer).
    """
    p = contact_pain(episodes_t)
    ep = p.group_by("episode_id").aggregate(peak=p.pain.max(), end=p.pain.max(where=p.step == p.steps),
                                            mean=p.pain.mean(), case_id=p.case_id.max())
    r = responses.filter((responses.metric == metric) & responses.score.notnull() & responses.case_id.notnull())
    r = r.group_by("case_id").aggregate(score=r.score.mean())
    j = ep.join(r, "case_id")
    j = j.mutate(peak_end=(j.peak + j.end) / 2)
    rows = [j.aggregate(n=j.count(), r=j[x].corr(j.score, how="pop")).mutate(predictor=ibis.literal(x))
            for x in ("peak", "end", "mean", "peak_end")]
    out = ibis.union(*rows)
    return out.mutate(r2=out.r * out.r).select("predictor", "r", "r2", "n")


def moments(touchpoints: Any, by: list[str] | None = None) -> Any:
    """Single-moment measures (seed 003's fourth time unit): waits and handling times of
    contacts per channel — median, p90, mean and n (contacts with a value)."""
    c = contacts(touchpoints)
    c = c.mutate(channel=c.channel.cast("string"))
    keys = ["channel", *(by or [])]
    return c.group_by(keys).aggregate(
        n=c.wait_s.count(), wait_median_s=c.wait_s.median(), wait_p90_s=c.wait_s.quantile(0.9),
        wait_mean_s=c.wait_s.mean(), n_handled=c.handle_s.count(),
        handle_median_s=c.handle_s.median()).order_by(keys)


def with_life_stage(table: Any, persons: Any, at: Any = None) -> Any:
    """``table`` with ``life_stage`` (seed 003's lifetime unit): the age band of the person at the
    row's time: <25, 25–34, 35–49, 50–64, 65+ (unknown when no birth year)."""
    p = persons.select("person_id", _birth=persons.birth_year)
    j = table.left_join(p, "person_id").drop("person_id_right")
    year = (at if at is not None else j.ts).year()
    age = year - j._birth
    band = ibis.cases((j._birth.isnull(), "unknown"), (age < 25, "<25"), (age < 35, "25-34"),
                      (age < 50, "35-49"), (age < 65, "50-64"), else_="65+")
    return j.mutate(life_stage=band).drop("_birth")


def with_tenure_year(table: Any, persons: Any, at: Any = None) -> Any:
    """``table`` with ``tenure_year`` (seed 003's lifecycle unit): 1 in the person's first year as a
    customer (from ``persons.created_at``), 2 in the second…; NULL when unknown."""
    p = persons.select("person_id", _since=persons.created_at)
    j = table.left_join(p, "person_id").drop("person_id_right")
    when = at if at is not None else j.ts
    years = ((when.epoch_seconds() - j._since.epoch_seconds()) / (365.25 * 86400)).floor().cast("int64") + 1
    return j.mutate(tenure_year=ibis.ifelse(j._since.isnull() | (years < 1), ibis.null("int64"), years)).drop("_since")
