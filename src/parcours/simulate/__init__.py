"""Synthetic demo world: customers, journeys, service episodes and surveys.

>>> from parcours.simulate import generate
>>> generate(Path("demo"), persons=20_000)                 # doctest: +SKIP
"""

from .world import generate

__all__ = ["generate"]
