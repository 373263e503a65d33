"""Inbound channels over HTTP: messages from SMS, social, app, chatbot, chat and web gateways,
and call records from telephony exports, each landing on the person's case.

The desk (``cases.receive``) resolves the person, finds the case (the same issue on any
channel links to one case) and records the contact; this module checks and maps. An
``external_id`` makes a gateway's redelivery a no-op: ids are kept per channel
(``sms:<id>``, ``phone:<call id>``), so two gateways' numbering never collide.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from parcours.auth import Principal
from parcours.desk import cases
from parcours.schema import MAX_TEXT_CHARS, OUTCOMES
from parcours.store import Store
from parcours.web.api.desk import Identifiers, received
from parcours.web.deps import db, require
from parcours.web.files import AttachmentIn, decoded

router = APIRouter(prefix="/channels", tags=["channels"])

#: channels a gateway posts messages for (e-mail arrives over SMTP, calls at /channels/phone/calls,
#: store and phone contacts typed by agents at /desk/contacts)
GATEWAY_CHANNELS = ("sms", "social", "app", "chatbot", "chat", "web")
MAX_CALLS = 1000
class MessageIn(BaseModel):
    sender: Identifiers = Field(..., description="who wrote: phone for SMS, handle for social, app_id for app…")
    text: str | None = Field(None, max_length=MAX_TEXT_CHARS, description="may be empty with attachments")
    ts: datetime = Field(..., description="when the customer sent it (with a time zone)")
    external_id: str | None = Field(None, min_length=1, max_length=cases.MAX_EXTERNAL_ID,
                                    description="the gateway's message id: a redelivery is answered `duplicate`")
    subject: str | None = Field(None, max_length=cases.MAX_SUBJECT)
    topic: str | None = Field(None, max_length=cases.MAX_TOPIC)
    language: str | None = Field(None, max_length=10)
    attachments: list[AttachmentIn] = Field([], max_length=cases.MAX_ATTACHMENTS)


class CallIn(BaseModel):
    """One call of a telephony export."""

    caller: str = Field(..., min_length=1, max_length=100, description="the customer's number, any format")
    started_at: datetime = Field(..., description="when the call started (with a time zone)")
    wait_s: float | None = Field(None, ge=0, le=86_400, description="seconds waiting before an agent answered")
    talk_s: float | None = Field(None, ge=0, le=86_400, description="seconds talking (handle time)")
    outcome: Literal[OUTCOMES] | None = None  # type: ignore[valid-type]
    agent: str | None = Field(None, max_length=100, description="who took the call")
    call_id: str | None = Field(None, min_length=1, max_length=500, description="the call's id: idempotent")
    topic: str | None = Field(None, max_length=cases.MAX_TOPIC)
    notes: str | None = Field(None, max_length=10_000, description="what the call was about")


_CALLS: TypeAdapter[CallIn] = TypeAdapter(CallIn)
_CALLS_SCHEMA = CallIn.model_json_schema()


@router.post("/{channel}/messages", responses={422: {"description": "unknown channel or malformed message"}})
def message(body: MessageIn, channel: str = Path(..., max_length=50, json_schema_extra={"enum": GATEWAY_CHANNELS}),
            store: Store = Depends(db), who: Principal = Depends(require("ingest"))) -> Any:
    """A customer's message from a gateway: which case it landed on, and how (`thread`,
    `linked`, `suggested`, `follow_up`, `new`, `duplicate`)."""
    if channel not in GATEWAY_CHANNELS:
        raise HTTPException(422, f"unknown channel {channel!r}: messages come in on {', '.join(GATEWAY_CHANNELS)} "
                                 "(e-mail over SMTP, calls at /channels/phone/calls, store visits at /desk/contacts)")
    files = decoded(body.attachments)
    try:
        got = cases.receive(store, channel=channel, identifiers=body.sender.model_dump(exclude_none=True),
                            text=body.text, ts=body.ts, subject=body.subject, topic=body.topic,
                            external_id=f"{channel}:{body.external_id}" if body.external_id else None,
                            attachments=files, language=body.language)
    except cases.DeskError as e:
        raise HTTPException(422, str(e)) from e
    return received(got)


def _call_text(c: CallIn) -> str:
    """What the case shows of a call (its wait, talk time and outcome also go on the contact's
    touchpoint, where the metrics read them)."""
    facts = [f"waited {c.wait_s:g} s" if c.wait_s is not None else None,
             f"talked {c.talk_s:g} s" if c.talk_s is not None else None,
             f"outcome {c.outcome}" if c.outcome else None, f"agent {c.agent}" if c.agent else None,
             f"call id {c.call_id}" if c.call_id else None]
    head = "Phone call: " + ", ".join(f for f in facts if f) + "."
    return f"{head}\n{c.notes}" if c.notes else head


def _errors(e: ValidationError, row: int) -> list[dict[str, Any]]:
    return [{"row": row, "field": ".".join(str(p) for p in err["loc"]) or None, "reason": err["msg"]}
            for err in e.errors()]


@router.post("/phone/calls", openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"oneOf": [_CALLS_SCHEMA, {"type": "array", "items": _CALLS_SCHEMA, "minItems": 1,
                                         "maxItems": MAX_CALLS}]}}}}},
    responses={422: {"description": "not JSON, empty, or more than 1,000 calls"}})
def calls(rows: Any = Body(...), store: Store = Depends(db), who: Principal = Depends(require("ingest"))) -> Any:
    """Call records (one or up to 1,000): each lands on the caller's case as a phone contact.
    Bad rows are answered in `errors` (row counted from 1, field, reason); the good ones are kept."""
    batch = rows if isinstance(rows, list) else [rows]
    if not batch or len(batch) > MAX_CALLS:
        raise HTTPException(422, f"send one call or an array of 1 to {MAX_CALLS:,} calls (got {len(batch):,})")
    results, errors = [], []
    for n, raw in enumerate(batch, start=1):
        try:
            c = _CALLS.validate_python(raw)
            got = cases.receive(store, channel="phone", identifiers={"phone": c.caller}, text=_call_text(c),
                                ts=c.started_at, topic=c.topic, entered_by=c.agent,
                                external_id=f"phone:{c.call_id}" if c.call_id else None,
                                facts=cases.ContactFacts(c.wait_s, c.talk_s, c.outcome))
        except ValidationError as e:
            errors += _errors(e, n)
            continue
        except cases.DeskError as e:
            errors.append({"row": n, "field": None, "reason": str(e)})
            continue
        results.append({"row": n, **received(got)})
    return {"received": len(batch), "stored": len(results), "results": results, "errors": errors}
