"""The first page, over real HTTP from a running server, and in Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import parcours_cmd, write_csv

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    db = tmp / "web.duckdb"
    write_csv(tmp / "touchpoints.csv", [
        ["e1", "2025-01-01T09:00:00Z", "anne@x.fr", "", "email", "contact", "delivery", "unresolved", "", ""],
        ["e2", "2025-01-02T09:00:00Z", "anne@x.fr", "", "phone", "contact", "delivery", "resolved", "300", ""],
        ["e3", "2025-01-01T09:00:00Z", "", "0611223344", "chat", "contact", "billing", "unresolved", "", ""],
        ["e4", "2025-01-01T12:00:00Z", "", "0611223344", "phone", "contact", "billing", "resolved", "", ""],
    ])
    write_csv(tmp / "responses.csv",
              [[f"r{i}", "2025-01-05T10:00:00Z", "anne@x.fr", m, str(s)]
               for i, (m, s) in enumerate([("nps", 10), ("nps", 3), ("nps", 9), ("csat", 4), ("ces", 6)] * 10)],
              header=["response_id", "ts", "email", "metric", "score"])
    subprocess.run(parcours_cmd("--db", str(db), "import", str(tmp / "touchpoints.csv"), str(tmp / "responses.csv")),
                   check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen(parcours_cmd("--db", str(db), "serve", "--port", str(port)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    else:
        proc.kill()
        out = proc.stdout.read().decode()
        proc.stdout.close()
        pytest.fail("server did not start: " + out)
    yield base
    proc.terminate()
    proc.wait(10)
    proc.stdout.close()


def _get(url: str, lang: str | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, headers={"Accept-Language": lang} if lang else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_overview_in_english_and_french(server):
    code, html = _get(server + "/", "en-GB,en;q=0.9")
    assert code == 200
    assert "Net Promoter Score" in html and "+33.3" in html and "± " in html and "n = 30" in html
    assert 'id="switching"' in html and "Channel switching inside episodes" in html
    code, html = _get(server + "/", "fr-FR,fr;q=0.9")
    assert '<html lang="fr">' in html and "Changements de canal" in html and "+33,3" in html
    code, html = _get(server + "/?lang=en", "fr-FR")
    assert '<html lang="en">' in html


def test_useful_error_page(server):
    code, html = _get(server + "/nowhere", "fr")
    assert code == 404 and "Page introuvable" in html and "Retour" in html
    code, body = _get(server + "/api/v1/nowhere")
    assert code == 404 and body.startswith("{")


def test_report_json_over_http(server):
    import json

    code, body = _get(server + "/api/v1/report")
    data = json.loads(body)
    assert code == 200 and data["nps"]["n"] == 30


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                    reason="Debian chromium not installed (CI installs it)")
def test_page_in_chromium_has_no_console_error_and_switches_language(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(locale="en-US", viewport={"width": 390, "height": 844})  # a phone
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server + "/")
        assert page.locator("#kpi-nps .big").inner_text().startswith("+33.3")
        cells = page.locator("#switching td:not(.empty)")
        assert cells.count() == 2
        page.click("#lang-switch")
        page.wait_for_url("**lang=fr")
        assert page.locator("h1").inner_text() == "Vue d’ensemble de l’expérience client"
        page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
        assert Path(tmp_path / "overview.png").stat().st_size > 10_000
        browser.close()
    assert errors == []
