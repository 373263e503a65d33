"""The acting pages in Debian's Chromium: a manager writes a rule (a typo is explained, what was
typed is kept), back-tests it on the past, switches it on; the page in French; on a phone."""

from __future__ import annotations

import re

import pytest

from conftest import BROWSER_MARKS
from test_web import serve_copy, stop
from test_web_browser import log_in

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def site(demo_world, tmp_path_factory):
    proc, s = serve_copy(demo_world, tmp_path_factory.mktemp("act_browser"))
    yield s
    stop(proc)


def test_a_manager_writes_backtests_and_switches_on_a_rule(site, browser, tmp_path):
    page, watch = log_in(browser, site, "admin")
    page.goto(site.base + "/act")
    assert page.locator("h1").inner_text() == "Act before the problem"
    assert page.locator("#practices tbody tr").count() == 5  # the five practices customers rated
    page.fill("input[name=rule_id]", "hop")
    page.fill("input[name=name]", "Customer switching channels")
    page.select_option("select[name=subject]", "touchpoint")
    page.fill("textarea[name=when]", "chanels(48h) >= 2 and kind = 'contact'")
    page.select_option("select[name=action]", "notify")
    page.fill("input[name=params]", '{"team": "escalations"}')
    page.click("#rule-form button[type=submit]")
    error = page.locator("#rule-error").inner_text()
    assert "unknown field 'chanels' for a touchpoint rule; did you mean channels" in error
    assert page.locator("textarea[name=when]").input_value() == "chanels(48h) >= 2 and kind = 'contact'"
    assert page.locator("textarea[name=when]").get_attribute("aria-invalid") == "true"
    assert [p for p in watch.problems if "422" not in p] == []
    watch.problems.clear()  # the typo's 422 was the point
    page.fill("textarea[name=when]", "channels(48h) >= 2 and kind = 'contact'")
    page.click("#rule-form button[type=submit]")
    page.wait_for_url(site.base + "/act/rules/hop")
    assert page.locator("#rule-state").inner_text().startswith("off")
    page.click("#backtest-form button[type=submit]")  # the last 30 days of data
    result = page.locator("#backtest-result").inner_text()
    fired = int(re.search(r"fired ([\d,]+) times", result).group(1).replace(",", ""))
    assert fired > 0
    assert page.locator("#backtest-examples tbody tr").count() == min(fired, 10)
    assert "channels(48h) = " in page.locator("#backtest-examples tbody tr").first.inner_text()
    page.click("#switch-on")
    assert page.locator("#rule-state").inner_text().startswith("on")
    page.goto(site.base + "/act?lang=fr")
    assert page.locator("h1").inner_text() == "Agir avant le problème"
    assert page.locator("#rule-list tr[data-rule=hop]").inner_text().count("actif") == 1
    page.screenshot(path=str(tmp_path / "act.png"), full_page=True)
    assert watch.problems == []
    page.close()


def test_the_act_page_fits_a_phone(site, browser):
    page, watch = log_in(browser, site, "analyst", width=390)
    page.goto(site.base + "/act")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    assert watch.problems == []
    page.close()


def test_an_agent_may_not_write_rules(site, browser):
    page, _ = log_in(browser, site, "agent")
    response = page.goto(site.base + "/act")
    assert response.status == 403
    page.close()


#: acting page → Vega-Lite charts it draws
PAGES = {"/act/churn": 1, "/act/promises": 1, "/act/maturity": 0, "/act/whatif?channel=chat&resolve=10": 0}


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_the_acting_pages_draw_without_console_errors(site, browser, width):
    page, watch = log_in(browser, site, "analyst", width=width)
    for path, charts in PAGES.items():
        response = page.goto(site.base + path)
        assert response.status == 200, path
        if charts:
            page.wait_for_function(f"document.querySelectorAll('[data-vega][data-rendered]').length >= {charts}",
                                   timeout=30_000)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (path, f"{overflow}px wider than the screen")
    page.goto(site.base + "/act/churn")
    assert page.locator("#at-risk tbody tr").count() > 0          # the demo scored its customers
    assert "AUC" in page.locator("#churn-model").inner_text()
    assert watch.problems == []
    page.close()


def test_the_agent_sees_the_customers_churn_risk_and_why_on_the_case(demo_world, browser, tmp_path):
    from parcours.store import Store

    with Store(demo_world[0], read_only=True) as s:  # an open case of a scored customer, riskiest first
        case_id, risk = s.query("""SELECT c.case_id, k.risk FROM cases c JOIN churn_scores k USING (person_id)
                                   ORDER BY k.risk DESC LIMIT 1""")[0]
    proc, agent_site = serve_copy(demo_world, tmp_path)
    try:
        page, watch = log_in(browser, agent_site, "agent")
        page.goto(f"{agent_site.base}/desk/cases/{case_id}")
        panel = page.locator("#churn-risk").inner_text()
        assert f"Churn risk: {round(100 * risk)} %" in panel and "Why:" in panel
        assert watch.problems == []
        page.close()
    finally:
        stop(proc)
