"""Segments: RFM (recency, frequency, monetary value) and journey-behaviour segments.

**RFM** (Hughes 1994, *Strategic Database Marketing*; Bult & Wansbeek 1995, "Optimal
selection for direct mail", *Marketing Science* 14(4)): over the persons with at least one
purchase, each of recency (days since the last purchase), frequency (purchases) and
monetary value (net spend) is cut into quintiles by rank (SQL ``NTILE(5)``), scored 1–5
with 5 the best (most recent, most frequent, highest spend); the RFM score is
``100·R + 10·F + M`` (111–555). Ties are split by ``person_id`` so that the scores are the
same on every engine; with many equal frequencies (one-order customers) equal customers
can thus get neighbouring F scores, the known price of equal-sized quintiles.

Named segments follow the usual R × F grid of practitioners (the "11 RFM segments" table
popularised by Putler and reused by most open-source RFM notebooks), with ``lost`` for the
oldest one-order customers:

====== ====================================================================
R \\ F  1             2                3                4            5
====== ====================================================================
5      new           potential loyal  potential loyal  champions    champions
4      promising     potential loyal  potential loyal  loyal        loyal
3      about to sleep about to sleep  need attention   loyal        loyal
2      hibernating   hibernating      at risk          at risk      can't lose
1      lost          hibernating      at risk          at risk      can't lose
====== ====================================================================

Persons without a purchase get the segment ``no purchase`` (never dropped).

**Behaviour segments** come from the service journey: the inbound contacts of a person
(:func:`parcours.metrics.journeys.contacts`), first rule that applies:

1. ``silent``: no contact at all (seed 004: a silent customer is not a satisfied one);
2. ``multichannel``: contacts on ``multichannel`` (default 3) or more channels;
3. ``phone-reliant``: at least ``share`` (default 50 %) of the contacts by phone;
4. ``store-reliant``: at least ``share`` of the contacts in a store;
5. ``digital-first``: at least ``share`` of the contacts on digital channels (web, app,
   e-mail, SMS, chat, social, chatbot, video);
6. ``mixed``: the rest (e.g. one call and one store visit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis

from parcours.metrics.journeys import contacts

DAY_S = 86_400.0
DIGITAL = ("web", "app", "email", "sms", "chat", "social", "chatbot", "video")
NO_PURCHASE = "no purchase"

#: R × F grid: (segment, R scores, F scores); every one of the 25 cells is named once.
RFM_GRID: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("champions", (5,), (4, 5)),
    ("loyal", (3, 4), (4, 5)),
    ("potential loyal", (4, 5), (2, 3)),
    ("new", (5,), (1,)),
    ("promising", (4,), (1,)),
    ("need attention", (3,), (3,)),
    ("about to sleep", (3,), (1, 2)),
    ("at risk", (1, 2), (3, 4)),
    ("can't lose", (1, 2), (5,)),
    ("hibernating", (2,), (1, 2)),
    ("hibernating", (1,), (2,)),
    ("lost", (1,), (1,)),
)
RFM_SEGMENTS: tuple[str, ...] = tuple(dict.fromkeys(s for s, _, _ in RFM_GRID)) + (NO_PURCHASE,)
BEHAVIOURS: tuple[str, ...] = ("silent", "multichannel", "phone-reliant", "store-reliant", "digital-first", "mixed")


def _segment_name(r: Any, f: Any) -> Any:
    rules = [(r.isin(list(rs)) & f.isin(list(fs)), name) for name, rs, fs in RFM_GRID]
    return ibis.cases(*rules, else_=NO_PURCHASE)


def rfm(orders: Any, persons: Any | None = None, *, as_of: datetime | None = None) -> Any:
    """RFM scores and segment per person.

    * recency_days = as_of − last purchase (as_of defaults to the last purchase in the data);
    * frequency = purchases (orders with a positive amount; refunds are not purchases);
    * monetary = net spend (refunds deducted);
    * r, f, m = ``NTILE(5)`` over the persons with a purchase (5 = most recent / most
      frequent / highest spend; ties split by person_id), ``rfm_score = 100r + 10f + m``;
    * segment: the R × F grid of the module docstring.

    Persons of ``persons`` without a purchase (or with refunds only) have a row with
    frequency 0, null scores and segment ``no purchase``.
    """
    o = orders.filter(orders.person_id.notnull())
    buy = o.amount > 0
    agg = o.group_by("person_id").aggregate(
        frequency=buy.cast("int64").sum(), monetary=o.amount.sum().cast("float64"), last=o.ts.max(where=buy))
    ref = ibis.literal(as_of) if as_of is not None else o.ts.max(where=buy).as_scalar()
    buyers = agg.filter(agg.frequency > 0)
    buyers = buyers.mutate(recency_days=(ref.epoch_seconds() - buyers.last.epoch_seconds()).cast("float64") / DAY_S)
    scored = buyers.mutate(
        r=ibis.ntile(5).over(order_by=[ibis.desc(buyers.recency_days), buyers.person_id]) + 1,
        f=ibis.ntile(5).over(order_by=[buyers.frequency, buyers.person_id]) + 1,
        m=ibis.ntile(5).over(order_by=[buyers.monetary, buyers.person_id]) + 1)
    scored = scored.mutate(rfm_score=scored.r * 100 + scored.f * 10 + scored.m,
                           segment=_segment_name(scored.r, scored.f))
    cols = ["person_id", "recency_days", "frequency", "monetary", "r", "f", "m", "rfm_score", "segment"]
    scored = scored.select(cols)
    everyone = persons.select("person_id") if persons is not None else o.select("person_id")
    everyone = everyone.distinct()
    s2 = scored.rename(_pid="person_id")
    j = everyone.left_join(s2, everyone.person_id == s2._pid).drop("_pid")
    spent = agg.select(_pid=agg.person_id, _spend=agg.monetary)
    j = j.left_join(spent, j.person_id == spent._pid).drop("_pid")
    return j.mutate(frequency=j.frequency.fill_null(0),
                    monetary=j.monetary.fill_null(j._spend).fill_null(0.0),
                    segment=j.segment.fill_null(NO_PURCHASE)).drop("_spend").select(cols)


def behaviour(touchpoints: Any, persons: Any | None = None, *, multichannel: int = 3, share: float = 0.5) -> Any:
    """Journey-behaviour segment per person, by the rules of the module docstring.

    Columns: person_id, contacts, channels (distinct), phone_share, store_share,
    digital_share (shares of the person's inbound contacts, null without contacts), main_channel
    (most used; ties broken by channel name), segment. Everyone of ``persons`` (or, without it,
    everyone seen in ``touchpoints``) has a row; persons without contacts are ``silent``.
    """
    if multichannel < 2 or not 0 < share <= 1:
        raise ValueError("multichannel must be ≥ 2 and share in (0, 1]")
    c = contacts(touchpoints)
    c = c.filter(c.person_id.notnull()).mutate(channel=c.channel.cast("string"))
    agg = c.group_by("person_id").aggregate(
        contacts=c.count(), channels=c.channel.nunique(),
        _phone=(c.channel == "phone").cast("int64").sum(), _store=(c.channel == "store").cast("int64").sum(),
        _digital=c.channel.isin(list(DIGITAL)).cast("int64").sum())
    per_ch = c.group_by(["person_id", "channel"]).aggregate(_k=c.count())
    w = ibis.window(group_by=per_ch.person_id, order_by=[ibis.desc(per_ch._k), per_ch.channel])
    main = per_ch.mutate(_rk=ibis.row_number().over(w))
    main = main.filter(main._rk == 0).select(_pid=main.person_id, main_channel=main.channel)
    src = persons if persons is not None else touchpoints.filter(touchpoints.person_id.notnull())
    everyone = src.select("person_id").distinct()
    a2 = agg.rename(_pid="person_id")
    j = everyone.left_join(a2, everyone.person_id == a2._pid).drop("_pid")
    j = j.left_join(main, j.person_id == main._pid).drop("_pid")
    n = j.contacts.fill_null(0)
    nf = n.nullif(0).cast("float64")
    j = j.mutate(contacts=n, channels=j.channels.fill_null(0), phone_share=j._phone.cast("float64") / nf,
                 store_share=j._store.cast("float64") / nf, digital_share=j._digital.cast("float64") / nf)
    seg = ibis.cases((j.contacts == 0, "silent"), (j.channels >= multichannel, "multichannel"),
                     (j.phone_share >= share, "phone-reliant"), (j.store_share >= share, "store-reliant"),
                     (j.digital_share >= share, "digital-first"), else_="mixed")
    return j.mutate(segment=seg).select("person_id", "contacts", "channels", "phone_share", "store_share",
                                        "digital_share", "main_channel", "segment")


def segment_sizes(per_person: Any, column: str = "segment", by: list[str] | None = None,
                  persons: Any | None = None) -> Any:
    """Persons per segment: ``n`` and ``share`` (% of the persons of the group), plus the mean of
    recency_days / frequency / monetary (RFM tables) or contacts (behaviour tables) when present.

    ``by`` columns are taken from ``per_person`` or, if absent there, from ``persons``.
    """
    t = per_person
    keys = list(by or [])
    if column in keys:
        raise ValueError(f"by must not repeat the segment column {column!r} (rename the person attribute)")
    extra = [c for c in keys if c not in t.columns]
    if extra:
        if persons is None:
            raise ValueError(f"by columns {extra} are not in the table; pass persons to take them from there")
        p = persons.select(_pid=persons.person_id, **{c: persons[c].cast("string") for c in extra})
        t = t.left_join(p, t.person_id == p._pid).drop("_pid")
    means = {f"{c}_mean": t[c].mean() for c in ("recency_days", "frequency", "monetary", "contacts") if c in t.columns}
    agg = t.group_by([column, *keys]).aggregate(n=t.person_id.count(), **means)
    tot = ibis.window(group_by=keys) if keys else ibis.window()
    agg = agg.mutate(share=100 * agg.n.cast("float64") / agg.n.sum().over(tot).cast("float64"))
    return agg.select(column, *keys, "n", "share", *means).order_by([*keys, ibis.desc("n"), column])


__all__ = ["BEHAVIOURS", "RFM_GRID", "RFM_SEGMENTS", "behaviour", "rfm", "segment_sizes"]
