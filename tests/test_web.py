"""The web app's pages over real HTTP from a running server on a copy of the demo world:
login, roles, every page in English and French, filters, customer 360, errors.
The browser half (charts drawn, no console error, the phone layout) is tests/test_web_browser.py."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conftest import parcours_cmd

PASSWORD = "correct horse battery"
USERS = {"admin": "admin@parcours.test", "analyst": "analyst@parcours.test", "agent": "agent@parcours.test"}
DASHBOARDS = ["/", "/journeys", "/service", "/loyalty", "/voice"]


@dataclass
class Site:
    base: str
    db: Path
    phone: str        # a person's phone as stored (+33…)
    email: str        # the same person's e-mail
    person_id: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_copy(demo_world: tuple[Path, Path], tmp: Path) -> tuple[subprocess.Popen[bytes], Site]:
    """The demo store copied (the server opens it read-write), with one user per role, served."""
    from parcours import auth
    from parcours.store import Store

    db = tmp / "web.duckdb"
    shutil.copy(demo_world[0], db)
    with Store(db) as store:
        for role, email in USERS.items():
            auth.add_user(store, email, PASSWORD, role, name=f"{role.title()} Martin")
        # a person with a phone, an e-mail and a long timeline
        pid, phone, email = store.query("""
            SELECT p.person_id, p.value, e.value FROM identities p JOIN identities e USING (person_id)
             WHERE p.kind = 'phone' AND p.value LIKE '+336%' AND e.kind = 'email'
             ORDER BY (SELECT count(*) FROM touchpoints t WHERE t.person_id = p.person_id) DESC, 1 LIMIT 1""")[0]
    port = _free_port()
    proc = subprocess.Popen(parcours_cmd("--db", str(db), "serve", "--port", str(port)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
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
    return proc, Site(base, db, phone, email, pid)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)
    proc.stdout.close()


@pytest.fixture(scope="module")
def site(demo_world, tmp_path_factory):
    proc, s = serve_copy(demo_world, tmp_path_factory.mktemp("web"))
    yield s
    stop(proc)


def login(site: Site, role: str, lang: str = "en") -> tuple[httpx.Client, httpx.Response]:
    c = httpx.Client(base_url=site.base, timeout=120, headers={"Accept-Language": lang})
    c.get("/login")
    r = c.post("/login", data={"email": USERS[role], "password": PASSWORD, "csrf": c.cookies["parcours_csrf"],
                               "next": "/"})
    return c, r


@pytest.fixture(scope="module")
def admin(site):
    c, r = login(site, "admin")
    assert r.status_code == 303
    yield c
    c.close()


def fr_number(v: float, digits: int = 1, sign: bool = False) -> str:
    s = f"{v:+,.{digits}f}" if sign else f"{v:,.{digits}f}"
    return s.replace(",", "\u202f").replace(".", ",")


def test_login_wrong_password_says_so_and_the_right_one_opens_the_overview(site):
    c = httpx.Client(base_url=site.base, timeout=120)
    page = c.get("/login")
    assert page.status_code == 200 and 'name="csrf"' in page.text
    bad = c.post("/login", data={"email": USERS["admin"], "password": "wrong password!",
                                 "csrf": c.cookies["parcours_csrf"]})
    assert bad.status_code == 401 and "Wrong e-mail or password." in bad.text
    assert "parcours_session" not in c.cookies
    good = c.post("/login", data={"email": USERS["admin"], "password": PASSWORD, "csrf": c.cookies["parcours_csrf"]})
    assert good.status_code == 303 and good.headers["location"] == "/"
    home = c.get("/")
    assert home.status_code == 200 and "Net Promoter Score" in home.text
    assert "Admin Martin" in home.text and 'action="/logout"' in home.text
    c.close()


def test_pages_send_anonymous_visitors_to_the_login_page(site):
    with httpx.Client(base_url=site.base) as c:
        for path in [*DASHBOARDS, "/customers"]:
            r = c.get(path + "?lang=fr")
            assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}%3Flang%3Dfr"


def test_an_agent_lands_on_the_desk_and_may_not_see_the_dashboards(site):
    c, r = login(site, "agent")
    assert r.status_code == 303 and r.headers["location"] == "/desk"
    page = c.get("/customers")
    assert page.status_code == 200 and 'href="/journeys"' not in page.text and 'href="/customers"' in page.text
    for path in DASHBOARDS:
        refused = c.get(path)
        assert refused.status_code == 403, path
        assert "You may not see this page" in refused.text and 'href="/customers"' in refused.text
    assert "Vous n’avez pas accès" in c.get("/journeys?lang=fr").text
    c.close()


def test_logout_needs_the_form_token_and_closes_the_session(site):
    c, _ = login(site, "analyst")
    assert c.post("/logout", data={}).status_code == 403
    out = c.post("/logout", data={"csrf": c.cookies["parcours_csrf"]})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert c.get("/").status_code == 303
    c.close()


def test_the_overview_shows_scores_with_margins_trends_reactivity_and_churn(site, admin):
    rep = admin.get("/api/v1/report").json()
    html = admin.get("/?lang=en").text
    nps = rep["nps"]
    assert f"{nps['score']:+.1f}" in html and f"± {nps['moe95']:.1f}" in html and f"n = {nps['n']:,}" in html
    assert f"{rep['csat']['score']:.1f} %" in html and f"{rep['csat']['ci95'][0]:.1f}–" in html
    for chart in ("trend-nps", "trend-csat", "trend-ces", "trend-counts"):
        spec = json.loads(re.search(rf'<script type="application/json" id="{chart}-spec">(.*?)</script>',
                                    html, re.S).group(1))
        assert spec["data"]["values"], chart
    months = json.loads(re.search(r'id="trend-nps-spec">(.*?)</script>', html, re.S).group(1))["data"]["values"]
    assert all(m["moe95"] > 0 for m in months) and sum(m["n"] for m in months) == nps["n"]
    csat = json.loads(re.search(r'id="trend-csat-spec">(.*?)</script>', html, re.S).group(1))["data"]["values"]
    assert csat and all(m["low"] < m["score"] < m["high"] for m in csat if 0 < m["score"] < 100)  # Wilson
    first = rep["service"]["first_response"]
    assert 'id="kpi-first-response"' in html and f"{first['median_h']:.1f} h" in html
    churn = [r for r in rep["loyalty"]["contractual_churn"] if r["complete"]][-1]
    assert f"{churn['churn']:.1f} %" in html


def test_every_page_speaks_french_with_french_numbers(site, admin):
    rep = admin.get("/api/v1/report").json()
    titles = {"/": "Vue d’ensemble de l’expérience client", "/journeys": "Parcours", "/service": "Service",
              "/loyalty": "Fidélité et valeur", "/voice": "Voix du client", "/customers": "Client 360",
              "/api/docs": "API REST"}
    for path, title in titles.items():
        r = admin.get(path + "?lang=fr")
        assert r.status_code == 200 and '<html lang="fr">' in r.text and f"<h1>{title}</h1>" in r.text, path
    overview = admin.get("/?lang=fr").text
    assert fr_number(rep["nps"]["score"], sign=True) in overview
    assert fr_number(rep["counts"]["touchpoints"], 0) in overview
    assert fr_number(rep["journeys"]["avoidable"]["share"]) + " %" in admin.get("/journeys?lang=fr").text
    # the switch is remembered: a later page without ?lang= stays in French, and the link goes back
    assert '<html lang="fr">' in admin.get("/service").text
    assert 'id="lang-switch"' in overview and "?lang=en" in overview
    assert '<html lang="en">' in admin.get("/service?lang=en").text


def test_filters_select_the_report_and_a_wrong_filter_is_named_not_fatal(site, admin):
    rep = admin.get("/api/v1/report", params={"channel": "phone", "from": "2025-04-01", "to": "2025-07-01"}).json()
    html = admin.get("/journeys", params={"channel": "phone", "from": "2025-04-01", "to": "2025-07-01"}).text
    assert '<option value="phone" selected>' in html and 'value="2025-04-01"' in html
    assert f"{rep['counts']['touchpoints']:,} touchpoints" in html
    assert 'href="/service?from=2025-04-01&amp;to=2025-07-01&amp;channel=phone"' in html  # the nav keeps them
    bad = admin.get("/", params={"channel": "pigeon", "from": "yesterday"})
    assert bad.status_code == 200 and "This filter was ignored" in bad.text and "channel" in bad.text


def test_journeys_service_and_loyalty_show_their_figures(site, admin):
    rep = admin.get("/api/v1/report").json()
    j = admin.get("/journeys").text
    assert 'id="switching"' in j and 'id="heatmap-spec"' in j and 'id="sankey-data"' in j
    sankey = json.loads(re.search(r'id="sankey-data">(.*?)</script>', j, re.S).group(1))
    ends = sum(link["value"] for link in sankey["links"] if link["target"] == "end of the episode")
    assert ends == sum(p["n"] for p in rep["journeys"]["top_paths"])
    for word in ("Avoidable contacts", "Gave up", "Continued after a call", "worst touchpoint (peak)", "Funnel"):
        assert word in j
    s = admin.get("/service").text
    fcr = rep["service"]["fcr"]
    assert f"{fcr['fcr']:.1f} %" in s and f"{fcr['fcr_same_channel']:.1f} %" in s
    assert f"{rep['service']['sla']['response']:.1f} %" in s and 'id="agent-table"' in s
    assert s.count("<tr>") > 20
    by_agent = admin.get("/api/v1/report", params={"by": "agent"}).json()["breakdowns"][0]["rows"]
    timed = {a: r for a, r in by_agent.items() if a != "(none)" and (r.get("resolution") or {}).get("n")}
    assert len(timed) >= 3 and all(r["sla"]["n"] for r in timed.values())  # the agents' cases, not the contacts
    assert "First response (median, h)" in s and "resolution in time" in s
    loy = admin.get("/loyalty").text
    assert 'id="cohort-chart-spec"' in loy and 'id="churn-table"' in loy and 'id="value-figures"' in loy
    clv = rep["value"]["clv_52w"]
    tenths = clv["deciles"]
    assert len(tenths) == 10 and sum(d["customers"] for d in tenths) == clv["n"]
    assert abs(sum(d["share"] for d in tenths) - 100) < 1e-6 and tenths[0]["mean"] >= tenths[-1]["mean"]
    assert 'id="clv-chart-spec"' in loy and loy.count("<tr><th scope=\"row\">", loy.index('id="clv-table"')) >= 10


def test_voice_shows_recent_verbatims_with_their_score_tone_and_themes(site, admin):
    # the imported comments are analysed by the server's background work (within its first rounds)
    deadline = time.monotonic() + 120
    while True:
        html = admin.get("/voice", params={"metric": "csat"}).text
        if 'id="theme-table"' in html or time.monotonic() > deadline:
            break
        time.sleep(2)
    rows = re.findall(r'<tr data-response="[^"]+"><td class="text">(\d{4}-\d\d-\d\d)</td><td>(\w+)</td>', html)
    assert len(rows) >= 10 and {m for _, m in rows} == {"CSAT"}
    assert [d for d, _ in rows] == sorted((d for d, _ in rows), reverse=True)
    table = html[html.index('id="verbatim-table"'):]
    assert table[:table.index("</table>")].count('<blockquote class="verbatim">') == len(rows)
    assert 'id="theme-table"' in html and html.count('data-label="') == len(rows)  # every comment read
    assert re.search(r'<ul id="topics"><li><strong>[^<]+</strong> \([\d\u202f,]+\)', html)  # what no theme caught
    top = re.search(r'<tr data-theme="(\w+)"><td class="text"><a href="[^"]*theme=\1#verbatims">', html).group(1)
    only = admin.get("/voice", params={"theme": top, "label": "negative"}).text
    labels = re.findall(r'data-label="(\w+)"', only)
    assert labels and set(labels) == {"negative"} and only.count(f'class="chip" data-theme="{top}"') == len(labels)


def test_customer_360_finds_a_person_by_a_national_phone_number_and_by_e_mail(site):
    c, _ = login(site, "agent")
    national = "0" + site.phone[3:]
    spaced = " ".join(national[i:i + 2] for i in range(0, 10, 2))          # 06 11 22 33 44
    by_phone = c.get("/customers", params={"q": spaced}).text
    assert f"<code>{site.person_id}</code>" in by_phone and site.email in by_phone
    timeline = by_phone[by_phone.index('id="timeline"'):]
    assert len(set(re.findall(r'data-channel="(\w+)"', timeline))) >= 3   # one timeline, several channels
    assert "touchpoint" in timeline and ('order' in timeline or 'answer' in timeline)
    by_email = c.get("/customers", params={"q": site.email.upper()}).text
    assert f"<code>{site.person_id}</code>" in by_email
    missing = c.get("/customers", params={"q": "nobody@nowhere.example"})
    assert missing.status_code == 200 and 'id="not-found"' in missing.text and "nobody@nowhere.example" in missing.text
    c.close()


def test_error_pages_are_useful_in_both_languages(site, admin):
    fr = httpx.get(site.base + "/nowhere", headers={"Accept-Language": "fr-FR"})
    assert fr.status_code == 404 and "Page introuvable" in fr.text and "Retour" in fr.text
    en = admin.get("/nowhere?lang=en")
    assert en.status_code == 404 and "Page not found" in en.text and "Back to your home page" in en.text
    api = httpx.get(site.base + "/api/v1/nowhere")
    assert api.status_code == 404 and api.json()["detail"]
    assert admin.get("/voice", params={"limit": "many"}).status_code == 422


def test_every_asset_is_served_by_the_app_itself(site, admin):
    seen: set[str] = set()
    for path in [*DASHBOARDS, "/customers", "/api/docs", "/login"]:
        html = admin.get(path).text
        refs = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
        assert refs and all(r.startswith("/static/") for r in refs), (path, refs)
        seen.update(refs)
    for ref in seen:
        assert admin.get(ref).status_code == 200, ref
    assert any("vega-lite-6.5.0" in r for r in seen) and any("echarts-6.1.0" in r for r in seen)
    assert admin.get("/api/v1/openapi.json").json()["info"]["title"] == "Parcours API"


def test_every_page_opens_on_an_empty_store(tmp_path):
    """A fresh install: no data yet, and every page says so instead of failing."""
    from parcours import auth
    from parcours.store import Store

    db = tmp_path / "empty.duckdb"
    with Store(db) as store:
        auth.add_user(store, USERS["admin"], PASSWORD, "admin")
    port = _free_port()
    proc = subprocess.Popen(parcours_cmd("--db", str(db), "serve", "--port", str(port)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        site = Site(f"http://127.0.0.1:{port}", db, "", "", "")
        for _ in range(200):
            try:
                urllib.request.urlopen(site.base + "/health", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        c, r = login(site, "admin")
        assert r.status_code == 303
        for path in [*DASHBOARDS, "/customers?q=0611223344", "/api/docs"]:
            page = c.get(path)
            assert page.status_code == 200, (path, page.text[-500:])
        assert "No answers yet" in c.get("/").text and "No comments for these filters" in c.get("/voice").text
        c.close()
    finally:
        stop(proc)


def test_both_languages_have_the_same_strings():
    from parcours.web.i18n import CHANNEL_NAMES, STRINGS

    assert set(STRINGS["en"]) == set(STRINGS["fr"]) and set(CHANNEL_NAMES["en"]) == set(CHANNEL_NAMES["fr"])
    templates = Path(__file__).parents[1] / "src/parcours/web/templates"
    used = {k for f in templates.glob("*.html") for k in re.findall(r"\bt\.(\w+)\b(?!\()", f.read_text())}
    assert used <= set(STRINGS["en"]), used - set(STRINGS["en"])


def test_stale_figures_are_served_at_once_while_recomputed_and_close_waits(tmp_path):
    import threading

    from parcours.store import Store
    from parcours.web.figures import Figures

    store = Store(tmp_path / "s.duckdb")
    figures = Figures(store)
    first = figures.report()
    store.touch()  # the data changed: the next request gets the kept report and starts a refresh
    got: list = []
    asker = threading.Thread(target=lambda: got.append(figures.report()))
    asker.start()
    asker.join(10)
    assert not asker.is_alive(), "the stale report was not served at once"
    assert got == [first]
    figures.close()  # interrupts and waits for the refresh before the store closes
    assert figures.computing == 0
    store.close()
