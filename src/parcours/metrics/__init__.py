"""CX metrics as pure functions from Ibis tables to Ibis tables (no engine imports here).

The same expressions run on the embedded DuckDB store and on Spark; each function's
docstring gives its formula and source, and docs/metrics.md collects them.
"""

from parcours.metrics.journeys import channel_switching, contacts, episodes
from parcours.metrics.voc import ces, csat, nps

__all__ = ["ces", "channel_switching", "contacts", "csat", "episodes", "nps"]
