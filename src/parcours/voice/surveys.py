"""Survey definitions: one short question with a fixed scale, one open "why?", in French and
English, and when and how it is asked.

Short on purpose (seed 002: ask few, open questions; the why carries the emotion). The
wordings of the defaults follow the published instruments: NPS "How likely is it that you
would recommend…" (Reichheld 2003), CSAT on 1–5 (ACSI style), CES 2.0 "The company made it
easy for me to handle my issue" on 1–7 (Dixon, Freeman & Toman 2010; Gartner).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, replace
from datetime import datetime, timezone
from typing import Any

from parcours.schema import TOUCHPOINT_KINDS
from parcours.store import Store
from parcours.voice.model import CHANNELS, LANGUAGES, METRIC_SCALES, TRIGGERS, Survey, VoiceError

__all__ = ["DEFAULTS", "get", "install_defaults", "listed", "save", "set_active", "validated"]

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_WHY = {"fr": "Pourquoi cette note ? Dites-le avec vos mots.", "en": "Why this score? Tell us in your own words."}

DEFAULTS: tuple[Survey, ...] = (
    Survey("nps-case", "NPS after a resolved case", "nps", 0, 10,
           {"fr": "Quelle est la probabilité que vous nous recommandiez à un ami ou un proche ?",
            "en": "How likely is it that you would recommend us to a friend or colleague?"},
           _WHY, "case_resolved", channel="email", delay_minutes=60),
    Survey("csat-bot", "CSAT after a chatbot conversation", "csat", 1, 5,
           {"fr": "Êtes-vous satisfait(e) de la réponse obtenue ?",
            "en": "How satisfied are you with the answer you got?"},
           _WHY, "bot_session", channel="widget"),
    Survey("ces-case", "Effort after a resolved case", "ces", 1, 7,
           {"fr": "L'entreprise m'a facilité le traitement de ma demande.",
            "en": "The company made it easy for me to handle my issue."},
           _WHY, "case_resolved", channel="email", delay_minutes=60, active=False),
    Survey("csat-delivery", "CSAT after a delivery", "csat", 1, 5,
           {"fr": "Êtes-vous satisfait(e) de votre livraison ?", "en": "How satisfied are you with your delivery?"},
           _WHY, "delivery", channel="sms", delay_minutes=120, active=False),
    Survey("nps-relational", "Relational NPS (every 6 months)", "nps", 0, 10,
           {"fr": "Quelle est la probabilité que vous nous recommandiez à un ami ou un proche ?",
            "en": "How likely is it that you would recommend us to a friend or colleague?"},
           _WHY, "relational", channel="email", period_days=182, active=False),
)

_COLUMNS = ("survey_id", "name", "metric", "scale_min", "scale_max", "question", "why", "trigger", "trigger_kind",
            "channel", "delay_minutes", "expires_days", "period_days", "ask_during_open_case", "active")


def _texts(value: Any, field: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise VoiceError(f"{field}: give the text per language, e.g. {{'fr': '…', 'en': '…'}}")
    out = {}
    for lang, text in value.items():
        if lang not in LANGUAGES:
            raise VoiceError(f"{field}: language {lang!r} is not one of {', '.join(LANGUAGES)}")
        if not isinstance(text, str) or not text.strip() or len(text) > 300:
            raise VoiceError(f"{field}.{lang}: a question of 1 to 300 characters")
        out[lang] = text.strip()
    missing = [lang for lang in LANGUAGES if lang not in out]
    if missing:
        raise VoiceError(f"{field}: the {', '.join(missing)} text is missing (every survey speaks French and English)")
    return out


def validated(s: Survey) -> Survey:
    """``s`` checked field by field (VoiceError names the first wrong one)."""
    if not isinstance(s.survey_id, str) or not _ID.match(s.survey_id):
        raise VoiceError(f"survey_id: {s.survey_id!r} must be 1–40 lower-case letters, digits, '-' or '_'")
    if not isinstance(s.name, str) or not s.name.strip() or len(s.name) > 120:
        raise VoiceError("name: 1 to 120 characters")
    if s.metric not in (*METRIC_SCALES, "custom"):
        raise VoiceError(f"metric: {s.metric!r} is not one of nps, csat, ces, custom")
    lo, hi = METRIC_SCALES.get(s.metric, (s.scale_min, s.scale_max))
    if (s.scale_min, s.scale_max) != (lo, hi):
        raise VoiceError(f"scale: {s.metric.upper()} is always {lo}–{hi} (a fixed scale keeps scores comparable)")
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo < hi <= 10):
        raise VoiceError("scale: a custom scale runs from 0 or more to at most 10, lowest first")
    if s.trigger not in TRIGGERS:
        raise VoiceError(f"trigger: {s.trigger!r} is not one of {', '.join(TRIGGERS)}")
    if s.trigger == "touchpoint" and s.trigger_kind not in TOUCHPOINT_KINDS:
        raise VoiceError(f"trigger_kind: a touchpoint trigger names a kind ({', '.join(TOUCHPOINT_KINDS)})")
    if s.channel not in CHANNELS:
        raise VoiceError(f"channel: {s.channel!r} is not one of {', '.join(CHANNELS)}")
    if (s.trigger == "relational" or s.period_days is not None) and not (
            isinstance(s.period_days, int) and not isinstance(s.period_days, bool) and 7 <= s.period_days <= 730):
        raise VoiceError("period_days: a relational survey asks again every 7 to 730 days")
    for name, lo_, hi_ in (("delay_minutes", 0, 43_200), ("expires_days", 1, 90)):
        v = getattr(s, name)
        if not isinstance(v, int) or isinstance(v, bool) or not lo_ <= v <= hi_:
            raise VoiceError(f"{name}: a whole number from {lo_} to {hi_}, not {v!r}")
    for name in ("ask_during_open_case", "active"):
        if not isinstance(getattr(s, name), bool):
            raise VoiceError(f"{name}: true or false")
    if s.trigger_kind is not None and s.trigger != "touchpoint":
        raise VoiceError("trigger_kind: only a touchpoint trigger names a kind")
    return replace(s, name=s.name.strip(), question=_texts(s.question, "question"), why=_texts(s.why, "why"))


def _row(s: Survey) -> list[Any]:
    d = asdict(s)
    d["question"], d["why"] = json.dumps(s.question, ensure_ascii=False), json.dumps(s.why, ensure_ascii=False)
    return [d[c] for c in _COLUMNS]


def _survey(row: tuple[Any, ...]) -> Survey:
    d = dict(zip(_COLUMNS, row))
    d["question"], d["why"] = json.loads(d["question"]), json.loads(d["why"])
    return Survey(**d)


def save(store: Store, s: Survey, *, actor: str) -> Survey:
    """Create or replace a survey definition."""
    s = validated(s)
    with store.write_lock, store.transaction() as con:
        con.execute("DELETE FROM surveys WHERE survey_id = ?", [s.survey_id])
        con.execute(f"INSERT INTO surveys ({', '.join(_COLUMNS)}, created_at, created_by) "
                    f"VALUES ({', '.join('?' * (len(_COLUMNS) + 2))})", [*_row(s), datetime.now(timezone.utc), actor])
    store.memo["surveys_version"] = store.memo.get("surveys_version", 0) + 1
    store.touch()
    return s


def install_defaults(store: Store) -> int:
    """The default surveys, for a store that has none yet (a user's edits are never undone)."""
    if store.query("SELECT count(*) FROM surveys")[0][0]:
        return 0
    for s in DEFAULTS:
        save(store, s, actor="parcours")
    return len(DEFAULTS)


def get(store: Store, survey_id: str) -> Survey | None:
    """A survey by id (definitions are kept per store until one is saved: every page view reads one)."""
    version = store.memo.get("surveys_version", 0)  # read first: a save meanwhile makes this copy stale
    kept = store.memo.get("surveys")
    if kept is None or kept[0] != version:
        kept = store.memo["surveys"] = (version, {s.survey_id: s for s in listed(store)})
    return kept[1].get(survey_id)


def listed(store: Store, *, active: bool | None = None) -> list[Survey]:
    where = "" if active is None else f"WHERE active = {'true' if active else 'false'}"
    return [_survey(r) for r in store.query(f"SELECT {', '.join(_COLUMNS)} FROM surveys {where} ORDER BY survey_id")]


def set_active(store: Store, survey_id: str, active: bool, *, actor: str) -> Survey:
    s = get(store, survey_id)
    if s is None:
        raise VoiceError(f"survey_id: no survey {survey_id!r}")
    return save(store, replace(s, active=bool(active)), actor=actor)


def from_dict(d: dict[str, Any]) -> Survey:
    """A survey from JSON or TOML (API, CLI): unknown keys are refused by name; the scale of a
    fixed metric is filled in."""
    if not isinstance(d, dict):
        raise VoiceError("a survey is an object")
    unknown = sorted(set(d) - set(_COLUMNS))
    if unknown:
        raise VoiceError(f"{unknown[0]}: not a survey field (fields: {', '.join(_COLUMNS)})")
    for need in ("survey_id", "name", "metric", "question", "trigger"):
        if d.get(need) in (None, ""):
            raise VoiceError(f"{need}: required")
    lo, hi = METRIC_SCALES.get(d["metric"], (d.get("scale_min", 0), d.get("scale_max", 10)))
    return Survey(**{"scale_min": lo, "scale_max": hi, "why": _WHY, **d})
