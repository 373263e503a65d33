"""Embedded store (DuckDB file), migrations and export."""

from parcours.store.db import Store, StoreError, default_db_path

__all__ = ["Store", "StoreError", "default_db_path"]
