"""The web chat over real HTTP (the app served in a thread of the test, a real store file): the FAQ bot answers in the
visitor's language, hands over to a case with the transcript, agents' chat replies come back
by polling; the token is the visitor's credential; bad input gets a clear 4xx."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from conftest import BROWSER_MARKS, CHROMIUM, CHROMIUM_ARGS, Watch, free_port
from parcours import persons
from parcours.desk import agents, cases
from parcours.desk.chat import ChatService
from parcours.web import create_app


class TestClient(httpx.Client):
    """An HTTP client of an app served on loopback in this process (so the test can act as an
    agent on the same store while the server runs: DuckDB has one writing process)."""

    __test__ = False
    app: FastAPI


@contextmanager
def served(db: Path) -> Iterator[TestClient]:
    app = create_app(db)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    client = TestClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    client.app = app
    try:
        yield client
    finally:
        client.close()
        for _ in range(600):  # closing the store under the figures' warm-up thread crashes DuckDB
            if not app.state.figures.computing:
                break
            time.sleep(0.1)
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with served(tmp_path_factory.mktemp("chat") / "store.duckdb") as c:
        agents.add_agent(c.app.state.store, "elodie", "Élodie")
        yield c


def start(client: TestClient, language: str | None = None) -> dict[str, str]:
    r = client.post("/chat/conversations", json={"language": language} if language else {})
    assert r.status_code == 201
    return {"X-Chat-Token": r.json()["token"]}


def say(client: TestClient, h: dict[str, str], text: str, email: str | None = None) -> dict[str, Any]:
    r = client.post("/chat/messages", json={"text": text, "email": email}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_bot_answers_faq_questions_in_french_and_in_english(client: TestClient) -> None:
    fr = say(client, start(client), "Quels sont les horaires du magasin ?")
    assert [(ln["author"], ln["kind"]) for ln in fr["lines"]] == [("visitor", None), ("bot", "answer")]
    assert fr["lines"][1]["article_id"] == "horaires-magasins" and fr["state"]["language"] == "fr"
    assert "Cette réponse vous aide-t-elle ?" in fr["lines"][1]["text"] and fr["state"]["case_id"] is None
    en = say(client, start(client), "What are your store opening hours?")
    assert [(ln["author"], ln["kind"]) for ln in en["lines"]] == [("visitor", None), ("bot", "answer")]
    assert en["lines"][1]["article_id"] == "store-hours" and en["state"]["language"] == "en"
    assert en["lines"][1]["text"].endswith("Did this answer your question?")
    assert client.get("/health").json()["chat"]["bot_answers"] >= 2


def test_a_handoff_asks_for_an_email_opens_a_case_with_the_transcript_and_brings_agent_replies_back(
        client: TestClient) -> None:
    h = start(client, "fr")
    say(client, h, "Ma commande 9917 n'est pas arrivée")
    handed = say(client, h, "je veux parler à un conseiller")
    assert [ln["kind"] for ln in handed["lines"][1:]] == ["handoff", "ask_email"]
    assert handed["state"] == {"case_id": None, "waiting_for_email": True, "language": "fr"}
    bad = client.post("/chat/messages", json={"text": "x", "email": "pas une adresse"}, headers=h)
    assert bad.status_code == 422 and "email" in bad.json()["detail"]
    opened = say(client, h, "voici mon adresse", email="Louise.Martin@exemple.fr")
    case_id = opened["state"]["case_id"]
    assert case_id and opened["lines"][-1]["kind"] == "case" and case_id in opened["lines"][-1]["text"]
    say(client, h, "C'est un cadeau pour samedi")
    store = client.app.state.store
    view = cases.get(store, case_id)
    first, later = view.messages[0], view.messages[-1]
    assert (first.author, first.channel) == ("customer", "chat")
    body = first.body or ""
    assert body.startswith("Transfert du bot (demande un conseiller)"), body[:80]
    assert "Client : Ma commande 9917 n'est pas arrivée" in body and "Bot : " in body
    assert "voici mon adresse" in body and later.body == "C'est un cadeau pour samedi"
    assert view.person is not None and "louise.martin@exemple.fr" in str(view.person)
    # the agent answers on the case (on chat, the customer's last channel): the widget's poll shows it
    cases.reply(store, case_id, "elodie", "Bonjour Louise, je regarde votre commande 9917.",
                expected_version=cases.get(store, case_id).case.version)
    polled = client.get("/chat/messages", params={"after": opened["lines"][-1]["seq"]}, headers=h).json()
    assert [(ln["author"], ln["text"]) for ln in polled["lines"]][-1] == (
        "agent", "Bonjour Louise, je regarde votre commande 9917.")
    again = client.get("/chat/messages", params={"after": polled["lines"][-1]["seq"]}, headers=h).json()
    assert again["lines"] == []
    outcome = store.con.execute("SELECT outcome::VARCHAR, text FROM touchpoints WHERE channel = 'chatbot' "
                                "AND case_id = ?", [case_id]).fetchall()
    assert outcome == [("transferred", "handoff:asked_for_human")]
    journey = store.con.execute("SELECT channel::VARCHAR FROM touchpoints WHERE case_id = ? ORDER BY ts",
                                [case_id]).fetchall()
    assert journey == [("chatbot",), ("chat",)]
    assert client.get("/health").json()["chat"]["handoff_asked_for_human"] >= 1


def test_a_conversation_outlives_a_server_restart(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    with served(db) as c:
        agents.add_agent(c.app.state.store, "elodie", "Élodie")
        h = start(c, "fr")
        say(c, h, "je veux parler à un conseiller")
        case_id = say(c, h, "merci", email="hugo@exemple.fr")["state"]["case_id"]
        before = c.get("/chat/messages", headers=h).json()["lines"]
        assert case_id and before[-1]["kind"] == "case"
    with served(db) as c:  # a new process on the same store: the visitor's token still works
        store = c.app.state.store
        again = c.get("/chat/messages", headers=h).json()
        assert again["lines"] == before and again["state"]["case_id"] == case_id
        cases.reply(store, case_id, "elodie", "Bonjour Hugo, je regarde.",
                    expected_version=cases.get(store, case_id).case.version)
        polled = c.get("/chat/messages", params={"after": before[-1]["seq"]}, headers=h).json()["lines"]
        assert [(ln["author"], ln["text"]) for ln in polled] == [("agent", "Bonjour Hugo, je regarde.")]
        assert c.get("/chat/messages", params={"after": polled[-1]["seq"]}, headers=h).json()["lines"] == []
        say(c, h, "Parfait, à demain")
        assert cases.get(store, case_id).messages[-1].body == "Parfait, à demain"
        kept = store.con.execute("SELECT token_sha256, state::VARCHAR FROM chat_sessions").fetchall()
        assert len(kept) == 1 and h["X-Chat-Token"] not in str(kept)  # the token itself is never stored
        assert c.get("/chat/messages", headers={"X-Chat-Token": "A" * 43}).status_code == 404
        # erasing the person erases the saved conversation too (it holds their words and address),
        # and the server forgets it: the next message cannot write it back
        names = persons.names(store, "hugo@exemple.fr")
        assert persons.erase(store, "hugo@exemple.fr", actor="test")["chat_sessions"] == 1
        assert c.app.state.chat.forget(names) == 1
        assert c.post("/chat/messages", json={"text": "encore là ?"}, headers=h).status_code == 404
        assert store.con.execute("SELECT count(*) FROM chat_sessions").fetchone() == (0,)


def test_the_visitor_token_is_required(client: TestClient) -> None:
    h = start(client)
    assert len(h["X-Chat-Token"]) >= 40 and start(client) != h
    no = client.post("/chat/messages", json={"text": "bonjour"})
    assert no.status_code == 401 and "X-Chat-Token" in no.json()["detail"]
    assert client.get("/chat/messages").status_code == 401
    forged = client.post("/chat/messages", json={"text": "bonjour"}, headers={"X-Chat-Token": "A" * 43})
    assert forged.status_code == 404 and forged.headers["content-type"].startswith("application/json")
    assert client.get("/chat/messages", headers={"X-Chat-Token": "A" * 43}).status_code == 404


@pytest.mark.parametrize("payload", [{}, {"text": ""}, {"text": "x" * 4001}, {"text": 12}, {"text": ["a"]},
                                     {"text": "ok", "email": "x" * 300}])
def test_malformed_input_is_refused_with_422(client: TestClient, payload: dict[str, Any]) -> None:
    r = client.post("/chat/messages", json=payload, headers=start(client))
    assert r.status_code == 422 and r.json()["detail"]


def test_malformed_json_and_queries_are_422(client: TestClient) -> None:
    h = start(client)
    r = client.post("/chat/messages", content=b"{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422
    assert client.get("/chat/messages", params={"after": -1}, headers=h).status_code == 422
    assert client.post("/chat/conversations", json={"language": "de"}).status_code == 422


def test_messages_are_rate_limited(client: TestClient) -> None:
    app = client.app
    saved = app.state.chat
    app.state.chat = ChatService(app.state.store, bot=saved.bot, per_minute=3, starts_per_minute=2)
    try:
        h = start(client)
        for _ in range(3):
            say(client, h, "bonjour")
        r = client.post("/chat/messages", json={"text": "bonjour"}, headers=h)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        start(client)
        assert client.post("/chat/conversations").status_code == 429
    finally:
        app.state.chat = saved


def test_chat_endpoints_stay_out_of_the_api_schema_and_the_widget_is_served(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/chat")]
    js = client.get("/static/chat.js")
    assert js.status_code == 200 and "X-Chat-Token" in js.text and "textContent" in js.text
    assert "innerHTML" not in js.text and "http://" not in js.text and "https://" not in js.text.split("*/", 1)[1]
    fr, en = client.get("/chat?lang=fr"), client.get("/chat?lang=en")
    assert "discuter avec nous" in fr.text and "chat with us" in en.text
    assert 'src="/static/chat.js"' in fr.text and 'data-lang="en"' in en.text


def test_unused_store_path_is_not_needed(tmp_path: Path) -> None:
    """A conversation the visitor never hands over writes nothing to the store."""
    with served(tmp_path / "s.duckdb") as c:
        say(c, start(c), "Comment retourner un article ?")
        assert c.app.state.store.con.execute("SELECT count(*) FROM messages").fetchone() == (0,)


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_the_widget_in_chromium_bot_then_agent(client: TestClient) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(locale="fr-FR", viewport={"width": 390, "height": 800})  # a phone
        watch = Watch(page)
        page.goto(str(client.base_url) + "/chat?lang=fr")
        box = page.locator(".pc-chat-form input[name=text]")
        box.fill("Quels sont les horaires du magasin ?")
        box.press("Enter")
        expect(page.locator(".pc-chat-bot").first).to_contain_text("Cette réponse vous aide-t-elle ?")
        box.fill("je veux parler à un conseiller")
        box.press("Enter")
        expect(page.locator(".pc-chat-system").last).to_contain_text("adresse e-mail")
        box.fill("jeanne.roux@exemple.fr")
        box.press("Enter")
        expect(page.locator(".pc-chat-system").last).to_contain_text("dossier")
        case_id = page.locator(".pc-chat-system").last.inner_text().split("dossier ")[1].split(")")[0]
        store = client.app.state.store
        cases.reply(store, case_id, "elodie", "Bonjour Jeanne, <b>je</b> m'en occupe.",
                    expected_version=cases.get(store, case_id).case.version)
        agent = page.locator(".pc-chat-agent")
        expect(agent).to_have_text("Bonjour Jeanne, <b>je</b> m'en occupe.", timeout=8000)  # polled, shown as text
        assert page.locator(".pc-chat b").count() == 0
        assert watch.problems == []
        browser.close()
