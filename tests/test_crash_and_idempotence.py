"""Re-import adds nothing; a kill -9 in the middle of an import loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from conftest import parcours_cmd, run_parcours

COUNTS = ("SELECT (SELECT count(*) FROM touchpoints), (SELECT count(DISTINCT event_id) FROM touchpoints), "
          "(SELECT count(*) FROM persons), (SELECT count(*) FROM identities), "
          "(SELECT count(*) FROM quarantine), (SELECT count(*) FROM imports)")


def _big_csv(path: Path, n: int) -> Path:
    """n touchpoints, one in 1,000 with an unknown channel, identifiers shared by ~n/20 persons."""
    duckdb.connect().execute(f"""COPY (
        SELECT 'ev' || i AS event_id,
               strftime(TIMESTAMP '2025-01-01' + to_seconds(i * 7), '%Y-%m-%dT%H:%M:%S') || '+01:00' AS ts,
               'client' || (i % {n // 20}) || '@exemple.fr' AS email,
               CASE WHEN i % 3 = 0 THEN '06' || lpad(((i % {n // 20}) * 7)::VARCHAR, 8, '0') END AS phone,
               CASE WHEN i % 1000 = 0 THEN 'fax' ELSE ['email', 'phone', 'chat', 'web'][1 + i % 4] END AS channel,
               'contact' AS kind, 'billing' AS topic, 'resolved' AS outcome, (i % 600)::VARCHAR AS wait_s,
               'texte numéro ' || i AS text
        FROM range({n}) t(i)) TO '{path}' (HEADER, DELIMITER ',')""")
    return path


def _counts(db: Path) -> tuple:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(COUNTS).fetchone()
    finally:
        con.close()


def test_reimport_is_idempotent(tmp_path):
    f = _big_csv(tmp_path / "touchpoints.csv", 20_000)
    db = tmp_path / "s.duckdb"
    first = run_parcours("--db", str(db), "import", str(f))
    assert first.returncode == 1  # the fax rows are quarantined
    before = _counts(db)
    again = run_parcours("--db", str(db), "import", str(f), "--json")
    after = _counts(db)
    assert after[:5] == before[:5] and after[5] == before[5] + 1
    assert '"accepted": 0' in again.stdout and '"duplicates": 19980' in again.stdout


@pytest.mark.slow
def test_kill_minus_nine_then_rerun_gives_the_uninterrupted_counts(tmp_path):
    f = _big_csv(tmp_path / "touchpoints.csv", 1_500_000)
    reference = tmp_path / "reference.duckdb"
    t0 = time.monotonic()
    run_parcours("--db", str(reference), "import", str(f))
    full = time.monotonic() - t0
    expected = _counts(reference)
    assert expected[0] == 1_498_500 and expected[4] == 1_500

    db = tmp_path / "killed.duckdb"
    # create the store first, so that the kill lands in the import, not in the first migration
    run_parcours("--db", str(db), "quarantine")
    proc = subprocess.Popen(parcours_cmd("--db", str(db), "import", str(f)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(max(0.5, full * 0.6))
    assert proc.poll() is None, "the import finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _counts(db)
    assert partial[0] in (0, expected[0]) and partial[0] == partial[1]  # all or nothing
    rerun = run_parcours("--db", str(db), "import", str(f))
    assert rerun.returncode == 1
    assert _counts(db)[:5] == expected[:5]
