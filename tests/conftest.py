from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from parcours.cli import main
from parcours.store import Store

TOUCHPOINT_HEADER = ["event_id", "ts", "email", "phone", "channel", "kind", "topic", "outcome", "wait_s", "text"]


def write_csv(path: Path, rows: list[list[Any]], header: list[str] | None = None, encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding=encoding) as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header or TOUCHPOINT_HEADER)
        w.writerows(rows)
    return path


def good_rows(n: int, start: int = 0) -> list[list[Any]]:
    chans = ["email", "phone", "chat", "web"]
    return [[f"e{i}", f"2025-03-{1 + i % 28:02d}T10:{i % 60:02d}:00+01:00", f"client{i % 50}@exemple.fr",
             "", chans[i % 4], "contact", "billing", "resolved", str(10 + i), f"message {i}"]
            for i in range(start, start + n)]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture
def cli(db: Path):
    """Run the real CLI in-process; returns (exit code, output, parsed JSON if --json)."""
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, Any]:
        res = runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False)
        parsed = None
        if "--json" in args:
            try:
                parsed = json.loads(res.stdout)
            except json.JSONDecodeError:
                parsed = None
        return res.exit_code, res.output, parsed

    return run


def count(db: Path, sql: str) -> Any:
    with Store(db) as s:
        return s.query(sql)[0][0]


def parcours_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "parcours.cli", *args]


def run_parcours(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(parcours_cmd(*args), capture_output=True, text=True, **kw)


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A generated world of 4,000 persons imported into a store, built once per test session:
    (store path, folder of the generated Parquet files). Tests must open the store read-only."""
    from parcours.demo import build

    root = tmp_path_factory.mktemp("demo_world")
    db, world = root / "store.duckdb", root / "world"
    build(db, world, persons=4000)
    return db, world
