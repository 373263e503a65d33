"""CX metrics as pure functions from Ibis tables to Ibis tables (no engine imports here).

Voice and journeys are at the top level; ``service``, ``loyalty``, ``segments``, ``features``
(journey features for driver analysis) and ``value`` (the per-person RFM summary) are
submodules. ``catalog.CATALOG`` lists every metric with its default options.

The same expressions run on the embedded DuckDB store and on Spark; each function's
docstring gives its formula and source, and docs/metrics.md collects them.
"""

from parcours.metrics.journeys import (avoidable_contacts, channel_switching, contact_flags, contacts,
                                      continue_after, effort, episode_summary, episodes, give_up, moments,
                                      paths, peak_end, preceded_by, preceded_by_other_channel, stage_funnel)
from parcours.metrics import features, loyalty, segments, service, value  # noqa: F401  (submodules)
from parcours.metrics.voc import ces, csat, nps, nps_change

__all__ = ["avoidable_contacts", "ces", "channel_switching", "contact_flags", "contacts", "continue_after", "csat",
           "effort", "episode_summary", "episodes", "give_up", "moments", "nps", "nps_change", "paths", "peak_end",
           "preceded_by", "preceded_by_other_channel", "stage_funnel",
           "features", "loyalty", "segments", "service", "value"]
