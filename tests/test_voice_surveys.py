"""Surveys on a real store: the moments that trigger them, the contact rules that protect the
customer, the links (signed, single-use, expiring), the two-step answer and its bad input,
closing the loop, the employees' eNPS and the silent customers."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from parcours.desk import agents, cases
from parcours.store import Store
from parcours.voice import answers, coverage, employees, invitations, loop, surveys, tokens
from parcours.voice.model import AnswerError, ContactRules, LinkError, VoiceError

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "voice.duckdb")
    agents.add_agent(s, "alice", "Alice", languages=["fr"], status="online")
    surveys.install_defaults(s)
    surveys.save(s, replace(surveys.get(s, "nps-case"), delay_minutes=0), actor="test")
    yield s
    s.close()


def resolved_case(store: Store, email: str, *, at: datetime = NOW - timedelta(hours=1), assign: bool = True) -> str:
    r = cases.receive(store, channel="email", identifiers={"email": email}, text="Mon colis n'est pas arrivé",
                      ts=at - timedelta(hours=1))
    c = cases.get(store, r.case_id).case
    if assign:
        c = cases.assign(store, r.case_id, "alice", actor="alice", expected_version=c.version,
                         ts=at - timedelta(minutes=50))
    cases.reply(store, r.case_id, "alice", "C'est réglé.", expected_version=c.version, status="resolved", ts=at)
    return r.case_id


def survey_link(store: Store, email: str) -> tuple[str, str]:
    """A case of this person resolved an hour ago, the survey swept: (case, the link's token)."""
    case = resolved_case(store, email)
    invitations.sweep(store, now=NOW)
    return case, token_of(store, case)


def invitations_of(store: Store) -> list[tuple]:
    return store.query("SELECT trigger_key, status, reason, address, agent_id FROM survey_invitations "
                       "ORDER BY created_at, trigger_key")


def token_of(store: Store, case_id: str) -> str:
    inv = store.query("SELECT invitation_id FROM survey_invitations WHERE case_id = ?", [case_id])[0][0]
    return tokens.token_for(tokens.link_key(store), inv)


def test_a_resolved_case_invites_its_person_once_with_the_agent_and_the_address(store):
    case = resolved_case(store, "ines@exemple.fr")
    assert invitations.sweep(store, now=NOW) == {"nps-case": {"pending": 1}}
    assert invitations.sweep(store, now=NOW + timedelta(minutes=1)) == {}  # idempotent: nobody asked twice
    assert invitations_of(store) == [(f"case:{case}", "pending", None, "ines@exemple.fr", "alice")]


def test_contact_rules_hold_and_say_why(store):
    # cooldown: a second resolved case of the same person a week later is not surveyed
    resolved_case(store, "ines@exemple.fr", at=NOW - timedelta(days=7))
    invitations.sweep(store, now=NOW - timedelta(days=7) + timedelta(minutes=5))
    second = resolved_case(store, "ines@exemple.fr")
    # quiet list: a person who unsubscribed
    quiet = resolved_case(store, "paul@exemple.fr")
    invitations.keep_quiet(store, cases.get(store, quiet).case.person_id, "asked by phone", actor="test")
    # open case: a person with another request still open
    busy = resolved_case(store, "lea@exemple.fr")
    cases.receive(store, channel="chat", identifiers={"email": "lea@exemple.fr"}, text="Et ma facture ?",
                  ts=NOW - timedelta(minutes=30))
    # no address: a person known by phone only, on an e-mail survey
    phone = cases.receive(store, channel="phone", identifiers={"phone": "+33612345678"}, text="Appel",
                          ts=NOW - timedelta(hours=2), entered_by="alice")
    c = cases.get(store, phone.case_id).case
    cases.set_status(store, phone.case_id, "alice", "resolved", expected_version=c.version, ts=NOW - timedelta(hours=1))
    # too old: a case resolved long ago (an imported history) is not surveyed at all
    resolved_case(store, "old@exemple.fr", at=NOW - timedelta(days=30))

    invitations.sweep(store, now=NOW)
    got = {key: (status, reason) for key, status, reason, *_ in invitations_of(store)}
    assert got[f"case:{second}"][0] == "skipped" and got[f"case:{second}"][1].startswith("cooldown")
    assert got[f"case:{quiet}"] == ("skipped", "quiet list (asked by phone)")
    assert got[f"case:{busy}"][0] == "skipped" and "open case" in got[f"case:{busy}"][1]
    assert got[f"case:{phone.case_id}"] == ("skipped", "no e-mail address known for a email survey")
    assert not [k for k in got if k.startswith("case:") and "old" in k] and len(got) == 5


def test_the_cap_per_period_holds_across_surveys(store):
    rules = ContactRules(cooldown=timedelta(days=1), cap=2)
    for day in (60, 40, 20):
        resolved_case(store, "ines@exemple.fr", at=NOW - timedelta(days=day))
        invitations.sweep(store, now=NOW - timedelta(days=day) + timedelta(minutes=5), rules=rules)
        with store.write_lock, store.transaction() as con:  # delivered (as the e-mail delivery marks them)
            con.execute("UPDATE survey_invitations SET status = 'sent', sent_at = created_at WHERE status = 'pending'")
    statuses = [(s, r) for _, s, r, *_ in invitations_of(store)]
    assert statuses[:2] == [("expired", None), ("expired", None)]  # asked (and not answered): they count
    assert statuses[2][0] == "skipped" and statuses[2][1].startswith("cap: 2 surveys")


def test_a_link_cannot_be_forged_guessed_reused_or_used_late(store):
    case, tok = survey_link(store, "ines@exemple.fr")
    key = tokens.link_key(store)
    inv_id = tokens.invitation_of(key, tok)
    forged = tokens.token_for(b"another secret".ljust(32, b"!"), inv_id)  # right id, wrong key
    guessed = tokens.token_for(key, secrets.token_hex(16))                 # right key, no such invitation
    for bad in (forged, guessed, tok[:-1], tok + "A", "", "../../etc/passwd", tok.upper()):
        with pytest.raises(LinkError) as e:
            answers.open_link(store, bad, now=NOW)
        assert e.value.kind == "invalid"
    answers.give_score(store, tok, 9, now=NOW)
    answers.give_comment(store, tok, "Rapide et aimable, merci", now=NOW)
    with pytest.raises(LinkError) as e:
        answers.give_score(store, tok, 0, now=NOW)  # single use: the answer cannot be changed after
    assert e.value.kind == "answered" and e.value.language == "fr"
    assert store.query("SELECT score FROM responses")[0][0] == 9

    late = resolved_case(store, "paul@exemple.fr")
    invitations.sweep(store, now=NOW)
    with pytest.raises(LinkError) as e:
        answers.open_link(store, token_of(store, late), now=NOW + timedelta(days=15))  # 14 days by default
    assert e.value.kind == "expired"


def test_bad_answers_get_the_field_and_the_reason_and_lose_nothing(store):
    case, tok = survey_link(store, "ines@exemple.fr")
    for bad, why in (("11", "not on the scale"), ("-1", "not on the scale"), ("7.5", "not on the scale"),
                     ("sept", "choose a number"), ("", "choose a number"), ("nan", "not on the scale")):
        with pytest.raises(AnswerError) as e:
            answers.give_score(store, tok, bad, now=NOW)
        assert e.value.field == "score" and why in str(e.value)
    assert store.query("SELECT count(*) FROM responses")[0][0] == 0  # nothing half-written
    answers.give_score(store, tok, "3", now=NOW)
    with pytest.raises(AnswerError) as e:
        answers.give_comment(store, tok, "x" * 5001, now=NOW)
    assert e.value.field == "comment" and "5001 characters, at most 5000" in str(e.value)
    with pytest.raises(AnswerError) as e:
        answers.give_comment(store, tok, "Bien", language="de", now=NOW)
    assert e.value.field == "language" and "'de' is not one of fr, en" in str(e.value)
    # the score given before is kept, the link still works, and a good comment then goes through
    assert store.query("SELECT score, comment FROM responses")[0] == (3.0, None)
    answers.give_comment(store, tok, "Trop long, personne ne répond au téléphone", now=NOW)
    assert store.query("SELECT score, comment, language, case_id, agent_id, channel, survey_id FROM responses")[0] == (
        3.0, "Trop long, personne ne répond au téléphone", "fr", case, "alice", "email", "nps-case")


def test_a_detractor_opens_one_loop_case_owned_by_the_agent_with_an_sla(store):
    case, tok = survey_link(store, "ines@exemple.fr")
    answers.give_score(store, tok, 2, now=NOW)
    answers.give_comment(store, tok, "Colis perdu et personne ne rappelle jamais. Très déçue !", now=NOW)
    rid = answers.response_id(tokens.invitation_of(tokens.link_key(store), tok))
    looped = loop.case_for(store, rid)
    assert looped is not None and loop.consider(store, rid, now=NOW) is None  # once only
    c = cases.get(store, looped)
    assert c.case.assignee == "alice" and c.case.priority in ("high", "urgent") and c.case.follow_up_of == case
    assert c.case.sla_snapshot and c.case.waiting_since == NOW
    assert "Colis perdu" in c.messages[0].body and not c.messages[0].public
    # no contact was invented: the customer's only contact is the original one
    assert store.query("SELECT count(*) FROM touchpoints WHERE kind = 'contact' AND case_id = ?", [looped])[0][0] == 0
    assert loop.closure(store)["opened"] == 1 and loop.closure(store)["closed"] == 0
    cases.reply(store, looped, "alice", "Je vous rappelle.", expected_version=c.case.version, status="resolved",
                ts=NOW + timedelta(hours=3))
    done = loop.closure(store)
    assert done["closure_rate"] == 1.0 and done["median_hours_to_close"] == pytest.approx(3.0)
    assert done["median_hours_to_first_response"] == pytest.approx(3.0)


def test_a_promoter_with_a_kind_word_opens_nothing(store):
    case, tok = survey_link(store, "ines@exemple.fr")
    answers.give_score(store, tok, 10, now=NOW)
    answers.give_comment(store, tok, "Parfait, conseillère très aimable et efficace", now=NOW)
    assert store.query("SELECT count(*) FROM voice_loops")[0][0] == 0


def test_survey_definitions_are_checked_field_by_field(store):
    base = surveys.get(store, "nps-case")
    for change, field in ((dict(scale_max=5), "scale"), (dict(trigger="birthday"), "trigger"),
                          (dict(channel="pigeon"), "channel"), (dict(question={"fr": "Note ?"}), "question"),
                          (dict(survey_id="Bad Id"), "survey_id"), (dict(trigger="touchpoint"), "trigger_kind"),
                          (dict(expires_days=0), "expires_days"), (dict(trigger="relational"), "period_days")):
        with pytest.raises(VoiceError) as e:
            surveys.save(store, replace(base, **change), actor="test")
        assert str(e.value).startswith(field), (change, str(e.value))
    with pytest.raises(VoiceError, match="colour: not a survey field"):
        surveys.from_dict({"survey_id": "x", "colour": "red"})


def test_employees_answer_once_a_quarter_pseudonymously(store):
    employees.answer(store, "u1", "9", "Un outil de rappel automatique", team_id="support", now=NOW)
    with pytest.raises(AnswerError, match="already answered for 2026-Q4"):
        employees.answer(store, "u1", "3", None, now=NOW)
    employees.answer(store, "u1", "3", None, now=NOW + timedelta(days=40))  # next quarter
    employees.answer(store, "u2", "5", None, team_id="support", now=NOW)
    with pytest.raises(AnswerError, match="score: 12 is not on the scale"):
        employees.answer(store, "u3", "12", None, now=NOW)
    stored = " ".join(str(v) for row in store.query("SELECT * FROM employee_answers") for v in row)
    assert "u1" not in stored and "u2" not in stored  # who answered is nowhere
    q4 = employees.enps(store, period="2026-Q4")[0]
    assert (q4["n"], q4["promoters"], q4["detractors"], q4["nps"]) == (2, 1, 1, 0.0)
    # teams under 5 answers are not shown apart, nor as an "other" that would be one team alone
    assert employees.enps(store, by_team=True) == []
    for i in range(5):
        employees.answer(store, f"b{i}", "10", None, team_id="billing" if i < 3 else "shop", now=NOW)
    assert [(r["team"], r["n"]) for r in employees.enps(store, by_team=True)] == [("other", 8)]  # 4 small teams


def test_coverage_counts_the_silent_and_compares_them(store):
    # two customers answer; three stay silent, two of them after an abandoned call
    for i, email in enumerate(("a@x.fr", "b@x.fr")):
        resolved_case(store, email, at=NOW - timedelta(hours=2 + i))
    invitations.sweep(store, now=NOW)
    for case_id, in store.query("SELECT case_id FROM survey_invitations WHERE status = 'pending'"):
        tok = token_of(store, case_id)
        answers.give_score(store, tok, 8, now=NOW)
    for n, email in enumerate(("c@x.fr", "d@x.fr", "e@x.fr")):
        cases.receive(store, channel="phone", identifiers={"email": email}, text="Appel", ts=NOW - timedelta(hours=5),
                      entered_by="alice", facts=cases.ContactFacts(wait_s=600, outcome="abandoned" if n < 2 else None))
    got = coverage.coverage(store)
    assert (got["active"], got["answered"], got["never_answered"]) == (5, 2, 3)
    assert got["coverage"] == pytest.approx(0.4)
    assert {r["channel"]: (r["active"], r["answered"]) for r in got["by_channel"]} == {"email": (2, 2), "phone": (3, 0)}
    assert got["bias"]["scores_probably"] == "flattered"
    assert got["bias"]["failed_share_silent"] == pytest.approx(2 / 3)
    # the response rate, overall and per survey, with its Wilson interval (statsmodels' own)
    from statsmodels.stats.proportion import proportion_confint

    (per,) = got["by_survey"]
    assert (per["survey_id"], per["name"], per["delivered"], per["responded"]) == \
        ("nps-case", "NPS after a resolved case", 2, 2)
    assert per["response_rate"] == 1.0 and per["small_n"] is True
    assert per["response_rate_ci95"] == pytest.approx(proportion_confint(2, 2, alpha=0.05, method="wilson"))
    assert got["invitations"] == {k: v for k, v in per.items() if k not in ("survey_id", "name")}


@pytest.mark.parametrize("k, n", [(0, 1), (1, 3), (81, 263), (15, 148), (0, 20), (29, 29), (500, 1000)])
def test_wilson_on_counts_equals_statsmodels_and_the_ibis_form(k, n):
    import ibis
    from statsmodels.stats.proportion import proportion_confint

    from parcours.metrics.stats import wilson, wilson_bounds

    assert wilson_bounds(k, n) == pytest.approx(proportion_confint(k, n, alpha=0.05, method="wilson"), abs=1e-12)
    row = ibis.duckdb.connect().execute(ibis.memtable({"k": [k], "n": [n]}).pipe(
        lambda t: t.select(**wilson(t.k, t.n, "w"))))
    assert (row.w_low[0] / 100, row.w_high[0] / 100) == pytest.approx(wilson_bounds(k, n), abs=1e-12)
    assert wilson_bounds(0, 0) is None
    with pytest.raises(ValueError, match="3 successes out of 2 trials"):
        wilson_bounds(3, 2)


def test_sms_links_go_to_the_gateway_webhook_and_the_widget_asks_the_api(store):
    from parcours.voice import delivery
    from parcours.webhooks import Webhooks

    surveys.save(store, replace(surveys.get(store, "csat-delivery"), active=True, delay_minutes=0), actor="test")
    r = cases.receive(store, channel="sms", identifiers={"phone": "06 12 34 56 78"}, text="Livré ?",
                      ts=NOW - timedelta(days=10))
    pid = r.person_id
    with store.write_lock, store.transaction() as con:
        con.execute("INSERT INTO touchpoints (event_id, ts, person_id, channel, direction, kind, import_id) "
                    "VALUES ('dlv-1', ?, ?, 'app', 'outbound', 'delivery', 'test')", [NOW - timedelta(hours=3), pid])
    c = cases.get(store, r.case_id).case
    cases.set_status(store, r.case_id, "alice", "resolved", expected_version=c.version, ts=NOW - timedelta(days=9))
    assert invitations.sweep(store, now=NOW) == {"csat-delivery": {"pending": 1}}
    hooks = Webhooks(store, start=False)
    hooks.subscribe("https://sms-gateway.example/hook", ["voice.survey.sms"])
    assert delivery.deliver(store, base_url="https://avis.example.fr", webhooks=hooks, now=NOW)["sent"] == 1
    payload = store.query("SELECT payload FROM webhook_deliveries WHERE event = 'voice.survey.sms'")[0][0]
    assert '"phone": "+33612345678"' in payload and "https://avis.example.fr/s/" in payload and "STOP" in payload
    assert '"reminder": false' in payload
    # unopened three days later: one reminder through the gateway, then no more
    later = NOW + timedelta(days=3, minutes=1)
    assert delivery.deliver(store, base_url="https://avis.example.fr", webhooks=hooks, now=later)["reminded"] == 1
    assert delivery.deliver(store, base_url="https://avis.example.fr", webhooks=hooks, now=later)["reminded"] == 0
    sms = [p for p, in store.query("SELECT payload FROM webhook_deliveries WHERE event = 'voice.survey.sms'")]
    assert len(sms) == 2 and sum('"reminder": true' in p and '"text": "Rappel : ' in p for p in sms) == 1

    # the widget: the app asks for the person's pending survey (a chatbot conversation's CSAT)
    with store.write_lock, store.transaction() as con:
        con.execute("INSERT INTO touchpoints (event_id, ts, person_id, channel, direction, kind, import_id) "
                    "VALUES ('chatbot:1', ?, ?, 'chatbot', 'inbound', 'contact', 'test')",
                    [NOW - timedelta(minutes=5), pid])
    rules = ContactRules(cooldown=timedelta(0))
    assert invitations.sweep(store, now=NOW, rules=rules) == {"csat-bot": {"pending": 1}}
    shown = delivery.pending_for(store, pid, base_url="https://avis.example.fr", now=NOW)
    assert shown["metric"] == "csat" and shown["scale"] == [1, 5] and shown["url"].startswith("https://avis.example.fr/s/")
    inv = tokens.invitation_of(tokens.link_key(store), shown["url"].rsplit("/", 1)[1])
    assert store.query("SELECT status, channel FROM survey_invitations WHERE invitation_id = ?", [inv]) == [
        ("sent", "widget")]


def test_the_invitation_mail_speaks_the_persons_language_with_one_link_per_score(store):
    from parcours.voice import delivery

    msg = delivery.compose(surveys.get(store, "nps-case"), "T" * 43, to="ines@exemple.fr", language="en",
                           base_url="https://avis.example.fr", from_addr="Service <s@d.fr>", domain="d.fr")
    html = msg.get_body(("html",)).get_content()
    assert msg["Subject"].startswith("Your opinion counts")
    assert msg["List-Unsubscribe"] == f"<https://avis.example.fr/s/{'T' * 43}/stop>"
    assert [f"?score={s}" in html for s in range(11)] == [True] * 11 and "recommend us" in html
    assert msg["Auto-Submitted"] == "auto-generated"


def test_an_unopened_invitation_gets_one_reminder_through_a_real_relay(store, tmp_path):
    from conftest import free_port
    from parcours.desk.email_channel import MailSettings
    from parcours.desk.smtp import SmtpListener
    from parcours.voice import delivery
    from test_desk_roundtrip import Mailbox

    quiet, opened, silent, moved = (resolved_case(store, f"{who}@exemple.fr")
                                    for who in ("quiet", "opened", "silent", "moved"))
    invitations.sweep(store, now=NOW)
    box = Mailbox()
    with SmtpListener("127.0.0.1", free_port(), box, domains=["exemple.fr"], quarantine=tmp_path / "q") as relay:
        mail = MailSettings("support.example", relay=("127.0.0.1", relay.port))

        def send(at: datetime) -> dict[str, int]:
            return delivery.deliver(store, base_url="https://avis.example.fr", mail=mail, now=at)

        assert send(NOW) == {"sent": 4, "reminded": 0, "failed": 0}
        # an address that stopped being served: its reminder is refused for good, and not tried again
        with store.write_lock, store.transaction() as con:
            con.execute("UPDATE survey_invitations SET address = 'moved@ailleurs.example' WHERE case_id = ?", [moved])
        answers.open_link(store, token_of(store, opened), now=NOW + timedelta(days=1))
        answers.flush_opens(store)
        answers.unsubscribe(store, token_of(store, quiet))
        assert send(NOW + timedelta(days=2, hours=23)) == {"sent": 0, "reminded": 0, "failed": 0}  # not yet
        never = ContactRules(remind_after=None)  # a company that sends no reminders
        assert delivery.deliver(store, base_url="https://avis.example.fr", mail=mail, now=NOW + timedelta(days=4),
                                rules=never)["reminded"] == 0
        assert send(NOW + timedelta(days=3, minutes=1)) == {"sent": 0, "reminded": 1, "failed": 1}
        assert send(NOW + timedelta(days=5)) == {"sent": 0, "reminded": 0, "failed": 0}           # once only
        got = box.wait(5)
    assert len(got) == 5
    reminder, raw = got[4]
    assert reminder.subject.startswith("Rappel : Votre avis compte") and "silent@exemple.fr" in reminder.to
    # the same link as the first mail: the reminder asks again, it does not invite again
    assert token_of(store, silent) in raw.decode(errors="replace").replace("=\r\n", "")
    assert store.query("SELECT case_id, status FROM survey_invitations WHERE reminded_at IS NOT NULL "
                       "ORDER BY case_id") == sorted([(silent, "sent"), (moved, "sent")])


def test_a_half_given_answer_waits_for_its_why_and_one_answer_opens_one_case(store):
    case, tok = survey_link(store, "ines@exemple.fr")
    answers.give_score(store, tok, 2, now=NOW)
    assert loop.sweep(store, now=NOW + timedelta(minutes=5)) == []          # the customer is still typing
    stale = answers.invitation(store, tok)                                   # a second tab, read before the end
    answers.give_comment(store, tok, "Colis perdu, personne ne rappelle.", now=NOW + timedelta(minutes=6),
                         close_loop=False)
    with pytest.raises(LinkError):                                           # it cannot write over the answer
        answers._write_response(store, stale, NOW + timedelta(minutes=7), 9, None, "fr")
    assert store.query("SELECT score FROM responses")[0][0] == 2
    opened = loop.sweep(store, now=NOW + timedelta(minutes=8))              # the process died before its task
    assert len(opened) == 1 and loop.sweep(store, now=NOW + timedelta(minutes=9)) == []
    assert "Colis perdu" in cases.get(store, opened[0]).messages[0].body


def test_unsubscribing_withdraws_waiting_links_and_follows_the_person_through_a_merge(store):
    from parcours import persons

    case = resolved_case(store, "ines@exemple.fr")
    invitations.sweep(store, now=NOW)
    pid = cases.get(store, case).case.person_id
    answers.unsubscribe(store, token_of(store, case))
    assert invitations.of_person(store, pid)[0]["status"] == "skipped"
    with pytest.raises(LinkError):
        answers.open_link(store, token_of(store, case), now=NOW)
    # the same person under another address, merged into a new record: still quiet
    other = resolved_case(store, "ines.pro@exemple.fr", at=NOW - timedelta(minutes=30))
    kept = cases.get(store, other).case.person_id
    persons.merge(store, kept, pid, actor="test", reason="same customer")
    assert invitations.is_quiet(store, kept) == "unsubscribed from a survey link"
    invitations.sweep(store, now=NOW + timedelta(minutes=1))
    assert [(i["status"], i["reason"]) for i in invitations.of_person(store, kept)][0] == (
        "skipped", "quiet list (unsubscribed from a survey link)")
    assert invitations.let_speak(store, kept) and invitations.is_quiet(store, kept) is None


def test_a_link_that_never_left_does_not_count_as_asking(store):
    resolved_case(store, "ines@exemple.fr", at=NOW - timedelta(days=20))
    invitations.sweep(store, now=NOW - timedelta(days=20) + timedelta(minutes=5))   # no relay: never sent
    invitations.sweep(store, now=NOW - timedelta(days=1))                          # 14 days later: unsent
    assert invitations_of(store)[0][1] == "unsent"
    case = resolved_case(store, "ines@exemple.fr")
    invitations.sweep(store, now=NOW)
    assert invitations_of(store)[-1][:2] == (f"case:{case}", "pending")            # no cooldown from it
