"""Statistical analyses on top of the metrics (numpy, scipy; in memory, not Ibis).

The metrics layer (:mod:`parcours.metrics`) prepares tables on any engine; the analyses here
take the (small) result as a DataFrame: key-driver regressions in :mod:`.drivers`, on the
OLS and logit fits of :mod:`.regression`; BLAS threads for fits beside the engine in
:mod:`.threads`.
"""

from typing import Any

__all__ = ["DriverError", "churn_drivers", "relative_weights", "relative_weights_logit", "score_drivers",
           "shapley_r2"]


def __getattr__(name: str) -> Any:
    # lazy: the drivers bring pandas, which the light .threads must not
    if name in __all__:
        from parcours.analysis import drivers
        return getattr(drivers, name)
    raise AttributeError(name)
