"""Small statistics shared by the metrics, written as Ibis expressions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

Z95 = 1.959963984540054
SMALL_N = 30  # below this a figure is flagged as resting on too few observations


def seconds_between(later: Any, earlier: Any) -> Any:
    """Whole seconds from ``earlier`` to ``later`` (NULL if either is NULL), each instant first
    floored to its second."""
    return (later.epoch_seconds().cast("float64").floor()
            - earlier.epoch_seconds().cast("float64").floor()).cast("float64")


def wilson(k: Any, n: Any, prefix: str) -> dict[str, Any]:
    """Wilson score 95 % interval of the share k/n, in percent (``{prefix}_low``, ``{prefix}_high``).

    Wilson (1927); recommended over the normal approximation for small n or shares near 0 or 1
    (Newcombe 1998, method 3). NULL when n = 0.
    """
    n_f = n.nullif(0).cast("float64")  # NULL, not NaN (DuckDB) or an error (Spark ANSI), when n = 0
    p = k.cast("float64") / n_f
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n_f)) / (1 + z2 / n_f)
    half = Z95 * ((p * (1 - p) / n_f + z2 / (4 * n_f * n_f)).sqrt()) / (1 + z2 / n_f)
    return {f"{prefix}_low": 100 * (centre - half), f"{prefix}_high": 100 * (centre + half)}


def wilson_bounds(k: int, n: int) -> tuple[float, float] | None:
    """:func:`wilson` on plain counts (figures counted in SQL outside Ibis): the 95 % interval of
    k/n as fractions (0–1), None when n = 0."""
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"wilson_bounds: {k} successes out of {n} trials")
    p, z2 = k / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def share(table: Any, k: str, n: str, name: str) -> Any:
    """``table`` with ``name`` = 100·k/n (NULL when n = 0) and its Wilson interval."""
    import ibis

    pct = ibis.ifelse(table[n] > 0, 100 * table[k].cast("float64") / table[n], ibis.null("float64"))
    return table.mutate(**{name: pct}, **wilson(table[k], table[n], name))


def with_data_end(t: Any, as_of: datetime | None, *sources: tuple[Any, Sequence[str]]) -> Any:
    """``t`` with ``_end``, the data end: ``as_of``, else the latest value of the given
    (table, timestamp columns). A one-row aggregate cross-joined, not a scalar subquery:
    Ibis would rewrite ``source.ts.max()`` into a window over ``t`` when ``t`` derives from
    ``source``."""
    import ibis

    if as_of is not None:
        return t.mutate(_end=ibis.literal(as_of, type="timestamp('UTC')"))
    names: list[str] = []
    out = t
    for i, (src, cols) in enumerate(sources):
        maxes = {f"_end{i}_{j}": src[col].max() for j, col in enumerate(cols)}
        out = out.cross_join(src.aggregate(**maxes))
        names.extend(maxes)
    end = out[names[0]] if len(names) == 1 else ibis.greatest(*(out[n] for n in names))
    return out.mutate(_end=end).drop(*names)
