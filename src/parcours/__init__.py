"""Parcours: an open-source customer-experience platform.

The curated public API::

    from parcours import Store, import_files, metrics, report
    store = Store("parcours.duckdb")
    import_files(store, [Path("touchpoints.csv")])
    metrics.nps(store.table("responses")).to_pandas()
"""

from parcours import metrics, report
from parcours.ingest.importer import FileReport, import_files
from parcours.ingest.validate import Options
from parcours.store import Store, StoreError

__version__ = "0.1.0"

__all__ = ["FileReport", "Options", "Store", "StoreError", "import_files", "metrics", "report", "__version__"]
