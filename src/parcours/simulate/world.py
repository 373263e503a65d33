"""The demo world: a retailer's customers, their journeys, service episodes and surveys.

``generate`` streams persons in fixed chunks of ``params.CHUNK``; each chunk draws from
``numpy.random.default_rng([seed, chunk])`` and is appended to one writer per table, so
memory stays bounded and the same arguments give byte-identical files. The model and
its calibration are described in ``docs/demo-world.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from parcours.schema import AUTHORS, CASE_STATUSES, CHANNELS, PRIORITIES, PROMISE_KINDS, arrow_schema

from . import params as P
from . import texts
from ._arrow import floats, ints, join, money, number_ids, pick, timestamps
from .clock import DAY, Clock
from .commerce import (
    DELIVERY_BY,
    REFUND_WITHIN,
    Fulfilment,
    Promised,
    Purchases,
    buy_till_you_die,
    emit_commerce,
    fulfil,
    promise,
)
from .events import Events, assemble
from .journeys import emit_journeys, emit_leaving
from .people import TRUTH_SCHEMA, People, make_people
from .support import (
    MESSAGE_BODIES,
    SLA,
    SUBJECTS,
    Episodes,
    case_columns,
    emit_contacts,
    issues,
    leave_times,
    message_columns,
    simulate,
    subset,
)
from .surveys import METRICS, SCALES, VERBATIMS, Answers, answer, commented, survey_ids

TABLES = ("persons", "cases", "touchpoints", "messages", "orders", "responses", "promises")
AGENT_IDS = number_ids("A", np.arange(1, P.AGENTS + 1), 3)
_BODIES = pa.array(MESSAGE_BODIES, type=pa.string())


def generate(out_dir: Path, *, persons: int = 20_000, days: int = 365, seed: int = 42,
             fmt: Literal["parquet", "csv"] = "parquet", start: date = date(2025, 1, 1),
             progress: Callable[[int], None] | None = None, tweaks: P.Tweaks = P.NO_TWEAKS) -> dict[str, int]:
    """Writes persons/cases/touchpoints/messages/orders/responses/promises as <table>.parquet (or .csv)
    into out_dir; returns rows per table. ``tweaks``: changes planted on purpose (params.Tweaks).

    Also writes the ground truth of identities to ``out_dir/_truth/identities.parquet``
    (kind, value as the importer normalises it, person_id). Rows other than persons carry
    no person_id, only the identifiers of their channel. All times are UTC, within
    [start, start + days), except persons' ``created_at`` (some before start).

    >>> counts = generate(Path("/tmp/world"), persons=1_000)   # doctest: +SKIP
    >>> sorted(counts)                                          # doctest: +SKIP
    ['cases', 'messages', 'orders', 'persons', 'promises', 'responses', 'touchpoints']
    """
    if persons < 1 or days < 1:
        raise ValueError("persons and days must be positive")
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    out_dir = Path(out_dir)
    (out_dir / "_truth").mkdir(parents=True, exist_ok=True)
    world = _World(Clock(start, days), seed, tweaks)
    counts = dict.fromkeys(TABLES, 0)
    with _Writers(out_dir, fmt) as writers:
        for k in range(-(-persons // P.CHUNK)):
            n = min(P.CHUNK, persons - k * P.CHUNK)
            tables = world.chunk(k, n)
            writers.write(tables)
            for name in TABLES:
                counts[name] += tables[name].num_rows
            if progress is not None:
                progress(n)
    return counts


class _Writers:
    """One streaming writer per table, plus the ground truth (always Parquet)."""

    def __init__(self, out_dir: Path, fmt: str) -> None:
        self.out_dir, self.fmt = out_dir, fmt
        self.writers: dict[str, pq.ParquetWriter | pacsv.CSVWriter] = {}

    def __enter__(self) -> _Writers:
        for name in TABLES:
            schema = arrow_schema(name)
            path = self.out_dir / f"{name}.{self.fmt}"
            self.writers[name] = (pq.ParquetWriter(path, schema, compression="zstd")
                                  if self.fmt == "parquet" else pacsv.CSVWriter(path, schema))
        self.writers["_truth"] = pq.ParquetWriter(self.out_dir / "_truth" / "identities.parquet",
                                                  TRUTH_SCHEMA, compression="zstd")
        return self

    def write(self, tables: dict[str, pa.Table]) -> None:
        for name, table in tables.items():
            self.writers[name].write_table(table)

    def __exit__(self, *exc: object) -> None:
        for writer in self.writers.values():
            writer.close()


@dataclass
class _Counters:
    event: int = 0
    case: int = 0
    order: int = 0
    message: int = 0
    response: int = 0


class _World:
    """World-level state (seed, agents, id counters) and the generation of one chunk."""

    def __init__(self, clock: Clock, seed: int, tweaks: P.Tweaks = P.NO_TWEAKS) -> None:
        self.clock, self.seed, self.tweaks = clock, seed, tweaks
        world_rng = np.random.default_rng([seed, 2**32 - 1])
        self.key = int(world_rng.integers(0, 2**62))
        self.kindness = world_rng.normal(0, P.AGENT_KINDNESS_SD, P.AGENTS)
        self.surveys = pa.array(survey_ids(clock), type=pa.string())
        self.next = _Counters()

    def chunk(self, k: int, n: int) -> dict[str, pa.Table]:
        """Tables of chunk ``k`` (``n`` persons), ids continuing the previous chunks'."""
        clock = self.clock
        rng = np.random.default_rng([self.seed, k])
        people = make_people(rng, n, k * P.CHUNK, clock, self.key)
        buys = buy_till_you_die(rng, people, clock)
        ful = fulfil(rng, clock, buys)
        episodes = simulate(rng, people, clock, issues(rng, people, clock, buys, ful), self.kindness,
                            self.tweaks)
        leave = leave_times(rng, people, episodes)
        cancel = np.where(rng.random(n) < P.P_CANCEL_ON_DROPOUT,
                          buys.dropout + rng.exponential(45 * DAY, n), np.inf)
        stop = np.minimum(leave, cancel)
        episodes = subset(episodes, episodes.contacts.t[episodes.first] < leave[episodes.p])
        kept = buys.t < leave[buys.p]
        buys, ful = _take_purchases(buys, ful, kept)

        events = Events()
        sold = emit_commerce(rng, people, buys, ful, events)
        contacts = emit_contacts(rng, people, episodes, events)
        emit_journeys(rng, people, clock, buys, stop, events)
        emit_leaving(rng, people, leave, cancel, clock, events)
        answers = answer(rng, people, clock, episodes, contacts["rows"], buys, ful, stop,
                         self.kindness, events)

        case_no = _numbering(episodes.p, episodes.contacts.t[episodes.first], self.next.case)
        case_ids = number_ids("T", case_no + 1, 8)
        tp = assemble(events, people, clock, case_ids, AGENT_IDS, self.next.event)
        order_no = _numbering(buys.p, buys.t, self.next.order)
        self.next.order += len(order_no)
        tables = {
            "persons": people.table,
            "cases": self._cases(rng, people, episodes, contacts["ids"], case_no),
            "touchpoints": tp.table,
            "messages": self._messages(rng, people, episodes, contacts["said"], case_no, case_ids),
            "orders": self._orders(people, buys, ful, sold.ids, order_no),
            "responses": self._responses(rng, people, answers, case_ids, tp.number),
            "promises": self._promises(people, promise(clock, buys, ful, sold), order_no),
            "_truth": people.truth,
        }
        self.next.event += tp.table.num_rows
        self.next.case += len(episodes)
        return tables

    def _cases(self, rng: np.random.Generator, people: People, ep: Episodes, ids: dict,
               case_no: np.ndarray) -> pa.Table:
        col = case_columns(rng, people, ep, ids, self.clock)
        order = np.argsort(case_no, kind="stable")
        c = {k: v[order] for k, v in col.items() if k != "ids"}
        i = {k: v[order] for k, v in col["ids"].items()}
        ts = self.clock.epoch
        return pa.Table.from_arrays([
            number_ids("T", case_no[order] + 1, 8),
            pa.nulls(len(order), pa.string()),
            *_identifiers(people, i),
            timestamps(ts(np.floor(c["opened"]))),
            pick(CHANNELS, c["channel"]),
            pick(CASE_STATUSES, c["status"]),
            pick(PRIORITIES, c["priority"]),
            pick(texts.TOPICS, c["topic"]),
            pick(SUBJECTS, c["subject"]),
            pick(SLA, c["sla"]),
            pick(AGENT_IDS, c["assignee"]),
            timestamps(ts(np.floor(c["first_response"])), ~np.isnan(c["first_response"])),
            timestamps(ts(np.floor(c["closed"])), ~np.isnan(c["closed"])),
            ints(c["reopens"]),
        ], schema=arrow_schema("cases"))

    def _messages(self, rng: np.random.Generator, people: People, ep: Episodes, said: np.ndarray,
                  case_no: np.ndarray, case_ids: pa.Array) -> pa.Table:
        m = message_columns(rng, people, ep, said, self.clock)
        t = np.floor(m["t"])
        order = np.lexsort((m["author"], t, case_no[m["case"]]))
        count = len(order)
        first = self.next.message
        self.next.message += count
        return pa.Table.from_arrays([
            number_ids("M", first + np.arange(1, count + 1), 9),
            pick(case_ids, m["case"][order]),
            timestamps(self.clock.epoch(t[order])),
            pick(AUTHORS, m["author"][order]),
            pick(CHANNELS, m["channel"][order]),
            pa.array(m["public"][order], pa.bool_()),
            pick(AGENT_IDS, m["agent"][order]),
            pick(_BODIES, m["body"][order]),
        ], schema=arrow_schema("messages"))

    def _orders(self, people: People, buys: Purchases, ful: Fulfilment, ids: dict, no: np.ndarray) -> pa.Table:
        refund = np.flatnonzero(~np.isnan(ful.refunded) & (ful.refunded < self.clock.end))
        rows = np.r_[np.arange(len(no)), refund]
        is_refund = np.r_[np.zeros(len(no), bool), np.ones(len(refund), bool)]
        t = np.floor(np.where(is_refund, ful.refunded[rows], buys.t[rows]))
        order = np.lexsort((t, buys.p[rows]))
        rows, is_refund, t = rows[order], is_refund[order], t[order]
        base = number_ids("O", no[rows] + 1, 8)
        suffix = pick(["", "-R"], is_refund.astype(np.int64))
        cents = np.where(is_refund, ful.refund_cents[rows], buys.cents[rows])
        n = len(rows)
        return pa.Table.from_arrays([
            join(base, suffix),
            pa.nulls(n, pa.string()),
            *_identifiers(people, {k: v[rows] for k, v in ids.items()}),
            timestamps(self.clock.epoch(t)),
            money(cents),
            pick(["EUR"], np.zeros(n, np.int64)),
            pick(CHANNELS, buys.channel[rows]),
        ], schema=arrow_schema("orders"))

    def _promises(self, people: People, pr: Promised, order_no: np.ndarray) -> pa.Table:
        """One row per promise, keyed by its order: ``P00000001-D`` (delivery), ``-R`` (refund)."""
        order = np.lexsort((pr.kind, pr.made, order_no[pr.order]))
        n = len(order)
        ts = self.clock.epoch
        kept = pr.kept[order]
        lang = people.lang[pr.p[order]].astype(np.int64)
        is_refund = pr.kind[order] == PROMISE_KINDS.index("refund")
        day = pa.array(np.nan_to_num(pr.due_day[order]).astype(np.int32), pa.date32())
        when = pc.strftime(day, format="%d/%m/%Y")
        when = pc.if_else(pa.array(lang == 0), when, pc.strftime(day, format="%Y-%m-%d"))
        detail = pc.if_else(pa.array(is_refund), pick(REFUND_WITHIN, lang), join(pick(DELIVERY_BY, lang), when))
        return pa.Table.from_arrays([
            join(number_ids("P", order_no[pr.order[order]] + 1, 8), pick(["-D", "-R"], is_refund.astype(np.int64))),
            pa.nulls(n, pa.string()),
            *_identifiers(people, {k: v[order] for k, v in pr.ids.items()}),
            timestamps(ts(pr.made[order])),
            pick(PROMISE_KINDS, pr.kind[order]),
            pick(CHANNELS, pr.channel[order]),
            timestamps(ts(pr.due[order])),
            timestamps(ts(kept), ~np.isnan(kept)),
            number_ids("O", order_no[pr.order[order]] + 1, 8),
            pa.nulls(n, pa.string()),
            detail,
        ], schema=arrow_schema("promises"))

    def _responses(self, rng: np.random.Generator, people: People, a: Answers, case_ids: pa.Array,
                   event_number: np.ndarray) -> pa.Table:
        t = np.floor(a.t)
        order = np.lexsort((a.metric, t, a.p))
        n = len(order)
        first = self.next.response
        self.next.response += n
        lang = people.lang[a.p]
        comment = VERBATIMS.comments(rng, lang, a.tone, a.driver, commented(rng, a))
        event = np.where(a.event_row >= 0, event_number[np.maximum(a.event_row, 0)], -1)
        scale = np.array(SCALES)[a.metric]
        take = pa.array(order)
        return pa.Table.from_arrays([
            number_ids("R", first + np.arange(1, n + 1), 8),
            pa.nulls(n, pa.string()),
            *_identifiers(people, {k: v[order] for k, v in a.ids.items()}),
            timestamps(self.clock.epoch(t[order])),
            pick(METRICS, a.metric[order]),
            floats(a.score[order]),
            ints(scale[order, 0]),
            ints(scale[order, 1]),
            comment.take(take),
            pick(texts.LANGS, lang[order]),
            pick(case_ids, a.case[order]),
            _event_ids(event[order]),
            pick(self.surveys, a.survey[order]),
            pick(CHANNELS, a.channel[order]),
            pick(AGENT_IDS, a.agent[order]),
        ], schema=arrow_schema("responses"))


def _identifiers(people: People, ids: dict[str, np.ndarray]) -> list[pa.Array]:
    return [pick(people.email_pool, ids["email"]), pick(people.phone_pool, ids["phone"]),
            pick(people.social_pool, ids["social"]), pick(people.app_pool, ids["app"])]


def _event_ids(number: np.ndarray) -> pa.Array:
    ids = number_ids("E", np.maximum(number, 0) + 1, 9)
    return pick(ids, np.where(number >= 0, np.arange(len(number)), -1))


def _numbering(p: np.ndarray, t: np.ndarray, first: int) -> np.ndarray:
    """Numbers from ``first`` in (person, time) order, returned in the input order."""
    order = np.lexsort((t, p))
    number = np.empty(len(p), dtype=np.int64)
    number[order] = first + np.arange(len(p))
    return number


def _take_purchases(buys: Purchases, ful: Fulfilment, keep: np.ndarray) -> tuple[Purchases, Fulfilment]:
    b = Purchases(buys.p[keep], buys.t[keep], buys.channel[keep], buys.cents[keep], buys.customer,
                  buys.dropout)
    f = Fulfilment(*(getattr(ful, name)[keep] for name in Fulfilment.__dataclass_fields__))
    return b, f

