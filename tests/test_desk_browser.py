"""The agent's flow in Debian's Chromium: log in, the inbox (keys, live refresh without
reload), open a case, reply and see it, close with "anything else?", the language switch,
a phone's screen — with no console error and no failed request."""

from __future__ import annotations

import pytest

from conftest import BROWSER_MARKS, Served, Watch
from test_desk_web import PASSWORD, USERS, desk_store

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    db = tmp_path_factory.mktemp("desk_browser") / "desk.duckdb"
    ids = desk_store(db, n=4)
    s = Served(db)
    yield s, ids
    s.stop()




def log_in(browser, base: str, who: str, locale: str = "en-US", width: int = 1280):
    page = browser.new_page(locale=locale, viewport={"width": width, "height": 900})
    watch = Watch(page)
    page.goto(base + "/login?next=/desk")
    page.fill("input[name=email]", USERS[who][0])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page, watch


def test_an_agent_opens_a_case_from_the_inbox_replies_and_closes_it(desk, browser):
    s, ids = desk
    page, watch = log_in(browser, s.base, "alice")
    page.goto(s.base + "/desk")
    assert page.locator("h1").inner_text() == "Service desk"
    assert page.locator("#inbox tbody tr").count() == 4
    first = page.locator("#inbox tbody tr").first
    assert first.get_attribute("data-case") == ids[0]          # oldest waiting first
    assert first.locator(".sla").inner_text() == "on time"     # the state in words beside the colour
    # keys: / goes to the search, j / k move, Enter opens
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "desk-q"
    page.locator("#desk-q").press("Escape")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.locator("#inbox tr.selected").get_attribute("data-case") == ids[0]
    page.keyboard.press("j")
    assert page.locator("#inbox tr.selected").get_attribute("data-case") == ids[1]
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/desk/cases/{ids[1]}")
    assert f"Case {ids[1]}" in page.locator("h1").inner_text()
    assert page.locator("#clocks li").count() == 3
    # reply: the message shows in the thread, the case is answered
    page.fill("#body", "Bonjour, votre colis part ce soir.")
    page.click("#send")
    page.wait_for_selector(".msg-agent")
    assert "votre colis part ce soir" in page.locator(".msg-agent .body").last.inner_text()
    assert page.locator("#case-status").inner_text() == "open"
    # close with "anything else?"
    page.check("#anything-else")
    page.select_option("#disposition", "answered")
    page.click("#close")
    page.wait_for_selector("#closed-note")
    assert page.locator("#case-status").inner_text().startswith("closed")
    assert "“anything else?” asked" in page.locator(".case-head").inner_text()
    page.goto(s.base + "/desk")
    assert ids[1] not in [r.get_attribute("data-case") for r in page.locator("#inbox tbody tr").all()]
    assert watch.problems == []
    page.close()


def test_the_inbox_refreshes_without_reloading_and_speaks_french(desk, browser):
    s, ids = desk
    page, watch = log_in(browser, s.base, "bob", locale="fr-FR")
    page.goto(s.base + "/desk")
    assert page.locator("h1").inner_text() == "Service client"
    assert page.locator("#nav a[aria-current=page]").inner_text() == "Service client"
    page.evaluate("window.notReloaded = true")
    with page.expect_response(lambda r: "/desk/rows" in r.url, timeout=20_000) as polled:
        pass
    assert polled.value.status == 200
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#inbox tbody tr").count() >= 3
    page.click("#lang-switch")
    page.wait_for_url("**lang=en")
    assert page.locator("h1").inner_text() == "Service desk"
    page.click("#lang-switch")
    page.wait_for_url("**lang=fr")
    page.locator("#inbox a.case-link").first.click()
    page.wait_for_selector("#composer")
    assert page.locator("#composer legend").inner_text() == "Écrire"
    assert page.locator("#send").inner_text() == "Envoyer"
    assert watch.problems == []
    page.close()


@pytest.mark.parametrize("path", ["/desk", "/desk/cases/{case}", "/desk/contacts/new", "/desk/opportunities"])
def test_the_desk_fits_a_phone(desk, browser, path):
    s, ids = desk
    page, watch = log_in(browser, s.base, "alice", width=390)
    page.goto(s.base + path.format(case=ids[2]))
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    assert watch.problems == []
    page.close()


def test_two_agents_on_one_case_see_each_other_and_the_late_one_keeps_the_draft(desk, browser):
    s, ids = desk
    case = ids[3]
    alice, a_watch = log_in(browser, s.base, "alice")
    bob, b_watch = log_in(browser, s.base, "bob")
    alice.goto(f"{s.base}/desk/cases/{case}")
    bob.goto(f"{s.base}/desk/cases/{case}")
    alice.wait_for_selector("#viewers", timeout=15_000)                 # polled: Bob opened it after her
    assert alice.locator("#viewers").inner_text() == "Bob Durand is viewing this case too."
    bob.fill("#body", "Je m’en occupe.")
    bob.click("#send")
    bob.wait_for_selector(".msg-agent")
    alice.wait_for_selector("#changed", timeout=15_000)                 # her page says the case moved on
    # and shows Bob's reply in place, marked as new, without a reload
    alice.wait_for_selector("#thread li.msg.fresh >> text=Je m’en occupe.", timeout=15_000)
    alice.fill("#body", "Mon brouillon à ne pas perdre")
    alice.click("#send")
    alice.wait_for_selector("#conflict")
    assert "Bob Durand replied at" in alice.locator("#conflict").inner_text()
    assert alice.locator("#body").input_value() == "Mon brouillon à ne pas perdre"
    assert "Je m’en occupe." in alice.locator("#thread").inner_text()
    alice.click("#send")                                                 # sent again, on the fresh version
    alice.wait_for_selector("text=Mon brouillon à ne pas perdre >> xpath=ancestor::li[contains(@class, 'msg')]")
    assert alice.locator(".msg-agent").count() == 2
    assert [p for p in a_watch.problems if "409" not in p] == [] and b_watch.problems == []
    alice.close()
    bob.close()


def test_an_agent_attaches_a_file_and_a_refused_one_keeps_the_draft(desk, browser, tmp_path):
    s, ids = desk
    page, watch = log_in(browser, s.base, "bob")
    page.goto(f"{s.base}/desk/cases/{ids[2]}")
    (tmp_path / "bon de retour.pdf").write_bytes(b"%PDF-1.4 retour " + bytes(range(200)))
    (tmp_path / "outil.exe").write_bytes(b"MZ\x90\x00rest")
    page.fill("#body", "Votre bon de retour est joint.")
    page.set_input_files("#files", str(tmp_path / "bon de retour.pdf"))
    page.click("#send")
    link = page.wait_for_selector("#thread a[download='bon de retour.pdf']")
    with page.expect_download() as dl:
        link.click()
    assert dl.value.suggested_filename == "bon de retour.pdf"
    page.fill("#body", "Et l’outil.")
    page.set_input_files("#files", str(tmp_path / "outil.exe"))
    page.click("#send")
    page.wait_for_selector("#desk-error")
    said = page.locator("#desk-error").inner_text()   # the browser calls it a DOS executable: refused by type
    assert "nothing was sent — 'outil.exe': content type" in said and "is not accepted" in said
    assert page.locator("#body").input_value() == "Et l’outil."
    assert [p for p in watch.problems if "422" not in p] == []
    page.close()
