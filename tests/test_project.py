"""Project-level promises: documented schema, pinned public API, helpful --help, migrations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
from click.testing import CliRunner

import parcours
from parcours.cli import main
from parcours.schema_doc import render
from parcours.store import Store
from parcours.store.migrations import MIGRATIONS

ROOT = Path(__file__).resolve().parents[1]


def test_data_model_doc_matches_the_schema():
    assert (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8") == render(), \
        "run: python -m parcours.schema_doc > docs/data-model.md"


def test_public_api_is_pinned():
    assert sorted(parcours.__all__) == sorted(
        ["FileReport", "Options", "Store", "StoreError", "Workspace", "connect", "import_files", "metrics", "report",
         "__version__"])


def test_every_command_has_help():
    runner = CliRunner()
    for args in ([], ["import"], ["quarantine"], ["persons", "show"], ["generate"], ["report"], ["serve"], ["demo"],
                 ["export"], ["value"], ["value", "fit"]):
        res = runner.invoke(main, [*args, "--help"])
        assert res.exit_code == 0 and "Usage:" in res.output, args


def test_the_cli_starts_without_the_analytical_libraries():
    # every command pays for what parcours.cli imports: an import needs DuckDB, not pandas or Ibis
    code = ("import sys, parcours.cli; "
            "print(sorted(m for m in ('pandas', 'ibis', 'scipy', 'sklearn', 'statsmodels') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]", res.stdout


def test_store_is_migrated_once_and_versioned(tmp_path):
    db = tmp_path / "s.duckdb"
    with Store(db) as s:
        assert s.schema_version == MIGRATIONS[-1].version
    with Store(db) as s:  # reopening applies nothing twice
        assert s.query("SELECT count(*) FROM schema_migrations")[0][0] == len(MIGRATIONS)
    con = duckdb.connect(str(db))
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"persons", "identities", "touchpoints", "cases", "messages", "orders", "responses",
            "quarantine", "merges", "imports", "schema_migrations"} <= tables


def test_read_only_open_of_a_missing_store_explains(tmp_path):
    res = CliRunner().invoke(main, ["--db", str(tmp_path / "none.duckdb"), "report"])
    assert res.exit_code == 1 and "no store at" in res.output and "parcours demo" in res.output


def test_a_foreign_duckdb_file_is_named_as_such(tmp_path):
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).execute("CREATE TABLE t AS SELECT 1 AS x").close()
    res = CliRunner().invoke(main, ["--db", str(other), "report"])
    assert res.exit_code == 1 and "is not a Parcours store" in res.output


def test_export_to_a_parquet_lake(tmp_path, cli, db):
    from conftest import good_rows, write_csv

    cli("import", str(write_csv(tmp_path / "touchpoints.csv", good_rows(7))))
    with Store(db) as s:
        paths = s.export_parquet(tmp_path / "lake")
    assert duckdb.connect().execute(f"SELECT count(*) FROM '{paths['touchpoints']}'").fetchone()[0] == 7
    assert set(paths) == {"persons", "identities", "touchpoints", "cases", "messages", "orders", "responses", "promises"}
