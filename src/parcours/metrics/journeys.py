"""Journeys: contact episodes and the channel-switching matrix.

An **episode** is one issue as the customer lives it, across channels: the contacts of
one case (``case_id``), or, for contacts without a case, those of one person about one
topic with no gap longer than ``gap`` between two of them (default 7 days).

The **channel-switching matrix** counts, inside episodes, each move from the channel of
one contact to the channel of the next (the diagonal is a repeat on the same channel), with
the share of each row: "of the contacts on chat followed by another contact, 35 % went
on by phone". This is the directly-follows relation of process mining (van der Aalst,
*Process Mining*, 2016) taken over channels, as in the NICE–BCG study of seed 003.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import ibis


def contacts(touchpoints: Any) -> Any:
    """Customer-initiated service contacts: kind ``contact``, direction inbound."""
    t = touchpoints
    return t.filter((t.kind == "contact") & (t.direction == "inbound"))


def episodes(contacts_t: Any, gap: timedelta = timedelta(days=7)) -> Any:
    """``contacts_t`` with ``episode_id`` and ``step`` (1 = first contact of the episode)."""
    c = contacts_t
    by_topic = ibis.window(group_by=[c.person_id, c.topic], order_by=[c.ts, c.event_id])
    prev_ts = c.ts.lag().over(by_topic)
    starts = (prev_ts.isnull() | ((c.ts - prev_ts) > ibis.interval(seconds=int(gap.total_seconds()))))
    c = c.mutate(_start=starts.cast("int64"))
    run = ibis.cumulative_window(group_by=[c.person_id, c.topic], order_by=[c.ts, c.event_id])
    c = c.mutate(_n=c._start.sum().over(run))
    episode = ibis.ifelse(
        c.case_id.notnull(), "case:" + c.case_id,
        "p:" + c.person_id + "|" + c.topic.fill_null("") + "|" + c._n.cast("string"))
    c = c.mutate(episode_id=episode).drop("_start", "_n")
    step = ibis.window(group_by=c.episode_id, order_by=[c.ts, c.event_id])
    return c.mutate(step=ibis.row_number().over(step) + 1)


def channel_switching(episodes_t: Any) -> Any:
    """Matrix rows: from_channel, to_channel, n, share (of the from_channel row), switch (bool)."""
    e = episodes_t
    w = ibis.window(group_by=e.episode_id, order_by=[e.ts, e.event_id])
    moves = e.mutate(from_channel=e.channel.lag().over(w)).rename(to_channel="channel")
    moves = moves.filter(moves.from_channel.notnull())
    m = moves.group_by(["from_channel", "to_channel"]).aggregate(n=moves.count())
    row = ibis.window(group_by=m.from_channel)
    return m.mutate(share=m.n.cast("float64") / m.n.sum().over(row),
                    switch=m.from_channel != m.to_channel).order_by(["from_channel", "to_channel"])
