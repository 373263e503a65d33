"""`parcours demo --no-serve` end to end: generate, import, resolve identities, report."""

from __future__ import annotations

import duckdb
from click.testing import CliRunner

from parcours.cli import main


def test_demo_world_imports_cleanly_and_identity_resolution_recovers_the_truth(tmp_path):
    out, db = tmp_path / "demo", tmp_path / "demo.duckdb"
    res = CliRunner().invoke(main, ["--db", str(db), "demo", "--no-serve", "--persons", "3000", "--out", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "NPS" in res.output and "Channel switching" in res.output
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM persons").fetchone()[0] == 3000
    # every identifier the store knows maps to its true person, one to one
    pairs = con.execute(f"""
        SELECT count(*), count(DISTINCT i.person_id), count(DISTINCT t.person_id),
               count(*) FILTER (WHERE t.person_id IS NULL)
        FROM identities i LEFT JOIN read_parquet('{out / "_truth" / "identities.parquet"}') t
          ON t.kind = i.kind AND t.value = i.value""").fetchone()
    n, stored_persons, true_persons, unknown = pairs
    assert unknown == 0 and stored_persons == true_persons == 3000
    pure = con.execute(f"""SELECT max(k) FROM (SELECT count(DISTINCT t.person_id) AS k FROM identities i
        JOIN read_parquet('{out / "_truth" / "identities.parquet"}') t ON t.kind = i.kind AND t.value = i.value
        GROUP BY i.person_id)""").fetchone()[0]
    assert pure == 1
    # every fact row found its person
    for table in ("touchpoints", "cases", "orders", "responses"):
        assert con.execute(f"SELECT count(*) FROM {table} WHERE person_id IS NULL").fetchone()[0] == 0
    # the merges that linked help-centre visitors to their customers are audited
    merges = con.execute("SELECT count(*), count(*) FILTER (WHERE evidence LIKE 'linked through %') FROM merges").fetchone()
    assert merges[0] == merges[1]
    # the desk holds the world's cases, its open ones in the inbox, the demo admin an online agent
    desk, cases, active, inbox = con.execute("""SELECT (SELECT count(*) FROM desk_cases), (SELECT count(*) FROM cases),
        (SELECT count(*) FROM cases WHERE status IN ('new', 'open', 'pending')), (SELECT count(*) FROM desk_inbox)
        """).fetchone()
    assert desk == cases > 0 and inbox == active and f"holds the world's {cases:,} cases" in res.output
    assert con.execute("SELECT status FROM agents WHERE email = 'admin@parcours.demo'").fetchone() == ("online",)


def test_demo_never_overwrites_a_store_given_with_db(tmp_path):
    db = tmp_path / "mine.duckdb"
    db.write_bytes(b"precious")
    res = CliRunner().invoke(main, ["--db", str(db), "demo", "--no-serve", "--persons", "100",
                                    "--out", str(tmp_path / "demo")])
    assert res.exit_code == 1 and "exists" in res.output
    assert db.read_bytes() == b"precious"
