"""Macros: canned replies with variables in the case's language, checked when loaded."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from parcours.desk import agents, cases, macros
from parcours.desk.macros import Macro, MacroError
from parcours.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "desk.duckdb")
    agents.add_agent(s, "alice", "Alice", languages=["fr", "en"], status="online")
    yield s
    s.close()


def test_a_macro_replies_in_the_cases_language_and_sets_its_status(store):
    r = cases.receive(store, channel="email", identifiers={"email": "marie@exemple.fr"}, ts=T0,
                      subject="Colis", text="Bonjour, mon colis n'est pas arrivé.", language="fr")
    posted = macros.apply(store, r.case_id, "ask_order", "alice", expected_version=r.version,
                          agent_name="Alice Martin")
    view = cases.get(store, r.case_id)
    body = next(m.body for m in view.messages if m.message_id == posted.message_id)
    assert body.startswith("Bonjour,\n\nMerci pour votre message.") and body.endswith("Alice Martin")
    assert "{" not in body and view.case.status == "pending"


def test_an_english_case_gets_the_english_text(store):
    r = cases.receive(store, channel="chat", identifiers={"email": "john@example.com"}, ts=T0,
                      subject="Refund", text="Hello, where is my refund?", language="en")
    posted = macros.apply(store, r.case_id, "refund_done", "alice", expected_version=r.version)
    body = next(m.body for m in cases.get(store, r.case_id).messages if m.message_id == posted.message_id)
    assert body.startswith("Hello,\n\nThe refund was made on ")
    assert cases.get(store, r.case_id).case.status == "resolved"


def test_unknown_variables_and_statuses_are_refused_when_loaded(store):
    with pytest.raises(MacroError, match=r"macro 'x' \(fr\): unknown variable \{prenom\}"):
        Macro.from_dict("x", {"fr": "Bonjour {prenom}"})
    with pytest.raises(MacroError, match="status 'closed' must be open, pending or resolved"):
        Macro.from_dict("x", {"fr": "Bonjour", "status": "closed"})
    Path(str(store.path) + ".macros.toml").write_text(
        '[welcome]\ntitle = "Bienvenue"\nfr = "Bonjour {customer_name}, dossier {case_id}."\n'
        '[ask_order]\nfr = "Votre numéro de commande, svp ?"\nstatus = "pending"\n', encoding="utf-8")
    got = macros.load(store)
    assert got["welcome"].variables == ("case_id", "customer_name") and "refund_done" in got
    assert got["ask_order"].body == {"fr": "Votre numéro de commande, svp ?"}  # the desk's own wins
    Path(str(store.path) + ".macros.toml").write_text("[broken\n", encoding="utf-8")
    with pytest.raises(MacroError, match="macros.toml"):
        macros.load(store)


def test_an_unknown_macro_names_the_known_ones(store):
    r = cases.receive(store, channel="email", identifiers={"email": "a@exemple.fr"}, ts=T0, text="Bonjour")
    with pytest.raises(MacroError, match="no macro 'nope'; known: ask_order, delivery_delay, refund_done"):
        macros.apply(store, r.case_id, "nope", "alice", expected_version=r.version)
