"""Macros: canned replies with variables, in French and English, and what to do after.

A macro is a reply template (``{customer_name}``, ``{case_id}``, ``{subject}``,
``{agent_name}``, ``{today}``) per language, and optionally the status the case takes once
it is sent (e.g. ``pending`` when the reply asks the customer something). Parcours ships a
few; a desk adds or overrides them in ``<store>.macros.toml``::

    [ask_order]
    title = { fr = "Demander le n° de commande", en = "Ask for the order number" }
    fr = "Bonjour {customer_name},\\n\\nPourriez-vous nous donner le numéro de votre commande ?"
    en = "Hello {customer_name},\\n\\nCould you give us your order number?"
    status = "pending"

Templates are checked when loaded: a variable that does not exist is an error naming the
macro, the language and the variable — not a reply sent with a hole in it.
"""

from __future__ import annotations

import json
import string
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from parcours.desk import cases
from parcours.store import Store

__all__ = ["DEFAULTS", "VARIABLES", "Macro", "MacroError", "apply", "load", "render"]

VARIABLES = ("customer_name", "case_id", "subject", "agent_name", "today")
LANGUAGES = ("fr", "en")


class MacroError(ValueError):
    """A macro that cannot be loaded or used (the message names it and says why)."""


@dataclass(frozen=True)
class Macro:
    name: str
    title: dict[str, str]
    body: dict[str, str]
    status: str | None = None
    variables: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_dict(cls, name: str, d: dict[str, Any]) -> Macro:
        body = {lang: d[lang] for lang in LANGUAGES if isinstance(d.get(lang), str)}
        if not body:
            raise MacroError(f"macro {name!r}: give its text in fr and/or en")
        title = d.get("title") or name
        title = {lang: title for lang in LANGUAGES} if isinstance(title, str) else dict(title)
        status = d.get("status")
        if status is not None and status not in ("open", "pending", "resolved"):
            raise MacroError(f"macro {name!r}: status {status!r} must be open, pending or resolved")
        used: set[str] = set()
        for lang, text in body.items():
            for _, var, _, _ in string.Formatter().parse(text):
                if var is not None and var not in VARIABLES:
                    raise MacroError(f"macro {name!r} ({lang}): unknown variable {{{var}}}; known: "
                                     f"{', '.join('{' + v + '}' for v in VARIABLES)}")
                if var:
                    used.add(var)
        return cls(name, title, body, status, tuple(sorted(used)))


DEFAULTS: dict[str, Macro] = {name: Macro.from_dict(name, d) for name, d in {
    "ask_order": {
        "title": {"fr": "Demander le numéro de commande", "en": "Ask for the order number"},
        "fr": "Bonjour {customer_name},\n\nMerci pour votre message. Pourriez-vous nous indiquer le numéro de votre "
              "commande ? Nous reprenons votre demande dès réception.\n\n{agent_name}",
        "en": "Hello {customer_name},\n\nThank you for your message. Could you give us your order number? We will "
              "pick up your request as soon as we have it.\n\n{agent_name}",
        "status": "pending"},
    "delivery_delay": {
        "title": {"fr": "Retard de livraison", "en": "Delivery delay"},
        "fr": "Bonjour {customer_name},\n\nNous sommes désolés pour ce retard. Votre colis a été relancé auprès du "
              "transporteur ; vous recevrez le suivi par e-mail. Y a-t-il autre chose que je puisse faire pour "
              "vous ?\n\n{agent_name}",
        "en": "Hello {customer_name},\n\nWe are sorry for the delay. We have chased the carrier about your parcel; "
              "you will get the tracking by e-mail. Is there anything else I can do for you?\n\n{agent_name}"},
    "refund_done": {
        "title": {"fr": "Remboursement effectué", "en": "Refund made"},
        "fr": "Bonjour {customer_name},\n\nLe remboursement a été effectué le {today} ; il apparaîtra sur votre "
              "compte sous 3 à 5 jours ouvrés. Y a-t-il autre chose que je puisse faire pour vous ?\n\n{agent_name}",
        "en": "Hello {customer_name},\n\nThe refund was made on {today}; it will show on your account within 3 to "
              "5 working days. Is there anything else I can do for you?\n\n{agent_name}",
        "status": "resolved"},
}.items()}


def load(store: Store) -> dict[str, Macro]:
    """The shipped macros, with the desk's own (``<store>.macros.toml``) added or overriding."""
    path = Path(str(store.path) + ".macros.toml")
    if not path.exists():
        return dict(DEFAULTS)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise MacroError(f"{path}: {e}") from e
    return DEFAULTS | {name: Macro.from_dict(name, d) for name, d in data.items() if isinstance(d, dict)}


def render(macro: Macro, language: str, values: dict[str, str]) -> str:
    """The macro's text in ``language`` (else its other one) with the variables filled in."""
    text = macro.body.get(language) or next(iter(macro.body.values()))
    return text.format_map({v: values.get(v, "") for v in VARIABLES}).replace(" ,", ",")


def apply(store: Store, case_id: str, name: str, agent_id: str, *, expected_version: int,
          agent_name: str | None = None) -> cases.Posted:
    """Reply on the case with the macro, in the case's language, then set its status."""
    macros = load(store)
    if name not in macros:
        raise MacroError(f"no macro {name!r}; known: {', '.join(sorted(macros))}")
    macro = macros[name]
    view = cases.get(store, case_id, timeline_limit=0)  # the person's name, not their history
    c = view.case
    values = {"customer_name": _customer_name(view), "case_id": c.case_id, "subject": c.subject or "",
              "agent_name": agent_name or agent_id, "today": date.today().isoformat()}
    text = render(macro, c.language or "fr", values)
    return cases.reply(store, case_id, agent_id, text, expected_version=expected_version, status=macro.status)


def _customer_name(view: cases.CaseView) -> str:
    """The customer's first name or name if the CRM gave one (persons.attributes), else ""."""
    row = view.person.attributes if view.person else {}
    extra = row.get("attributes")
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError:
            extra = None
    for source in (extra if isinstance(extra, dict) else {}, row):
        for key in ("first_name", "name"):
            if source.get(key):
                return str(source[key])
    return ""
