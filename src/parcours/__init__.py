"""Parcours: an open-source customer-experience platform.

The curated public API::

    from parcours import Store, import_files, metrics
    store = Store("parcours.duckdb")
    import_files(store, [Path("touchpoints.csv")])
    metrics.nps(store.table("responses")).to_pandas()

    ws = parcours.connect("parcours.duckdb")     # a notebook's view: metrics as DataFrames
    ws.metric("preceded_by_other_channel"); ws.nps(by=["segment"])

Names are imported on first use, so that the command line starts fast (Ibis and SciPy
are only loaded by the commands that need them).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "FileReport": "parcours.ingest.importer",
    "import_files": "parcours.ingest.importer",
    "Options": "parcours.ingest.validate",
    "Store": "parcours.store",
    "Workspace": "parcours.workspace",
    "connect": "parcours.workspace",
    "StoreError": "parcours.store",
    "metrics": "parcours.metrics",
    "report": "parcours.report",
}

__all__ = ["FileReport", "Options", "Store", "StoreError", "Workspace", "connect", "import_files", "metrics", "report",
           "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'parcours' has no attribute {name!r}")
    module = importlib.import_module(_EXPORTS[name])
    return module if name in ("metrics", "report") else getattr(module, name)
