"""The REST API over real HTTP against `parcours serve`: ingest, persons, metrics, exports, auth."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone

import httpx
import pyarrow.parquet as pq
import pytest

from conftest import Served, make_token
from parcours.maturity.temkin import STATEMENTS

ROLES = ("admin", "analyst", "agent", "ingest")


@pytest.fixture(scope="module")
def api(demo_world, tmp_path_factory):
    db = tmp_path_factory.mktemp("api") / "store.duckdb"
    shutil.copy(demo_world[0], db)
    tokens = {role: make_token(db, role) for role in ROLES}
    server = Served(db)
    clients = {role: httpx.Client(base_url=server.base + "/api/v1", timeout=120,
                                  headers={"Authorization": f"Bearer {tok}"}) for role, tok in tokens.items()}
    clients[None] = httpx.Client(base_url=server.base + "/api/v1", timeout=120)
    yield clients
    for c in clients.values():
        c.close()
    server.stop()


def tp(event_id: str, email: str, channel: str = "email", **kw) -> dict:
    return {"event_id": event_id, "ts": "2026-01-02T10:00:00+01:00", "email": email, "channel": channel,
            "kind": "contact", **kw}


def uid() -> str:
    return uuid.uuid4().hex[:10]


# -- ingest ---------------------------------------------------------------------------------
def test_a_batch_with_bad_rows_keeps_the_good_ones_and_says_why(api):
    who = f"batch-{uid()}@exemple.fr"
    rows = [tp(f"ok-{uid()}", who), tp(f"bad-{uid()}", who, channel="pigeon", ts="yesterday"), 42,
            {"ts": "2026-01-02T10:00:00Z", "email": who, "channel": "phone", "kind": "contact"}]
    r = api["ingest"].post("/touchpoints", params={"wait": "true"}, json=rows)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "stored" and body["received"] == 4 and body["invalid"] == 3
    by_row = {(e["row"], e["field"]): e["reason"] for e in body["errors"]}
    assert "unknown channel 'pigeon'" in by_row[(2, "channel")] and "not a timestamp" in by_row[(2, "ts")]
    assert by_row[(3, None)] == "not a JSON object"
    assert "missing required value" in by_row[(4, "event_id")]
    # the same rows are in quarantine, with the batch's row numbers
    assert sorted({q["row"] for q in body["quarantined"]}) == [2, 3, 4]
    assert body["import"]["accepted"] == 1
    q = api["ingest"].get("/quarantine", params={"import_id": body["import_id"]}).json()
    assert {e["field"] for e in q} >= {"channel", "ts", "event_id"}
    # the good row is stored and belongs to the person
    timeline = api["agent"].get(f"/persons/{who}/timeline").json()["timeline"]
    assert [e["id"] for e in timeline] == [rows[0]["event_id"]]


def test_odd_json_neither_stops_the_writer_nor_loses_rows(api):
    """Found by the fuzz: an empty key broke the JSON-lines reader, and the writer thread died."""
    who = f"odd-{uid()}@exemple.fr"
    rows = [tp(f"odd-{uid()}", who) | {"": "empty key", "extra": {"nested": [1, 2]}},
            tp(f"odd-{uid()}", who, text="lone \ud800 surrogate"),
            tp(f"odd-{uid()}", who, text="accents é, emoji 🙂, quotes \" '")]
    r = api["ingest"].post("/touchpoints", params={"wait": "true"}, content=json.dumps(rows).encode(),
                           headers={"content-type": "application/json"})  # ASCII JSON carries the lone \ud800
    assert r.status_code == 200, r.text
    assert [e["row"] for e in r.json()["errors"]] == [2] and "not readable JSON" in r.json()["errors"][0]["reason"]
    texts = {e["id"]: e["text"] for e in api["agent"].get(f"/persons/{who}/timeline").json()["timeline"]}
    assert texts == {rows[0]["event_id"]: None, rows[2]["event_id"]: "accents é, emoji 🙂, quotes \" '"}
    later = api["ingest"].post("/touchpoints", params={"wait": "true"}, json=tp(f"odd-{uid()}", who))
    assert later.json()["status"] == "stored"


def test_ingest_is_idempotent_and_conflicts_are_quarantined(api):
    who = f"idem-{uid()}@exemple.fr"
    rows = [tp(f"i{k}-{uid()}", who) for k in range(3)]
    first = api["ingest"].post("/touchpoints", params={"wait": "true"}, json=rows).json()
    again = api["ingest"].post("/touchpoints", params={"wait": "true"}, json=rows).json()
    assert first["import"]["accepted"] == 3
    assert again["import"]["accepted"] == 0 and again["import"]["duplicates"] == 3
    changed = dict(rows[0], channel="phone")
    conflict = api["ingest"].post("/touchpoints", params={"wait": "true"}, json=[changed]).json()
    assert conflict["errors"] == []  # valid on its own...
    assert conflict["quarantined"][0]["row"] == 1  # ...but the id is stored with other values
    assert "already stored with different values" in conflict["quarantined"][0]["reason"]
    assert len(api["agent"].get(f"/persons/{who}/timeline").json()["timeline"]) == 3


def test_queued_batches_are_stored_shortly_after(api):
    who = f"async-{uid()}@exemple.fr"
    r = api["ingest"].post("/touchpoints", json=[tp(f"a-{uid()}", who)])
    assert r.status_code == 202 and r.json()["status"] in ("queued", "stored")
    url = r.json()["status_url"].removeprefix("/api/v1")
    for _ in range(100):
        status = api["ingest"].get(url).json()
        if status["status"] == "stored":
            break
        time.sleep(0.1)
    assert status["status"] == "stored" and status["import_id"]
    assert api["ingest"].get("/ingest/batches/b_nope").status_code == 404


def test_orders_and_answers_too(api):
    who = f"buyer-{uid()}@exemple.fr"
    api["ingest"].post("/touchpoints", params={"wait": "true"}, json=tp(f"t-{uid()}", who))
    o = api["ingest"].post("/orders", params={"wait": "true"},
                           json={"order_id": f"o-{uid()}", "ts": "2026-01-03T12:00:00Z", "email": who,
                                 "amount": 59.9, "currency": "EUR"}).json()
    a = api["ingest"].post("/responses", params={"wait": "true"},
                           json=[{"response_id": f"r-{uid()}", "ts": "2026-01-04T12:00:00Z", "email": who,
                                  "metric": "nps", "score": 11}]).json()
    assert o["import"]["accepted"] == 1
    assert a["invalid"] == 1 and a["errors"][0]["field"] == "score"
    kinds = [e["what"] for e in api["analyst"].get(f"/persons/{who}/timeline").json()["timeline"]]
    assert kinds == ["touchpoint", "order"]


def test_an_empty_batch_gets_422_and_a_lone_non_object_is_a_bad_row(api):
    r = api["ingest"].post("/touchpoints", json=[])
    assert r.status_code == 422 and "empty" in r.json()["detail"]
    r = api["ingest"].post("/touchpoints", json="not rows")  # one row, and not an object
    assert r.status_code == 202 and r.json()["errors"] == [{"row": 1, "field": None, "reason": "not a JSON object"}]


def test_too_big_or_unreadable_bodies_get_422(api):
    r = api["ingest"].post("/touchpoints", json=[tp(f"big{i}", "big@exemple.fr") for i in range(10_001)])
    assert r.status_code == 422 and "at most 10,000" in r.json()["detail"]
    r = api["ingest"].post("/touchpoints", content=b'[{"event_id": ', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.text
    assert api["ingest"].post("/cases", json=[{}]).status_code in (404, 405)


# -- persons ----------------------------------------------------------------------------------
def test_lookup_by_any_identifier(api):
    who = f"look-{uid()}@Exemple.fr"
    api["ingest"].post("/touchpoints", params={"wait": "true"},
                       json=[tp(f"l-{uid()}", who, phone="06 12 34 56 78", channel="phone")])
    by_mail = api["agent"].get("/persons", params={"identifier": who.upper()})
    assert by_mail.status_code == 200
    pid = by_mail.json()["person_id"]
    by_phone = api["agent"].get("/persons", params={"identifier": "+33 6 12 34 56 78"}).json()
    assert by_phone["person_id"] == pid
    assert {i["kind"] for i in by_phone["identities"]} == {"email", "phone"}
    r = api["agent"].get("/persons", params={"identifier": "nobody@nowhere.example"})
    assert r.status_code == 404 and "no person known" in r.json()["detail"]


def test_merge_then_unmerge_restores_both_persons(api):
    a, b = f"m-a-{uid()}@exemple.fr", f"m-b-{uid()}@exemple.fr"
    ids = {a: f"ma-{uid()}", b: f"mb-{uid()}"}
    api["ingest"].post("/touchpoints", params={"wait": "true"}, json=[tp(ids[a], a), tp(ids[b], b, channel="chat")])
    pa, pb = (api["agent"].get("/persons", params={"identifier": x}).json()["person_id"] for x in (a, b))
    r = api["agent"].post(f"/persons/{a}/merge", json={"other": b, "reason": "same customer, two e-mails"})
    assert r.status_code == 200, r.text
    merged = api["agent"].get(f"/persons/{b}/timeline").json()
    assert merged["person_id"] == pa and {e["id"] for e in merged["timeline"]} == set(ids.values())
    assert api["agent"].post(f"/persons/{a}/merge", json={"other": b}).status_code == 409
    r = api["agent"].post(f"/persons/{pb}/unmerge", json={"reason": "not the same after all"})
    assert r.status_code == 200, r.text
    for x, pid in ((a, pa), (b, pb)):
        back = api["agent"].get(f"/persons/{x}/timeline").json()
        assert back["person_id"] == pid and [e["id"] for e in back["timeline"]] == [ids[x]]
    actions = [e["action"] for e in api["admin"].get("/audit").json()[:5]]
    assert actions[:2] == ["person.unmerge", "person.merge"]


def test_erasure_removes_the_person_everywhere(api):
    who = f"erase-{uid()}@exemple.fr"
    api["ingest"].post("/touchpoints", params={"wait": "true"},
                       json=[tp(f"e-{uid()}", who), tp(f"e-{uid()}", who, channel="pigeon")])
    api["ingest"].post("/responses", params={"wait": "true"},
                       json={"response_id": f"r-{uid()}", "ts": "2026-01-04T12:00:00Z", "email": who,
                             "metric": "csat", "score": 2, "comment": "Trop lent"})
    assert api["agent"].delete(f"/persons/{who}").status_code == 403
    r = api["admin"].delete(f"/persons/{who}")
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert rows["touchpoints"] == 1 and rows["responses"] == 1 and rows["identities"] == 1
    assert rows["quarantine"] >= 1  # the rejected row carried the e-mail too
    assert api["admin"].get("/persons", params={"identifier": who}).status_code == 404
    csv_text = api["admin"].get("/export/touchpoints", params={"format": "csv"}).text
    assert who not in csv_text
    audit = api["admin"].get("/audit").json()[0]
    assert audit["action"] == "person.erase" and who not in str(audit)
    assert api["admin"].delete(f"/persons/{who}").status_code == 404


# -- metrics and exports ----------------------------------------------------------------------
def test_sections_and_filters(api):
    listing = api["analyst"].get("/metrics").json()
    assert listing["sections"] == ["voice", "journeys", "service", "loyalty", "value", "promises"]
    voice = api["analyst"].get("/metrics/voice").json()
    assert voice["nps"]["n"] > 100 and voice["nps"]["moe95"] > 0
    phone = api["analyst"].get("/metrics/voice", params={"channel": "sms"}).json()
    assert phone["filters"] == {"channel": "sms"} and 0 < phone["csat"]["n"] < voice["csat"]["n"]
    by = api["analyst"].get("/report", params={"by": "channel", "from": "2025-01-01", "to": "2025-07-01"}).json()
    assert by["period"]["from"] == "2025-01-01" and by["breakdowns"][0]["dimension"] == "channel"
    for bad, why in [({"channel": "pigeon"}, "channel"), ({"by": "colour"}, "unknown dimension"),
                     ({"from": "2025-06-01", "to": "2025-01-01"}, "must be after"), ({"from": "soon"}, "from")]:
        r = api["analyst"].get("/metrics/voice", params=bad)
        assert r.status_code == 422 and why in r.text, (bad, r.text)
    assert api["analyst"].get("/metrics/nope").status_code == 404


def test_metric_and_table_exports(api):
    rows = api["analyst"].get("/metrics/nps_by_channel").json()["rows"]
    r = api["analyst"].get("/metrics/nps_by_channel", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    parsed = list(csv.DictReader(io.StringIO(r.text)))
    assert [p["channel"] for p in parsed] == [str(x["channel"]) for x in rows]
    r = api["analyst"].get("/export/orders", params={"format": "parquet"})
    assert r.status_code == 200
    table = pq.read_table(io.BytesIO(r.content))
    assert table.num_rows > 1000 and "order_id" in table.column_names and "import_id" not in table.column_names
    assert api["analyst"].get("/metrics/voice", params={"format": "csv"}).status_code == 422


# -- auth ---------------------------------------------------------------------------------------
def test_tokens_and_errors(api):
    r = api[None].get("/metrics")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = api[None].get("/metrics", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    made = api["admin"].post("/tokens", json={"name": "short-lived", "role": "analyst"}).json()
    secret = made["token"]
    assert secret.startswith("pcs_") and all(secret not in str(t) for t in api["admin"].get("/tokens").json())
    with httpx.Client(base_url=str(api["admin"].base_url), headers={"Authorization": f"Bearer {secret}"}) as c:
        assert c.get("/me").json()["role"] == "analyst"
        assert api["admin"].delete(f"/tokens/{made['token_id']}").status_code == 200
        assert c.get("/me").status_code == 401
    r = api["admin"].post("/tokens", json={"name": "x", "role": "overlord"})
    assert r.status_code == 422 and "role" in r.text


def test_users_are_created_with_hashed_passwords(api):
    email = f"user-{uid()}@exemple.fr"
    r = api["admin"].post("/users", json={"email": email, "password": "correct horse battery", "role": "agent"})
    assert r.status_code == 201, r.text
    assert api["admin"].post("/users", json={"email": email, "password": "another password",
                                             "role": "agent"}).status_code == 409
    assert api["admin"].post("/users", json={"email": "x@y.fr", "password": "short", "role": "agent"}
                             ).status_code == 422
    listed = api["admin"].get("/users").json()
    assert any(u["email"] == email for u in listed) and "password" not in str(listed)
    assert api["analyst"].get("/users").status_code == 403


def _role_matrix_cases(api) -> list[tuple[str, str, str | None, object]]:
    """(method, path template, permission, request builder) for every operation of the API."""
    def person() -> str:
        who = f"rm-{uid()}@exemple.fr"
        api["admin"].post("/touchpoints", params={"wait": "true"}, json=tp(f"rm-{uid()}", who))
        return who

    def merged() -> str:
        a, b = person(), person()
        pid = api["admin"].get("/persons", params={"identifier": b}).json()["person_id"]
        api["admin"].post(f"/persons/{a}/merge", json={"other": b})
        return pid

    def token_id() -> str:
        return api["admin"].post("/tokens", json={"name": "victim", "role": "ingest"}).json()["token_id"]

    def hook() -> str:
        return api["admin"].post("/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["ping"]}
                                 ).json()["webhook_id"]

    def desk_case(text: str = "Colis 77 abîmé", **kw) -> dict:
        """A new case (an SMS from a new number): its case_id and version."""
        number = kw.pop("number", None) or "07" + str(uuid.uuid4().int)[:8]
        return api["admin"].post("/channels/sms/messages", json={
            "sender": {"phone": number}, "text": text, "ts": "2026-01-02T10:00:00+01:00", **kw}).json()

    def quieted() -> dict:
        who = person()
        api["admin"].post("/voice/quiet", json={"person": who})
        return {"path": {"person": who}}

    def acting(**body: object) -> Callable[[], dict]:
        def build() -> dict:
            got = desk_case()
            return {"path": {"case_id": got["case_id"]}, "json": {"version": got["version"], **body}}
        return build

    def merge_pair() -> dict:
        number = "07" + str(uuid.uuid4().int)[:8]
        a = desk_case("Facture de mars fausse", number=number, topic="billing")
        b = desk_case("Livreur en retard", number=number, topic="delivery")
        return {"path": {"case_id": b["case_id"]}, "json": {"into": a["case_id"], "version": b["version"]}}

    def split_case() -> dict:
        number = "07" + str(uuid.uuid4().int)[:8]
        a = desk_case("Colis 99 perdu", number=number, topic="delivery")
        desk_case("Colis 99 toujours perdu", number=number, topic="delivery")
        view = api["admin"].get(f"/desk/cases/{a['case_id']}").json()
        return {"path": {"case_id": a["case_id"]}, "json": {"message_ids": [view["messages"][-1]["message_id"]],
                                                             "version": view["case"]["version"]}}

    def attachment() -> dict:
        pdf = base64.b64encode(b"%PDF-1.4 role matrix").decode()
        got = desk_case("Voici la facture", attachments=[
            {"filename": "f.pdf", "content_type": "application/pdf", "data": pdf}])
        return {"path": {"attachment_id": got["attachments"][0]["attachment_id"]}}

    def suggested() -> dict:
        number = "07" + str(uuid.uuid4().int)[:8]
        desk_case("Facture de mars fausse", number=number, topic="billing")
        b = desk_case("Livreur impoli", number=number)
        return {"path": {"case_id": b["case_id"]}, "json": {"version": b["version"]}}

    def rule(**kw: object) -> str:
        rid = f"r{uid()}"
        api["admin"].put(f"/rules/{rid}", json={"name": "Role matrix", "subject": "touchpoint", "action": "notify",
                                                 "when": "kind = 'visit'", "params": {"team": "rm"}, **kw})
        return rid

    def notification() -> dict:
        mark = uid()
        rule(when=f"text contains '{mark}'", enabled=True)
        api["admin"].post("/touchpoints", params={"wait": "true"},
                          json=tp(f"rm-{uid()}", "rm@exemple.fr", text=f"note {mark}",
                                  ts=datetime.now(timezone.utc).isoformat()))
        for _ in range(200):
            found = [n for n in api["admin"].get("/notifications", params={"team": "rm"}).json()
                     if mark in n["message"]]
            if found:
                return {"path": {"notification_id": found[0]["notification_id"]}}
            time.sleep(0.1)
        raise AssertionError("the rule did not notify")

    for agent in ("test-admin", "test-agent"):  # the tokens act as the agents named like them
        api["admin"].post("/desk/agents", json={"agent_id": agent, "name": agent})
    api["admin"].post("/desk/teams", json={"team_id": "rm-team", "name": "Role matrix"})
    call = lambda: {"caller": "0611223344", "started_at": "2026-01-02T10:00:00Z", "call_id": uid()}  # noqa: E731
    batch = api["admin"].post("/touchpoints", json=tp(f"rm-{uid()}", "rm@exemple.fr")).json()["batch_id"]
    known = person()
    row = lambda: tp(f"rm-{uid()}", "rm@exemple.fr")  # noqa: E731
    return [
        ("POST", "/touchpoints", "ingest", lambda: {"json": row()}),
        ("POST", "/orders", "ingest", lambda: {"json": {"order_id": uid(), "ts": "2026-01-01T00:00:00Z",
                                                        "email": "rm@exemple.fr", "amount": 1, "currency": "EUR"}}),
        ("POST", "/responses", "ingest", lambda: {"json": {"response_id": uid(), "ts": "2026-01-01T00:00:00Z",
                                                           "email": "rm@exemple.fr", "metric": "nps", "score": 9}}),
        ("POST", "/promises", "ingest", lambda: {"json": {
            "promise_id": uid(), "email": "rm@exemple.fr", "made_at": "2026-01-01T00:00:00Z", "kind": "callback",
            "due_at": "2026-01-01T15:00:00Z"}}),
        ("GET", "/quarantine", "ingest", lambda: {}),
        ("GET", "/ingest/batches/{batch_id}", "ingest", lambda: {"path": {"batch_id": batch}}),
        ("GET", "/persons", "persons.read", lambda: {"params": {"identifier": known}}),
        ("GET", "/persons/{identifier}", "persons.read", lambda: {"path": {"identifier": known}}),
        ("GET", "/persons/{identifier}/timeline", "persons.read", lambda: {"path": {"identifier": known}}),
        ("POST", "/persons/{identifier}/merge", "persons.merge",
         lambda: {"path": {"identifier": person()}, "json": {"other": person()}}),
        ("POST", "/persons/{merged_person_id}/unmerge", "persons.merge",
         lambda: {"path": {"merged_person_id": merged()}, "json": {}}),
        ("DELETE", "/persons/{identifier}", "persons.erase", lambda: {"path": {"identifier": person()}}),
        ("GET", "/report", "metrics", lambda: {}),
        ("GET", "/metrics", "metrics", lambda: {}),
        ("GET", "/metrics/{name}", "metrics", lambda: {"path": {"name": "csat"}}),
        ("GET", "/export/{table}", "metrics", lambda: {"path": {"table": "orders"}}),
        ("GET", "/me", None, lambda: {}),
        ("POST", "/tokens", "admin", lambda: {"json": {"name": "rm", "role": "ingest"}}),
        ("GET", "/tokens", "admin", lambda: {}),
        ("DELETE", "/tokens/{token_id}", "admin", lambda: {"path": {"token_id": token_id()}}),
        ("POST", "/users", "admin", lambda: {"json": {"email": f"{uid()}@exemple.fr", "password": "x" * 12,
                                                      "role": "agent"}}),
        ("GET", "/users", "admin", lambda: {}),
        ("GET", "/audit", "admin", lambda: {}),
        ("POST", "/webhooks", "admin", lambda: {"json": {"url": "http://127.0.0.1:9/hook", "events": ["*"]}}),
        ("GET", "/webhooks", "admin", lambda: {}),
        ("DELETE", "/webhooks/{webhook_id}", "admin", lambda: {"path": {"webhook_id": hook()}}),
        ("GET", "/webhooks/{webhook_id}/deliveries", "admin", lambda: {"path": {"webhook_id": hook()}}),
        ("POST", "/webhooks/{webhook_id}/test", "admin", lambda: {"path": {"webhook_id": hook()}}),
        ("GET", "/desk/inbox", "desk", lambda: {}),
        ("GET", "/desk/cases/{case_id}", "desk", lambda: {"path": {"case_id": desk_case()["case_id"]}}),
        ("GET", "/desk/opportunities", "desk", lambda: {}),
        ("GET", "/desk/macros", "desk", lambda: {}),
        ("GET", "/desk/attachments/{attachment_id}", "desk", attachment),
        ("POST", "/desk/cases/{case_id}/macro", "desk", acting(name="ask_order")),
        ("POST", "/desk/cases/{case_id}/reply", "desk", acting(body="Bonjour")),
        ("POST", "/desk/cases/{case_id}/note", "desk", acting(body="vu")),
        ("POST", "/desk/cases/{case_id}/assign", "desk", acting(assignee="test-agent")),
        ("POST", "/desk/cases/{case_id}/status", "desk", acting(status="pending")),
        ("POST", "/desk/cases/{case_id}/priority", "desk", acting(priority="high")),
        ("POST", "/desk/cases/{case_id}/close", "desk",
         acting(disposition="solved", anything_else_asked=True)),
        ("POST", "/desk/cases/{case_id}/merge", "desk", merge_pair),
        ("POST", "/desk/cases/{case_id}/split", "desk", split_case),
        ("POST", "/desk/cases/{case_id}/links/accept", "desk", suggested),
        ("POST", "/desk/cases/{case_id}/links/reject", "desk", suggested),
        ("POST", "/desk/contacts", "desk", lambda: {"json": {"channel": "store", "text": "en boutique",
                                                             "identifiers": {"email": "rm@exemple.fr"}}}),
        ("GET", "/desk/teams", "desk.admin", lambda: {}),
        ("POST", "/desk/teams", "desk.admin", lambda: {"json": {"team_id": f"t{uid()}", "name": "t"}}),
        ("GET", "/desk/agents", "desk.admin", lambda: {}),
        ("POST", "/desk/agents", "desk.admin", lambda: {"json": {"agent_id": f"a{uid()}", "name": "a"}}),
        ("PATCH", "/desk/agents/{agent_id}", "desk.admin",
         lambda: {"path": {"agent_id": "test-agent"}, "json": {"capacity": 7}}),
        ("POST", "/desk/routing/run", "desk.admin", lambda: {"json": {"limit": 1}}),
        ("POST", "/channels/{channel}/messages", "ingest",
         lambda: {"path": {"channel": "sms"}, "json": {"sender": {"phone": "0611223344"}, "text": "allo",
                                                       "ts": "2026-01-02T10:00:00Z"}}),
        ("POST", "/channels/phone/calls", "ingest", lambda: {"json": [call(), call()]}),
        ("GET", "/surveys", "metrics", lambda: {}),
        ("PUT", "/surveys/{survey_id}", "voice", lambda: {"path": {"survey_id": f"s{uid()}"}, "json": {
            "name": "Après visite", "metric": "csat", "trigger": "touchpoint", "trigger_kind": "visit",
            "question": {"fr": "Satisfait de votre visite ?", "en": "Happy with your visit?"}}}),
        ("POST", "/surveys/{survey_id}/invitations", "voice",
         lambda: {"path": {"survey_id": "nps-relational"}, "json": {"persons": [person()]}}),
        ("GET", "/surveys/pending", "ingest", lambda: {"params": {"person": person()}}),
        ("POST", "/voice/quiet", "voice", lambda: {"json": {"person": person(), "reason": "asked by phone"}}),
        ("DELETE", "/voice/quiet/{person}", "voice", quieted),
        ("GET", "/surveys/invitations", "voice", lambda: {"params": {"person": person()}}),
        ("GET", "/voice/themes", "metrics", lambda: {}),
        ("GET", "/voice/verbatims", "metrics", lambda: {}),
        ("GET", "/voice/loop", "metrics", lambda: {}),
        ("GET", "/voice/coverage", "metrics", lambda: {}),
        ("GET", "/rules", "act", lambda: {}),
        ("GET", "/rules/subjects", "act", lambda: {}),
        ("PUT", "/rules/{rule_id}", "act", lambda: {"path": {"rule_id": f"r{uid()}"}, "json": {
            "name": "Detractor", "subject": "response", "when": "detractor", "action": "notify",
            "params": {"team": "loop"}}}),
        ("POST", "/rules/{rule_id}/on", "act", lambda: {"path": {"rule_id": rule()}}),
        ("POST", "/rules/{rule_id}/off", "act", lambda: {"path": {"rule_id": rule()}}),
        ("DELETE", "/rules/{rule_id}", "act", lambda: {"path": {"rule_id": rule()}}),
        ("POST", "/rules/{rule_id}/backtest", "act",
         lambda: {"path": {"rule_id": rule()}, "json": {"from": "2025-06-01", "to": "2025-07-01"}}),
        ("GET", "/rules/firings", "act", lambda: {}),
        ("GET", "/notifications", "desk", lambda: {}),
        ("POST", "/notifications/{notification_id}/read", "desk", notification),
        ("GET", "/outreach", "act", lambda: {}),
        ("PUT", "/outreach/budget", "act", lambda: {"json": {"per_person": 3, "period_days": 30}}),
        ("GET", "/outreach/effect", "act", lambda: {}),
        ("POST", "/churn/train", "act", lambda: {"json": {"as_of": "2025-09-01"}}),
        ("GET", "/churn/train", "act", lambda: {}),
        ("GET", "/churn/model", "act", lambda: {}),
        ("GET", "/promises", "metrics", lambda: {}),
        ("GET", "/maturity", "act", lambda: {}),
        ("GET", "/whatif", "act", lambda: {"params": {"channel": "chat", "resolve": 10}}),
        ("POST", "/maturity/assessment", "act", lambda: {"json": {"answers": {s.id: 4 for s in STATEMENTS}}}),
        ("GET", "/churn/at-risk", "act", lambda: {"params": {"threshold": 0.3}}),
        ("GET", "/churn/value-at-risk", "act", lambda: {}),
        ("GET", "/churn/persons/{identifier}", "persons.read", lambda: {"path": {"identifier": api["admin"].get(
            "/churn/at-risk", params={"threshold": 0, "limit": 1}).json()[0]["person_id"]}}),
    ]


def test_role_matrix_every_endpoint_every_role(api):
    from parcours.auth import PERMISSIONS

    cases = _role_matrix_cases(api)
    spec = api["admin"].get("/openapi.json").json()
    in_spec = {(m.upper(), p.removeprefix("/api/v1")) for p, ops in spec["paths"].items() for m in ops}
    extra = {(m, p) for m, p, *_ in cases}
    missing = in_spec - extra
    assert not missing, f"operations without a role-matrix case: {sorted(missing)}"
    failures = []
    for method, template, permission, build in cases:
        for role in (*ROLES, None):
            kw = build()
            path = template.format(**kw.pop("path", {}))
            r = api[role].request(method, path, **kw)
            allowed = role is not None and (permission is None or role in PERMISSIONS[permission])
            want = "2xx" if allowed else ("401" if role is None else "403")
            got = "2xx" if 200 <= r.status_code < 300 else str(r.status_code)
            if got != want:
                failures.append(f"{method} {path} as {role}: {r.status_code} (want {want}) {r.text[:120]}")
    assert not failures, "\n".join(failures)


def test_openapi_is_published(api):
    spec = api[None].get("/openapi.json").json()
    assert spec["info"]["title"] == "Parcours API"
    body = spec["paths"]["/api/v1/touchpoints"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    row = body["oneOf"][0]
    assert "channel" in row["properties"] and "phone" in row["properties"]["channel"]["enum"]


def test_a_killed_server_loses_no_accepted_row(tmp_path, demo_world):
    """kill -9 right after the answers: every row answered 202 is stored once after a restart."""
    db = tmp_path / "store.duckdb"
    shutil.copy(demo_world[0], db)
    ingest, admin = make_token(db, "ingest"), make_token(db, "admin")
    server = Served(db)
    sent = []
    with httpx.Client(base_url=server.base + "/api/v1", headers={"Authorization": f"Bearer {ingest}"}) as c:
        for b in range(20):
            rows = [tp(f"kill{b}-{i}", f"kill{i % 7}@exemple.fr") for i in range(500)]
            assert c.post("/touchpoints", json=rows).status_code == 202
            sent += [r["event_id"] for r in rows]
    server.stop(kill=True)
    server = Served(db)  # the writer picks up what was spooled and not yet stored
    try:
        for _ in range(300):
            if httpx.get(server.base + "/health").json()["queued_batches"] == 0:
                break
            time.sleep(0.1)
        with httpx.Client(base_url=server.base + "/api/v1", headers={"Authorization": f"Bearer {admin}"}) as c:
            r = c.get("/export/touchpoints", params={"format": "parquet"})
        ids = pq.read_table(io.BytesIO(r.content), columns=["event_id"]).column("event_id").to_pylist()
        assert sorted(i for i in ids if i.startswith("kill")) == sorted(sent)  # all there, none twice
    finally:
        server.stop()
