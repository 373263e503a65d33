"""Voice of the customer over the API: survey definitions, invitations (a relational wave, the
app's widget), the quiet list, and what the comments say (themes, verbatims, loop, coverage)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from parcours import persons
from parcours.auth import Principal
from parcours.store import Store
from parcours.voice import analysis, coverage, delivery, invitations, loop, surveys
from parcours.voice.model import VoiceError
from parcours.web.deps import db, require
from parcours.web.views.filters import day_start

router = APIRouter(tags=["voice"])


class InviteIn(BaseModel):
    persons: list[str] = Field(..., min_length=1, max_length=10_000,
                               description="person ids or identifiers (e-mail, phone…) to ask now")


class QuietIn(BaseModel):
    person: str = Field(..., min_length=1, max_length=500, description="person id or identifier")
    reason: str = Field("asked not to be surveyed", max_length=500)


def _person_id(store: Store, identifier: str) -> str:
    pid = persons.find(store, identifier)
    if pid is None:
        raise HTTPException(404, f"no person known by {identifier!r}")
    return pid


@router.get("/surveys")
def list_surveys(store: Store = Depends(db), who: Principal = Depends(require("metrics"))) -> Any:
    """Every survey definition (question and why in French and English, trigger, channel)."""
    return [asdict(s) for s in surveys.listed(store)]


@router.put("/surveys/{survey_id}")
def put_survey(survey_id: str, body: dict[str, Any], store: Store = Depends(db),
               who: Principal = Depends(require("voice"))) -> Any:
    """Create or replace a survey. 422 names the field at fault."""
    try:
        s = surveys.save(store, surveys.from_dict({**body, "survey_id": survey_id}), actor=who.label)
    except (VoiceError, TypeError) as exc:
        raise HTTPException(422, str(exc)) from None
    return asdict(s)


@router.post("/surveys/{survey_id}/invitations")
def invite(survey_id: str, body: InviteIn, store: Store = Depends(db),
           who: Principal = Depends(require("voice"))) -> Any:
    """Ask these persons now (the contact rules still hold: the answer counts who was held back)."""
    unknown = [p for p in body.persons if persons.find(store, p) is None]
    if unknown:
        raise HTTPException(422, f"persons: no person known by {unknown[0]!r}"
                                 + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    try:
        return invitations.invite_persons(store, survey_id, [_person_id(store, p) for p in body.persons])
    except VoiceError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/surveys/pending")
def pending(request: Request, person: str = Query(..., min_length=1, max_length=500), store: Store = Depends(db),
            who: Principal = Depends(require("ingest"))) -> Any:
    """For the web site or app: the person's survey to show now (its link), or null."""
    return delivery.pending_for(store, _person_id(store, person), base_url=request.app.state.public_url)


@router.get("/surveys/invitations")
def person_invitations(person: str = Query(..., min_length=1, max_length=500), store: Store = Depends(db),
                       who: Principal = Depends(require("voice"))) -> Any:
    """A person's invitations, newest first, each with its status and — when held back — the rule that held."""
    pid = _person_id(store, person)
    return {"person_id": pid, "quiet": invitations.is_quiet(store, pid),
            "invitations": invitations.of_person(store, pid)}


@router.delete("/voice/quiet/{person}")
def unquiet(person: str, store: Store = Depends(db), who: Principal = Depends(require("voice"))) -> Any:
    """Take a person off the quiet list (they asked to be surveyed again)."""
    pid = _person_id(store, person)
    if not invitations.let_speak(store, pid):
        raise HTTPException(404, f"{person!r} is not on the quiet list")
    return {"person_id": pid, "quiet": None}


@router.post("/voice/quiet", status_code=201)
def quiet(body: QuietIn, store: Store = Depends(db), who: Principal = Depends(require("voice"))) -> Any:
    """Keep a person out of every survey (the quiet list)."""
    pid = _person_id(store, body.person)
    invitations.keep_quiet(store, pid, body.reason, actor=who.label)
    return {"person_id": pid, "reason": body.reason}


@router.get("/voice/themes")
def themes(lang: str = Query("fr", pattern="^(fr|en)$"), start: date | None = Query(None, alias="from"),
           end: date | None = Query(None, alias="to"), store: Store = Depends(db),
           who: Principal = Depends(require("metrics"))) -> Any:
    """Themes of the comments: mentions, negative and positive counts, NPS of those who mention them, examples."""
    return [{**asdict(t), "negative_share": t.negative_share}
            for t in analysis.themes(store, language=lang, start=day_start(start), end=day_start(end))]


@router.get("/voice/verbatims")
def verbatims(theme: str | None = Query(None, max_length=60),
              label: str | None = Query(None, pattern="^(negative|neutral|positive)$"),
              limit: int = Query(50, ge=1, le=1000), store: Store = Depends(db),
              who: Principal = Depends(require("metrics"))) -> Any:
    """The latest comments with their language, sentiment, intensity, themes and aspects."""
    return analysis.recent(store, theme=theme, label=label, limit=limit)


@router.get("/voice/loop")
def closure(start: date | None = Query(None, alias="from"), end: date | None = Query(None, alias="to"),
            store: Store = Depends(db), who: Principal = Depends(require("metrics"))) -> Any:
    """Loop cases opened from answers: count, closure rate and time; problems tracked."""
    return {**loop.closure(store, start=day_start(start), end=day_start(end)),
            "problems": [asdict(p) for p in loop.problems(store)]}


@router.get("/voice/coverage")
def silent(start: date | None = Query(None, alias="from"), end: date | None = Query(None, alias="to"),
           store: Store = Depends(db), who: Principal = Depends(require("metrics"))) -> Any:
    """Who answers, who never does, response rates overall and per survey, and the non-response
    bias note's figures."""
    return coverage.coverage(store, start=day_start(start), end=day_start(end))
