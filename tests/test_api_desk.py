"""The service desk and inbound channels over real HTTP against `parcours serve`: one case per
issue across channels, call batches, versions and conflicts, the inbox, teams and routing."""

from __future__ import annotations

import base64
import threading
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from conftest import Served, make_token

TOKENS = {"admin": "admin", "ingest": "ingest", "analyst": "analyst", "anne": "agent", "bruno": "agent",
          "nobody": "agent"}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    db = tmp_path_factory.mktemp("desk_api") / "store.duckdb"
    tokens = {name: make_token(db, role, name=name) for name, role in TOKENS.items()}
    server = Served(db)
    clients = {name: httpx.Client(base_url=server.base + "/api/v1", timeout=60,
                                  headers={"Authorization": f"Bearer {tok}"}) for name, tok in tokens.items()}
    clients[None] = httpx.Client(base_url=server.base + "/api/v1", timeout=60)
    for agent in ("anne", "bruno"):  # tokens act as the agent whose id is their name
        r = clients["admin"].post("/desk/agents", json={"agent_id": agent, "name": agent.title(), "capacity": 50})
        assert r.status_code == 201, r.text
    yield clients
    for c in clients.values():
        c.close()
    server.stop()
    assert "Traceback" not in server.output, server.output[-3000:]


def uid() -> str:
    return uuid.uuid4().hex[:8]


def now(minutes: float = 0) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat()


def phone() -> str:
    return "06" + str(uuid.uuid4().int)[:8]


def sms(api, sender: dict, text: str, **kw) -> dict:
    r = api["ingest"].post("/channels/sms/messages", json={"sender": sender, "text": text, "ts": now(), **kw})
    assert r.status_code == 200, r.text
    return r.json()


def case(api, case_id: str, who: str = "anne") -> tuple[dict, int]:
    r = api[who].get(f"/desk/cases/{case_id}")
    assert r.status_code == 200, r.text
    return r.json(), int(r.headers["etag"].strip('"'))


# -- one issue, one case, any channel ----------------------------------------------------------
def test_an_sms_then_a_chat_about_the_same_issue_land_on_one_case(api):
    number = phone()
    first = sms(api, {"phone": number}, "Ma commande 48213 n'est toujours pas livrée", topic="delivery",
                external_id=f"sms-{uid()}")
    assert first["how"] == "new" and first["person_created"]
    chat = api["ingest"].post("/channels/chat/messages", json={
        "sender": {"phone": number}, "ts": now(), "text": "Bonjour, toujours rien pour la commande 48213 ?"})
    assert chat.status_code == 200, chat.text
    assert chat.json()["case_id"] == first["case_id"] and chat.json()["how"] == "linked"
    assert chat.json()["channel_hop"] == ["sms", "chat"]
    view, version = case(api, first["case_id"])
    assert version == chat.json()["version"] == view["case"]["version"]
    assert [m["channel"] for m in view["messages"]] == ["sms", "chat"]
    assert "channel_hop" in [e["kind"] for e in view["events"]]
    assert view["person"]["person_id"] == first["person_id"]
    assert {e["channel"] for e in view["person"]["timeline"] if e["what"] == "touchpoint"} == {"sms", "chat"}


def test_a_redelivered_message_is_stored_once(api):
    body = {"sender": {"social": f"@client_{uid()}"}, "ts": now(), "text": "Où en est mon remboursement ?",
            "external_id": "m-1"}
    first = api["ingest"].post("/channels/social/messages", json=body).json()
    again = api["ingest"].post("/channels/social/messages", json=body).json()
    assert again["how"] == "duplicate" and again["message_id"] == first["message_id"]
    assert len(case(api, first["case_id"])[0]["messages"]) == 1
    # the same id from another gateway is another message
    other = api["ingest"].post("/channels/app/messages", json={**body, "sender": {"app_id": f"app-{uid()}"}}).json()
    assert other["how"] == "new"


def test_unknown_channel_and_bad_messages_get_422_naming_what_to_send(api):
    good = {"sender": {"phone": phone()}, "ts": now(), "text": "bonjour"}
    r = api["ingest"].post("/channels/pigeon/messages", json=good)
    assert r.status_code == 422 and "pigeon" in r.json()["detail"]
    assert all(c in r.json()["detail"] for c in ("sms", "social", "app", "chatbot", "web"))
    r = api["ingest"].post("/channels/email/messages", json=good)
    assert r.status_code == 422 and "SMTP" in r.json()["detail"]
    for bad, why in [({**good, "ts": "2026-01-02T10:00:00"}, "time zone"),
                     ({**good, "sender": {}}, "identifier"),
                     ({**good, "sender": {"phone": "not a number"}}, "phone"),
                     ({**good, "text": None}, "text is empty"),
                     ({**good, "attachments": [{"filename": "a.txt", "content_type": "text/plain",
                                                "data": "%%%"}]}, "base64")]:
        r = api["ingest"].post("/channels/sms/messages", json=bad)
        assert r.status_code == 422 and why in r.json()["detail"], (bad, r.text)
    assert api["anne"].post("/channels/sms/messages", json=good).status_code == 403


def test_attachments_are_kept_or_refused_with_the_reason(api):
    pdf, exe = base64.b64encode(b"%PDF-1.4 facture").decode(), base64.b64encode(b"MZ\x90\x00").decode()
    got = sms(api, {"phone": phone()}, "Voici la facture", attachments=[
        {"filename": "facture.pdf", "content_type": "application/pdf", "data": pdf},
        {"filename": "virus.exe", "content_type": "application/octet-stream", "data": exe}])
    kept, refused = got["attachments"]
    assert kept["refused"] is None and kept["size"] == 16
    assert refused["storage_path"] is None and "not accepted" in refused["refused"]
    files = case(api, got["case_id"])[0]["messages"][0]["attachments"]
    assert sorted(f["filename"] for f in files) == ["facture.pdf", "virus.exe"]


def test_an_agents_reply_carries_files_served_back_and_a_refused_one_sends_nothing(api):
    got = sms(api, {"phone": phone()}, "Pouvez-vous m'envoyer la facture ?")
    _, v = case(api, got["case_id"])
    pdf = b"%PDF-1.4 facture " + bytes(range(256))
    r = api["anne"].post(f"/desk/cases/{got['case_id']}/reply", json={
        "version": v, "body": "La voici.", "attachments": [
            {"filename": "facture.pdf", "content_type": "application/pdf", "data": base64.b64encode(pdf).decode()}]})
    assert r.status_code == 200, r.text
    [att] = r.json()["attachments"]
    file = api["anne"].get(f"/desk/attachments/{att['attachment_id']}")
    assert file.status_code == 200 and file.content == pdf and file.headers["x-content-type-options"] == "nosniff"
    assert api["ingest"].get(f"/desk/attachments/{att['attachment_id']}").status_code == 403  # not a desk role
    assert api["anne"].get("/desk/attachments/Anothere").status_code == 404

    v = r.json()["case"]["version"]
    script = base64.b64encode(b"#!/bin/sh").decode()
    for files, why in [([{"filename": "x.sh", "content_type": "text/plain", "data": script}],
                        "'x.sh': executable files are not accepted"),
                       ([{"filename": "y.pdf", "content_type": "application/pdf", "data": "pas du base64!"}],
                        "attachments.0.data: not base64"),
                       ([{"filename": "z.png", "content_type": "image/png\r\nSet-Cookie: x=1", "data": script}],
                        "content_type")]:
        bad = api["anne"].post(f"/desk/cases/{got['case_id']}/note",
                               json={"version": v, "body": "note", "attachments": files})
        assert bad.status_code == 422 and why in str(bad.json()["detail"]), bad.text
        assert case(api, got["case_id"])[1] == v                     # nothing written


# -- telephony exports -------------------------------------------------------------------------
def test_a_call_batch_with_a_bad_row_keeps_the_others(api):
    number, call = phone(), f"c-{uid()}"
    rows = [{"caller": number, "started_at": now(-30), "wait_s": 45, "talk_s": 230, "outcome": "resolved",
             "agent": "anne", "call_id": call, "topic": "billing"},
            {"caller": number, "started_at": now(-20), "wait_s": -3, "outcome": "hung up", "call_id": f"x-{uid()}"},
            "not a call",
            {"caller": "not a number", "started_at": now(-10), "call_id": f"y-{uid()}"},
            {"caller": number, "started_at": now(-5), "wait_s": 12, "talk_s": 60, "outcome": "unresolved",
             "call_id": f"c2-{uid()}", "topic": "billing", "notes": "rappel au sujet de la facture"}]
    r = api["ingest"].post("/channels/phone/calls", json=rows)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["received"] == 5 and body["stored"] == 2
    assert [x["row"] for x in body["results"]] == [1, 5]
    bad = {(e["row"], e["field"]) for e in body["errors"]}
    assert {(2, "wait_s"), (2, "outcome"), (3, None), (4, None)} <= bad
    assert "phone" in next(e["reason"] for e in body["errors"] if e["row"] == 4)
    one, two = body["results"]
    assert one["case_id"] == two["case_id"] and two["how"] == "linked"
    view = case(api, one["case_id"])[0]
    texts = [m["body"] for m in view["messages"]]
    assert "waited 45 s, talked 230 s, outcome resolved, agent anne" in texts[0]
    calls = [e for e in view["person"]["timeline"] if e["what"] == "touchpoint" and e["channel"] == "phone"]
    assert sorted(e["outcome"] for e in calls) == ["resolved", "unresolved"]  # two calls, two contacts
    assert texts[1].endswith("rappel au sujet de la facture")
    again = api["ingest"].post("/channels/phone/calls", json=rows[0]).json()
    assert again["stored"] == 1 and again["results"][0]["how"] == "duplicate"
    for bad_body in ([], [rows[0]] * 1001):
        assert api["ingest"].post("/channels/phone/calls", json=bad_body).status_code == 422


def test_a_contact_entered_by_an_agent_lands_on_the_case(api):
    email = f"boutique-{uid()}@exemple.fr"
    r = api["anne"].post("/desk/contacts", json={"channel": "store", "identifiers": {"email": email},
                                                 "text": "Passée en boutique pour échanger la taille 40",
                                                 "topic": "returns"})
    assert r.status_code == 200, r.text
    view, _ = case(api, r.json()["case_id"])
    opened = next(e for e in view["events"] if e["kind"] == "opened")
    assert opened["actor"] == "anne" and opened["detail"]["by"] == "anne"
    assert api["ingest"].post("/desk/contacts", json={"channel": "store", "identifiers": {"email": email},
                                                      "text": "x"}).status_code == 403
    r = api["anne"].post("/desk/contacts", json={"channel": "sms", "identifiers": {"email": email}, "text": "x"})
    assert r.status_code == 422 and "store" in r.text


# -- versions, conflicts, closed cases ---------------------------------------------------------
def test_two_agents_replying_on_the_same_version_one_wins_the_other_gets_409(api):
    got = sms(api, {"phone": phone()}, "Mon colis est arrivé abîmé")
    version = got["version"]
    barrier, answers = threading.Barrier(2), {}

    def send(agent: str) -> None:
        barrier.wait()
        answers[agent] = api[agent].post(f"/desk/cases/{got['case_id']}/reply",
                                         json={"body": f"Bonjour, ici {agent}.", "version": version})

    threads = [threading.Thread(target=send, args=(a,)) for a in ("anne", "bruno")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers.values())
    assert codes == [200, 409], {a: r.text for a, r in answers.items()}
    won = next(a for a, r in answers.items() if r.status_code == 200)
    lost = answers["bruno" if won == "anne" else "anne"].json()
    assert lost["your_version"] == version and lost["current_version"] == version + 1
    assert f"{won} replied" in lost["detail"] and "Nothing was saved" in lost["detail"]
    messages = case(api, got["case_id"])[0]["messages"]
    assert [m["agent_id"] for m in messages if m["author"] == "agent"] == [won]  # no lost update, no double reply


def test_the_version_comes_in_the_body_or_if_match(api):
    got = sms(api, {"phone": phone()}, "Question sur mon abonnement")
    path = f"/desk/cases/{got['case_id']}"
    r = api["anne"].post(path + "/priority", json={"priority": "high"})
    assert r.status_code == 428 and "version" in r.json()["detail"]
    _, etag = case(api, got["case_id"])
    r = api["anne"].post(path + "/priority", json={"priority": "high"}, headers={"If-Match": f'"{etag}"'})
    assert r.status_code == 200 and r.json()["priority"] == "high" and r.headers["etag"] == f'"{etag + 1}"'
    r = api["bruno"].post(path + "/status", json={"status": "pending"}, headers={"If-Match": f'"{etag}"'})
    assert r.status_code == 409 and r.json()["current_version"] == etag + 1
    assert "anne set priority high" in r.json()["detail"]
    r = api["bruno"].post(path + "/status", json={"status": "pending", "version": 1},
                          headers={"If-Match": '"2"'})
    assert r.status_code == 422 and "disagree" in r.text
    r = api["bruno"].post(path + "/status", json={"status": "resolved", "version": etag + 1})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    r = api["bruno"].post(path + "/status", json={"status": "pending", "version": etag + 2})
    assert r.status_code == 409 and "cannot become pending" in r.json()["detail"]
    assert api["anne"].post("/desk/cases/D999999/note", json={"body": "x", "version": 1}).status_code == 404
    assert api["anne"].get("/desk/cases/D999999").status_code == 404


def test_a_reply_to_a_closed_case_gets_409_saying_what_to_do(api):
    got = sms(api, {"phone": phone()}, "Je voudrais résilier")
    path = f"/desk/cases/{got['case_id']}"
    r = api["anne"].post(path + "/close", json={"disposition": "answered", "anything_else_asked": True,
                                                "opportunity": {"product": "offre fidélité", "amount": 120},
                                                "version": got["version"]})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    closed = r.json()["version"]
    r = api["anne"].post(path + "/reply", json={"body": "Autre chose ?", "version": closed})
    assert r.status_code == 409
    assert "is closed" in r.json()["detail"] and "follow" in r.json()["detail"]
    assert api["anne"].post(path + "/note", json={"body": "client fidèle", "version": closed}).status_code == 200
    pipeline = api["bruno"].get("/desk/opportunities").json()
    assert any(o["case_id"] == got["case_id"] and o["detail"]["amount"] == 120 and o["agent"] == "anne"
               for o in pipeline)


def test_an_unknown_principal_cannot_reply_but_can_triage(api):
    got = sms(api, {"phone": phone()}, "Bonjour")
    path = f"/desk/cases/{got['case_id']}"
    r = api["nobody"].post(path + "/reply", json={"body": "hello", "version": got["version"]})
    assert r.status_code == 403 and "not a desk agent" in r.json()["detail"]
    r = api["nobody"].post(path + "/assign", json={"assignee": "bruno", "version": got["version"]})
    assert r.status_code == 200 and r.json()["assignee"] == "bruno" and r.json()["updated_by"] == "token:nobody"


def test_merge_split_and_suggested_links(api):
    number = phone()
    a = sms(api, {"phone": number}, "Facture de mars incorrecte, montant doublé", topic="billing")
    b = sms(api, {"phone": number}, "Livreur impoli hier soir")  # no topic, other words: a suggestion
    assert b["how"] == "suggested" and b["suggested_case"] == a["case_id"]
    r = api["anne"].post(f"/desk/cases/{b['case_id']}/links/reject", json={"version": b["version"]})
    assert r.status_code == 200 and r.json()["suggested_link"] is None
    again = api["anne"].post(f"/desk/cases/{b['case_id']}/links/reject", json={"version": r.json()["version"]})
    assert again.status_code == 409 and "no suggested link" in again.text
    r = api["anne"].post(f"/desk/cases/{b['case_id']}/merge", json={"into": a["case_id"],
                                                                     "version": r.json()["version"]})
    assert r.status_code == 200 and r.json()["case_id"] == a["case_id"]
    view, version = case(api, b["case_id"])
    assert view["redirected_from"] == b["case_id"] and len(view["messages"]) == 2
    moved = view["messages"][1]["message_id"]
    r = api["anne"].post(f"/desk/cases/{a['case_id']}/split", json={"message_ids": [moved], "version": version,
                                                                     "topic": "delivery"})
    assert r.status_code == 200 and r.json()["case_id"] not in (a["case_id"], b["case_id"])
    assert [m["message_id"] for m in case(api, r.json()["case_id"])[0]["messages"]] == [moved]


# -- inbox ---------------------------------------------------------------------------------------
def test_inbox_pages_return_every_case_once(api):
    team = f"t{uid()}"
    assert api["admin"].post("/desk/teams", json={"team_id": team, "name": "Pages", "topics": [team]}
                             ).status_code == 201
    made = {sms(api, {"phone": phone()}, f"demande {i}", topic=team)["case_id"] for i in range(23)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"team": team, "limit": 5} | ({"cursor": cursor} if cursor else {})
        page = api["anne"].get("/desk/inbox", params=params).json()
        seen += [c["case_id"] for c in page["cases"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 23 and set(seen) == made
    one = api["anne"].get("/desk/inbox", params={"q": seen[0]}).json()["cases"]
    assert [c["case_id"] for c in one] == [seen[0]]
    for bad in ({"cursor": "garbage"}, {"limit": 501}, {"channel": "pigeon"}, {"status": "lost"}):
        r = api["anne"].get("/desk/inbox", params=bad)
        assert r.status_code == 422, (bad, r.text)
    assert api["analyst"].get("/desk/inbox").status_code == 403
    assert api[None].get("/desk/inbox").status_code == 401


# -- teams, agents, routing ----------------------------------------------------------------------
def test_admins_manage_agents_and_run_routing(api):
    team, agent = f"r{uid()}", f"agent-{uid()}"
    assert api["admin"].post("/desk/teams", json={"team_id": team, "name": "Routage", "topics": [team],
                                                  "strategy": "least_loaded"}).status_code == 201
    assert api["admin"].post("/desk/teams", json={"team_id": team, "name": "x"}).status_code == 409
    r = api["admin"].post("/desk/agents", json={"agent_id": agent, "name": "Chloé", "teams": [team],
                                                "skills": ["fr"], "capacity": 1})
    assert r.status_code == 201 and r.json()["status"] == "offline"
    assert api["admin"].post("/desk/agents", json={"agent_id": agent, "name": "x"}).status_code == 409
    r = api["admin"].post("/desk/agents", json={"agent_id": f"a{uid()}", "name": "x", "teams": ["nope"]})
    assert r.status_code == 422 and "unknown team" in r.text
    waiting = []
    for i in range(2):  # urgent: routed before the other tests' waiting cases (any agent may take those)
        got = sms(api, {"phone": phone()}, f"cas {i}", topic=team)
        assert api["anne"].post(f"/desk/cases/{got['case_id']}/priority",
                                json={"priority": "urgent", "version": got["version"]}).status_code == 200
        waiting.append(got["case_id"])
    r = api["admin"].post("/desk/routing/run", json={})
    assert r.status_code == 200 and not [x for x in r.json()["assignments"] if x["case_id"] in waiting]
    r = api["admin"].patch(f"/desk/agents/{agent}", json={"status": "online", "capacity": 2, "languages": ["fr"]})
    assert r.status_code == 200 and r.json()["capacity"] == 2 and r.json()["languages"] == ["fr"]
    got = api["admin"].post("/desk/routing/run").json()["assignments"]
    assert sorted(x["case_id"] for x in got if x["agent_id"] == agent) == sorted(waiting)
    listed = {a["agent_id"]: a for a in api["admin"].get("/desk/agents", params={"team": team}).json()}
    assert listed[agent]["load"] == 2
    assert api["admin"].patch("/desk/agents/nobody-here", json={"capacity": 1}).status_code == 404
    assert api["admin"].patch(f"/desk/agents/{agent}", json={"capacity": None}).status_code == 422
    assert api["anne"].get("/desk/agents").status_code == 403
    assert api["anne"].post("/desk/routing/run").status_code == 403


# -- macros ----------------------------------------------------------------------------------
def test_a_macro_replies_in_the_cases_language_and_sets_its_status(api):
    listed = {m["name"]: m for m in api["anne"].get("/desk/macros").json()}
    assert listed["ask_order"]["status"] == "pending" and listed["ask_order"]["languages"] == ["en", "fr"]
    got = sms(api, {"phone": phone()}, "Bonjour, mon colis n'est pas arrivé", topic="delivery")
    view, version = case(api, got["case_id"])
    r = api["anne"].post(f"/desk/cases/{got['case_id']}/macro", json={"name": "ask_order", "version": version})
    assert r.status_code == 200, r.text
    assert r.json()["case"]["status"] == "pending"
    after, _ = case(api, got["case_id"])
    assert after["messages"][-1]["body"].startswith("Bonjour,\n\nMerci pour votre message.")
    wrong = api["anne"].post(f"/desk/cases/{got['case_id']}/macro", json={"name": "nope", "version": version + 1})
    assert wrong.status_code == 422 and "known: ask_order" in wrong.json()["detail"]
    stale = api["bruno"].post(f"/desk/cases/{got['case_id']}/macro", json={"name": "ask_order", "version": version})
    assert stale.status_code == 409  # the macro acts with the version read, like any reply
