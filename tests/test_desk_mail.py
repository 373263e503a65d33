"""The e-mail channel: parsing, threading, replies, and real SMTP on loopback (desk and customer)."""

from __future__ import annotations

import hashlib
import json
import smtplib
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from parcours.desk import mail as mail_module
from parcours.desk import smtp as smtp_module
from parcours.desk.mail import (
    Attachment,
    CaseToken,
    InboundMail,
    MailError,
    MailLimits,
    find_case,
    html_to_text,
    new_text,
    normalise_subject,
    parse,
    quarantine_raw,
    thread_keys,
)
from parcours.desk.smtp import SmtpListener, compose_reply, send

DESK = "desk.example.fr"
CUSTOMER = "exemple.fr"
SUPPORT = f"support@{DESK}"
LIMITS = MailLimits(max_message_bytes=256 * 1024, max_attachment_bytes=64 * 1024, max_attachments_bytes=100 * 1024)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

# A French mail as old clients send it: Latin-1 label, cp1252 bytes (’ and €), quoted-printable,
# RFC 2047 encoded name and subject, upper-case address, and a signature.
FIRST = (
    b"From: =?iso-8859-1?q?H=E9lo=EFse_Dupr=E9?= <Heloise.Dupre@Exemple.FR>\r\n"
    b"To: Service client <support@desk.example.fr>\r\n"
    b"Subject: =?iso-8859-1?q?R=E9clamation?= commande 123\r\n"
    b"Date: Tue, 3 Mar 2026 10:00:00 +0100\r\n"
    b"Message-ID: <m1.4242@exemple.fr>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Bonjour,\r\n\r\n"
    b"Ma commande n=92est toujours pas arriv=E9e et j=92ai =E9t=E9 d=E9bit=E9e de 49,90 =80.\r\n"
    b"O=F9 en est-elle ?\r\n\r\n"
    b"-- \r\nH=E9lo=EFse Dupr=E9\r\n"
)
FIRST_NEW = ("Bonjour,\n\nMa commande n’est toujours pas arrivée et j’ai été débitée de 49,90 €.\n"
             "Où en est-elle ?")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """An ``on_mail`` that keeps what it gets, and fails on demand (a store that is down)."""

    def __init__(self) -> None:
        self.mails: list[tuple[InboundMail, bytes]] = []
        self.failures = 0

    def __call__(self, mail: InboundMail, raw: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("store unavailable")
        self.mails.append((mail, raw))

    @property
    def last(self) -> InboundMail:
        return self.mails[-1][0]


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[SmtpListener, Mailbox]]:
    box = Mailbox()
    with SmtpListener("127.0.0.1", free_port(), box, LIMITS, domains=[DESK, "DESK.example.com "],
                      quarantine=tmp_path / "quarantine") as listener:
        yield listener, box


def deliver(listener: SmtpListener, raw: bytes, *, rcpt: str = SUPPORT,
            sender: str = "heloise.dupre@exemple.fr") -> None:
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=5) as client:
        client.sendmail(sender, [rcpt], raw)


def build(subject: str = "Question", body: str = "Bonjour", *, headers: dict[str, str] | None = None,
          attachments: list[tuple[str, str, bytes]] | None = None, subtype: str = "plain") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Héloïse Dupré <heloise.dupre@exemple.fr>"
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Date"] = "Wed, 4 Mar 2026 09:30:00 +0100"
    msg["Message-ID"] = "<m2.4242@exemple.fr>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body, subtype=subtype)
    for filename, ctype, data in attachments or []:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes(policy=policy.SMTP)


def lookup_in(known: dict[str, str], asked: list[list[str]] | None = None) -> Callable[[list[str]], str | None]:
    """The desk's Message-ID → case lookup, recording what it was asked."""
    def lookup(keys: list[str]) -> str | None:
        if asked is not None:
            asked.append(keys)
        return next((known[k] for k in keys if k in known), None)
    return lookup


# -- over SMTP -----------------------------------------------------------------------------
def test_french_latin1_mail_is_decoded_and_kept_byte_for_byte(desk: tuple[SmtpListener, Mailbox]) -> None:
    listener, box = desk
    deliver(listener, FIRST)
    mail, raw = box.mails[0]
    assert raw == FIRST
    assert (mail.from_name, mail.from_addr) == ("Héloïse Dupré", "heloise.dupre@exemple.fr")
    assert mail.subject == "Réclamation commande 123"
    assert mail.to == (SUPPORT,) and mail.envelope_to == (SUPPORT,)
    assert mail.date == datetime(2026, 3, 3, 9, 0, tzinfo=timezone.utc) and mail.date.utcoffset() is not None
    assert (mail.message_id, mail.message_id_generated) == ("<m1.4242@exemple.fr>", False)
    assert mail.new_text == FIRST_NEW
    assert mail.text.endswith("-- \nHéloïse Dupré")
    assert not mail.is_auto_reply


def test_a_reply_keeps_only_its_new_text_and_threads_to_the_first_message(
        desk: tuple[SmtpListener, Mailbox]) -> None:
    listener, box = desk
    deliver(listener, FIRST)
    quoted = "\n".join("> " + line for line in FIRST_NEW.splitlines())
    body = (f"Je précise : le colis devait arriver le 28 février.\n\n"
            f"Le mar. 3 mars 2026 à 10:00, Héloïse Dupré <heloise.dupre@exemple.fr> a écrit :\n{quoted}\n")
    deliver(listener, build("RE: Réclamation commande 123", body,
                            headers={"In-Reply-To": "<m1.4242@exemple.fr>", "References": "<m1.4242@exemple.fr>"}))
    first, reply = box.mails[0][0], box.last
    assert reply.new_text == "Je précise : le colis devait arriver le 28 février."
    assert "Où en est-elle ?" in reply.text  # the whole text is kept too
    asked: list[list[str]] = []
    assert find_case(reply, lookup_in({first.message_id: "C-12345"}, asked)) == "C-12345"
    assert asked == [["<m1.4242@exemple.fr>"]]
    assert normalise_subject(reply.subject).casefold() == normalise_subject(first.subject).casefold()


def test_pdf_attachment_is_kept_and_exe_refused_with_the_mail_kept(desk: tuple[SmtpListener, Mailbox]) -> None:
    listener, box = desk
    deliver(listener, build("Facture", "Ci-joint la facture.", attachments=[("facture é.pdf", "application/pdf", PDF)]))
    pdf_mail = box.last
    assert [(a.filename, a.content_type, a.size, a.data) for a in pdf_mail.attachments] == [
        ("facture é.pdf", "application/pdf", len(PDF), PDF)]
    assert pdf_mail.attachments[0].sha256 == hashlib.sha256(PDF).hexdigest() and pdf_mail.refused == ()

    exe = b"MZ\x90\x00" + bytes(300)
    deliver(listener, build("Facture", "Voici le programme.",
                            attachments=[("facture.exe", "application/x-msdownload", exe)]))
    exe_mail = box.last
    assert exe_mail.new_text == "Voici le programme." and exe_mail.attachments == ()
    assert [(r.filename, r.size) for r in exe_mail.refused] == [("facture.exe", len(exe))]
    assert "application/x-msdownload is not accepted" in exe_mail.refused[0].reason


def test_oversized_mail_is_refused_with_552_whether_announced_or_not(desk: tuple[SmtpListener, Mailbox]) -> None:
    listener, box = desk
    huge = build("Photos", ("x" * 99 + "\n") * 3000)  # 300 kB > 256 KiB
    with pytest.raises(smtplib.SMTPSenderRefused) as announced:  # SIZE=… at MAIL FROM
        deliver(listener, huge)
    assert announced.value.smtp_code == 552
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=5) as client:  # no SIZE: refused after DATA
        client.ehlo()
        client.mail("heloise.dupre@exemple.fr")
        client.rcpt(SUPPORT)
        code, _ = client.data(huge)
    assert code == 552
    assert box.mails == []


def test_malformed_mail_is_quarantined_raw_then_refused_with_a_reason(
        desk: tuple[SmtpListener, Mailbox], tmp_path: Path) -> None:
    listener, box = desk
    garbage = b"\x89PNG\x00\x01\x02 not a mail\r\n\xff\xfe binary\r\n"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        deliver(listener, garbage)
    assert refused.value.smtp_code == 554
    assert b"not an RFC 5322 message" in refused.value.smtp_error
    [kept] = (tmp_path / "quarantine").glob("*.eml")
    assert kept.read_bytes() == garbage
    meta = json.loads(kept.with_suffix(".json").read_text())
    assert meta["reason"].startswith("not an RFC 5322 message")
    assert meta["sha256"] == hashlib.sha256(garbage).hexdigest()
    assert kept.stem.encode() in refused.value.smtp_error
    injected = FIRST.replace(b"To: ", b"From: boss@desk.example.fr\r\nTo: ", 1)
    with pytest.raises(smtplib.SMTPDataError, match="From header appears 2 times"):
        deliver(listener, injected)
    assert len(list((tmp_path / "quarantine").glob("*.eml"))) == 2 and box.mails == []


def test_auto_replies_and_bounces_are_flagged(desk: tuple[SmtpListener, Mailbox]) -> None:
    listener, box = desk
    deliver(listener, build("Réponse automatique : absente jusqu'au 10 mars", "Je suis absente.",
                            headers={"Auto-Submitted": "auto-replied"}))
    assert box.last.auto_reply == "Auto-Submitted: auto-replied"
    deliver(listener, build("Votre message", "Non distribué"), sender="")  # MAIL FROM:<>
    assert box.last.auto_reply == "null sender (bounce)"
    deliver(listener, build("Une vraie question", "Bonjour"))
    assert box.last.auto_reply is None


def test_a_failing_store_answers_451_and_the_retry_gets_through(desk: tuple[SmtpListener, Mailbox]) -> None:
    listener, box = desk
    box.failures = 1
    with pytest.raises(smtplib.SMTPDataError) as later:
        deliver(listener, FIRST)
    assert later.value.smtp_code == 451 and box.mails == []
    deliver(listener, FIRST)
    assert [m.message_id for m, _ in box.mails] == ["<m1.4242@exemple.fr>"]


def test_mail_for_another_domain_is_refused_at_rcpt(desk: tuple[SmtpListener, Mailbox]) -> None:
    listener, box = desk
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        deliver(listener, FIRST, rcpt="someone@elsewhere.org")
    assert refused.value.recipients["someone@elsewhere.org"][0] == 550
    deliver(listener, FIRST, rcpt="Contact@Desk.Example.Com")  # second domain, any case
    assert box.last.envelope_to == ("contact@desk.example.com",)


def test_round_trip_customer_mail_agent_reply_threaded_in_the_customer_mailbox(
        desk: tuple[SmtpListener, Mailbox], tmp_path: Path) -> None:
    listener, box = desk
    cases: dict[str, str] = {}  # what the desk stores: every message's Message-ID → case
    deliver(listener, FIRST)
    first = box.last
    cases[first.message_id] = "C-12345"

    reply = compose_reply("C-12345", first.from_addr, first.subject,
                          "Bonjour Héloïse,\n\nNous sommes désolés : le colis arrive demain, et les 4,90 € "
                          "de port vous sont remboursés.\n\nÉlodie, service client",
                          in_reply_to=first.message_id, references=first.references,
                          from_addr=f"Élodie — Service client <{SUPPORT}>", domain=DESK,
                          html="<p>Nous sommes <b>désolés</b> : le colis arrive demain.</p>")
    cases[str(reply["Message-ID"])] = "C-12345"
    customer = Mailbox()
    with SmtpListener("127.0.0.1", free_port(), customer, domains=[CUSTOMER],
                      quarantine=tmp_path / "customer-quarantine") as mailbox:
        assert send(reply, "127.0.0.1", mailbox.port, timeout=5) == {}
    got = customer.last
    assert got.message_id == reply["Message-ID"] and got.message_id.endswith(f"@{DESK}>")
    assert got.in_reply_to == "<m1.4242@exemple.fr>" and got.references == ("<m1.4242@exemple.fr>",)
    assert got.subject == "Re: Réclamation commande 123 [#C-12345]"
    assert got.from_name == "Élodie — Service client"
    assert "Nous sommes désolés : le colis arrive demain, et les 4,90 € de port" in got.text
    assert got.to == ("heloise.dupre@exemple.fr",)

    # the customer answers the reply (with a subject her client rewrote): threaded by Message-ID
    answer = build("TR: RE: votre dossier", "Merci beaucoup !\n\nOn Wed, Mar 4, 2026 at 9:00 AM Élodie wrote:\n> …",
                   headers={"In-Reply-To": got.message_id, "References": f"{first.message_id} {got.message_id}"})
    deliver(listener, answer)
    assert thread_keys(box.last) == [got.message_id, first.message_id]
    assert find_case(box.last, lookup_in(cases)) == "C-12345"
    assert box.last.new_text == "Merci beaucoup !"


def test_send_to_a_closed_port_is_a_clear_temporary_error() -> None:
    port = free_port()
    msg = compose_reply("C-1", "a@exemple.fr", "Bonjour", "Texte", in_reply_to=None, from_addr=SUPPORT, domain=DESK)
    with pytest.raises(MailError, match=f"cannot reach SMTP server 127.0.0.1:{port}") as err:
        send(msg, "127.0.0.1", port, timeout=2)
    assert err.value.temporary


def test_send_refused_recipient_is_a_permanent_error(tmp_path: Path) -> None:
    msg = compose_reply("C-1", "a@elsewhere.org", "Bonjour", "Texte", in_reply_to=None, from_addr=SUPPORT, domain=DESK)
    with SmtpListener("127.0.0.1", free_port(), Mailbox(), domains=[CUSTOMER], quarantine=tmp_path) as mailbox:
        with pytest.raises(MailError, match="refused every recipient.*550") as err:
            send(msg, "127.0.0.1", mailbox.port, timeout=5)
    assert not err.value.temporary


def test_listener_needs_a_domain_and_a_free_port(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one domain"):
        SmtpListener("127.0.0.1", free_port(), Mailbox(), domains=[], quarantine=tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MailError, match=f"cannot listen for SMTP on 127.0.0.1:{port}"):
            SmtpListener("127.0.0.1", port, Mailbox(), domains=[DESK], quarantine=tmp_path).start()


# -- parsing -------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "expected"), [
    ("Merci !\n\nOn Mon, Mar 2, 2026 at 10:00 AM Support <s@d.fr> wrote:\n> old\n", "Merci !"),
    ("D'accord.\n\nLe lun. 2 mars 2026 à 10:00, Service client <support@desk.example.fr> a\nécrit :\n> vieux\n",
     "D'accord."),
    ("C'est noté.\n\nLe 2 mars 2026 à 10:00, Support a écrit\u00a0:\n\n> vieux\n", "C'est noté."),
    ("Bien reçu.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nold text\n", "Bien reçu."),
    ("Parfait.\n\n________________________________\nDe : Service client <s@d.fr>\nEnvoyé : lundi 2 mars 2026 10:00\n"
     "À : Moi\nObjet : RE: Colis\n\nvieux texte\n", "Parfait."),
    ("> question ?\nréponse 1\n> autre ?\nréponse 2\n", "réponse 1\nréponse 2"),
    ("Texte.\n\n--\nHéloïse\n06 12 34 56 78\n", "Texte."),
    ("Oui.\n\nEnvoyé de mon iPhone\n", "Oui."),
    ("Le vendeur a écrit : colis perdu.\nMerci de vérifier.", "Le vendeur a écrit : colis perdu.\nMerci de vérifier."),
    ("> seulement une citation\n", "> seulement une citation"),
])
def test_new_text_strips_quotes_and_signatures(body: str, expected: str) -> None:
    assert new_text(body) == expected


def test_html_only_mail_becomes_text_and_its_blockquote_is_stripped() -> None:
    html = ("<html><head><style>p {color: red}</style></head><body><div>Bonjour,<br>le colis est <b>ab&icirc;m&eacute;"
            "</b>.</div><ul><li>carton</li><li>produit</li></ul><div class='gmail_quote'>Le lun. 2 mars 2026 "
            "&agrave; 10:00, Support a &eacute;crit&nbsp;:<blockquote><p>vieux</p></blockquote></div></body></html>")
    mail = parse(build("Colis", html, subtype="html"), limits=LIMITS)
    assert mail.new_text == "Bonjour,\nle colis est abîmé.\n\n- carton\n- produit"
    assert "> vieux" in mail.text
    assert html_to_text("<script>alert(1)</script><p>a</p><p>b</p>") == "a\n\nb"


@pytest.mark.parametrize(("charset", "payload", "expected"), [
    ("utf-8", "Réclamation".encode("latin-1"), "Réclamation"),  # mislabelled Latin-1
    ("iso-8859-1", "Réclamation".encode("utf-8"), "Réclamation"),  # mislabelled UTF-8
    ("iso-8859-1", "l’été 49 €".encode("cp1252"), "l’été 49 €"),  # cp1252 under a Latin-1 label
    ("koi8-r", "привет".encode("koi8-r"), "привет"),  # other labels are trusted
])
def test_body_charset_fallbacks(charset: str, payload: bytes, expected: str) -> None:
    raw = (b"From: a@exemple.fr\r\nContent-Type: text/plain; charset=" + charset.encode()
           + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + payload + b"\r\n")
    assert parse(raw, limits=LIMITS).text == expected


def test_base64_body_and_raw_latin1_headers() -> None:
    raw = ("From: Ren\xe9 <rene@exemple.fr>\r\nSubject: Probl\xe8me\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\nw4dhIG1hcmNoZSDDoCBtb2l0acOpLg==\r\n").encode("latin-1")
    mail = parse(raw, limits=LIMITS)
    assert (mail.from_name, mail.subject, mail.text) == ("René", "Problème", "Ça marche à moitié.")


def test_missing_date_and_message_id_are_filled_in_and_flagged() -> None:
    raw = b"From: a@exemple.fr\r\nSubject: x\r\n\r\nhello\r\n"
    received = datetime(2026, 3, 5, 8, 0, tzinfo=timezone.utc)
    mail = parse(raw, limits=LIMITS, received_at=received)
    assert mail.date == received and mail.message_id_generated
    assert mail.message_id == parse(raw, limits=LIMITS).message_id  # a retried delivery gets the same one
    assert mail.message_id != parse(raw + b"!", limits=LIMITS).message_id
    mbox = parse(b"From a@exemple.fr Tue Mar  3 10:00:00 2026\nFrom: a@exemple.fr\n\nhello\n", limits=LIMITS)
    assert (mbox.from_addr, mbox.text) == ("a@exemple.fr", "hello")
    naive = parse(b"From: a@exemple.fr\r\nDate: Tue, 3 Mar 2026 10:00:00 -0000\r\n\r\nx", limits=LIMITS)
    assert naive.date == datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("raw", "reason"), [
    (b"", "not an RFC 5322 message"),
    (b"\x00\x01\x02\x03\xff garbage", "not an RFC 5322 message"),
    (b"Subject: hi\r\nTo: a@b.fr\r\n\r\nno sender\r\n", "no From header"),
    (b"From: nobody\r\nSubject: hi\r\n\r\nx\r\n", "From header holds no usable address"),
    (b"From: a@b.fr\r\nSubject: hi\rBcc: victim@c.fr\r\n\r\nx\r\n", "control character in header line 2"),
    (b"From: a@b.fr\r\nSubject: a\r\nSubject: b\r\n\r\nx\r\n", "Subject header appears 2 times"),
    (b"From: a@b.fr\r\nthis line is not a header\r\n\r\nx\r\n", "header line 2 is not 'Name: value'"),
    (b"From: a@b.fr\r\n\r\n" + b"x" * (LIMITS.max_message_bytes + 1), "over the limit"),
])
def test_malformed_input_raises_a_clear_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MailError, match=reason):
        parse(raw, limits=LIMITS)


def test_quarantine_keeps_exact_bytes_and_reason(tmp_path: Path) -> None:
    path = quarantine_raw(tmp_path / "q", b"\x00raw\r\n", "garbage")
    assert path.read_bytes() == b"\x00raw\r\n" and path.suffix == ".eml"
    assert json.loads(path.with_suffix(".json").read_text())["reason"] == "garbage"
    assert [p.name for p in (tmp_path / "q").iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize(("headers", "subject", "reason"), [
    ({"Auto-Submitted": "auto-generated"}, "Info", "Auto-Submitted: auto-generated"),
    ({"X-Autoreply": "yes"}, "Info", "X-Autoreply header"),
    ({"Precedence": "bulk"}, "Newsletter", "Precedence: bulk"),
    ({"Precedence": "auto_reply"}, "Info", "Precedence: auto_reply"),
    ({}, "Out of Office: back on Monday", "auto-reply subject"),
    ({}, "Réponse automatique : absent", "auto-reply subject"),
    ({"Return-Path": "<>"}, "Undelivered", "null sender (bounce)"),
    ({}, "Non remis : Votre message", "auto-reply subject"),
    ({}, "Colis non remis", None),
    ({"Auto-Submitted": "no"}, "Ma réponse au sujet de mon absence", None),
])
def test_auto_reply_detection(headers: dict[str, str], subject: str, reason: str | None) -> None:
    assert parse(build(subject, headers=headers), limits=LIMITS).auto_reply == reason


def test_attachment_limits_and_names() -> None:
    big = b"%PDF" + bytes(70 * 1024)
    mid = b"%PDF" + bytes(60 * 1024)
    raw = build("Pièces", "Voir PJ", attachments=[
        ("../../etc/passwd.pdf", "application/octet-stream", PDF),  # path stripped, type from the name
        ("gros.pdf", "application/pdf", big),  # over 64 KiB per attachment
        ("a.pdf", "application/pdf", mid), ("b.pdf", "application/pdf", mid),  # second one: over 100 KiB per mail
        ("facture.pdf", "application/pdf", b"MZ\x90\x00 renamed executable"),
        ("photo.svg", "image/svg+xml", b"<svg onload='alert(1)'/>"),
        ("notes.txt", "text/plain", "l’été".encode()),
    ])
    mail = parse(raw, limits=replace(LIMITS, max_message_bytes=1024 * 1024))
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("passwd.pdf", "application/pdf"), ("a.pdf", "application/pdf"), ("notes.txt", "text/plain")]
    assert mail.attachments[2].data == "l’été".encode()
    assert {r.filename: r.reason for r in mail.refused} == {
        "gros.pdf": f"{len(big)} bytes is over the limit of {64 * 1024} per attachment",
        "b.pdf": f"attachments of this mail would exceed {100 * 1024} bytes in total",
        "facture.pdf": "executable content",
        "photo.svg": "content type image/svg+xml is not accepted",
    }
    few = parse(raw, limits=MailLimits(max_attachments=1))
    assert len(few.attachments) == 1 and "more than 1 attachments" in few.refused[-1].reason


# -- threading and replies -----------------------------------------------------------------
def test_thread_keys_newest_first_then_subject_token_fallback() -> None:
    mail = parse(build("Re: Colis [#C-77]", headers={"In-Reply-To": "<c@x>", "References": "<a@x>  <b@x> <c@x>"}),
                 limits=LIMITS)
    assert thread_keys(mail) == ["<c@x>", "<b@x>", "<a@x>"]
    assert find_case(mail, lookup_in({"<a@x>": "C-1"})) == "C-1"
    assert find_case(mail, lookup_in({})) == "C-77"
    custom = CaseToken(pattern=r"\[Ticket#(?P<case>\d+)\]", template="[Ticket#{case}]")
    assert find_case(parse(build("Colis [Ticket#9]"), limits=LIMITS), lookup_in({}), token=custom) == "9"
    assert find_case(parse(build("Colis"), limits=LIMITS), lookup_in({})) is None


@pytest.mark.parametrize(("subject", "expected"), [
    ("RE: TR: Réf. : Re[2]: Colis abîmé [#C-9]", "Colis abîmé"),
    ("Fwd: FW: Rép. : AW: commande 12", "commande 12"),
    ("Refund request", "Refund request"),
    ("Retour produit", "Retour produit"),
])
def test_normalise_subject(subject: str, expected: str) -> None:
    assert normalise_subject(subject) == expected


def test_compose_reply_structure_and_header_injection() -> None:
    msg = compose_reply("C-9", "client@exemple.fr", "Re: Re: Colis [#C-9]", "Voilà ✔", in_reply_to="m1@exemple.fr",
                        references=["<m0@exemple.fr>", "<m1@exemple.fr>"], from_addr=SUPPORT, domain=DESK,
                        html="<p>Voilà</p>", attachments=[Attachment.of("étiquette.pdf", "application/pdf", PDF)],
                        auto=True)
    assert msg["Subject"] == "Re: Colis [#C-9]"
    assert msg["In-Reply-To"] == "<m1@exemple.fr>" and msg["References"] == "<m0@exemple.fr> <m1@exemple.fr>"
    assert msg["Auto-Submitted"] == "auto-replied"
    back = BytesParser(policy=policy.default).parsebytes(msg.as_bytes())
    assert [p.get_content_type() for p in back.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf"]
    parsed = parse(msg.as_bytes(), limits=LIMITS)
    assert parsed.text == "Voilà ✔" and parsed.attachments[0].filename == "étiquette.pdf"
    folded = compose_reply("C-9", "a@b.fr", "x\r\nBcc: victim@c.fr", "t", in_reply_to=None, from_addr=SUPPORT,
                           domain=DESK)
    assert folded["Bcc"] is None and folded["Subject"] == "Re: x Bcc: victim@c.fr [#C-9]"
    with pytest.raises(MailError, match="cannot compose"):
        compose_reply("C-9", "a@b.fr\r\nBcc: victim@c.fr", "x", "t", in_reply_to=None, from_addr=SUPPORT, domain=DESK)
    with pytest.raises(MailError, match="not a Message-ID"):
        compose_reply("C-9", "a@b.fr", "x", "t", in_reply_to="<a b>", from_addr=SUPPORT, domain=DESK)


def test_delivery_status_notifications_are_read_and_other_mail_is_not_a_bounce() -> None:
    from test_desk_roundtrip import dsn

    got = parse(dsn("<M1@desk.example.fr>", "<b@mx>", recipient="Zoé@Client.example", status="5.2.2"),
                limits=MailLimits())
    assert got.bounce is not None and got.is_auto_reply
    assert (got.bounce.action, got.bounce.recipient, got.bounce.status, got.bounce.original_message_id) == (
        "failed", "zoé@client.example", "5.2.2", "<M1@desk.example.fr>")
    assert got.bounce.failed and got.bounce.diagnostic.startswith("550 5.1.1 <Zoé@Client.example>")
    whole = parse(dsn("<M2@desk.example.fr>", "<b2@mx>", returned="message", action="delayed"), limits=MailLimits())
    assert whole.bounce is not None and (whole.bounce.action, whole.bounce.original_message_id) == (
        "delayed", "<M2@desk.example.fr>")
    # an out-of-office answer is an auto-reply, not a bounce; a customer's "colis non remis" neither
    ooo = b"From: a@b.fr\r\nSubject: Absence du bureau\r\nMessage-ID: <o@b>\r\n\r\nDe retour lundi.\r\n"
    assert parse(ooo, limits=MailLimits()).bounce is None
    plain = b"From: a@b.fr\r\nSubject: Colis non remis\r\nMessage-ID: <p@b>\r\n\r\nOu est mon colis ?\r\n"
    assert parse(plain, limits=MailLimits()).bounce is None
    # a multipart/report claiming delivery-status but carrying no status part marks nothing undelivered
    fake = dsn("<M3@desk.example.fr>", "<b3@mx>").replace(b"Content-Type: message/delivery-status",
                                                         b"Content-Type: text/plain")
    assert parse(fake, limits=MailLimits()).bounce is None


def test_public_api_is_pinned() -> None:
    assert sorted(mail_module.__all__) == [
        "Attachment", "Bounce", "CASE_TOKEN", "CaseToken", "DEFAULT_CONTENT_TYPES", "InboundMail", "MailError",
        "MailLimits", "RefusedAttachment", "find_case", "html_to_text", "new_text", "normalise_subject", "parse",
        "quarantine_raw", "thread_keys"]
    assert sorted(smtp_module.__all__) == ["SmtpListener", "compose_reply", "send"]
    for module in (mail_module, smtp_module):
        assert all(hasattr(module, name) for name in module.__all__)
