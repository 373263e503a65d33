"""The service desk's cases: contacts from every channel land on one case per issue, with one
history, and two agents never overwrite each other. A real store file in tmp_path."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from parcours import persons
from parcours.desk import agents, cases
from parcours.desk.cases import Attachment, ClosedCaseError, ConflictError, DeskError
from parcours.desk.linking import LinkPolicy, score, similarity, terms
from parcours.metrics import journeys
from parcours.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "desk.duckdb")
    agents.add_team(s, "support", "Support", topics=["delivery", "billing"])
    for a in ("alice", "bruno"):
        agents.add_agent(s, a, a.title(), teams=["support"], languages=["fr", "en"], status="online")
    yield s
    s.close()


def email(store: Store, who: str = "marie@exemple.fr", *, ts: datetime = T0, **kw):
    kw.setdefault("subject", "Commande 12345 non reçue")
    kw.setdefault("text", "Bonjour, ma commande 12345 n'est toujours pas arrivée. Pouvez-vous vérifier ?")
    return cases.receive(store, channel="email", identifiers={"email": who}, ts=ts, **kw)


def version(store: Store, case_id: str) -> int:
    return cases.get(store, case_id).case.version


def count(store: Store, sql: str, params: list | None = None) -> int:
    return store.query(sql, params)[0][0]


# -- one issue, every channel --------------------------------------------------------------
def test_an_email_then_a_chat_about_the_same_issue_land_on_one_case_with_the_hop_recorded(store):
    first = email(store, "Marie Curie <Marie@Exemple.fr>", topic="delivery")
    assert first.how == "new" and first.case_created and first.person_created
    chat = cases.receive(store, channel="chat", identifiers={"email": "marie@exemple.fr"}, ts=at(hours=3),
                         text="Je vous ai écrit par mail pour ma commande 12345, toujours rien reçu")
    assert chat.case_id == first.case_id and chat.how == "linked" and not chat.case_created
    assert chat.person_id == first.person_id and chat.channel_hop == ("email", "chat")
    assert chat.score is not None and chat.score >= LinkPolicy().auto

    view = cases.get(store, first.case_id)
    assert [(m.author, m.channel) for m in view.messages] == [("customer", "email"), ("customer", "chat")]
    kinds = [e.kind for e in view.events]
    assert kinds.count("channel_hop") == 1 and "linked_contact" in kinds
    hop = next(e for e in view.events if e.kind == "channel_hop")
    assert hop.detail == {"from": "email", "to": "chat"}
    assert view.case.last_customer_channel == "chat" and view.case.waiting_since == T0
    # the metrics see two inbound contacts on one case, and the move from e-mail to chat
    tps = store.query("SELECT channel::VARCHAR, direction::VARCHAR, kind::VARCHAR, stage::VARCHAR, case_id "
                      "FROM touchpoints ORDER BY ts")
    assert tps == [("email", "inbound", "contact", "support", first.case_id),
                   ("chat", "inbound", "contact", "support", first.case_id)]
    moves = journeys.channel_switching(journeys.episodes(journeys.contacts(store.table("touchpoints")))).execute()
    assert moves[["from_channel", "to_channel", "n"]].values.tolist() == [["email", "chat", 1]]
    # the agent sees the person's whole timeline, both channels
    assert view.person is not None and view.person.person_id == first.person_id
    assert {(t["what"], t["channel"]) for t in view.person.timeline} >= {("message", "email"), ("message", "chat")}


def test_a_chat_conversation_is_one_contact_and_a_later_one_is_another(store):
    r = cases.receive(store, channel="chat", identifiers={"app_id": "dev-1"}, text="Bonjour", ts=T0)
    for minutes in (1, 2, 5):
        cases.receive(store, channel="chat", identifiers={"app_id": "dev-1"}, text=f"message {minutes}",
                      ts=at(minutes=minutes), in_reply_to_case=r.case_id)
    assert count(store, "SELECT count(*) FROM messages WHERE case_id = ?", [r.case_id]) == 4
    assert count(store, "SELECT count(*) FROM touchpoints") == 1
    cases.receive(store, channel="chat", identifiers={"app_id": "dev-1"}, text="me revoici", ts=at(hours=2),
                  in_reply_to_case=r.case_id)
    assert count(store, "SELECT count(*) FROM touchpoints WHERE case_id = ?", [r.case_id]) == 2


def test_an_unknown_sender_becomes_a_person_served_like_a_customer(store):
    r = cases.receive(store, channel="sms", identifiers={"phone": "06 12 34 56 78"}, ts=T0,
                      text="Ce modèle existe-t-il en bleu ? J'hésite entre les deux.", topic="product")
    assert r.person_created and r.case_created
    assert persons.find(store, "+33612345678") == r.person_id
    assert count(store, "SELECT count(*) FROM orders WHERE person_id = ?", [r.person_id]) == 0  # a prospect
    assert store.query("SELECT kind::VARCHAR, value FROM identities WHERE person_id = ?",
                       [r.person_id]) == [("phone", "+33612345678")]
    again = cases.receive(store, channel="sms", identifiers={"phone": "+33 6 12 34 56 78"}, ts=at(minutes=5),
                          text="Et en rouge ?")
    assert again.person_id == r.person_id and not again.person_created


def test_a_contact_naming_two_known_persons_merges_them_with_an_audit(store):
    a = email(store, "jean@exemple.fr")
    b = cases.receive(store, channel="sms", identifiers={"phone": "0699887766"}, text="Bonjour", ts=at(days=1))
    assert a.person_id != b.person_id
    c = cases.receive(store, channel="chat", identifiers={"email": "jean@exemple.fr", "phone": "0699887766"},
                      text="C'est moi, Jean", ts=at(days=2))
    # the importer's rule: the older person is kept, the merge is audited with its evidence
    assert store.query("SELECT merged_person_id, kept_person_id, evidence FROM merges") == [
        (b.person_id, a.person_id, "linked through phone:+33699887766 in desk:chat")]
    assert c.person_id == a.person_id
    assert {r[0] for r in store.query("SELECT DISTINCT person_id FROM cases")} == {c.person_id}
    assert {r[0] for r in store.query("SELECT DISTINCT person_id FROM desk_inbox")} == {c.person_id}


def test_a_redelivered_message_is_received_once(store):
    first = email(store, external_id="<m1@mail.exemple.fr>")
    again = email(store, external_id="<m1@mail.exemple.fr>")
    assert again.how == "duplicate" and again.message_id == first.message_id and again.case_id == first.case_id
    assert count(store, "SELECT count(*) FROM messages") == 1
    assert cases.case_for_refs(store, ["<unknown@x>", "<m1@mail.exemple.fr>"]) == first.case_id


@pytest.mark.parametrize("kwargs, field, says", [
    ({"channel": "fax"}, "channel", "allowed: web, app, email, sms, chat, social, phone, store, chatbot, video"),
    ({"ts": datetime(2026, 3, 2, 9, 0)}, "ts", "has no time zone"),
    ({"text": "x" * 100_001}, "text", "the limit is 100,000"),
    ({"text": "  "}, "text", "is empty"),
    ({"identifiers": {"email": "pas une adresse"}}, "identifiers", "is not a valid email"),
    ({"identifiers": {"fax": "0102030405"}}, "identifiers", "unknown identifier kind(s) fax"),
    ({"identifiers": {}}, "identifiers", "no identifier given"),
    ({"text": "bad \udc80 surrogate"}, "text", "is not valid Unicode"),
    ({"stage": "after"}, "stage", "allowed: discover"),
])
def test_bad_input_is_refused_with_a_clear_answer_and_nothing_written(store, kwargs, field, says):
    base = {"channel": "email", "identifiers": {"email": "a@b.fr"}, "text": "Bonjour", "ts": T0}
    with pytest.raises(DeskError) as e:
        cases.receive(store, **{**base, **kwargs})
    assert str(e.value).startswith(field) and says in str(e.value)
    assert count(store, "SELECT count(*) FROM messages") == count(store, "SELECT count(*) FROM persons") == 0


# -- two agents, one case --------------------------------------------------------------------
def test_two_agents_replying_at_once_one_wins_and_the_other_gets_a_clear_conflict(store):
    r = email(store)
    v = version(store, r.case_id)
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def agent(name: str) -> None:
        cur = store.cursor()
        try:
            barrier.wait()
            outcome[name] = cases.reply(cur, r.case_id, name, f"Réponse de {name}", expected_version=v)
        except ConflictError as e:
            outcome[name] = e
        finally:
            cur.close()

    threads = [threading.Thread(target=agent, args=(n,)) for n in ("alice", "bruno")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    won = [n for n, o in outcome.items() if isinstance(o, cases.Posted)]
    lost = [n for n, o in outcome.items() if isinstance(o, ConflictError)]
    assert len(won) == 1 and len(lost) == 1
    err = outcome[lost[0]]
    assert isinstance(err, ConflictError) and err.expected == v and err.current == v + 1
    assert f"{won[0]} replied" in str(err) and "reload the case" in str(err) and f"case {r.case_id}" in str(err)
    bodies = [m.body for m in cases.get(store, r.case_id).messages if m.author == "agent"]
    assert bodies == [f"Réponse de {won[0]}"]  # the loser's reply was not written half-way


def test_every_change_bumps_the_version_and_a_stale_one_names_what_happened(store):
    r = email(store)
    v = version(store, r.case_id)
    c = cases.assign(store, r.case_id, "alice", actor="lead", expected_version=v)
    c = cases.set_priority(store, r.case_id, "alice", "high", expected_version=c.version)
    assert c.version == v + 2 and c.status == "open"
    with pytest.raises(ConflictError) as e:
        cases.set_status(store, r.case_id, "bruno", "pending", expected_version=v)
    msg = str(e.value)
    assert "lead assigned it to alice" in msg and "alice set priority high (was normal)" in msg
    assert cases.get(store, r.case_id).case.status == "open"  # nothing of the stale change


# -- status, reopen, close -------------------------------------------------------------------
def test_a_customer_message_reopens_a_resolved_case_within_the_window_and_opens_a_follow_up_after(store):
    r = email(store, topic="delivery")
    c = cases.reply(store, r.case_id, "alice", "C'est reparti", expected_version=version(store, r.case_id),
                    status="resolved", ts=at(hours=1)).case
    assert c.status == "resolved" and c.closed_at == at(hours=1) and c.first_response_at == at(hours=1)
    back = email(store, text="Finalement toujours rien pour la commande 12345", ts=at(days=3),
                 in_reply_to_case=r.case_id)
    assert back.case_id == r.case_id and back.reopened
    c = cases.get(store, r.case_id).case
    assert (c.status, c.reopen_count, c.closed_at) == ("open", 1, None)
    assert store.query("SELECT status::VARCHAR, reopen_count FROM cases WHERE case_id = ?", [r.case_id]) == [
        ("open", 1)]
    c = cases.set_status(store, r.case_id, "alice", "resolved", expected_version=c.version, ts=at(days=3, hours=1))
    late = email(store, text="Et la facture ?", ts=at(days=3, hours=1) + LinkPolicy().reopen_window
                 + timedelta(minutes=1), in_reply_to_case=r.case_id)
    assert late.case_created and late.how == "follow_up" and late.follow_up_of == r.case_id
    assert cases.get(store, r.case_id).case.reopen_count == 1
    assert cases.get(store, late.case_id).case.follow_up_of == r.case_id


def test_a_closed_case_refuses_replies_with_the_way_out_and_keeps_notes(store):
    r = email(store)
    c = cases.close(store, r.case_id, "alice", "solved", True, expected_version=version(store, r.case_id),
                    ts=at(hours=2))
    assert c.status == "closed" and c.closed_at == at(hours=2) and c.disposition == "solved"
    with pytest.raises(ClosedCaseError) as e:
        cases.reply(store, r.case_id, "alice", "Encore moi", expected_version=c.version)
    assert "is closed (since 2026-03-02 11:00 UTC by alice, disposition solved)" in str(e.value)
    assert "open_case(" in str(e.value) and f"follow_up_of={r.case_id!r}" in str(e.value)
    n = cases.note(store, r.case_id, "bruno", "Client rappelé, tout va bien", expected_version=c.version)
    assert n.case.status == "closed" and not cases.get(store, r.case_id).messages[-1].public
    follow = cases.open_case(store, "marie@exemple.fr", "alice", channel="email", subject="Suite",
                             body="Votre colis est reparti", follow_up_of=r.case_id, ts=at(days=1))
    assert follow.case.status == "pending" and follow.case.follow_up_of == r.case_id
    back = email(store, text="Merci !", ts=at(days=1, hours=1), in_reply_to_case=r.case_id)
    assert back.case_created and back.follow_up_of == r.case_id  # nothing is written into the closed case
    assert cases.inbox(store, status="closed")[0].case_id == r.case_id


def test_the_status_machine_says_what_is_allowed(store):
    r = email(store)
    v = version(store, r.case_id)
    with pytest.raises(DeskError, match="use desk.cases.close"):
        cases.set_status(store, r.case_id, "alice", "closed", expected_version=v)
    with pytest.raises(DeskError, match="status 'done' is not allowed; allowed: new, open"):
        cases.set_status(store, r.case_id, "alice", "done", expected_version=v)
    c = cases.set_status(store, r.case_id, "alice", "pending", expected_version=v)
    assert c.waiting_since is None and c.version == v + 1
    assert cases.set_status(store, r.case_id, "alice", "pending", expected_version=c.version).version == c.version
    back = email(store, text="Voici le numéro demandé", ts=at(hours=5), in_reply_to_case=r.case_id)
    c = cases.get(store, r.case_id).case
    assert (c.status, c.waiting_since, c.version) == ("open", at(hours=5), back.version)  # the customer replied
    c = cases.set_status(store, r.case_id, "alice", "pending", expected_version=c.version)
    c = cases.set_status(store, r.case_id, "alice", "resolved", expected_version=c.version)
    with pytest.raises(DeskError, match="it cannot become pending; allowed from resolved: open"):
        cases.set_status(store, r.case_id, "alice", "pending", expected_version=c.version)
    c = cases.set_status(store, r.case_id, "alice", "open", expected_version=c.version)  # an agent reopens
    assert c.reopen_count == 1 and c.closed_at is None


def test_closing_records_the_question_the_disposition_and_a_sales_opportunity(store):
    r = email(store, "prospect@exemple.fr", subject="Quel modèle choisir ?", text="X200 ou X300 ?")
    v = version(store, r.case_id)
    with pytest.raises(DeskError, match="disposition 'bof' is not allowed; allowed: solved, answered"):
        cases.close(store, r.case_id, "alice", "bof", True, expected_version=v)
    with pytest.raises(DeskError, match="amount"):
        cases.close(store, r.case_id, "alice", "answered", True, {"amount": "beaucoup"}, expected_version=v)
    cases.close(store, r.case_id, "alice", "answered", True, {"product": "X300", "amount": 450},
                expected_version=v, ts=at(hours=1))
    opp = cases.opportunities(store)
    assert [(o.case_id, o.agent, o.detail) for o in opp] == [(r.case_id, "alice", {"product": "X300", "amount": 450})]
    assert opp[0].person_id == r.person_id
    closed = next(e for e in cases.history(store, r.case_id) if e.kind == "closed")
    assert closed.detail == {"from": "new", "disposition": "answered", "anything_else_asked": True}


# -- linking, merge, split -------------------------------------------------------------------
def test_an_unsure_match_opens_a_case_with_a_suggestion_that_the_agent_accepts_or_rejects(store):
    first = email(store, topic="delivery")
    maybe = cases.receive(store, channel="social", identifiers={"email": "marie@exemple.fr"}, ts=at(days=2),
                          text="Bonjour, une question")
    assert maybe.how == "suggested" and maybe.case_created and maybe.suggested_case == first.case_id
    p = LinkPolicy()
    assert maybe.score is not None and p.suggest <= maybe.score < p.auto
    merged = cases.accept_link(store, maybe.case_id, "alice", expected_version=version(store, maybe.case_id))
    assert merged.case_id == first.case_id
    assert [m.channel for m in cases.get(store, first.case_id).messages] == ["email", "social"]

    other = cases.receive(store, channel="sms", identifiers={"email": "marie@exemple.fr"}, ts=at(days=3),
                          text="Autre chose")
    assert other.how == "suggested"
    c = cases.reject_link(store, other.case_id, "alice", expected_version=version(store, other.case_id))
    assert c.suggested_link is None and cases.history(store, other.case_id)[-1].kind == "link_rejected"
    far = cases.receive(store, channel="sms", identifiers={"email": "marie@exemple.fr"}, ts=at(days=40),
                        text="Rien à voir")
    assert far.how == "new" and far.suggested_case is None  # outside the window: a new issue


def test_different_topics_are_never_linked_automatically():
    p = LinkPolicy()
    same = terms("remboursement commande 777")
    c = score(p, topic="billing", case_topic="delivery", contact_terms=same, case_terms=same, age=timedelta(0))
    assert c.topic == 0 and c.score < p.auto
    assert similarity(terms("Commandes reçues"), terms("commande reçue")) > 0.6  # stems and accents
    assert similarity(terms("bonjour merci"), terms("bonjour merci")) == 0  # stop words carry nothing


def test_merge_keeps_every_message_and_the_source_points_to_the_target(store):
    a = email(store, topic="delivery")
    b = cases.receive(store, channel="phone", identifiers={"email": "marie@exemple.fr"}, ts=at(days=1),
                      text="Appel: facture en double", topic="billing")
    assert b.case_id != a.case_id
    cases.reply(store, b.case_id, "bruno", "Je vérifie", expected_version=version(store, b.case_id), ts=at(days=1))
    before = count(store, "SELECT count(*) FROM messages")
    target = cases.merge(store, b.case_id, a.case_id, "alice", expected_version=version(store, b.case_id),
                         ts=at(days=1, hours=1))
    assert count(store, "SELECT count(*) FROM messages") == before
    assert count(store, "SELECT count(*) FROM messages WHERE case_id = ?", [a.case_id]) == before
    assert count(store, "SELECT count(*) FROM touchpoints WHERE case_id = ?", [a.case_id]) == 2
    assert count(store, "SELECT count(*) FROM cases WHERE case_id = ?", [b.case_id]) == 0  # one issue, one case
    assert target.first_response_at == at(days=1) and target.assignee is None
    view = cases.get(store, b.case_id)
    assert view.redirected_from == b.case_id and view.case.case_id == a.case_id
    assert any(e.kind == "merged" and e.detail["case_id"] == b.case_id for e in view.events)
    src = cases.history(store, b.case_id)[-1]
    assert src.kind == "merged_into" and src.detail["record"]["topic"] == "billing"
    with pytest.raises(cases.MergedCaseError, match=f"merged into {a.case_id}"):
        cases.note(store, b.case_id, "alice", "x", expected_version=99)

    other = email(store, "autre@exemple.fr")
    with pytest.raises(DeskError, match="belong to different persons"):
        cases.merge(store, other.case_id, a.case_id, "alice", expected_version=version(store, other.case_id))


def test_split_moves_messages_to_a_new_case_and_keeps_every_one(store):
    r = email(store, topic="delivery")
    for i, chan in enumerate(("email", "chat", "chat"), start=1):
        cases.receive(store, channel=chan, identifiers={"email": "marie@exemple.fr"}, ts=at(hours=i),
                      text=f"message {i}", in_reply_to_case=r.case_id)
    msgs = cases.get(store, r.case_id).messages
    assert len(msgs) == 4
    v = version(store, r.case_id)
    with pytest.raises(DeskError, match="at least one message must stay"):
        cases.split(store, r.case_id, [m.message_id for m in msgs], "alice", expected_version=v)
    with pytest.raises(cases.NotFoundError, match="are not in case"):
        cases.split(store, r.case_id, ["M-nope"], "alice", expected_version=v)
    moved = [msgs[2].message_id, msgs[3].message_id]
    new = cases.split(store, r.case_id, moved, "alice", expected_version=v, subject="Question sur le chat",
                      topic="billing")
    assert new.case_id != r.case_id and new.person_id == r.person_id and new.status == "open"
    assert new.opened_at == at(hours=2) and new.channel == "chat" and new.waiting_since == at(hours=2)
    assert [m.message_id for m in cases.get(store, new.case_id).messages] == moved
    assert len(cases.get(store, r.case_id).messages) == 2
    assert count(store, "SELECT count(*) FROM messages") == 4
    # four contacts (an hour apart), the two that started the moved messages moved with them
    assert count(store, "SELECT count(*) FROM touchpoints WHERE case_id = ?", [new.case_id]) == 2
    assert count(store, "SELECT count(*) FROM touchpoints WHERE case_id = ?", [r.case_id]) == 2
    assert cases.history(store, r.case_id)[-1].detail == {"case_id": new.case_id, "messages": moved}


# -- the inbox -------------------------------------------------------------------------------
def _many(store: Store, n: int) -> list[str]:
    ids = []
    prios = ("low", "normal", "high", "urgent")
    for i in range(n):
        r = cases.receive(store, channel=("email", "chat", "sms")[i % 3], identifiers={"app_id": f"dev-{i}"},
                          text=f"demande {i}", ts=at(minutes=(i * 37) % 200))
        v = version(store, r.case_id)
        c = cases.set_priority(store, r.case_id, "lead", prios[i % 4], expected_version=v) if i % 4 != 1 else None
        if i % 5 == 0:
            cases.set_status(store, r.case_id, "lead", "pending", expected_version=c.version if c else v)
        ids.append(r.case_id)
    return ids


def test_inbox_pages_return_every_active_case_once_by_priority_then_oldest_waiting(store):
    ids = _many(store, 45)
    seen, cursor = [], None
    while True:
        page = cases.inbox(store, limit=7, cursor=cursor)
        if not page:
            break
        seen += page
        cursor = page[-1].cursor
    assert sorted(r.case_id for r in seen) == sorted(ids) and len(seen) == len(ids)
    rank = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
    far = datetime.max.replace(tzinfo=timezone.utc)
    assert [r.case_id for r in seen] == [r.case_id for r in sorted(
        seen, key=lambda r: (-rank[r.priority], r.waiting_since or far, r.case_id))]
    assert seen[0].priority == "urgent" and seen[-1].priority == "low" and seen[-1].waiting_since is None
    # filters
    assert {r.channel for r in cases.inbox(store, channel="sms", limit=100)} == {"sms"}
    assert {r.status for r in cases.inbox(store, status="pending", limit=100)} == {"pending"}
    assert len(cases.inbox(store, status="pending", limit=100)) == 9
    assert [r.case_id for r in cases.inbox(store, q="dev-3")] == [ids[3]]
    assert [r.case_id for r in cases.inbox(store, q=ids[7])] == [ids[7]]
    assert cases.inbox(store, assignee="alice") == []
    assert len(cases.inbox(store, assignee=cases.UNASSIGNED, limit=100)) == 45
    with pytest.raises(DeskError, match="is not one this inbox gave"):
        cases.inbox(store, cursor="garbage")


def test_the_archive_inbox_pages_the_whole_history_too(store):
    ids = _many(store, 12)
    for cid in ids[:5]:
        cases.close(store, cid, "alice", "solved", True, expected_version=version(store, cid))
    seen, cursor = [], None
    while page := cases.inbox(store, status=["new", "open", "pending", "closed"], limit=4, cursor=cursor):
        seen += [r.case_id for r in page]
        cursor = page[-1].cursor
    assert sorted(seen) == sorted(ids) and len(set(seen)) == len(seen)
    assert sorted(r.case_id for r in cases.inbox(store, status="closed")) == sorted(ids[:5])
    assert not {r.case_id for r in cases.inbox(store, limit=100)} & set(ids[:5])


# -- attachments, erasure, imported cases ----------------------------------------------------
def test_attachments_are_stored_by_content_and_bad_ones_refused_without_losing_the_message(store):
    photo = Attachment("../../colis abîmé.jpg", "image/jpeg", b"\xff\xd8 photo")
    huge = Attachment("film.mp4", "video/mp4", b"0" * (cases.MAX_ATTACHMENT_BYTES + 1))
    exe = Attachment("facture.pdf.exe", "application/pdf", b"MZ\x90\x00")
    odd = Attachment("x.bin", "application/x-unknown", b"1")
    r = email(store, attachments=[photo, huge, exe, odd])
    got = {a.filename: a for a in r.attachments}
    assert set(got) == {"colis abîmé.jpg", "film.mp4", "facture.pdf.exe", "x.bin"}  # no path kept
    assert got["colis abîmé.jpg"].refused is None and got["colis abîmé.jpg"].size == len(photo.data)
    assert "over the limit" in (got["film.mp4"].refused or "")
    assert got["facture.pdf.exe"].refused == "executable files are not accepted"
    assert "not accepted" in (got["x.bin"].refused or "")
    info, data = cases.attachment_bytes(store, got["colis abîmé.jpg"].attachment_id)
    assert data == photo.data and (cases.attachments_dir(store) / (info.storage_path or "")).is_file()
    assert len(list(cases.attachments_dir(store).rglob("*"))) == 2  # one directory, one file
    view = cases.get(store, r.case_id)
    assert len(view.messages) == 1 and len(view.messages[0].attachments) == 4


def test_an_attachment_refused_upstream_is_recorded_with_its_reason(store):
    @dataclass(frozen=True)
    class Refused:  # what the mail parser hands over for a file it did not keep
        filename: str
        content_type: str
        size: int
        reason: str

    r = email(store, attachments=[Refused("scan.tiff", "image/tiff", 40_000_000, "over 10 MiB")])
    [a] = r.attachments
    assert (a.filename, a.size, a.refused, a.storage_path) == ("scan.tiff", 40_000_000, "over 10 MiB", None)
    with pytest.raises(DeskError, match="was refused \\(over 10 MiB\\): there is no file"):
        cases.attachment_bytes(store, a.attachment_id)


def test_erasing_a_person_leaves_no_desk_trace(store):
    r = email(store, external_id="<x@y>", attachments=[Attachment("a.txt", "text/plain", b"secret")])
    cases.note(store, r.case_id, "alice", "note", expected_version=version(store, r.case_id))
    counts = persons.erase(store, r.person_id, actor="dpo")
    assert counts["desk.desk_cases"] == 1 and counts["desk.files"] == 1 and counts["desk.message_refs"] == 1
    assert cases.purge_orphans(store)["desk_cases"] == 0  # nothing left to purge
    for table in ("desk_cases", "desk_inbox", "case_events", "message_refs", "attachments"):
        assert count(store, f"SELECT count(*) FROM {table}") == 0, table


def test_imported_cases_are_adopted_and_can_be_worked(store, tmp_path):
    from parcours import import_files

    csv = tmp_path / "cases.csv"
    csv.write_text("case_id,email,opened_at,channel,status,priority,subject\n"
                   "T1,old@exemple.fr,2026-02-01T10:00:00+01:00,phone,open,high,Ancien dossier\n"
                   "T2,old@exemple.fr,2026-01-01T10:00:00+01:00,email,closed,normal,Fini\n", encoding="utf-8")
    import_files(store, [csv])
    assert cases.get(store, "T1").case.version == 0
    c = cases.note(store, "T1", "alice", "repris", expected_version=0).case  # adopted at its first change
    assert c.version == 1 and [r.case_id for r in cases.inbox(store)] == ["T1"]
    assert cases.adopt_imported(store) == 1 and cases.adopt_imported(store) == 0  # T2, once
    assert cases.get(store, "T2").case.version == 1


def test_a_file_whose_type_is_not_a_media_type_is_refused_and_never_echoed(tmp_path):
    from parcours.store import Store

    with Store(tmp_path / "s.duckdb") as store:
        got = cases.receive(store, channel="sms", identifiers={"phone": "0611223344"}, text="photo",
                            ts=datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), attachments=[
                                cases.Attachment("a.png", "image/png\r\nSet-Cookie: x=1", b"\x89PNG....")])
        [a] = got.attachments
        assert a.storage_path is None and "is not a media type" in (a.refused or "")
        assert a.content_type == "application/octet-stream"


def test_the_inbox_follows_persons_merged_and_unmerged_outside_the_desk(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        t = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
        a = cases.receive(store, channel="email", identifiers={"email": "lina@exemple.fr"}, text="Colis", ts=t)
        b = cases.receive(store, channel="sms", identifiers={"phone": "0611223344"}, text="Facture", ts=t)

        def inbox_person(case_id: str) -> str:
            return store.con.execute("SELECT person_id FROM desk_inbox WHERE case_id = ?", [case_id]).fetchone()[0]

        merge_id = persons.merge(store, a.person_id, b.person_id, actor="test")
        assert merge_id and inbox_person(b.case_id) == a.person_id     # as the canonical case says
        persons.unmerge(store, b.person_id, actor="test")
        assert inbox_person(b.case_id) == b.person_id
