"""Synthetic demo world: customers, journeys, service episodes and surveys.

>>> from parcours.simulate import generate
>>> generate(Path("demo"), persons=20_000)                 # doctest: +SKIP
"""

from typing import Any

__all__ = ["generate"]


def __getattr__(name: str) -> Any:
    # lazy: the world brings pandas, and the package's light modules (the what-if command) must not
    if name == "generate":
        from .world import generate
        return generate
    raise AttributeError(name)
