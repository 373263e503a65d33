"""Maturity over the API: Ovum's level with the evidence of each criterion, the latest Temkin
self-assessment, the advice for the weak points; and a new self-assessment."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from parcours import maturity
from parcours.auth import Principal
from parcours.maturity.temkin import STATEMENTS, MaturityError
from parcours.store import Store
from parcours.web.deps import db, require

router = APIRouter(tags=["maturity"])


class AssessmentIn(BaseModel):
    answers: dict[str, Any] = Field(..., description="every statement id (" + ", ".join(s.id for s in STATEMENTS)
                                    + ") with a whole score from 1 (strongly disagree) to 5 (strongly agree)")


@router.get("/maturity")
def get_maturity(start: date | None = Query(None, alias="from", description="first day (UTC), included"),
                 end: date | None = Query(None, alias="to", description="last day (UTC), excluded"),
                 lang: str = Query("en", pattern="^(en|fr)$", description="language of the evidence and tips"),
                 store: Store = Depends(db), who: Principal = Depends(require("act"))) -> Any:
    """The Ovum level (1 departmental … 4 customer-adaptive) with each criterion's checks (value,
    threshold, n, passed), figures and evidence; the latest Temkin self-assessment (scores 0–100
    per competency, the weakest); Temkin's tips for the failed criteria and weakest competencies."""
    return maturity.summary(store, start, end, lang)


@router.post("/maturity/assessment", status_code=201)
def post_assessment(body: AssessmentIn, store: Store = Depends(db),
                    who: Principal = Depends(require("act"))) -> Any:
    """Record a self-assessment (all twelve statements). 422 names the statement at fault."""
    try:
        aid = maturity.record(store, body.answers, who.label)
    except MaturityError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"assessment_id": aid, **(maturity.latest(store) or {})}
