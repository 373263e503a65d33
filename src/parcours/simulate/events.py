"""Touchpoints of a chunk, collected as coded numpy columns and turned into Arrow once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from parcours.schema import CHANNELS, DIRECTIONS, OUTCOMES, STAGES, TOUCHPOINT_KINDS, arrow_schema

from . import texts
from ._arrow import floats, number_ids, pick, timestamps
from .clock import Clock
from .people import People

KIND = {name: code for code, name in enumerate(TOUCHPOINT_KINDS)}
STAGE = {name: code for code, name in enumerate(STAGES)}
OUTCOME = {name: code for code, name in enumerate(OUTCOMES)}
INBOUND, OUTBOUND = 0, 1

_CODES = {"p": np.int64, "ch": np.int8, "dir": np.int8, "kind": np.int8, "stage": np.int8,
          "topic": np.int8, "case": np.int64, "outcome": np.int8, "agent": np.int16,
          "text": np.int32, "email": np.int64, "phone": np.int64, "social": np.int64,
          "app": np.int64}
_FLOATS = ("t", "wait", "handle")
_DEFAULT = {"dir": INBOUND}


class TextCatalogue:
    """All free texts a touchpoint can carry, addressed by integer code."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.base: dict[tuple, int] = {}
        for lang in texts.LANGS:
            for topic in texts.TOPICS:
                self._add(("msg", lang, topic), texts.CUSTOMER_MESSAGES[lang][topic])
            self._add(("followup", lang), texts.FOLLOW_UPS[lang])
            self._add(("campaign", lang), texts.CAMPAIGNS[lang])
            self._add(("transactional", lang), texts.TRANSACTIONAL[lang])
        self.pool = pa.array(self.strings, type=pa.string())

    def _add(self, key: tuple, strings: tuple[str, ...]) -> None:
        self.base[key] = len(self.strings)
        self.strings.extend(strings)

    def codes(self, kind: str, lang: np.ndarray, offset: np.ndarray | int,
              topic: np.ndarray | None = None) -> np.ndarray:
        """Codes of the ``offset``-th string of group ``kind`` in each row's language (and topic)."""
        if topic is None:
            base = np.array([self.base[(kind, lang_)] for lang_ in texts.LANGS])[lang]
        else:
            table = np.array([[self.base[(kind, lang_, t)] for t in texts.TOPICS]
                              for lang_ in texts.LANGS])
            base = table[lang, topic]
        return base + offset


CATALOGUE = TextCatalogue()


class Events:
    """Append-only columns; ``add`` returns the row number of the first row added."""

    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = {k: [] for k in (*_CODES, *_FLOATS)}
        self.rows = 0

    def add(self, p: np.ndarray, t: np.ndarray, **cols: np.ndarray | int | float) -> int:
        m = len(p)
        first = self.rows
        ids = cols.pop("ids", None)
        if isinstance(ids, dict):
            cols.update(ids)
        for name in self._parts:
            if name == "p":
                value = p
            elif name == "t":
                value = t
            else:
                value = cols.pop(name, _DEFAULT.get(name, np.nan if name in _FLOATS else -1))
            dtype = np.float64 if name in _FLOATS else _CODES[name]
            self._parts[name].append(np.broadcast_to(np.asarray(value, dtype=dtype), (m,)))
        if cols:
            raise TypeError(f"unknown event columns: {sorted(cols)}")
        self.rows += m
        return first

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._parts)

    def column(self, name: str) -> np.ndarray:
        parts = self._parts[name]
        dtype = np.float64 if name in _FLOATS else _CODES[name]
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype)


@dataclass
class Touchpoints:
    table: pa.Table
    #: event number (global) of every added row, −1 if it fell outside the window
    number: np.ndarray


def assemble(events: Events, people: People, clock: Clock, case_ids: pa.Array,
             agent_ids: pa.Array, first_number: int) -> Touchpoints:
    """Sort rows by person then time, number them from ``first_number``, build the table."""
    cols = {name: events.column(name) for name in events.names}
    t = np.floor(cols["t"])
    keep = np.flatnonzero((t >= 0) & (t < clock.end))
    order = keep[np.lexsort((t[keep], cols["p"][keep]))]
    number = np.full(events.rows, -1, dtype=np.int64)
    number[order] = first_number + np.arange(len(order))
    c = {name: col[order] for name, col in cols.items()}
    n = len(order)
    table = pa.Table.from_arrays([
        number_ids("E", number[order] + 1, 9),
        timestamps(clock.epoch(t[order])),
        pa.nulls(n, pa.string()),
        pick(people.email_pool, c["email"]),
        pick(people.phone_pool, c["phone"]),
        pick(people.social_pool, c["social"]),
        pick(people.app_pool, c["app"]),
        pick(CHANNELS, c["ch"]),
        pick(DIRECTIONS, c["dir"]),
        pick(TOUCHPOINT_KINDS, c["kind"]),
        pick(STAGES, c["stage"]),
        pick(texts.TOPICS, c["topic"]),
        pick(case_ids, c["case"]),
        pick(OUTCOMES, c["outcome"]),
        floats(c["wait"]),
        floats(c["handle"]),
        pick(agent_ids, c["agent"]),
        pick(CATALOGUE.pool, c["text"]),
    ], schema=arrow_schema("touchpoints"))
    return Touchpoints(table, number)
