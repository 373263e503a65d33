"""Identity resolution: normalised identifiers, union-find linking, audited merges, the 360 view."""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pytest

from conftest import count, write_csv
from parcours.ingest.identity import components
from parcours.ingest.normalize import app_sql, email_sql, phone_sql, social_sql
from parcours.persons import show
from parcours.store import Store

HEADER = ["event_id", "ts", "email", "phone", "social", "app_id", "channel", "kind"]


@pytest.mark.parametrize("raw, expected", [
    ("06 12 34 56 78", "+33612345678"), ("+33 (0)6 12 34 56 78", "+33612345678"),
    ("0033 6 12 34 56 78", "+33612345678"), ("06.12.34.56.78", "+33612345678"),
    ("+44 7700 900123", "+447700900123"), ("+3361234567", None), ("12", None), ("hello", None),
    ("0612345678", "+33612345678"), ("+33612345678", "+33612345678"), ("06 12 34 56 789", None),
    ("003361234567", None), ("+1 415 555 0100", "+14155550100"), ("+336123456789", None),
])
def test_phone_numbers_are_normalised_to_e164(raw, expected):
    assert duckdb.connect().execute(f"SELECT {phone_sql('$1')}", [raw]).fetchone()[0] == expected


@pytest.mark.parametrize("raw, expected", [
    ("Jean.Dupont@Exemple.FR", "jean.dupont@exemple.fr"), ("Jean <jean@exemple.fr>", "jean@exemple.fr"),
    ("mailto:a@b.com", "a@b.com"), (" x@y.org ", "x@y.org"), ("bad@", None), ("a b@c.fr", None),
])
def test_emails_are_normalised(raw, expected):
    assert duckdb.connect().execute(f"SELECT {email_sql('$1')}", [raw]).fetchone()[0] == expected


@pytest.mark.parametrize("raw", ["abc-123", " abc ", "a b", "a\tb", "a\nb", "a\fb", "a\rb", "a\x0bb", "a\u00a0b",
                                 "\t", " ", "", "x" * 200, "x" * 201, " " + "x" * 200])
def test_app_ids_refuse_white_space_as_re2s_class_does(raw):
    con = duckdb.connect()
    re2 = ("CASE WHEN length(trim($1)) BETWEEN 1 AND 200 AND NOT regexp_matches(trim($1), '\\s') "
           "THEN trim($1) END")
    ours = con.execute(f"SELECT {app_sql('$1')}", [raw]).fetchone()[0]
    assert ours == con.execute(f"SELECT {re2}", [raw]).fetchone()[0]


def test_social_handles_lose_the_at_sign_and_case():
    assert duckdb.connect().execute(f"SELECT {social_sql('$1')}", ["@MarieC"]).fetchone()[0] == "mariec"


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two labellings describe the same components (labels themselves may differ)."""
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


@pytest.mark.parametrize("n, m, seed", [(1, 0, 0), (10, 0, 1), (200, 150, 2), (5000, 4000, 3), (20000, 30000, 4)])
def test_components_equal_scipys_on_random_graphs(n, m, seed):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    ours = components(n, src, dst)
    _, theirs = connected_components(coo_matrix((np.ones(m), (src, dst)), shape=(n, n)), directed=False)
    assert _same_partition(ours, theirs)
    for label in np.unique(ours):  # each component is labelled by its smallest node
        assert label == np.flatnonzero(ours == label).min()


@pytest.mark.parametrize("order", ["forward", "backward", "shuffled"])
def test_components_of_a_long_chain_and_a_star(order):
    """Worst shapes for label propagation: a 100,000-node path and a 1,000-leaf star, in any edge order."""
    n = 100_000
    src, dst = np.arange(n - 1), np.arange(1, n)
    if order == "backward":
        src, dst = dst[::-1], src[::-1]
    elif order == "shuffled":
        perm = np.random.default_rng(5).permutation(n - 1)
        src, dst = src[perm], dst[perm]
    leaves = np.arange(n, n + 1000)
    hub = np.full(1000, n + 1000)
    labels = components(n + 1001, np.concatenate([src, leaves]), np.concatenate([dst, hub]))
    assert (labels[:n] == 0).all() and (labels[n:] == n).all()


def test_stored_identifiers_are_normalised_where_the_file_needed_it_and_as_given_elsewhere(tmp_path, cli, db):
    # the insert takes identifiers as the file gives them except in rows the check pass found
    # normalised: both kinds of rows, with a bad row and a repeat that must stay out
    rows = [
        ["e1", "2025-01-01T10:00:00Z", "marie@exemple.fr", "", "", "", "email", "contact"],
        ["e2", "2025-01-02T10:00:00Z", " Marie@Exemple.FR ", "06 12 34 56 78", "", "", "phone", "contact"],
        ["e3", "2025-01-03T10:00:00Z", "", "+33612345678", "@MarieC", "app-77 ", "social", "contact"],
        ["e4", "2025-01-04T10:00:00Z", "paul@exemple.fr", "", "paulo", "app-78", "web", "visit"],
        ["e5", "2025-01-05T10:00:00Z", "not an address", "", "", "", "email", "contact"],
        ["e1", "2025-01-01T10:00:00Z", "marie@exemple.fr", "", "", "", "email", "contact"],
        ["e6", "2025-01-06T10:00:00Z", "", "", "", "", "email", "contact"],
    ]
    write_csv(tmp_path / "touchpoints.csv", rows, header=HEADER)
    code, _, rep = cli("import", str(tmp_path / "touchpoints.csv"), "--json")
    assert code == 1 and (rep[0]["accepted"], rep[0]["duplicates"], rep[0]["quarantined"]) == (4, 1, 2)
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT event_id, email, phone, social, app_id FROM touchpoints ORDER BY 1").fetchall()
        persons = con.execute("SELECT count(DISTINCT person_id) FROM touchpoints").fetchone()[0]
    assert stored == [
        ("e1", "marie@exemple.fr", None, None, None),
        ("e2", "marie@exemple.fr", "+33612345678", None, None),
        ("e3", None, "+33612345678", "mariec", "app-77"),
        ("e4", "paul@exemple.fr", None, "paulo", "app-78"),
    ]
    assert persons == 2


def test_identifiers_seen_together_become_one_person(tmp_path, cli, db):
    rows = [
        ["e1", "2025-01-01T10:00:00Z", "marie@exemple.fr", "", "", "", "email", "contact"],
        ["e2", "2025-01-02T10:00:00Z", "", "06 12 34 56 78", "", "", "phone", "contact"],
        ["e3", "2025-01-03T10:00:00Z", "", "", "@MarieC", "app-77", "social", "contact"],
        ["e4", "2025-01-04T10:00:00Z", "Marie@Exemple.fr", "+33612345678", "", "", "web", "visit"],  # links 1+2
        ["e5", "2025-01-05T10:00:00Z", "", "0612345678", "", "app-77", "app", "usage"],               # links 3
        ["e6", "2025-01-06T10:00:00Z", "paul@exemple.fr", "", "", "", "email", "contact"],
    ]
    write_csv(tmp_path / "touchpoints.csv", rows, header=HEADER)
    code, _, rep = cli("import", str(tmp_path / "touchpoints.csv"), "--json")
    assert code == 0
    assert rep[0]["persons_created"] == 2 and rep[0]["persons_merged"] == 0
    assert count(db, "SELECT count(DISTINCT person_id) FROM touchpoints") == 2
    assert count(db, "SELECT count(DISTINCT person_id) FROM touchpoints WHERE event_id <> 'e6'") == 1
    assert count(db, "SELECT count(*) FROM identities") == 5


#: two addresses whose nodes' MD5 share their first 11 hex digits (found by a birthday search):
#: the short ids of two strangers collide
TWINS = ("u3974569@example.fr", "u4721766@example.fr")


def test_strangers_whose_short_ids_collide_stay_two_persons(tmp_path, cli, db):
    short = {hashlib.md5(f"email:{e}".encode()).hexdigest()[:11] for e in TWINS}
    assert len(short) == 1
    # in one batch
    write_csv(tmp_path / "touchpoints_1.csv",
              [["e1", "2025-01-01T10:00:00Z", TWINS[0], "", "", "", "email", "contact"],
               ["e2", "2025-01-01T11:00:00Z", TWINS[1], "", "", "", "email", "contact"]], header=HEADER)
    code, _, rep = cli("import", str(tmp_path / "touchpoints_1.csv"), "--json")
    assert code == 0 and rep[0]["persons_created"] == 2
    assert count(db, "SELECT count(DISTINCT person_id) FROM touchpoints") == 2
    assert count(db, "SELECT count(*) FROM persons") == 2
    # one import each: the second meets the first's id already stored
    other = tmp_path / "other.duckdb"
    for i, email in enumerate(TWINS):
        write_csv(tmp_path / f"touchpoints_{i + 2}.csv", [[f"f{i}", "2025-01-02T10:00:00Z", email, "", "", "", "email",
                                                           "contact"]], header=HEADER)
        code, _, rep = cli("--db", str(other), "import", str(tmp_path / f"touchpoints_{i + 2}.csv"), "--json")
        assert code == 0 and rep[0]["persons_created"] == 1 and rep[0]["persons_merged"] == 0
    with Store(other) as s:
        ids = [r[0] for r in s.query("SELECT DISTINCT person_id FROM touchpoints ORDER BY 1")]
        assert len(ids) == 2 and s.query("SELECT count(*) FROM persons")[0][0] == 2
    assert ids == sorted(ids, key=len) and len(ids[0]) == 12 and len(ids[1]) == 33  # 'P' + 11, then 'P' + 32
    # a row of the batch names the short id as its person
    given = tmp_path / "given.duckdb"
    write_csv(tmp_path / "touchpoints_4.csv", [["g1", "2025-01-03T10:00:00Z", ids[0], "", "email", "contact"],
                                               ["g2", "2025-01-03T11:00:00Z", "", TWINS[0], "email", "contact"]],
              header=["event_id", "ts", "person_id", "email", "channel", "kind"])
    code, _, rep = cli("--db", str(given), "import", str(tmp_path / "touchpoints_4.csv"), "--json")
    assert code == 0 and rep[0]["persons_merged"] == 0
    with Store(given) as s:
        long = "P" + hashlib.md5(f"email:{TWINS[0]}".encode()).hexdigest()
        assert s.query("SELECT list(person_id ORDER BY event_id) FROM touchpoints")[0][0] == [ids[0], long]
    # the short id names a person merged away (its id still finds the person it joined)
    merged = tmp_path / "merged.duckdb"
    write_csv(tmp_path / "persons.csv", [["C1", "2020-01-01T00:00:00Z", "anne@exemple.fr", ""],
                                         [ids[0], "2024-06-01T00:00:00Z", "", "+33699999999"]],
              header=["person_id", "created_at", "email", "phone"])
    write_csv(tmp_path / "orders.csv", [["o1", "2025-02-01T10:00:00Z", "anne@exemple.fr", "+33699999999", "9.90"]],
              header=["order_id", "ts", "email", "phone", "amount"])
    cli("--db", str(merged), "import", str(tmp_path / "persons.csv"), str(tmp_path / "orders.csv"))
    code, _, rep = cli("--db", str(merged), "import", str(tmp_path / "touchpoints_2.csv"), "--json")
    assert code == 0 and rep[0]["persons_created"] == 1
    with Store(merged) as s:
        assert s.query("SELECT merged_person_id FROM merges")[0][0] == ids[0]
        assert s.query("SELECT person_id FROM touchpoints")[0][0] == long


def test_a_later_import_that_links_two_known_persons_merges_them_with_an_audit(tmp_path, cli, db):
    write_csv(tmp_path / "persons.csv", [["C1", "2020-01-01T00:00:00Z", "premium", "anne@exemple.fr", ""],
                                         ["C2", "2024-06-01T00:00:00Z", "", "", "+33699999999"]],
              header=["person_id", "created_at", "segment", "email", "phone"])
    write_csv(tmp_path / "touchpoints_1.csv", [
        ["e1", "2025-01-01T10:00:00Z", "", "+33699999999", "", "", "phone", "contact"],
        ["e2", "2025-01-01T11:00:00Z", "anne@exemple.fr", "", "", "", "email", "contact"]], header=HEADER)
    cli("import", str(tmp_path / "persons.csv"), str(tmp_path / "touchpoints_1.csv"))
    assert count(db, "SELECT count(DISTINCT person_id) FROM touchpoints") == 2
    # an order carries both identifiers: C2 is the same person as C1 (the older one is kept)
    write_csv(tmp_path / "orders.csv", [["o1", "2025-02-01T10:00:00Z", "Anne@Exemple.fr", "06 99 99 99 99", "49.90"]],
              header=["order_id", "ts", "email", "phone", "amount"])
    code, _, rep = cli("import", str(tmp_path / "orders.csv"), "--json")
    assert rep[0]["persons_merged"] == 1
    assert count(db, "SELECT list(DISTINCT person_id) FROM touchpoints") == ["C1"]
    assert count(db, "SELECT person_id FROM orders") == "C1"
    assert count(db, "SELECT list(person_id ORDER BY person_id) FROM persons") == ["C1"]
    assert count(db, "SELECT count(DISTINCT person_id) FROM identities") == 1
    with Store(db) as s:
        kept, merged, evidence = s.query("SELECT kept_person_id, merged_person_id, evidence FROM merges")[0]
    assert (kept, merged) == ("C1", "C2")
    assert "phone:+33699999999" in evidence and "orders.csv" in evidence
    # the 360 view finds the person by the merged id, by e-mail and by phone
    with Store(db) as s:
        for key in ("C2", "anne@exemple.fr", "06 99 99 99 99"):
            p = show(s, key)
            assert p is not None and p.person_id == "C1"
        p = show(s, "C1")
        assert [e["what"] for e in p.timeline] == ["touchpoint", "touchpoint", "order"]
        assert p.merges[0]["merged_person_id"] == "C2"


def test_persons_show_cli(tmp_path, cli):
    write_csv(tmp_path / "touchpoints.csv", [
        ["e1", "2025-01-01T10:00:00Z", "lea@exemple.fr", "0611223344", "", "", "chat", "contact"]], header=HEADER)
    cli("import", str(tmp_path / "touchpoints.csv"))
    code, out, data = cli("persons", "show", "+33 6 11 22 33 44", "--json")
    assert code == 0
    assert {(i["kind"], i["value"]) for i in data["identities"]} == {("email", "lea@exemple.fr"),
                                                                      ("phone", "+33611223344")}
    assert data["timeline"][0]["channel"] == "chat"
    code, out, _ = cli("persons", "show", "nobody@nowhere.fr")
    assert code == 1 and "no person has the identifier 'nobody@nowhere.fr'" in out
