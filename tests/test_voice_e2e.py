"""The voice of the customer end to end, over real HTTP, real SMTP on loopback and Debian's
Chromium: a case is resolved → the survey link is mailed → the customer opens it, gives 3 and
a French comment → the NPS and the verbatims show it, the comment is negative with its theme,
and a close-the-loop case is open in the desk. Plus the survey pages' answers to bad input and
to used, forged and unknown links, over HTTP."""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from conftest import BROWSER_MARKS, Served, Watch, free_port, make_token
from parcours import auth
from parcours.desk import agents, cases
from parcours.desk.smtp import SmtpListener
from parcours.store import Store
from parcours.voice import surveys
from test_desk_roundtrip import Mailbox

pytestmark = BROWSER_MARKS
DESK = "desk.example.fr"
PASSWORD = "voice-test-password-1"
COMMENT = "Livraison en retard de deux semaines et personne ne répond au téléphone. Très déçu !"


def call(base: str, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None
                                 else None, headers={"Authorization": f"Bearer {token}",
                                                     "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def form(base: str, path: str, fields: dict[str, str]) -> tuple[int, str]:
    from urllib.parse import urlencode

    req = urllib.request.Request(base + path, data=urlencode(fields).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def get(base: str, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(base + path, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def voice_world(tmp_path: Path, demo_world: tuple[Path, Path]) -> tuple[Path, str, str]:
    """The demo world with an agent, an admin, the surveys (NPS after a resolved case asked at
    once) and one open case of a French-speaking customer: (store, e-mail, case)."""
    db = tmp_path / "store.duckdb"
    shutil.copy(demo_world[0], db)
    with Store(db) as store:
        email = store.query("""SELECT i.value FROM identities i JOIN persons p USING (person_id)
                               WHERE i.kind = 'email' AND p.language = 'fr' ORDER BY i.value LIMIT 1""")[0][0]
        agents.add_agent(store, "elodie", "Élodie", languages=["fr"], status="online")
        auth.add_user(store, "cx@parcours.test", PASSWORD, "admin", name="CX manager")
        surveys.install_defaults(store)
        surveys.save(store, replace(surveys.get(store, "nps-case"), delay_minutes=0), actor="test")
        got = cases.receive(store, channel="email", identifiers={"email": email}, text="Où est mon colis ?",
                            ts=datetime.now(timezone.utc) - timedelta(minutes=30))
    return db, email, got.case_id


def test_resolved_case_to_mailed_survey_to_answer_in_chromium_to_voice_and_loop(
        voice_world, browser, monkeypatch: pytest.MonkeyPatch) -> None:
    db, email, case_id = voice_world
    token = make_token(db, "admin")
    monkeypatch.setenv("PARCOURS_VOICE_EVERY_S", "0.5")
    box = Mailbox()
    domain = email.rpartition("@")[2]
    with SmtpListener("127.0.0.1", free_port(), box, domains=[domain], quarantine=db.parent / "q") as relay:
        server = Served(db, "--mail-domain", DESK, "--smtp-relay", f"127.0.0.1:{relay.port}")
        try:
            _, before = call(server.base, "GET", "/api/v1/report?fresh=true", token)
            # the agent resolves the case over the API
            _, c = call(server.base, "GET", f"/api/v1/desk/cases/{case_id}", token)
            status, _ = call(server.base, "POST", f"/api/v1/desk/cases/{case_id}/status", token,
                             {"status": "resolved", "version": c["case"]["version"]})
            assert status == 200
            # the survey's e-mail reaches the customer's mail server, in French, with a signed link
            mails = box.wait(1, timeout=60)
            assert mails, "no survey e-mail: " + server.output if server.proc.poll() is not None else "no mail"
            mail, raw = mails[0]
            assert email in mail.to and mail.subject.startswith("Votre avis compte")
            text = raw.decode(errors="replace")
            assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in text
            link = re.search(r"http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_-]{43}(?=[\s\"<?])", mail.text or text).group(0)

            page = browser.new_page(locale="fr-FR", viewport={"width": 390, "height": 844})  # a phone
            watch = Watch(page)
            page.goto(link)
            assert "recommandiez" in page.locator("h1").inner_text()
            page.click("label.pick:has(input[value='3'])")
            page.click("#next")
            page.wait_for_selector("#why-form")
            assert page.locator("#given-score").inner_text() == "3"
            page.fill("#comment", COMMENT)
            page.click("#send")
            page.wait_for_selector("#thanks")
            assert "reviendra vers vous" in page.locator("#thanks").inner_text()  # a loop case was opened
            assert watch.problems == []
            # the link is used up
            page.goto(link)
            assert page.locator("#gone").get_attribute("data-kind") == "answered"
            page.close()

            # the comment is read: negative, about delivery, and a loop case is open for the agent
            # (opened just after the customer's answer was sent back)
            deadline = time.monotonic() + 30
            while True:
                _, verbatims = call(server.base, "GET", "/api/v1/voice/verbatims?limit=5", token)
                mine = next(v for v in verbatims if v["comment"] == COMMENT)
                if mine["loop_case"] or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert mine["label"] == "negative" and mine["language"] == "fr" and mine["score"] == 3
            assert "delivery" in mine["themes"] and mine["aspects"].get("delivery") == "negative"
            assert mine["case_id"] == case_id and mine["loop_case"]
            _, loop_case = call(server.base, "GET", f"/api/v1/desk/cases/{mine['loop_case']}", token)
            assert loop_case["case"]["follow_up_of"] == case_id and loop_case["case"]["priority"] in ("high", "urgent")
            assert loop_case["case"]["assignee"] == "elodie" or loop_case["case"]["team_id"]

            # the NPS moved by this one answer (a detractor)
            _, after = call(server.base, "GET", "/api/v1/report?fresh=true", token)
            assert after["nps"]["n"] == before["nps"]["n"] + 1
            assert after["nps"]["detractors"] == before["nps"]["detractors"] + 1

            # the voice page shows it to the CX manager, in French
            page = browser.new_page(locale="fr-FR")
            watch = Watch(page)
            page.goto(server.base + "/login?next=/voice")
            page.fill("input[name=email]", "cx@parcours.test")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#verbatim-table")
            row = page.locator(f"#verbatim-table tr[data-response='{mine['response_id']}']")
            assert row.locator("[data-label]").get_attribute("data-label") == "negative"
            assert row.locator(".chip[data-theme='delivery']").count() == 1
            assert page.locator("#theme-table tr[data-theme='delivery']").count() == 1
            assert int(page.locator("#loop-opened").inner_text().replace("\u202f", "")) >= 1
            # the response rate of the survey just answered, with its interval
            assert page.get_by_text("Taux de réponse par questionnaire").count() == 1
            survey_row = page.locator("#response-by-survey tbody tr").first
            assert "%" in survey_row.locator("td").nth(3).inner_text()
            assert watch.problems == []
            page.close()
        finally:
            server.stop()


def test_survey_pages_refuse_bad_input_and_bad_links_clearly(voice_world, monkeypatch) -> None:
    db, email, case_id = voice_world
    with Store(db) as store:
        from parcours.voice import invitations, tokens

        pid = store.query("SELECT person_id FROM cases WHERE case_id = ?", [case_id])[0][0]
        cases.set_status(store, case_id, "elodie", "resolved", expected_version=cases.get(store, case_id).case.version)
        invitations.sweep(store)
        inv = store.query("SELECT invitation_id FROM survey_invitations WHERE person_id = ?", [pid])[0][0]
        tok = tokens.token_for(tokens.link_key(store), inv)
        forged = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    server = Served(db)
    try:
        status, html = get(server.base, f"/s/{tok}")
        assert status == 200 and 'lang="fr"' in html and "<script" not in html  # works without JavaScript
        status, html = form(server.base, f"/s/{tok}/score", {"score": "11"})
        assert status == 422 and "11 is not on the scale" in html and 'role="alert"' in html
        status, html = form(server.base, f"/s/{tok}/score", {"score": "3"})
        assert status == 200 and 'id="why-form"' in html  # redirected to step 2, the score kept
        long = "trop " * 1200
        status, html = form(server.base, f"/s/{tok}/why", {"comment": long, "language": "fr"})
        assert status == 422 and f"{len(long.strip())} characters, at most 5000" in html
        assert long.strip() in html  # the text typed comes back, to be shortened
        status, html = form(server.base, f"/s/{tok}/why", {"comment": "Bien", "language": "xx"})
        assert status == 422 and "language: &#39;xx&#39; is not one of fr, en" in html
        status, html = form(server.base, f"/s/{tok}/why", {"comment": "Colis en retard.", "language": "fr"})
        assert status == 200 and 'id="thanks"' in html
        status, html = form(server.base, f"/s/{tok}/score", {"score": "10"})
        assert status == 410 and 'data-kind="answered"' in html  # single use
        for bad, code in ((forged, 404), ("x" * 43, 404), ("short", 404)):
            status, html = get(server.base, f"/s/{bad}")
            assert status == code and 'data-kind="invalid"' in html
        # one-click unsubscribe (RFC 8058) keeps the person out of every later survey
        status, html = form(server.base, f"/s/{tok}/stop", {"List-Unsubscribe": "One-Click"})
        assert status == 200 and 'id="stopped"' in html
    finally:
        server.stop()
    with Store(db) as store:
        quiet = store.query("SELECT reason FROM survey_quiet WHERE person_id = ?", [pid])
        assert quiet[0][0].startswith("unsubscribed")
        assert store.query("SELECT score, comment FROM responses WHERE response_id LIKE 'srv-%'") == [
            (3.0, "Colis en retard.")]
