"""Project-level promises: documented schema, pinned public API, helpful --help, migrations."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

import parcours
from parcours.cli import main
from parcours.schema_doc import render
from parcours.store import Store
from parcours.store.migrations import MIGRATIONS
from parcours.store.sql import LONGEST_LIST, bind, scalar

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


@pytest.mark.parametrize("module, unwanted", [
    # every command pays for what the CLI imports: an import needs DuckDB, not pandas or Ibis
    ("parcours.cli", ("pandas", "ibis", "scipy", "sklearn", "statsmodels")),
    # the churn model is numpy and scipy only; the report loads pandas only to fit drivers
    ("parcours.act.churn_model", ("pandas", "statsmodels")),
    ("parcours.report", ("pandas", "statsmodels")),
    # statsmodels is a test-only reference: the drivers fit in numpy (its import alone took 1.2 s)
    ("parcours.analysis.drivers", ("statsmodels", "scipy.stats")),
])
def test_modules_start_without_the_libraries_they_do_not_need(module, unwanted):
    code = f"import sys, {module}; print(sorted(m for m in {unwanted!r} if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]", res.stdout


def test_an_import_process_never_loads_pandas(tmp_path):
    # DuckDB's client imports pandas (0.2 s) at a process's first bound parameter or Arrow scan:
    # an import writes its parameters into the SQL and hands its components over as Parquet
    head = "event_id,ts,email,phone,channel,kind\n"
    (tmp_path / "first.csv").write_text(head + "e1,2024-01-01T10:00:00Z,a@b.fr,,phone,contact\n"
                                        "e2,2024-01-01T11:00:00,a@b.fr,,fax,contact\n"  # quarantined
                                        "e3,2024-01-01T12:00:00Z,c@d.fr,+33612345678,email,contact\n")
    (tmp_path / "second.csv").write_text(head + "e4,2024-01-02T12:00:00Z,a@b.fr,+33612345678,chat,contact\n")
    code = ("import sys; from parcours.cli import main\n"
            "try: main(['--db', 's.duckdb', 'import', '--json', '--table', 'touchpoints', sys.argv[1]])\n"
            "except SystemExit as e: print('exit', e.code, 'pandas' in sys.modules)")
    # a new store with a quarantined row; a second file merging two persons; a re-import
    for file, status in (("first.csv", 1), ("second.csv", 0), ("first.csv", 1)):
        res = subprocess.run([sys.executable, "-c", code, file], capture_output=True, text=True, cwd=tmp_path)
        assert res.stdout.strip().endswith(f"exit {status} False"), res.stdout + res.stderr
    with Store(tmp_path / "s.duckdb") as s:
        assert s.query("SELECT count(*), count(DISTINCT person_id) FROM touchpoints") == [(3, 1)]
        assert s.query("SELECT count(*) FROM merges") == [(1,)]
        assert s.query("SELECT row_number, field FROM quarantine") == [(2, "channel")]


def test_a_closed_store_leaves_no_traceback_at_exit(tmp_path):
    # figures cache Ibis tables (temporary ones); a process that closes its store before
    # exiting, as the server does, must not see their finalizers fail on the closed connection
    code = ("import sys; from parcours.store import Store\n"
            "s = Store(sys.argv[1]); kept = [s.table('touchpoints').cache()]\n"
            "c = s.cursor(); kept.append(c.table('persons').cache()); c.close(); s.close()")
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.duckdb")], capture_output=True, text=True)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr


def test_parameters_written_into_the_sql_mean_what_bound_ones_do():
    con = duckdb.connect()
    values = [None, True, 7, 2**40, 0.1, float("inf"), "l'été ? \"x\"", "x'); DROP TABLE t; -- \\'",
              datetime(2024, 3, 31, 1, 30, tzinfo=timezone.utc),
              datetime(2024, 3, 31, 1, 30), date(2024, 3, 31), [1, 2], ["a'", "b"]]
    sql = "SELECT " + ", ".join("?" for _ in values) + ", '?', \"?\" FROM (SELECT 1 AS \"?\")"
    assert con.execute(bind(sql, values)).fetchall() == con.execute(sql, values).fetchall()
    types = "SELECT " + ", ".join("typeof(?)" for _ in values)
    assert con.execute(bind(types, values)).fetchall() == con.execute(types, values).fetchall()
    assert bind("SELECT ? -- isn't it? \n, ?", [1, 2]) == "SELECT 1 -- isn't it? \n, 2"
    numbered = "SELECT $2, $1 || $2, '$1'"
    assert con.execute(bind(numbered, ["a", "b"])).fetchall() == con.execute(numbered, ["a", "b"]).fetchall()
    assert scalar(con, "SELECT ? + 1", [Decimal("1.5")]) == Decimal("2.5")  # no literal form: bound
    assert scalar(con, "SELECT length(?)", ["a\x00b"]) == 3  # nor has text with a NUL (found by the API fuzz test)
    with pytest.raises(TypeError):  # nor has a long list (it would parse slower than it binds)
        bind("SELECT ?", [list(range(LONGEST_LIST + 1))])
    assert scalar(con, "SELECT sum(x) FROM (SELECT unnest(?::BIGINT[]) AS x)", [list(range(5000))]) == 12497500
    with pytest.raises(ValueError, match="2 parameters for 1 placeholders"):
        bind("SELECT ?", [1, 2])
    with pytest.raises(ValueError, match="beyond the 1 parameters"):
        bind("SELECT ?, ?", [1])


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


def _store_of_version(path, version):
    """A store as an older Parcours left it: its migrations applied up to ``version``."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER NOT NULL, description VARCHAR, "
                "applied_at TIMESTAMPTZ DEFAULT now())")
    for m in MIGRATIONS[:version]:
        m.apply(con)
        con.execute("INSERT INTO schema_migrations (version, description) VALUES (?, ?)", [m.version, m.description])
    con.close()


def test_an_older_store_is_upgraded_when_opened_to_read(tmp_path, cli):
    from conftest import good_rows, write_csv

    db = tmp_path / "old.duckdb"
    _store_of_version(db, 6)  # before promises, rules and churn
    with Store(db, read_only=True) as s:
        assert s.read_only and s.schema_version == MIGRATIONS[-1].version
    _store_of_version(older := tmp_path / "older.duckdb", 5)
    cli("--db", str(older), "import", str(write_csv(tmp_path / "touchpoints.csv", good_rows(5))))
    _store_of_version(report_db := tmp_path / "report.duckdb", 6)
    res = CliRunner().invoke(main, ["--db", str(report_db), "report", "--json"])
    assert res.exit_code == 0, res.output


def test_an_older_store_in_use_elsewhere_says_why_it_cannot_be_read(tmp_path):
    db = tmp_path / "old.duckdb"
    _store_of_version(db, 6)
    # another process reads the file: DuckDB refuses the writer the upgrade needs
    code = (f"import duckdb, time; c = duckdb.connect({str(db)!r}, read_only=True); "
            "print('open', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        res = CliRunner().invoke(main, ["--db", str(db), "report"])
    finally:
        holder.kill()
    assert res.exit_code == 1 and "older Parcours (schema version 6 of" in res.output, res.output


def test_a_store_from_a_newer_parcours_is_refused_with_the_reason(tmp_path):
    db = tmp_path / "new.duckdb"
    Store(db).close()
    future = "INSERT INTO schema_migrations (version, description) VALUES (99, 'future')"
    duckdb.connect(str(db)).execute(future).close()
    for args in (["report"], ["import", str(tmp_path / "x.csv")]):
        res = CliRunner().invoke(main, ["--db", str(db), *args])
        assert res.exit_code == 1 and "written by a newer Parcours (schema version 99" in res.output, (args, res.output)


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
