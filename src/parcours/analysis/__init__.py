"""Statistical analyses on top of the metrics (numpy, scipy, statsmodels; in memory, not Ibis).

The metrics layer (:mod:`parcours.metrics`) prepares tables on any engine; the analyses here
take the (small) result as a DataFrame: key-driver regressions in :mod:`.drivers`.
"""

from parcours.analysis.drivers import (
    DriverError,
    churn_drivers,
    relative_weights,
    relative_weights_logit,
    score_drivers,
    shapley_r2,
)

__all__ = ["DriverError", "churn_drivers", "relative_weights", "relative_weights_logit", "score_drivers",
           "shapley_r2"]
