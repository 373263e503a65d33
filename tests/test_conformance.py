"""One conformance suite: every metric of the catalogue gives the same rows on DuckDB and on Spark.

The store is exported as a Parquet lake (``parcours export --parquet``), Spark reads the lake in
local mode, and the same Ibis expressions run on both. Needs Java 17 (skipped without it).
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import date, datetime, timezone

import pytest
from click.testing import CliRunner

from parcours import report
from parcours.cli import main
from parcours.engines import tables
from parcours.metrics.catalog import CATALOG
from parcours.store import Store

pytestmark = [pytest.mark.spark,
              pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17 (apt-get install default-jre)")]


@pytest.fixture(scope="module")
def engines(demo_world, tmp_path_factory):
    db, _ = demo_world
    lake = tmp_path_factory.mktemp("lake")
    res = CliRunner().invoke(main, ["--db", str(db), "export", "--parquet", str(lake)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    store = Store(db, read_only=True)
    yield tables("duckdb", store=store), tables("spark", lake=lake, master="local[2]"), lake, db
    store.close()


def _canonical(rows: list[dict]) -> list[tuple]:
    def norm(v):
        if isinstance(v, float):
            return None if math.isnan(v) else round(v, 6)
        if isinstance(v, datetime):  # Spark returns UTC times without their zone
            return (v if v.tzinfo else v.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
        return v
    return sorted((tuple((k, norm(v)) for k, v in sorted(r.items())) for r in rows), key=repr)


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_metric_is_the_same_on_duckdb_and_spark(engines, name):
    duck, spark, _, _ = engines
    a = CATALOG[name](duck).to_pyarrow().to_pylist()
    b = CATALOG[name](spark).to_pyarrow().to_pylist()
    assert a, f"{name} gave no rows on the demo world: the comparison would prove nothing"
    assert _canonical(a) == _canonical(b)


def test_the_whole_report_is_the_same_on_spark(engines):
    duck, _, lake, _ = engines
    a = report.build_tables(duck, start=date(2025, 4, 1), end=date(2025, 7, 1), by=["channel"])
    on_spark = CliRunner().invoke(main, ["report", "--engine", "spark", "--lake", str(lake), "--spark-master",
                                         "local[2]", "--json", "--from", "2025-04-01", "--to", "2025-07-01",
                                         "--by", "channel"], catch_exceptions=False)
    assert on_spark.exit_code == 0, on_spark.output[-2000:]
    b = json.loads(on_spark.stdout)
    assert b.pop("source")["engine"] == "spark"
    assert a["nps"]["n"] > 100 and a["journeys"]["episodes"] > 100
    diffs = _differences(json.loads(json.dumps(a, default=str)), b)
    assert not diffs, "\n".join(diffs[:40])


@pytest.mark.parametrize("end", [None, date(2025, 7, 1)])
def test_the_promises_section_is_the_same_on_spark(engines, end):
    """Kept on time by kind and channel, at the data end each engine finds (no ``end``) or at ``end``."""
    duck, spark, _, _ = engines
    a, b = (json.loads(json.dumps(report.promises_section(t, None, end), default=str)) for t in (duck, spark))
    assert a["overall"]["n"] > 1000 and {r["kind"] for r in a["by_kind"]} == {"delivery", "refund"}
    assert len(a["by_channel"]) >= 3
    diffs = _differences(a, b)
    assert not diffs, "\n".join(diffs[:40])


def _differences(a, b, path: str = "") -> list[str]:
    """Where two reports differ. The report rounds figures to 4 decimals; a mean that falls exactly
    on a rounding tie (82.73625) may round either way after a sum in another order, so numbers may
    differ by one unit of that last decimal and no more."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a.keys() ^ b.keys())}"]
        return [d for k in sorted(a) for d in _differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return [] if math.isclose(a, b, rel_tol=1e-9, abs_tol=1.0001e-4) else [f"{path}: {a} vs {b}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def test_spark_engine_names_a_missing_lake(tmp_path):
    res = CliRunner().invoke(main, ["report", "--engine", "spark", "--lake", str(tmp_path)])
    assert res.exit_code != 0 and "not a Parcours lake" in res.output
    res = CliRunner().invoke(main, ["report", "--engine", "spark"])
    assert res.exit_code != 0 and "--lake" in res.output
