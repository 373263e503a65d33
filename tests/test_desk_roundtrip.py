"""The desk's e-mail round trip over real SMTP on loopback, through a real ``parcours serve``:
a customer of the demo world writes → a case of that person → an agent replies → the
customer's mail server receives the reply threaded → the customer answers by mail (same case)
and then on the chat (same case again). Plus the outbox's retries and its once-only sending,
and the case token that only the case's own person may use."""

from __future__ import annotations

import json
import shutil
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from conftest import Served, free_port, make_token
from parcours.desk import agents, cases
from parcours.desk.email_channel import MailSettings, receive_mail
from parcours.desk.mail import InboundMail, MailLimits, parse
from parcours.desk.outbox import Outbox, pending
from parcours.desk.smtp import SmtpListener
from parcours.store import Store

DESK = "desk.example.fr"
BODY = ("Bonjour,\n\nMa commande 48213 n’est toujours pas arrivée, le suivi ne bouge plus depuis lundi.\n"
        "Où en est-elle ?\n\nHéloïse")
REPLY = ("Bonjour,\n\nNous avons ouvert une enquête auprès du transporteur pour la commande 48213 : "
         "réponse sous 48 h.\n\nÉlodie")


class Mailbox:
    """The customer's mail server (our relay on loopback): keeps every mail it gets."""

    def __init__(self) -> None:
        self.mails: list[tuple[InboundMail, bytes]] = []

    def __call__(self, mail: InboundMail, raw: bytes) -> None:
        self.mails.append((mail, raw))

    def wait(self, n: int, timeout: float = 30.0) -> list[tuple[InboundMail, bytes]]:
        end = time.monotonic() + timeout
        while len(self.mails) < n and time.monotonic() < end:
            time.sleep(0.1)
        return self.mails


class Server(Served):
    """``parcours serve`` with the e-mail channel on."""

    def __init__(self, db: Path, smtp_port: int, relay_port: int) -> None:
        super().__init__(db, "--mail-domain", DESK, "--smtp-port", str(smtp_port),
                         "--smtp-relay", f"127.0.0.1:{relay_port}")

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())



def customer_mail(sender: str, *, subject: str, body: str, message_id: str, in_reply_to: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Héloïse Dupré <{sender}>"
    msg["To"] = f"Service client <support@{DESK}>"
    msg["Subject"] = subject
    msg["Date"] = "Mon, 23 Nov 2026 09:30:00 +0100"
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    return msg.as_bytes(policy=policy.SMTP)


def smtp_send(port: int, sender: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, [f"support@{DESK}"], raw)


@pytest.fixture
def world(tmp_path: Path, demo_world: tuple[Path, Path]) -> tuple[Path, str, str]:
    """A copy of the demo world's store with one agent: (store, a customer's e-mail, their person)."""
    db = tmp_path / "store.duckdb"
    shutil.copy(demo_world[0], db)
    with Store(db) as store:
        row = store.con.execute(
            "SELECT value, person_id FROM identities WHERE kind = 'email' AND person_id IN "
            "(SELECT person_id FROM identities GROUP BY person_id HAVING count(*) >= 2) ORDER BY value LIMIT 1"
        ).fetchone()
        assert row is not None
        email, person = row
        agents.add_agent(store, "elodie", "Élodie", languages=["fr"], status="online")
    return db, str(email), str(person)


@pytest.fixture
def mailbox(world: tuple[Path, str, str]) -> Iterator[tuple[SmtpListener, Mailbox]]:
    box = Mailbox()
    domain = world[1].rpartition("@")[2]
    with SmtpListener("127.0.0.1", free_port(), box, domains=[domain], quarantine=world[0].parent / "q") as lst:
        yield lst, box


def test_mail_to_case_reply_threaded_then_mail_and_chat_land_on_the_same_case(
        world: tuple[Path, str, str], mailbox: tuple[SmtpListener, Mailbox]) -> None:
    db, email, person = world
    relay, box = mailbox
    smtp_port = free_port()
    token = make_token(db, "agent", "elodie")  # an agent's API token (the agent id is its name)
    auth = {"Authorization": f"Bearer {token}"}
    server = Server(db, smtp_port, relay.port)
    try:
        # 1. the customer writes; the served desk stores it on a case of the right person
        smtp_send(smtp_port, email, customer_mail(email, subject="Commande 48213 toujours pas arrivée", body=BODY,
                                                  message_id="<c1.48213@client.example>"))
        found = server.call("GET", "/api/v1/desk/inbox?" + urlencode({"q": email}), headers=auth)["cases"]
        assert [(c["person_id"], c["channel"], c["subject"]) for c in found] == [
            (person, "email", "Commande 48213 toujours pas arrivée")]
        case_id = found[0]["case_id"]
        case = server.call("GET", f"/api/v1/desk/cases/{case_id}", headers=auth)
        assert case["case"]["person_id"] == person and "toujours pas arrivée" in case["messages"][-1]["body"]
        # 2. an agent replies through the desk API
        server.call("POST", f"/api/v1/desk/cases/{case_id}/reply",
                    {"body": REPLY, "version": case["case"]["version"]}, headers=auth)
        # 3. the served outbox sends it; the customer's server gets it threaded, accents intact
        (got, raw), = box.wait(1)
        assert got.in_reply_to == "<c1.48213@client.example>"
        assert got.references == ("<c1.48213@client.example>",)
        assert f"[#{case_id}]" in got.subject and got.subject.startswith("Re: Commande 48213")
        assert got.new_text == REPLY and got.from_addr == f"support@{DESK}" and email in raw.decode()
        health = server.call("GET", "/health")["mail"]
        assert health["sent"] == 1 and health["waiting"] == 0 and health["relay"] == f"127.0.0.1:{relay.port}"
        # 4. the customer answers the reply by mail: threaded on the outbound Message-ID
        smtp_send(smtp_port, email, customer_mail(email, subject="Re: " + got.subject, body="Merci, j’attends.",
                                                  message_id="<c2.48213@client.example>",
                                                  in_reply_to=got.message_id))
        # 5. … and then on the chat, about the same order, with the same e-mail address
        chat = {"X-Chat-Token": server.call("POST", "/chat/conversations", {"language": "fr"})["token"]}
        server.call("POST", "/chat/messages", {"text": "Ma commande 48213 n'est toujours pas arrivée, le suivi "
                                                       "ne bouge plus", "email": email}, chat)
        said = server.call("POST", "/chat/messages", {"text": "je veux parler à un conseiller"}, chat)
        assert said["state"]["case_id"] == case_id, said
        time.sleep(3)  # the outbox's next rounds: nothing is sent twice
        assert len(box.mails) == 1
    finally:
        server.stop()
    with Store(db) as store:
        view = cases.get(store, case_id)
        by = [(m.author, m.channel) for m in view.messages]
        assert by == [("customer", "email"), ("agent", "email"), ("customer", "email"), ("customer", "chat")]
        assert "Transfert du bot" in (view.messages[-1].body or "")
        assert "Client : Ma commande 48213" in (view.messages[-1].body or "")
        assert any(e.kind == "channel_hop" and e.detail == {"from": "email", "to": "chat"} for e in view.events)
        assert store.con.execute("SELECT outcome::VARCHAR FROM touchpoints WHERE channel = 'chatbot' AND case_id = ?",
                                 [case_id]).fetchall() == [("transferred",)]


# -- in process: the outbox and the case token ---------------------------------------------
def _mail(sender: str, subject: str, message_id: str) -> InboundMail:
    raw = (f"From: {sender}\r\nTo: support@{DESK}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nMa facture 7781 est fausse.\r\n").encode()
    return parse(raw, limits=MailLimits(), received_at=datetime.now(timezone.utc))


def _replied(store: Store) -> tuple[cases.Received, cases.Posted]:
    """A customer's mail on a new case and an agent's public reply to send."""
    agents.add_agent(store, "elodie", "Élodie")
    got = receive_mail(store, _mail("marc@client.example", "Facture 7781", "<f1@client.example>"))
    return got, cases.reply(store, got.case_id, "elodie", "Nous corrigeons la facture.", expected_version=got.version)


def test_outbox_retries_a_relay_that_is_down_and_never_sends_twice(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        got, _ = _replied(store)
        port = free_port()
        outbox = Outbox(store, DESK, f"support@{DESK}", ("127.0.0.1", port), timeout=5)
        assert outbox.run_once() == 0 and "cannot reach SMTP server" in (outbox.last_error or "")
        assert len(pending(store)) == 1  # kept, to be retried
        box = Mailbox()
        with SmtpListener("127.0.0.1", port, box, domains=["client.example"], quarantine=tmp_path / "q"):
            assert outbox.run_once() == 0  # backing off
            for retry in outbox._retry.values():
                retry.not_before = 0.0
            assert outbox.run_once() == 1 and outbox.run_once() == 0
            assert len(box.mails) == 1 and pending(store) == []
        # a restart after a crash in the middle of sending: the claim is never sent again
        store.con.execute("UPDATE message_refs SET direction = 'sending' WHERE direction = 'out'")
        restarted = Outbox(store, DESK, f"support@{DESK}", None)
        restarted.start()
        restarted.stop()  # before the store closes: its thread reads the store
        assert pending(store) == [] and store.con.execute(
            "SELECT count(*) FROM message_refs WHERE direction = 'uncertain'").fetchone() == (1,)


def test_outbox_without_relay_keeps_replies_and_says_so(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        got, _ = _replied(store)
        outbox = Outbox(store, DESK, f"support@{DESK}", None)
        assert outbox.run_once() == 0
        status = outbox.status()
        assert status["waiting"] == 1 and status["relay"] is None and "no relay" in status["state"]


def test_a_case_token_in_the_subject_is_trusted_only_from_the_case_person(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        first = receive_mail(store, _mail("marc@client.example", "Facture 7781", "<f1@client.example>"))
        again = receive_mail(store, _mail("marc@client.example", f"Re: Facture [#{first.case_id}]", "<f2@x>"))
        assert (again.case_id, again.how) == (first.case_id, "thread")
        other = receive_mail(store, _mail("intrus@autre.example", f"Facture [#{first.case_id}]", "<f3@x>"))
        assert other.case_id != first.case_id and other.person_id != first.person_id
        dup = receive_mail(store, _mail("marc@client.example", "Facture 7781", "<f1@client.example>"))
        assert dup.how == "duplicate"


def test_serve_mail_options_are_checked(cli: Any) -> None:
    assert MailSettings.parse_relay("smtp.example.fr:587") == ("smtp.example.fr", 587)
    assert MailSettings.parse_relay("smtp.example.fr") == ("smtp.example.fr", 25)
    assert MailSettings.parse_relay("") is None
    with pytest.raises(ValueError, match="host:port"):
        MailSettings.parse_relay("smtp.example.fr:x")
    with pytest.raises(ValueError, match="starttls"):
        MailSettings(DESK, relay_tls="ssl3")
    code, out, _ = cli("serve", "--smtp-port", "2525")
    assert code == 2 and "--mail-domain" in out
    code, out, _ = cli("serve", "--mail-domain", DESK, "--smtp-relay", "relay:abc")
    assert code == 2 and "host:port" in out


# -- bounces -------------------------------------------------------------------------------
def dsn(original_id: str, bounce_id: str, *, recipient: str = "marc@client.example", action: str = "failed",
        status: str = "5.1.1", returned: str = "headers") -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes one; ``returned``: the
    original's headers (text/rfc822-headers) or the whole message (message/rfc822)."""
    original = f"From: support@{DESK}\nTo: {recipient}\nSubject: Re: Facture 7781\nMessage-ID: {original_id}\n"
    part = ("Content-Type: text/rfc822-headers\n\n" + original if returned == "headers"
            else "Content-Type: message/rfc822\n\n" + original + "\nNous corrigeons la facture.\n")
    raw = f"""From: Mail Delivery System <MAILER-DAEMON@mx.client.example>
To: support@{DESK}
Subject: Undelivered Mail Returned to Sender
Message-ID: {bounce_id}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered to one or more recipients.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.client.example
Arrival-Date: Mon, 23 Nov 2026 10:00:00 +0100

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected:
    User unknown in virtual mailbox table

--B
{part}
--B--
"""
    return raw.replace("\n", "\r\n").encode()


def test_a_bounced_reply_is_marked_on_its_case_and_creates_no_person(tmp_path: Path) -> None:
    from parcours.desk.email_channel import quarantine_dir, start_listener

    with Store(tmp_path / "s.duckdb") as store:
        got, posted = _replied(store)
        relay_port, box = free_port(), Mailbox()
        with SmtpListener("127.0.0.1", relay_port, box, domains=["client.example"], quarantine=tmp_path / "q"):
            assert Outbox(store, DESK, f"support@{DESK}", ("127.0.0.1", relay_port), timeout=5).run_once() == 1
        sent_id = box.wait(1)[0][0].message_id
        persons_before = store.con.execute("SELECT count(*) FROM persons").fetchone()
        version = cases.get(store, got.case_id).case.version

        listener = start_listener(store, MailSettings(DESK, smtp_port=free_port()))
        assert listener is not None
        try:
            for returned in ("headers", "headers", "message"):  # the second: the same bounce delivered again
                bounce_id = "<b2@mx.client.example>" if returned == "message" else "<b1@mx.client.example>"
                with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as c:
                    c.sendmail("", [f"support@{DESK}"], dsn(sent_id, bounce_id, returned=returned,
                                                            action="delayed" if returned == "message" else "failed",
                                                            status="4.4.1" if returned == "message" else "5.1.1"))
            with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as c:  # about a mail we never sent
                c.sendmail("", [f"support@{DESK}"], dsn("<ours-not@elsewhere>", "<b3@mx.client.example>"))
        finally:
            listener.stop()

        view = cases.get(store, got.case_id)
        events = [(e.kind, e.actor, e.detail["message_id"], e.detail["recipient"], e.detail["status"])
                  for e in view.events if e.kind.startswith("delivery_")]
        assert events == [("delivery_failed", "mail", posted.message_id, "marc@client.example", "5.1.1"),
                          ("delivery_delayed", "mail", posted.message_id, "marc@client.example", "4.4.1")]
        failed = next(e for e in view.events if e.kind == "delivery_failed")
        assert "User unknown in virtual mailbox table" in failed.detail["diagnostic"]
        # not a customer's message: no new person, message or case, and the case did not move
        assert store.con.execute("SELECT count(*) FROM persons").fetchone() == persons_before
        assert len(view.messages) == 2 and view.case.version == version
        assert store.con.execute("SELECT count(*) FROM identities WHERE value LIKE 'mailer-daemon%'").fetchone() == (0,)
        kept = list(quarantine_dir(store).glob("*.json"))
        assert len(kept) == 1 and "bounce about a mail the desk did not send" in kept[0].read_text()


def test_a_reply_the_relay_refuses_for_good_is_marked_on_its_case(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        got, posted = _replied(store)
        port = free_port()  # a relay that refuses the customer's domain at RCPT TO (550)
        with SmtpListener("127.0.0.1", port, Mailbox(), domains=["autre.example"], quarantine=tmp_path / "q"):
            outbox = Outbox(store, DESK, f"support@{DESK}", ("127.0.0.1", port), timeout=5)
            assert outbox.run_once() == 0 and outbox.failed == 1 and pending(store) == []
        [e] = [e for e in cases.get(store, got.case_id).events if e.kind == "delivery_failed"]
        assert e.detail["message_id"] == posted.message_id and "550" in e.detail["diagnostic"]
