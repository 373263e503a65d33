"""Outgoing webhooks, over real HTTP both ways: a receiver on loopback records what it gets.

The receiver can be told to fail its first N requests (or all of them), to answer slowly or
to redirect; the dispatcher runs on a real store file with short retry delays.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import parcours_cmd, run_parcours
from parcours.store import Store
from parcours.webhooks import (
    RetryPolicy,
    WebhookError,
    Webhooks,
    check_events,
    check_url,
    matches,
    patterns,
    sign,
    verify,
)

FAST = RetryPolicy(first_s=0.1, factor=2.0, cap_s=1.0, max_attempts=8, jitter=0.0, timeout_s=2.0)


# -- a real receiver ----------------------------------------------------------------------
@dataclass
class Hit:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    hits: list[Hit] = field(default_factory=list)
    fail_first: int = 0           # answer `fail_status` to the first N requests
    fail_status: int = 500
    delay_s: float = 0.0          # answer after this long
    redirect_to: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with rec.lock:
                rec.hits.append(Hit(time.monotonic(), self.path, dict(self.headers.items()), body))
                n = len(rec.hits)
            time.sleep(rec.delay_s)
            if rec.redirect_to:
                self.send_response(302)
                self.send_header("Location", rec.redirect_to)
                self.end_headers()
                return
            status = rec.fail_status if n <= rec.fail_first else 200
            answer = b"busy" if status >= 300 else b"ok"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield rec
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "hooks.duckdb")
    yield s
    s.close()


@pytest.fixture
def hooks(store: Store) -> Iterator[Webhooks]:
    h = Webhooks(store, policy=FAST)
    yield h
    h.close()


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"still not true after {timeout} s")


def delivery(hooks: Webhooks, webhook_id: str, status: str) -> dict[str, Any]:
    """The subscription's latest delivery, once it has this status."""
    return wait_for(lambda: next((d for d in hooks.deliveries(webhook_id) if d["status"] == status), None))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- signatures ---------------------------------------------------------------------------
def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    # the vector from `printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test`
    assert sign("whsec_test", 1700000000, b'{"a":1}') == \
        "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"


def test_verify_refuses_tampering_other_secrets_and_replays():
    body = '{"id":"d_1","event":"ping","data":{}}'
    now = 1_800_000_000
    header = sign("s3cret", now, body)
    assert verify("s3cret", header, body, 300, now=now + 299)
    assert verify("s3cret", header, body.encode(), 300, now=now - 10)          # bytes or text
    assert not verify("s3cret", header, body.replace("ping", "pong"), now=now)  # body changed
    assert not verify("other", header, body, now=now)                           # another secret
    assert not verify("s3cret", header, body, 300, now=now + 301)               # replayed too late
    forged = header.replace(f"t={now}", f"t={now + 1000}")                      # fresh time, old MAC
    assert not verify("s3cret", forged, body, 300, now=now + 1000)
    for bad in (None, "", "v1=abc", f"t={now}", "t=soon,v1=00", f"t={now},t={now},{header.split(',')[1]}"):
        assert not verify("s3cret", bad, body, now=now), bad
    rotated = f"t={now},v1={'0' * 64},{header.split(',')[1]}"                    # any v1 may match
    assert verify("s3cret", rotated, body, now=now)


# -- subscriptions ------------------------------------------------------------------------
def test_events_match_exactly_or_by_wildcard():
    assert matches("*", "touchpoints.stored") and matches("*", "ping")
    assert matches("touchpoints.*", "touchpoints.stored")
    assert matches("touchpoints.stored", "touchpoints.stored")
    assert not matches("touchpoints.*", "orders.stored")
    assert not matches("touchpoints.*", "touchpointsx.stored")
    assert not matches("touchpoints.stored", "touchpoints.stored.late")
    assert check_events([" touchpoints.* ", "ping", "touchpoints.*"]) == ["touchpoints.*", "ping"]
    assert check_events(patterns()) == patterns() and "touchpoints.*" in patterns()   # what the API schema lists
    for bad in (["touchpoint.stored"], ["nothing.*"], ["touch*"], ["**"], []):
        with pytest.raises(WebhookError):
            check_events(bad)


def test_urls_must_be_http_or_https_with_a_host():
    assert check_url(" https://crm.example.com/hook?x=1 ") == "https://crm.example.com/hook?x=1"
    for bad, why in [("ftp://x.fr/h", "http:// or https://"), ("crm.example.com/hook", "http:// or https://"),
                     ("http:///nohost", "no host"), ("http://x.fr:99999/", "not a valid URL"),
                     ("http://x.fr/a b", "spaces"), ("", "1 to"), ("https://" + "a" * 2000, "1 to"),
                     ("http://x\x0f.fr/", "printable ASCII"), ("https://crème.fr/", "xn--"),
                     ("https://x.fr/été", "percent-encode")]:
        with pytest.raises(WebhookError, match=why):
            check_url(bad)


def test_retry_schedule_grows_is_capped_and_jittered():
    p = RetryPolicy()
    assert [RetryPolicy(jitter=0).delay(n) for n in range(1, 9)] == [1, 4, 16, 64, 256, 1024, 3600, 3600]
    for n in range(1, 12):
        base = min(p.cap_s, p.first_s * p.factor ** (n - 1))
        samples = [p.delay(n) for _ in range(200)]
        assert all(0.8 * base <= s <= 1.2 * base for s in samples)
        assert max(samples) - min(samples) > 0.1 * base   # not all the same: jittered


# -- delivery over HTTP -------------------------------------------------------------------
def test_a_delivered_event_is_signed_and_carries_its_data(receiver, hooks):
    webhook_id, secret = hooks.subscribe(receiver.url + "/in", ["touchpoints.stored"], created_by="test")
    assert secret.startswith("whsec_") and len(secret) > 40
    [delivery_id] = hooks.emit("touchpoints.stored", {"accepted": 3, "note": "é"})
    hit = wait_for(lambda: receiver.on("/in"))[0]
    assert verify(secret, hit.headers["X-Parcours-Signature"], hit.body, tolerance_s=60)
    assert not verify("whsec_other", hit.headers["X-Parcours-Signature"], hit.body)
    assert hit.headers["X-Parcours-Event"] == "touchpoints.stored"
    assert hit.headers["X-Parcours-Delivery"] == delivery_id
    assert hit.headers["Content-Type"] == "application/json"
    msg = hit.json()
    assert msg["id"] == delivery_id and msg["event"] == "touchpoints.stored"
    assert msg["data"] == {"accepted": 3, "note": "é"} and msg["created_at"].endswith("Z")
    d = delivery(hooks, webhook_id, "delivered")
    assert (d["attempts"], d["last_status"], d["last_error"]) == (1, 200, None) and d["delivered_at"]
    assert hooks.list()[0]["deliveries"] == {"pending": 0, "delivered": 1, "failed": 0}
    assert "secret" not in hooks.list()[0]


def test_desk_sla_breaches_reach_a_subscriber_once(receiver, store, hooks):
    from datetime import datetime, timedelta, timezone

    from parcours.desk import cases, sla_watch

    webhook_id, secret = hooks.subscribe(receiver.url + "/sla", ["desk.sla.*"], created_by="test")
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # Monday 10:00 in Paris
    r = cases.receive(store, channel="email", identifiers={"email": "ines@exemple.fr"}, ts=t0, subject="Colis",
                      text="Mon colis n'est pas arrivé.")
    send = sla_watch.to_webhooks(hooks)
    for minutes in (40, 120, 121):  # at risk, breached, nothing new (nothing sent)
        sla_watch.sweep(store, now=t0 + timedelta(minutes=minutes), on_event=send)
    hits = wait_for(lambda: len(receiver.on("/sla")) >= 2 and receiver.on("/sla"))
    time.sleep(0.3)
    assert len(receiver.on("/sla")) == 2
    got = {h.headers["X-Parcours-Event"]: h.json()["data"] for h in hits}
    assert set(got) == {"desk.sla.at_risk", "desk.sla.breach"}
    assert got["desk.sla.breach"] == {
        "key": f"{r.case_id}/first_response/1/breach", "kind": "breach", "case_id": r.case_id,
        "target": "first_response", "instance": 1, "at": "2026-03-02T10:00:00+00:00",
        "due_at": "2026-03-02T10:00:00+00:00"}
    assert all(verify(secret, h.headers["X-Parcours-Signature"], h.body, tolerance_s=60) for h in hits)


def test_failures_are_retried_with_growing_delays_until_delivered(receiver, hooks):
    receiver.fail_first = 3
    webhook_id, secret = hooks.subscribe(receiver.url + "/flaky", ["*"])
    hooks.emit("orders.stored", {"accepted": 1})
    d = delivery(hooks, webhook_id, "delivered")
    assert (d["attempts"], d["last_status"]) == (4, 200)
    hits = receiver.on("/flaky")
    assert len(hits) == 4 and len({h.headers["X-Parcours-Delivery"] for h in hits}) == 1
    assert all(verify(secret, h.headers["X-Parcours-Signature"], h.body) for h in hits)
    gaps = [b.at - a.at for a, b in zip(hits, hits[1:])]
    for gap, expected in zip(gaps, (0.1, 0.2, 0.4)):   # FAST: 0.1 s doubled, no jitter
        assert expected - 0.02 <= gap < expected + 0.5, gaps


def test_a_delivery_fails_after_the_last_attempt_and_says_why(receiver, store):
    hooks = Webhooks(store, policy=RetryPolicy(first_s=0.05, factor=1, max_attempts=3, jitter=0, timeout_s=0.5))
    try:
        receiver.fail_first, receiver.fail_status = 10**6, 503
        busy, _ = hooks.subscribe(receiver.url + "/busy", ["ping"])
        down, _ = hooks.subscribe(f"http://127.0.0.1:{_free_port()}/gone", ["ping"])
        hooks.emit("ping", {})
        d = delivery(hooks, busy, "failed")
        assert (d["attempts"], d["last_status"], d["last_error"], d["next_attempt_at"]) == (3, 503, "HTTP 503: busy",
                                                                                             None)
        d = delivery(hooks, down, "failed")
        assert d["attempts"] == 3 and d["last_status"] is None and "cannot reach 127.0.0.1" in d["last_error"]
        time.sleep(0.3)   # and nothing more is sent
        assert len(receiver.on("/busy")) == 3
    finally:
        hooks.close()


def test_slow_answers_time_out_and_redirects_are_not_followed(receiver, store):
    hooks = Webhooks(store, policy=RetryPolicy(first_s=0.05, max_attempts=1, timeout_s=0.3))
    try:
        receiver.delay_s = 1.0
        slow, _ = hooks.subscribe(receiver.url + "/slow", ["ping"])
        hooks.emit("ping", {})
        d = delivery(hooks, slow, "failed")
        assert "timed out" in d["last_error"]
        hooks.unsubscribe(slow)
        receiver.delay_s, receiver.redirect_to = 0.0, receiver.url + "/elsewhere"
        moved, _ = hooks.subscribe(receiver.url + "/moved", ["ping"])
        hooks.emit("ping", {})
        d = delivery(hooks, moved, "failed")
        assert d["last_status"] == 302 and receiver.on("/elsewhere") == []
    finally:
        hooks.close()


def test_a_url_the_http_client_refuses_fails_its_delivery_and_no_other(receiver, store):
    hooks = Webhooks(store, policy=RetryPolicy(first_s=0.05, max_attempts=2, jitter=0))
    try:
        with store.write_lock:   # a row from before the URL checks were this strict
            store.con.execute("INSERT INTO webhooks VALUES ('wh_bad', 'http://bad\x0fhost/', ['*'], 's', now(), "
                              "'test', NULL)")
        good, _ = hooks.subscribe(receiver.url + "/good", ["*"])
        hooks.emit("ping", {})
        d = delivery(hooks, "wh_bad", "failed")
        assert d["attempts"] == 2 and "InvalidURL" in d["last_error"]
        assert delivery(hooks, good, "delivered")["attempts"] == 1
    finally:
        hooks.close()


def test_each_subscriber_gets_the_events_it_asked_for(receiver, hooks):
    ids = {path: hooks.subscribe(receiver.url + path, events)[0] for path, events in [
        ("/all", ["*"]), ("/tp", ["touchpoints.*"]), ("/orders", ["orders.stored"]),
        ("/mixed", ["responses.stored", "touchpoints.stored"])]}
    hooks.emit("touchpoints.stored", {"n": 1})
    hooks.emit("orders.stored", {"n": 2})
    wait_for(lambda: len(receiver.hits) == 5)
    time.sleep(0.2)   # nothing else arrives
    got = {path: [h.json()["event"] for h in receiver.on(path)] for path in ids}
    assert {p: sorted(e) for p, e in got.items()} == {
        "/all": ["orders.stored", "touchpoints.stored"], "/tp": ["touchpoints.stored"],
        "/orders": ["orders.stored"], "/mixed": ["touchpoints.stored"]}
    assert hooks.emit("responses.stored", {}) and hooks.emit("ping", {}) != []   # '*' takes ping too
    assert len(hooks.ping(ids["/orders"]) or "") > 0   # a ping goes to the one asked, whatever its events
    wait_for(lambda: any(h.json()["event"] == "ping" for h in receiver.on("/orders")))


def test_unsubscribing_stops_deliveries_and_cancels_pending_ones(receiver, store):
    hooks = Webhooks(store, policy=RetryPolicy(first_s=30, jitter=0))
    try:
        receiver.fail_first = 1
        webhook_id, _ = hooks.subscribe(receiver.url + "/bye", ["*"])
        hooks.emit("ping", {})
        d = wait_for(lambda: next((d for d in hooks.deliveries(webhook_id) if d["attempts"] == 1), None))
        assert d["status"] == "pending" and d["last_status"] == 500
        assert hooks.unsubscribe(webhook_id) and not hooks.unsubscribe(webhook_id)
        assert hooks.deliveries(webhook_id)[0]["status"] == "cancelled"
        assert hooks.emit("ping", {}) == [] and hooks.list() == [] and hooks.get(webhook_id) is None
    finally:
        hooks.close()


def test_a_pending_delivery_is_sent_after_a_restart(receiver, tmp_path):
    db = tmp_path / "restart.duckdb"
    store = Store(db)
    first = Webhooks(store, policy=RetryPolicy(first_s=0.5, jitter=0))
    receiver.fail_first = 1
    webhook_id, secret = first.subscribe(receiver.url + "/later", ["touchpoints.*"])
    [delivery_id] = first.emit("touchpoints.stored", {"accepted": 7})
    wait_for(lambda: receiver.on("/later"))
    first.close()
    d = first.deliveries(webhook_id)[0]
    assert (d["status"], d["attempts"], d["last_status"]) == ("pending", 1, 500)
    store.close()
    # a process that stopped before sending at all: the row is all that is left
    store = Store(db)
    never = Webhooks(store, start=False)
    [unsent] = never.emit("touchpoints.stored", {"accepted": 8})
    store.close()

    store = Store(db)
    second = Webhooks(store, policy=FAST)
    try:
        wait_for(lambda: len(receiver.on("/later")) == 3)
        by_id = {h.headers["X-Parcours-Delivery"]: h for h in receiver.on("/later")}
        assert set(by_id) == {delivery_id, unsent}
        assert all(verify(secret, h.headers["X-Parcours-Signature"], h.body) for h in by_id.values())
        assert by_id[delivery_id].json()["data"] == {"accepted": 7}
        wait_for(lambda: all(d["status"] == "delivered" for d in second.deliveries(webhook_id)))
        assert sorted(d["attempts"] for d in second.deliveries(webhook_id)) == [1, 2]
    finally:
        second.close()
        store.close()


def test_a_file_import_tells_subscribers_once_the_server_sends(receiver, tmp_path):
    """`parcours import` (its own process) records the deliveries; a sender delivers them later."""
    db = tmp_path / "files.duckdb"
    store = Store(db)
    webhook_id, secret = Webhooks(store, start=False).subscribe(receiver.url + "/files",
                                                                ["touchpoints.stored", "orders.*"])
    store.close()
    csv = tmp_path / "touchpoints.csv"
    csv.write_text("event_id,ts,email,channel,kind\n"
                   "f1,2026-01-01T10:00:00Z,a@x.fr,email,contact\n"
                   "f2,2026-01-01T11:00:00Z,a@x.fr,phone,contact\n"
                   "f3,2026-01-01T12:00:00Z,a@x.fr,fax,contact\n")  # fax: quarantined
    done = run_parcours("--db", str(db), "import", str(csv), "--json")
    assert done.returncode == 1, done.stderr  # 1: some rows quarantined
    (rep,) = json.loads(done.stdout)
    again = run_parcours("--db", str(db), "import", str(csv), "--json")  # nothing new: no event
    assert json.loads(again.stdout)[0]["accepted"] == 0

    store = Store(db)
    hooks = Webhooks(store, policy=FAST)
    try:
        hit = wait_for(lambda: receiver.on("/files"))[0]
        assert verify(secret, hit.headers["X-Parcours-Signature"], hit.body, tolerance_s=60)
        assert hit.json()["event"] == "touchpoints.stored"
        assert hit.json()["data"] == {"table": "touchpoints", "import_id": rep["import_id"], "accepted": 2,
                                      "duplicates": 0, "quarantined": 1, "via": "import"}
        wait_for(lambda: hooks.deliveries(webhook_id)[0]["status"] == "delivered")
        assert len(hooks.deliveries(webhook_id)) == 1
    finally:
        hooks.close()
        store.close()


def test_emit_never_raises_into_the_writer(tmp_path):
    store = Store(tmp_path / "closed.duckdb")
    hooks = Webhooks(store, start=False)
    hooks.subscribe("http://127.0.0.1:9/", ["*"])
    store.close()
    assert hooks.emit("touchpoints.stored", {"accepted": 1}) == []


# -- through the running app ----------------------------------------------------------------
def _call(base: str, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.loads(e.read() or b"null")


def _token(db: Path, name: str, role: str) -> str:
    res = run_parcours("--db", str(db), "tokens", "create", name, "--role", role)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip().splitlines()[-1]


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    db = tmp_path / "app.duckdb"
    admin, analyst = _token(db, "hooks-admin", "admin"), _token(db, "reader", "analyst")  # before the server
    port = _free_port()
    proc = subprocess.Popen(parcours_cmd("--db", str(db), "serve", "--port", str(port)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(base), timeout=30)
    except AssertionError:
        proc.kill()
        pytest.fail("server did not start: " + proc.communicate()[0].decode())
    yield base, admin, analyst
    proc.terminate()
    proc.wait(10)
    assert proc.stdout is not None
    proc.stdout.close()


def _up(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/health", timeout=1):
            return True
    except (urllib.error.URLError, ConnectionError):
        return False


def test_stored_touchpoints_reach_a_subscriber_through_the_api(receiver, app_server):
    base, admin, analyst = app_server
    code, hook = _call(base, "POST", "/api/v1/webhooks", admin, {"url": receiver.url + "/crm",
                                                                 "events": ["touchpoints.*"]})
    assert code == 201, hook
    assert hook["webhook_id"].startswith("wh_") and hook["secret"].startswith("whsec_")
    assert hook["events"] == ["touchpoints.*"] and hook["created_by"] == "token:hooks-admin"
    code, listed = _call(base, "GET", "/api/v1/webhooks", admin)
    assert code == 200 and [w["webhook_id"] for w in listed] == [hook["webhook_id"]]
    assert "secret" not in json.dumps(listed)

    rows = [{"event_id": "e1", "ts": "2026-01-01T10:00:00Z", "email": "a@x.fr", "channel": "email", "kind": "contact"},
            {"event_id": "e2", "ts": "2026-01-01T11:00:00Z", "email": "a@x.fr", "channel": "phone", "kind": "contact"}]
    code, receipt = _call(base, "POST", "/api/v1/touchpoints?wait=true", admin, rows)
    assert code == 200 and receipt["status"] == "stored", receipt
    hit = wait_for(lambda: receiver.on("/crm"))[0]
    assert verify(hook["secret"], hit.headers["X-Parcours-Signature"], hit.body, tolerance_s=60)
    msg = hit.json()
    assert msg["event"] == "touchpoints.stored" == hit.headers["X-Parcours-Event"]
    assert msg["data"]["table"] == "touchpoints" and msg["data"]["accepted"] == 2 and msg["data"]["via"] == "api"
    assert msg["data"]["import_id"] == receipt["import_id"]

    code, sent = _call(base, "POST", f"/api/v1/webhooks/{hook['webhook_id']}/test", admin)
    assert code == 202 and sent["event"] == "ping"
    wait_for(lambda: len(receiver.on("/crm")) == 2)
    ping = receiver.on("/crm")[1]
    assert ping.json()["event"] == "ping" and ping.headers["X-Parcours-Delivery"] == sent["delivery_id"]
    deliveries = wait_for(lambda: (lambda d: d if all(x["status"] == "delivered" for x in d) else None)(
        _call(base, "GET", f"/api/v1/webhooks/{hook['webhook_id']}/deliveries", admin)[1]))
    assert [(d["event"], d["attempts"], d["last_status"]) for d in deliveries] == [
        ("ping", 1, 200), ("touchpoints.stored", 1, 200)]

    code, audit = _call(base, "GET", "/api/v1/audit", admin)
    assert ("webhook.create", hook["webhook_id"]) in [(a["action"], a["target"]) for a in audit]
    code, gone = _call(base, "DELETE", f"/api/v1/webhooks/{hook['webhook_id']}", admin)
    assert code == 200 and _call(base, "GET", "/api/v1/webhooks", admin) == (200, [])


def test_the_webhooks_api_is_for_admins_and_explains_bad_requests(app_server):
    base, admin, analyst = app_server
    good = {"url": "https://crm.example.com/hook", "events": ["*"]}
    assert _call(base, "POST", "/api/v1/webhooks", None, good)[0] == 401
    code, body = _call(base, "POST", "/api/v1/webhooks", analyst, good)
    assert code == 403 and "admin" in body["detail"]
    assert _call(base, "GET", "/api/v1/webhooks", analyst)[0] == 403
    for bad, says in [({"url": "ftp://x.fr/h", "events": ["*"]}, "http:// or https://"),
                      ({"url": "https://x.fr/h", "events": ["touchpoint.stored"]}, "unknown event"),
                      ({"url": "https://x.fr/h", "events": []}, "events"),
                      ({"url": "https://x.fr/h"}, "events"),
                      ({"url": 12, "events": ["*"]}, "url"),
                      ({"url": "https://x.fr/h", "events": "*"}, "events"),
                      ({"url": "http://x.fr:99999/", "events": ["*"]}, "not a valid URL"),
                      ([1, 2], "body"), ("not json", "body")]:
        code, body = _call(base, "POST", "/api/v1/webhooks", admin, bad)
        assert code == 422 and says in body["detail"], (bad, code, body)
    for method, path in [("DELETE", "/api/v1/webhooks/wh_nope"), ("GET", "/api/v1/webhooks/wh_nope/deliveries"),
                         ("POST", "/api/v1/webhooks/wh_nope/test")]:
        code, body = _call(base, method, path, admin)
        assert code == 404 and "wh_nope" in body["detail"]
    assert _call(base, "GET", "/api/v1/webhooks/wh_nope/deliveries?limit=0", admin)[0] == 422


def test_the_documented_receiver_snippet_verifies_our_signatures():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "webhooks.md").read_text(encoding="utf-8")
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(code, scope)
    body = b'{"id":"d_1","event":"ping","created_at":"2026-01-01T10:00:00Z","data":{}}'
    header = sign("whsec_doc", int(time.time()), body)
    assert scope["verify"]("whsec_doc", header, body)
    assert not scope["verify"]("whsec_doc", header, body + b" ")
    assert not scope["verify"]("whsec_doc", sign("whsec_doc", int(time.time()) - 301, body), body)
    assert "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789" in doc
