"""The pages in Debian's Chromium: every page draws its charts with no console error and no
failed request, on a phone's screen too; the language switch; customer 360's search; the
API docs (the vendored Swagger UI)."""

from __future__ import annotations

import pytest

from conftest import BROWSER_MARKS, Watch
from test_web import PASSWORD, USERS, serve_copy, stop

pytestmark = BROWSER_MARKS
#: page → (Vega-Lite charts, ECharts Sankeys) it draws
CHARTS = {"/": (4, 0), "/journeys": (2, 1), "/service": (1, 0), "/loyalty": (5, 0), "/voice": (4, 0)}


@pytest.fixture(scope="module")
def site(demo_world, tmp_path_factory):
    proc, s = serve_copy(demo_world, tmp_path_factory.mktemp("web_browser"))
    yield s
    stop(proc)





def log_in(browser, site, role: str, locale: str = "en-US", width: int = 1280):
    page = browser.new_page(locale=locale, viewport={"width": width, "height": 900})
    watch = Watch(page)
    page.goto(site.base + "/")
    assert "/login" in page.url
    page.fill("input[name=email]", USERS[role])
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() in ("Wrong e-mail or password.",
                                                         "E-mail ou mot de passe incorrect.")
    page.fill("input[name=email]", USERS[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    watch.problems.clear()  # the wrong password's 401 was the point
    return page, watch


def wait_for_charts(page, vega: int, sankey: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('[data-vega][data-rendered], [data-sankey][data-rendered]')"
                           f".length >= {vega + sankey}", timeout=30_000)


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_every_page_draws_its_charts_without_console_errors(site, browser, width, tmp_path):
    page, watch = log_in(browser, site, "analyst", width=width)
    assert page.url == site.base + "/"
    for path, (vega, sankey) in CHARTS.items():
        page.goto(site.base + path)
        wait_for_charts(page, vega, sankey)
        for i in range(vega):
            chart = page.locator("[data-vega]").nth(i)
            marks = chart.locator("svg .role-mark path, svg .role-mark line, svg .role-mark rect, "
                                  "svg .role-mark text")
            assert marks.count() > 0, (path, i)
        # every chart has its data as a table beside it
        assert page.locator("figure.chart details.data table").count() >= vega, path
        if sankey:
            assert page.locator("#sankey svg path").count() > 10
            assert page.locator("#sankey svg text").filter(has_text="1 · ").count() > 3
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (path, f"{overflow}px wider than the screen")
        page.screenshot(path=str(tmp_path / f"{path.strip('/') or 'overview'}.png"), full_page=True)
    page.goto(site.base + "/customers?q=" + site.email)
    assert page.locator("#person").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    assert watch.problems == []
    page.close()


def test_the_language_switch_gives_french_words_numbers_and_months(site, browser):
    page, watch = log_in(browser, site, "admin")
    wait_for_charts(page, 4, 0)
    assert page.locator("h1").inner_text() == "Customer experience overview"
    english = page.locator("#kpi-nps .big").inner_text()
    assert "." in english
    page.click("#lang-switch")
    page.wait_for_url("**lang=fr")
    wait_for_charts(page, 4, 0)
    assert page.locator("h1").inner_text() == "Vue d’ensemble de l’expérience client"
    assert page.locator("#kpi-nps .big").inner_text().split()[0] == english.split()[0].replace(".", ",")
    assert page.locator("#nav a[aria-current=page]").inner_text() == "Vue d’ensemble"
    axis = " ".join(page.locator("#trend-csat svg text").all_text_contents())
    assert "janv." in axis or "févr." in axis, axis     # French month names on the time axis
    page.goto(site.base + "/journeys")                    # remembered without ?lang=
    assert page.locator("h1").inner_text() == "Parcours"
    assert watch.problems == []
    page.close()


def test_an_agent_searches_customer_360_by_phone_without_reloading(site, browser):
    page, watch = log_in(browser, site, "agent", locale="fr-FR")
    assert page.url == site.base + "/desk"  # an agent's home
    page.click("#nav a:text('Client 360')")
    page.wait_for_load_state("networkidle")
    assert [a.inner_text() for a in page.locator("#nav a").all()] == ["Service client", "Client 360", "Doc. API"]
    national = "0" + site.phone[3:]
    page.fill("#q", " ".join(national[i:i + 2] for i in range(0, 10, 2)))
    page.evaluate("window.notReloaded = true")
    page.click("form.search button")
    page.wait_for_selector("#person")
    assert page.evaluate("window.notReloaded") is True      # htmx swapped the result in
    assert site.person_id in page.locator("#person-h").inner_text()
    assert "q=" in page.url                                # the search is in the address (htmx push)
    assert page.locator("#timeline tbody tr").count() > 10
    assert page.locator("#identifiers").inner_text().count(site.phone) == 1
    page.fill("#q", "personne@nulle-part.example")
    page.click("form.search button")
    page.wait_for_selector("#not-found")
    assert "personne@nulle-part.example" in page.locator("#not-found").inner_text()
    page.goto(site.base + "/journeys")
    assert "Vous n’avez pas accès" in page.locator("h1").inner_text()
    watch.problems = [p for p in watch.problems if "403" not in p]   # that refusal was the point
    assert watch.problems == []
    page.close()


def test_the_api_docs_page_draws_the_vendored_swagger_ui(site, browser):
    page = browser.new_page()
    watch = Watch(page)
    page.goto(site.base + "/api/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() >= 10
    assert "Parcours API" in page.locator(".swagger-ui .title").inner_text()
    page.wait_for_load_state("networkidle")
    assert watch.problems == []
    page.close()
