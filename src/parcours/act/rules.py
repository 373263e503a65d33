"""Managers' rules: *when* something happens (or has gone on too long), *do* something.

A rule names a subject (:mod:`parcours.act.subjects`), a condition in the small language of
:mod:`parcours.act.conditions`, and an action (:data:`ACTIONS`) with its parameters. Rules are
written in the web app or kept as TOML files under version control (``parcours rules load``)::

    [[rule]]
    id = "detractor-call-back"
    name = "Call back a detractor"
    subject = "response"
    when = "detractor"
    action = "open_case"
    params = { subject = "Call back: NPS detractor", priority = "high" }

A rule is saved switched off: a manager back-tests it (:func:`parcours.act.engine.backtest`)
before switching it on; it judges only what is stored after that moment.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from parcours.act.conditions import Compiled, ConditionError, compile_condition, parse_duration
from parcours.act.subjects import SUBJECTS
from parcours.schema import CHANNELS, PRIORITIES
from parcours.store import Store

__all__ = ["ACTIONS", "Rule", "RuleError", "compiled", "delete", "get", "listed", "load_file", "save",
           "set_enabled"]

#: action → (its parameters: name → (required, doc))
ACTIONS: dict[str, dict[str, tuple[bool, str]]] = {
    "open_case": {"subject": (True, "the case's subject line"), "priority": (False, "low, normal, high, urgent"),
                  "note": (False, "an internal note (the firing's reason is added)")},
    "update_case": {"priority": (False, "raise the priority to this"), "note": (False, "an internal note")},
    "send_survey": {"survey_id": (True, "the survey to send (see parcours surveys list)")},
    "send_message": {"practice": (True, "the proactive practice (see parcours outreach practices)"),
                     "channel": (False, "email, sms, phone, app, social (default: the practice's)"),
                     "text_fr": (False, "the message in French"), "text_en": (False, "the message in English")},
    "webhook": {"event": (False, "the event name sent to subscribers (default rules.fired)")},
    "notify": {"team": (True, "the team to tell"), "message": (False, "what to tell them")},
}
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_NAME = 200


class RuleError(ValueError):
    """A rule that cannot be saved: ``field`` is the part at fault."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field, self.reason = field_name, reason


@dataclass
class Rule:
    rule_id: str
    name: str
    subject: str
    condition: str
    action: str
    params: dict[str, Any] = field(default_factory=dict)
    enabled: bool = False
    repeat_after_s: float | None = None   #: states: fire again for the same subject after this long
    source: str = "web"
    version: int = 1
    enabled_at: datetime | None = None
    created_by: str | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(raw: dict[str, Any]) -> Rule:
    """A rule from what a manager wrote (web form, API body, TOML table); RuleError names the field."""
    if not isinstance(raw, dict):
        raise RuleError("rule", "a rule is a table of id, name, subject, when, action, params")
    rule_id = str(raw.get("id") or raw.get("rule_id") or "").strip()
    if not SLUG.fullmatch(rule_id):
        raise RuleError("id", "1–64 lower-case letters, digits, - or _, starting with a letter or digit")
    name = str(raw.get("name") or "").strip()
    if not name or len(name) > MAX_NAME:
        raise RuleError("name", f"give the rule a name (1–{MAX_NAME} characters)")
    subject = str(raw.get("subject") or "")
    if subject not in SUBJECTS:
        raise RuleError("subject", f"{subject!r} is not a subject; subjects: {', '.join(SUBJECTS)}")
    condition = raw.get("when", raw.get("condition"))
    try:
        compile_condition(condition, SUBJECTS[subject].fields, subject)
    except ConditionError as e:
        raise RuleError("when", str(e)) from None
    action = str(raw.get("action") or "")
    if action not in ACTIONS:
        raise RuleError("action", f"{action!r} is not an action; actions: {', '.join(ACTIONS)}")
    params = raw.get("params") or {}
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            raise RuleError("params", "not valid JSON") from None
    if not isinstance(params, dict):
        raise RuleError("params", "a table of the action's parameters")
    _check_params(action, params)
    repeat = raw.get("repeat_after", raw.get("repeat_after_s"))
    repeat_s: float | None = None
    if repeat not in (None, ""):
        if SUBJECTS[subject].kind != "state":
            raise RuleError("repeat_after", "an event rule fires once per event; repeat_after is for case, "
                                            "promise and person rules")
        try:
            repeat_s = float(repeat) if isinstance(repeat, (int, float)) else parse_duration(str(repeat))
        except ConditionError as e:
            raise RuleError("repeat_after", str(e)) from None
        if not math.isfinite(repeat_s) or repeat_s < 3600:
            raise RuleError("repeat_after", "at least 1h (a rule must not pester the same customer)")
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        raise RuleError("enabled", "true or false")
    return Rule(rule_id, name, subject, condition, action, params, enabled, repeat_s,
                str(raw.get("source") or "web"))


def _check_params(action: str, params: dict[str, Any]) -> None:
    spec = ACTIONS[action]
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise RuleError(f"params.{unknown[0]}", f"not a parameter of {action} (parameters: {', '.join(spec)})")
    for name, (required, doc) in spec.items():
        if required and not str(params.get(name) or "").strip():
            raise RuleError(f"params.{name}", f"required for {action}: {doc}")
    for name, value in params.items():
        if not isinstance(value, str) or len(value) > 2000:
            raise RuleError(f"params.{name}", "text of at most 2,000 characters")
    if "priority" in params and params["priority"] not in PRIORITIES:
        raise RuleError("params.priority", f"one of {', '.join(PRIORITIES)}")
    if action == "send_message":
        from parcours.act.outreach import PRACTICES

        if params["practice"] not in PRACTICES:
            raise RuleError("params.practice", f"{params['practice']!r} is not a known practice; practices: "
                                               f"{', '.join(PRACTICES)}")
        if "channel" in params and params["channel"] not in CHANNELS:
            raise RuleError("params.channel", f"one of {', '.join(CHANNELS)}")
    if action == "webhook" and "event" in params and not re.fullmatch(r"rules(\.[a-z][a-z0-9_]*)+", params["event"]):
        raise RuleError("params.event", "an event under rules., e.g. rules.churn_risk")


def compiled(rule: Rule) -> Compiled:
    subject = SUBJECTS[rule.subject]
    return compile_condition(rule.condition, subject.fields, subject.name)


_COLS = ("rule_id", "name", "subject", "condition", "action", "params", "enabled", "repeat_after_s", "source",
         "version", "enabled_at", "created_by", "last_error", "last_error_at")


def _row(r: tuple[Any, ...]) -> Rule:
    d = dict(zip(_COLS, r))
    d["params"] = json.loads(d["params"]) if d["params"] else {}
    return Rule(**d)


def listed(store: Store) -> list[Rule]:
    return [_row(r) for r in store.query(f"SELECT {', '.join(_COLS)} FROM rules ORDER BY rule_id")]


def get(store: Store, rule_id: str) -> Rule | None:
    rows = store.query(f"SELECT {', '.join(_COLS)} FROM rules WHERE rule_id = ?", [rule_id])
    return _row(rows[0]) if rows else None


def save(store: Store, raw: dict[str, Any], *, actor: str, now: datetime | None = None) -> Rule:
    """Create or replace a rule (its version grows; switching on is :func:`set_enabled`'s job
    unless the rule says ``enabled = true``, as a file under version control may)."""
    rule = check(raw)
    now = now or datetime.now(timezone.utc)
    with store.write_lock, store.transaction() as con:
        old = con.execute("SELECT version, enabled, enabled_at, created_at FROM rules WHERE rule_id = ?",
                          [rule.rule_id]).fetchall()
        version = old[0][0] + 1 if old else 1
        was_on = bool(old and old[0][1])
        enabled_at = (old[0][2] if was_on else now) if rule.enabled else None
        con.execute("DELETE FROM rules WHERE rule_id = ?", [rule.rule_id])
        con.execute("""INSERT INTO rules (rule_id, name, subject, condition, action, params, practice, enabled,
                       enabled_at, repeat_after_s, source, created_by, created_at, updated_at, version)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    [rule.rule_id, rule.name, rule.subject, rule.condition, rule.action, json.dumps(rule.params),
                     rule.params.get("practice"), rule.enabled, enabled_at, rule.repeat_after_s, rule.source, actor,
                     old[0][3] if old else now, now, version])
    store.touch()
    saved = get(store, rule.rule_id)
    assert saved is not None
    return saved


def set_enabled(store: Store, rule_id: str, on: bool, *, now: datetime | None = None) -> Rule:
    """Switch a rule on (it judges what is stored from now on) or off."""
    now = now or datetime.now(timezone.utc)
    with store.write_lock, store.transaction() as con:
        if not con.execute("SELECT count(*) FROM rules WHERE rule_id = ?", [rule_id]).fetchone()[0]:
            raise RuleError("id", f"no rule {rule_id!r}")
        con.execute("UPDATE rules SET enabled = ?, enabled_at = CASE WHEN ? AND NOT enabled THEN ? "
                    "WHEN ? THEN enabled_at END, updated_at = ? WHERE rule_id = ?", [on, on, now, on, now, rule_id])
    store.touch()
    rule = get(store, rule_id)
    assert rule is not None
    return rule


def delete(store: Store, rule_id: str) -> bool:
    """Remove a rule (its firings stay, for the record)."""
    with store.write_lock, store.transaction() as con:
        n = con.execute("SELECT count(*) FROM rules WHERE rule_id = ?", [rule_id]).fetchone()[0]
        con.execute("DELETE FROM rules WHERE rule_id = ?", [rule_id])
    store.touch()
    return bool(n)


def record_error(store: Store, rule_id: str, error: str, now: datetime) -> None:
    """What went wrong the last time the rule ran (shown beside it until it runs cleanly)."""
    with store.write_lock, store.transaction() as con:
        con.execute("UPDATE rules SET last_error = ?, last_error_at = ? WHERE rule_id = ?",
                    [error[:2000], now, rule_id])


def clear_error(store: Store, rule_id: str) -> None:
    """The rule ran cleanly again: its last error is no longer shown."""
    with store.write_lock, store.transaction() as con:
        con.execute("UPDATE rules SET last_error = NULL, last_error_at = NULL WHERE rule_id = ?", [rule_id])


def load_file(store: Store, path: Path, *, actor: str = "file") -> list[Rule]:
    """Save every ``[[rule]]`` of a TOML file (all or nothing: a bad rule names its number and
    field, and none is saved)."""
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise RuleError("file", f"{path}: {e}") from None
    raws = doc.get("rule")
    if not isinstance(raws, list) or not raws:
        raise RuleError("file", f"{path}: no [[rule]] table")
    checked = []
    for i, raw in enumerate(raws, 1):
        if not isinstance(raw, dict):
            raise RuleError(f"rule {i}", "each [[rule]] is a table of id, name, subject, when, action, params")
        try:
            checked.append(check({**raw, "source": "file"}))
        except RuleError as e:
            raise RuleError(f"rule {i} ({raw.get('id', '?')}) {e.field}", e.reason) from None
    return [save(store, {**raw, "source": "file"}, actor=actor) for raw in raws]
