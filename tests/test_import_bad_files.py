"""The battery of bad files: each gets a clear message, good rows are kept, nothing is lost."""

from __future__ import annotations

import csv

import pytest

from conftest import TOUCHPOINT_HEADER, count, good_rows, write_csv


def _reasons(out: list[dict]) -> list[tuple]:
    return [(p["row"], p["field"], p["reason"]) for p in out[0]["problems"]]


def test_clean_file_is_stored_and_exit_is_zero(tmp_path, cli, db):
    f = write_csv(tmp_path / "touchpoints.csv", good_rows(20))
    code, _, rep = cli("import", str(f), "--json")
    assert code == 0
    assert rep[0]["accepted"] == 20 and rep[0]["quarantined"] == 0
    assert count(db, "SELECT count(*) FROM touchpoints") == 20


def test_missing_required_column_refuses_the_file_and_names_it(tmp_path, cli, db):
    header = [h for h in TOUCHPOINT_HEADER if h != "ts"]
    rows = [[v for h, v in zip(TOUCHPOINT_HEADER, r) if h != "ts"] for r in good_rows(3)]
    f = write_csv(tmp_path / "touchpoints.csv", rows, header=header)
    code, _, rep = cli("import", str(f), "--json")
    assert code == 2
    assert "required column(s) ts missing" in rep[0]["error"]
    assert "--map" in rep[0]["error"]
    assert count(db, "SELECT count(*) FROM touchpoints") == 0


def test_wrong_types_unknown_channel_and_bad_timestamps(tmp_path, cli, db):
    rows = good_rows(4)
    rows[1][8] = "douze"                      # wait_s not a number
    rows[2][4] = "fax"                        # unknown channel
    rows[3][1] = "2025-02-30T10:00:00Z"       # no such day
    rows.append(["e99", "1850-01-01T00:00:00Z", "a@b.fr", "", "web", "visit", "", "", "", ""])
    f = write_csv(tmp_path / "touchpoints.csv", rows)
    code, _, rep = cli("import", str(f), "--json")
    assert code == 1
    r = rep[0]
    assert (r["accepted"], r["quarantined"], r["rows_read"]) == (1, 4, 5)
    reasons = {(row, fld): reason for row, fld, reason in _reasons(rep)}
    assert reasons[(2, "wait_s")] == "'douze' is not a number"
    assert reasons[(3, "channel")].startswith("unknown channel 'fax' (expected one of: web, app")
    assert "'2025-02-30T10:00:00Z' is not a timestamp" in reasons[(4, "ts")]
    assert "not a plausible time" in reasons[(5, "ts")]
    assert count(db, "SELECT count(*) FROM touchpoints") == 1


def test_naive_timestamps_get_the_configured_zone_and_are_reported(tmp_path, cli, db):
    rows = good_rows(2)
    rows[0][1] = "2025-07-01 10:00:00"       # summer: Paris is UTC+2
    rows[1][1] = "2025-07-01T10:00:00Z"
    f = write_csv(tmp_path / "touchpoints.csv", rows)
    code, _, rep = cli("import", str(f), "--json", "--tz", "Europe/Paris")
    assert code == 0 and rep[0]["naive_timestamps"] == 1 and rep[0]["timezone"] == "Europe/Paris"
    hours = count(db, "SELECT list(hour(ts AT TIME ZONE 'UTC') ORDER BY event_id) FROM touchpoints")
    assert hours == [8, 10]


def test_duplicates_within_a_file_and_across_files(tmp_path, cli, db):
    rows = good_rows(5)
    same = list(rows[0])
    changed = list(rows[1])
    changed[7] = "unresolved"
    f1 = write_csv(tmp_path / "touchpoints_a.csv", rows + [same, changed])
    code, _, rep = cli("import", str(f1), "--json")
    r = rep[0]
    assert (r["accepted"], r["duplicates"], r["quarantined"]) == (5, 1, 1)
    assert _reasons(rep) == [(7, "event_id", "duplicate event_id 'e1': also at row 2 with different values "
                                             "(the first is kept)")]
    # a second file repeats two stored events, one of them changed, and brings a new one
    other = [list(rows[2]), list(rows[3]), good_rows(1, start=100)[0]]
    other[1][9] = "edited afterwards"
    f2 = write_csv(tmp_path / "touchpoints_b.csv", other)
    code, _, rep = cli("import", str(f2), "--json")
    r = rep[0]
    assert (r["accepted"], r["duplicates"], r["quarantined"]) == (1, 1, 1)
    assert "event_id 'e3' is already stored with different values" in _reasons(rep)[0][2]
    assert count(db, "SELECT count(*) FROM touchpoints") == 6
    assert count(db, "SELECT count(DISTINCT event_id) FROM touchpoints") == 6


def test_latin1_file_with_french_accents(tmp_path, cli, db):
    rows = good_rows(2)
    rows[0][9] = "Très déçu, j’attends ma commande depuis 3 semaines — 15 € de frais"
    rows[1][9] = "Conseillère très aimable, problème réglé"
    f = tmp_path / "touchpoints.csv"
    write_csv(f, rows, encoding="cp1252", delimiter=";")
    code, _, rep = cli("import", str(f), "--json")
    assert code == 0, rep
    assert rep[0]["encoding"] == "windows-1252"
    texts = count(db, "SELECT list(text ORDER BY event_id) FROM touchpoints")
    assert texts == [rows[0][9], rows[1][9]]


def test_empty_file_is_refused_with_a_message(tmp_path, cli):
    f = tmp_path / "touchpoints.csv"
    f.write_bytes(b"")
    code, _, rep = cli("import", str(f), "--json")
    assert code == 2 and "the file is empty" in rep[0]["error"]


def test_header_only_file_imports_nothing_cleanly(tmp_path, cli):
    f = write_csv(tmp_path / "touchpoints.csv", [])
    code, _, rep = cli("import", str(f), "--json")
    assert code == 0 and rep[0]["rows_read"] == 0


def test_truncated_last_line_is_quarantined_with_its_text(tmp_path, cli, db):
    f = write_csv(tmp_path / "touchpoints.csv", good_rows(3))
    with f.open("a", encoding="utf-8") as fh:
        fh.write("e777,2025-03-04T10:00:00Z,x@y.fr,,pho")  # cut mid-line, no newline
    code, _, rep = cli("import", str(f), "--json")
    assert code == 1
    assert (rep[0]["accepted"], rep[0]["quarantined"], rep[0]["rows_read"]) == (3, 1, 4)
    row, field, reason = _reasons(rep)[0]
    assert row == 4 and "cut short" in reason and "truncated" in reason
    raw = count(db, "SELECT raw->>'_line' FROM quarantine")
    assert raw == "e777,2025-03-04T10:00:00Z,x@y.fr,,pho"


def test_ten_megabyte_text_field_is_quarantined_whole(tmp_path, cli, db):
    rows = good_rows(3)
    rows[1][9] = "x" * (10 * 1024 * 1024)
    f = write_csv(tmp_path / "touchpoints.csv", rows)
    code, _, rep = cli("import", str(f), "--json")
    assert code == 1
    assert (rep[0]["accepted"], rep[0]["quarantined"]) == (2, 1)
    assert _reasons(rep) == [(2, "text", "text is 10,485,760 characters long, over the limit of 100,000")]
    assert count(db, "SELECT length(raw->>'text') FROM quarantine") == 10 * 1024 * 1024


def test_corrected_quarantine_reimported_completes_the_data(tmp_path, cli, db):
    rows = good_rows(6)
    rows[1][4] = "fax"
    rows[2][1] = "hier"
    rows[3][2] = "pas-un-email"
    f = write_csv(tmp_path / "touchpoints.csv", rows)
    with f.open("a", encoding="utf-8") as fh:
        fh.write("e50,2025-03-05T10:00:00Z,z@z.fr\n")
    code, _, rep = cli("import", str(f), "--json")
    assert (rep[0]["accepted"], rep[0]["quarantined"]) == (3, 4)
    fix = tmp_path / "touchpoints_fix.csv"
    code, _, _ = cli("quarantine", "--export", str(fix))
    assert code == 0
    with fix.open(encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    assert len(records) == 4 and all(r["_errors"] and r["_quarantine_id"] for r in records)
    for r in records:  # what a person would do in a spreadsheet
        if r["channel"] == "fax":
            r["channel"] = "phone"
        if r["ts"] == "hier":
            r["ts"] = "2025-03-02T09:00:00+01:00"
        if r["email"] == "pas-un-email":
            r["email"] = "client3@exemple.fr"
        if r["event_id"] == "e50":
            r.update(channel="web", kind="visit")
    with fix.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(records[0]))
        w.writeheader()
        w.writerows(records)
    code, _, rep = cli("import", str(fix), "--json")
    assert code == 0 and rep[0]["accepted"] == 4
    assert count(db, "SELECT count(*) FROM touchpoints") == 7
    assert count(db, "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL") == 0
    # the original file again: its bad rows are already resolved, nothing new is stored
    code, _, rep = cli("import", str(f), "--json")
    assert rep[0]["accepted"] == 0 and count(db, "SELECT count(*) FROM touchpoints") == 7


def test_survey_scores_are_checked_against_their_scale(tmp_path, cli, db):
    header = ["response_id", "ts", "email", "metric", "score", "scale_min", "scale_max", "comment"]
    rows = [
        ["r1", "2025-03-01T10:00:00Z", "a@b.fr", "nps", "9", "", "", "Super"],
        ["r2", "2025-03-01T10:00:00Z", "a@b.fr", "nps", "11", "", "", ""],
        ["r3", "2025-03-01T10:00:00Z", "a@b.fr", "csat", "0", "", "", ""],
        ["r4", "2025-03-01T10:00:00Z", "a@b.fr", "ces", "7", "", "", "facile"],
        ["r5", "2025-03-01T10:00:00Z", "a@b.fr", "csat", "9", "1", "10", "on a 1–10 scale"],
        ["r6", "2025-03-01T10:00:00Z", "a@b.fr", "nps", "", "", "", "skipped the score"],
        ["r7", "2025-03-01T10:00:00Z", "a@b.fr", "nps", "5", "1", "5", ""],
        ["r8", "2025-03-01T10:00:00Z", "a@b.fr", "custom", "3", "", "", ""],
        # half a scale, the score below it: once stopped the whole import (a NULL reason)
        ["r9", "2025-03-01T10:00:00Z", "a@b.fr", "custom", "3", "5", "", ""],
    ]
    f = write_csv(tmp_path / "responses.csv", rows, header=header)
    code, _, rep = cli("import", str(f), "--json")
    reasons = {(row, fld): reason for row, fld, reason in _reasons(rep)}
    assert reasons[(2, "score")] == "score 11.0 is outside the scale 0–10 of nps"
    assert reasons[(3, "score")] == "score 0.0 is outside the scale 1–5 of csat"
    assert reasons[(7, "scale_max")] == "NPS is always asked on 0–10"
    assert reasons[(8, "scale_min")] == "a custom question needs scale_min and scale_max"
    assert reasons[(9, "scale_min")] == "a custom question needs scale_min and scale_max"
    assert rep[0]["accepted"] == 4 and rep[0]["quarantined"] == 5
    assert count(db, "SELECT list(scale_max ORDER BY response_id) FROM responses") == [10, 7, 10, 10]


def test_unknown_table_and_unknown_format_are_explained(tmp_path, cli):
    f = write_csv(tmp_path / "export_2025.csv", good_rows(1))
    code, _, rep = cli("import", str(f), "--json")
    assert code == 2 and "cannot tell which table" in rep[0]["error"] and "--table" in rep[0]["error"]
    g = tmp_path / "touchpoints.xlsx"
    g.write_bytes(b"PK\x03\x04")
    code, _, rep = cli("import", str(g), "--json")
    assert code == 2 and "unknown file type '.xlsx'" in rep[0]["error"]


@pytest.mark.parametrize("appended_ending", ["\r\n", "\n"])  # "\n" after csv's "\r\n": mixed endings
def test_row_with_more_fields_than_the_header_is_quarantined_not_cut(tmp_path, cli, db, appended_ending):
    f = write_csv(tmp_path / "touchpoints.csv", good_rows(3))
    extra = "e9,2025-03-05T10:00:00Z,z@z.fr,,web,contact,billing,resolved,12,note,oops"
    with f.open("a", encoding="utf-8", newline="") as fh:
        fh.write(extra + appended_ending + ",".join(map(str, good_rows(1, start=3)[0])) + appended_ending)
    code, _, rep = cli("import", str(f), "--json")
    assert code == 1
    assert (rep[0]["rows_read"], rep[0]["accepted"], rep[0]["quarantined"]) == (5, 4, 1)
    [(row, field, reason)] = _reasons(rep)
    assert row == 4 and field is None and "too many fields" in reason
    assert count(db, "SELECT raw->>'_line' FROM quarantine") == extra


def test_row_numbers_count_records_when_a_quoted_value_spans_lines(tmp_path, cli):
    rows = good_rows(5)
    rows[1][-1] = "première ligne\nseconde ligne\ntroisième"  # record 2 spans three lines
    rows[3][4] = "fax"  # record 4, on line 6 after the header: a field's error
    rows[4].append("oops")  # record 5: a line the CSV reader itself rejects
    code, _, rep = cli("import", str(write_csv(tmp_path / "touchpoints.csv", rows)), "--json")
    assert code == 1 and (rep[0]["accepted"], rep[0]["quarantined"]) == (3, 2)
    assert [(r, f) for r, f, _ in _reasons(rep)] == [(4, "channel"), (5, None)]
