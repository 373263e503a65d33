"""Slicing dimensions: add one column by which any metric can be grouped (``by=[...]``).

``period`` (the month of the row's time), ``channel``, ``stage``, ``topic``, ``agent``,
``segment`` (from the person), ``life_stage`` and ``tenure_year`` (seed 003's lifetime and
lifecycle units). A table that cannot carry a dimension (survey answers have no journey
stage) raises :class:`NotSliceable`, and the report says so rather than inventing a group.
"""

from __future__ import annotations

from typing import Any

from parcours.metrics.journeys import with_life_stage, with_tenure_year

DIMENSIONS = ("period", "channel", "stage", "topic", "agent", "segment", "life_stage", "tenure_year")
#: the column carrying each direct dimension, in order of preference (a case's agent is its assignee)
_COLUMN = {"channel": ("channel",), "stage": ("stage",), "topic": ("topic",), "agent": ("agent_id", "assignee")}


class NotSliceable(ValueError):
    """The table has no such dimension."""


def time_column(table: Any) -> str:
    for c in ("ts", "opened_at", "made_at", "created_at"):
        if c in table.columns:
            return c
    raise NotSliceable("no time column")


def add_dimension(table: Any, dim: str, persons: Any) -> Any:
    """``table`` with a string column named ``dim``."""
    if dim not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dim!r}; known: {', '.join(DIMENSIONS)}")
    if dim == "period":
        return table.mutate(period=table[time_column(table)].strftime("%Y-%m"))
    if dim in _COLUMN:
        col = next((c for c in _COLUMN[dim] if c in table.columns), None)
        if col is None:
            raise NotSliceable(f"{dim} is not recorded on these rows")
        return table.mutate(**{dim: table[col].cast("string").fill_null("(none)")})
    if "person_id" not in table.columns:
        raise NotSliceable(f"{dim} needs a person")
    if dim == "segment":
        p = persons.select("person_id", _seg=persons.segment)
        j = table.left_join(p, "person_id").drop("person_id_right")
        return j.mutate(segment=j._seg.fill_null("(none)")).drop("_seg")
    if dim == "life_stage":
        return with_life_stage(table, persons, at=table[time_column(table)])
    out = with_tenure_year(table, persons, at=table[time_column(table)])
    return out.mutate(tenure_year=out.tenure_year.cast("string").fill_null("(unknown)"))


def between(table: Any, start: Any = None, end: Any = None) -> Any:
    """Rows of ``table`` whose time lies in [start, end) (either bound may be None)."""
    col = table[time_column(table)]
    if start is not None:
        table = table.filter(col >= start)
    if end is not None:
        table = table.filter(col < end)
    return table


#: filters the report (and the web app) apply before any metric
FILTERS = ("channel", "segment", "stage")


def check_filters(**values: str | None) -> None:
    """Filter values must be plain text: a control character (a NUL above all) would cut the
    SQL the engines are given. ValueError names the filter."""
    for name, value in values.items():
        if value is not None and (not value.isprintable() or len(value) > 200):
            raise ValueError(f"{name}: {value[:40]!r} is not a plain value (printable text, at most 200 characters)")


def restrict(t: dict[str, Any], *, channel: str | None = None, segment: str | None = None,
             stage: str | None = None) -> dict[str, Any]:
    """The tables ``t`` (name → Ibis table) kept to one channel, one customer segment and/or
    one journey stage. A table without the column is left whole (answers have no stage)."""
    check_filters(channel=channel, segment=segment, stage=stage)
    out = dict(t)
    if segment:
        people = t["persons"].filter(t["persons"].segment == segment)
        out["persons"] = people
        ids = people.select("person_id")
        for name, tbl in t.items():
            if name != "persons" and "person_id" in tbl.columns:
                out[name] = tbl.semi_join(ids, "person_id")
    for col, value in (("channel", channel), ("stage", stage)):
        if value:
            for name, tbl in out.items():
                if col in tbl.columns:
                    out[name] = tbl.filter(tbl[col].cast("string") == value)
    return out
