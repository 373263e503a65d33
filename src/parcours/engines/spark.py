"""Spark: the same metric expressions on a Parquet lake (scale-out path).

Local mode by default (``local[*]``); ``master`` names a cluster (``spark://host:7077``,
``yarn``…). Sessions are reused within a process: the JVM takes seconds to start.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from parcours.schema import TABLES

_sessions: dict[str, Any] = {}


def session(master: str | None = None) -> Any:
    """A Spark session in UTC (timestamps are compared and bucketed in UTC, as in the store)."""
    master = master or "local[*]"
    if master.startswith("local"):  # no lookup of this host's name on a machine without DNS
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    if master not in _sessions:
        try:
            from pyspark.sql import SparkSession
        except ImportError as e:  # pragma: no cover - depends on the installation
            raise RuntimeError("the Spark engine needs PySpark: pip install 'parcours[spark]' (and Java 17)") from e
        _sessions[master] = (SparkSession.builder.master(master).appName("parcours")
                             .config("spark.ui.enabled", "false")
                             .config("spark.sql.session.timeZone", "UTC")
                             .config("spark.sql.shuffle.partitions", "8")
                             .config("spark.ui.showConsoleProgress", "false")
                             .getOrCreate())
        _sessions[master].sparkContext.setLogLevel("FATAL")
    return _sessions[master]


def tables(lake: Path, *, master: str | None = None) -> dict[str, Any]:
    """The lake's tables (``<lake>/<table>.parquet``) as Ibis tables on Spark."""
    import ibis

    lake = Path(lake)
    missing = [n for n in TABLES if not (lake / f"{n}.parquet").exists()]
    if missing:
        raise FileNotFoundError(f"{lake} is not a Parcours lake: missing {', '.join(f'{m}.parquet' for m in missing)} "
                                "(write one with `parcours export --parquet DIR`)")
    con = ibis.pyspark.connect(session(master))
    return {n: con.read_parquet(str((lake / f"{n}.parquet").resolve()), table_name=f"parcours_{n}") for n in TABLES}
