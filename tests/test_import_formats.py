"""Parquet, JSON lines and foreign exports through a column mapping."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from conftest import count, good_rows, write_csv


def test_parquet_with_native_types_and_naive_timestamps(tmp_path, cli, db):
    f = tmp_path / "orders.parquet"
    pq.write_table(pa.table({
        "order_id": ["o1", "o2", "o3"],
        "ts": pa.array([1_740_000_000_000_000, 1_740_100_000_000_000, 1_740_200_000_000_000],
                       pa.timestamp("us")),  # naive
        "email": ["A@B.fr", "a@b.fr", None],
        "amount": [12.5, 80.0, 5.0],
        "currency": ["EUR", "EUR", "EUR"],
    }), f)
    code, _, rep = cli("import", str(f), "--json")
    assert rep[0]["format"] == "parquet"
    assert (rep[0]["accepted"], rep[0]["quarantined"], rep[0]["naive_timestamps"]) == (2, 1, 2)
    assert rep[0]["problems"][0]["row"] == 3 and rep[0]["problems"][0]["field"] == "person_id"
    assert count(db, "SELECT count(DISTINCT person_id) FROM orders") == 1
    assert count(db, "SELECT sum(amount) FROM orders") == 92.5


def test_json_lines_with_a_broken_line(tmp_path, cli, db):
    f = tmp_path / "responses.jsonl"
    lines = [
        json.dumps({"response_id": "r1", "ts": "2025-03-01T10:00:00Z", "email": "a@b.fr", "metric": "nps",
                    "score": 10, "comment": "Parfait, merci !"}, ensure_ascii=False),
        "{\"response_id\": \"r2\", \"ts\": ",  # broken
        json.dumps({"response_id": "r3", "ts": "2025-03-01T11:00:00Z", "phone": "06 11 22 33 44",
                    "metric": "csat", "score": 2, "extra": {"nested": True}}),
        "",
        json.dumps({"response_id": "r4", "ts": "2025-03-01T12:00:00Z", "email": "c@d.fr", "metric": "nps",
                    "score": None, "comment": "je ne sais pas",
                    "\u0000k'\"\U0009aD42": 1, 'o"dd\\key': 2}),  # keys no column has: ignored, row kept
    ]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, rep = cli("import", str(f), "--json")
    r = rep[0]
    assert (r["rows_read"], r["accepted"], r["quarantined"]) == (4, 3, 1)
    assert r["problems"] == [{"row": 2, "field": None, "reason": "not a valid JSON object"}]
    assert "extra" in r["ignored_columns"]
    assert count(db, "SELECT list(score ORDER BY response_id) FROM responses") == [10.0, 2.0, None]
    assert count(db, "SELECT comment FROM responses WHERE response_id = 'r1'") == "Parfait, merci !"


HELPDESK = """\
Ticket ID;Créé le;Canal;Client;Statut;Priorité;Sujet;Résolu le
T-1001;03/02/2025 09:15;Téléphone;Marie.Curie@Exemple.fr;Résolu;Haute;Remboursement;03/02/2025 10:02
T-1002;03/02/2025 11:40;E-mail;jean@exemple.fr;Ouvert;Normale;Livraison;
T-1003;04/02/2025 08:05;Fax;paul@exemple.fr;Ouvert;Normale;Livraison;
"""

MAPPING = """\
table = "cases"
timezone = "Europe/Paris"
timestamp_format = "%d/%m/%Y %H:%M"

[columns]
case_id = "Ticket ID"
opened_at = "Créé le"
channel = "Canal"
email = "Client"
status = "Statut"
priority = "Priorité"
topic = "Sujet"
closed_at = "Résolu le"

[values.channel]
"Téléphone" = "phone"
"E-mail" = "email"

[values.status]
"Résolu" = "resolved"
"Ouvert" = "open"

[values.priority]
"Haute" = "high"
"Normale" = "normal"
"""


def test_foreign_helpdesk_export_through_a_mapping(tmp_path, cli, db):
    f = tmp_path / "tickets_export.csv"
    f.write_bytes(HELPDESK.encode("cp1252"))
    m = tmp_path / "helpdesk.toml"
    m.write_text(MAPPING, encoding="utf-8")
    code, _, rep = cli("import", str(f), "--map", str(m), "--json")
    r = rep[0]
    assert r["table"] == "cases" and r["encoding"] == "windows-1252"
    assert (r["accepted"], r["quarantined"]) == (2, 1)
    assert r["problems"][0]["field"] == "channel" and "'Fax'" in r["problems"][0]["reason"]
    rows = duckdb.connect(str(db)).execute(
        "SELECT case_id, channel, status, priority, strftime(opened_at AT TIME ZONE 'UTC', '%H:%M'), "
        "email FROM cases ORDER BY case_id").fetchall()
    assert rows == [("T-1001", "phone", "resolved", "high", "08:15", "marie.curie@exemple.fr"),
                    ("T-1002", "email", "open", "normal", "10:40", "jean@exemple.fr")]


def test_call_centre_log_with_constants(tmp_path, cli, db):
    f = tmp_path / "calls.csv"
    f.write_text("call,start,caller,queue_s,talk_s,result\n"
                 "c1,2025-03-03T09:00:00+01:00,+33 6 12 34 56 78,185,320,resolved\n"
                 "c2,2025-03-03T09:05:00+01:00,0612345678,40,0,abandoned\n", encoding="utf-8")
    m = tmp_path / "calls.toml"
    m.write_text('table = "touchpoints"\n[columns]\nevent_id = "call"\nts = "start"\nphone = "caller"\n'
                 'wait_s = "queue_s"\nhandle_s = "talk_s"\noutcome = "result"\n'
                 '[constants]\nchannel = "phone"\nkind = "contact"\n', encoding="utf-8")
    code, _, rep = cli("import", str(f), "--map", str(m), "--json")
    assert code == 0 and rep[0]["accepted"] == 2
    assert count(db, "SELECT count(DISTINCT person_id) FROM touchpoints") == 1  # same caller, two forms
    assert count(db, "SELECT list(DISTINCT direction) FROM touchpoints") == ["inbound"]


def test_mapping_that_names_a_missing_column_is_refused(tmp_path, cli):
    f = write_csv(tmp_path / "touchpoints.csv", good_rows(2))
    m = tmp_path / "m.toml"
    m.write_text('[columns]\nts = "Date"\n', encoding="utf-8")
    code, _, rep = cli("import", str(f), "--map", str(m), "--json")
    assert code == 2 and "takes ts from column 'Date', which the file lacks" in rep[0]["error"]
    m.write_text('[columns]\nwhen = "ts"\n', encoding="utf-8")
    code, _, rep = cli("import", str(f), "--map", str(m), "--json")
    assert code == 2 and "names 'when', which is not a column of touchpoints" in rep[0]["error"]


def test_files_are_imported_persons_first(tmp_path, cli, db):
    write_csv(tmp_path / "touchpoints.csv", [["e1", "2025-03-01T10:00:00Z", "ana@exemple.fr", "", "chat", "contact",
                                              "", "", "", ""]])
    write_csv(tmp_path / "persons.csv", [["C1", "2024-01-01T00:00:00Z", "premium", "ana@exemple.fr"]],
              header=["person_id", "created_at", "segment", "email"])
    code, _, rep = cli("import", str(tmp_path / "touchpoints.csv"), str(tmp_path / "persons.csv"), "--json")
    assert [r["table"] for r in rep] == ["persons", "touchpoints"]
    assert count(db, "SELECT person_id FROM touchpoints") == "C1"
    assert count(db, "SELECT count(*) FROM persons") == 1


def test_a_newer_version_of_a_case_updates_it_and_events_never_change(tmp_path, cli, db):
    header = ["case_id", "opened_at", "email", "channel", "status", "closed_at"]
    write_csv(tmp_path / "cases.csv", [["K1", "2025-03-01T10:00:00Z", "a@b.fr", "email", "open", ""],
                                       ["K2", "2025-03-01T11:00:00Z", "c@d.fr", "chat", "open", ""]], header=header)
    cli("import", str(tmp_path / "cases.csv"))
    write_csv(tmp_path / "cases_later.csv", [["K1", "2025-03-01T10:00:00Z", "a@b.fr", "email", "resolved",
                                              "2025-03-02T09:00:00Z"],
                                             ["K2", "2025-03-01T11:00:00Z", "c@d.fr", "chat", "open", ""]],
              header=header)
    code, _, rep = cli("import", str(tmp_path / "cases_later.csv"), "--json")
    assert code == 0 and (rep[0]["updated"], rep[0]["duplicates"], rep[0]["accepted"]) == (1, 1, 0)
    assert count(db, "SELECT list(status ORDER BY case_id) FROM cases") == ["resolved", "open"]
    assert count(db, "SELECT count(*) FROM cases") == 2


def test_identities_from_a_crm_export(tmp_path, cli, db):
    write_csv(tmp_path / "identities.csv", [["email", "Anne@Exemple.fr", "C9"], ["phone", "06 11 22 33 44", "C9"],
                                            ["fax", "0140000000", "C9"]], header=["kind", "value", "person_id"])
    code, _, rep = cli("import", str(tmp_path / "identities.csv"), "--json")
    assert code == 1 and rep[0]["accepted"] == 2
    assert rep[0]["problems"][0]["field"] == "kind"
    assert count(db, "SELECT list(value ORDER BY kind) FROM identities") == ["anne@exemple.fr", "+33611223344"]
    assert count(db, "SELECT list(person_id) FROM persons") == ["C9"]
    write_csv(tmp_path / "touchpoints.csv", [["e1", "2025-03-01T10:00:00Z", "anne@exemple.fr", "", "chat", "contact",
                                              "", "", "", ""]])
    cli("import", str(tmp_path / "touchpoints.csv"))
    assert count(db, "SELECT person_id FROM touchpoints") == "C9"


def test_an_import_leaves_no_scratch_tables_and_does_not_change_the_callers_options(tmp_path):
    from parcours import Options, Store, import_files
    from parcours.ingest.mapping import Mapping

    f = write_csv(tmp_path / "touchpoints.csv", good_rows(5))
    opts = Options(timezone="Europe/Paris")
    with Store(tmp_path / "s.duckdb") as store:
        reports = import_files(store, [f], mapping=Mapping(timezone="America/Montreal"), options=opts)
        assert reports[0].accepted == 5 and reports[0].timezone == "America/Montreal"
        assert opts.timezone == "Europe/Paris"
        left = store.query("SELECT coalesce(list(table_name), []) FROM duckdb_tables() WHERE temporary")[0][0] + \
            store.query("SELECT coalesce(list(view_name), []) FROM duckdb_views() WHERE temporary AND NOT internal")[0][0]
        assert left == []


def test_enum_values_of_a_dictionary_encoded_parquet_column(tmp_path, cli, db):
    """Enum columns are typed by a lookup that DuckDB runs once per distinct value of a Parquet
    dictionary: every letter case and padding still reads, an unknown value is quarantined by name."""
    n, channels = 6000, ["web", "Phone", " chat ", "EMAIL", "fax"]
    f = tmp_path / "touchpoints.parquet"
    pq.write_table(pa.table({
        "event_id": [f"e{i}" for i in range(n)],
        "ts": ["2025-03-01T10:00:00Z"] * n,
        "email": [f"c{i % 50}@exemple.fr" for i in range(n)],
        "channel": pa.array([channels[i % 5] for i in range(n)]).dictionary_encode(),
        "kind": ["contact"] * n,
        "outcome": ["Resolved" if i % 3 == 0 else None for i in range(n)],
    }), f, use_dictionary=True)
    code, _, rep = cli("import", str(f), "--json")
    r = rep[0]
    assert code == 1 and (r["accepted"], r["quarantined"]) == (n - n // 5, n // 5)
    assert r["problems"][0] == {"row": 5, "field": "channel", "reason": "unknown channel 'fax' (expected one of: "
                                "web, app, email, sms, chat, social, phone, store, chatbot, video)"}
    assert count(db, "SELECT list(c::VARCHAR ORDER BY c) FROM (SELECT DISTINCT channel AS c FROM touchpoints)") \
        == ["web", "email", "chat", "phone"]
    kept_resolved = sum(1 for i in range(n) if i % 3 == 0 and i % 5 != 4)
    assert count(db, "SELECT count(*) FROM touchpoints WHERE outcome = 'resolved'") == kept_resolved
    assert count(db, "SELECT count(*) FROM touchpoints WHERE outcome IS NULL") == n - n // 5 - kept_resolved
