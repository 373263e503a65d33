"""Churn risk over the API: train and score, the value at risk, who is at risk and why."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from parcours import persons
from parcours.act import churn
from parcours.auth import Principal
from parcours.store import Store
from parcours.web.deps import db, require

router = APIRouter(tags=["churn"])


class TrainIn(BaseModel):
    as_of: date | None = Field(None, description="cut-off date (default: the data end minus the horizon, the "
                                                 "latest whose outcome is known)")
    horizon_days: int = Field(churn.HORIZON_DAYS, ge=7, le=366, description="days after the cut-off in which a "
                                                                           "customer who stops buying has churned")


@router.post("/churn/train", status_code=202)
def train(request: Request, body: TrainIn | None = None, who: Principal = Depends(require("act"))) -> Any:
    """Train a model on the history, then score every customer — in the background: the answer is the
    training's status (a training already running is not started twice). Follow it with GET."""
    body = body or TrainIn()
    try:
        return request.app.state.churn_training.start(as_of=body.as_of, horizon_days=body.horizon_days)
    except churn.ChurnError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/churn/train")
def training(request: Request, who: Principal = Depends(require("act"))) -> Any:
    """The latest training: idle, running (step, share done), done (model, AUC, persons scored) or failed (why)."""
    return request.app.state.churn_training.status()


@router.get("/churn/model")
def model(store: Store = Depends(db), who: Principal = Depends(require("act"))) -> Any:
    """The latest model: AUC with its 95 % interval, Brier, calibration bins, features."""
    found = churn.model_summary(store)
    if found is None:
        raise HTTPException(404, "no churn model yet: POST /api/v1/churn/train")
    return found


@router.get("/churn/at-risk")
def at_risk(threshold: float = Query(0.6, ge=0, le=1), segment: str | None = Query(None, max_length=40),
            limit: int = Query(100, ge=1, le=10_000), store: Store = Depends(db),
            who: Principal = Depends(require("act"))) -> Any:
    """Customers at or above the risk threshold, most valuable at risk first, with their reasons."""
    try:
        return churn.at_risk(store, threshold, limit, segment=segment)
    except churn.ChurnError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/churn/value-at-risk")
def value_at_risk(threshold: float = Query(0.6, ge=0, le=1), store: Store = Depends(db),
                  who: Principal = Depends(require("act"))) -> Any:
    """The manager's sum: expected CLV lost and CLV of customers at risk, in total and by segment."""
    try:
        return churn.clv_at_risk(store, threshold)
    except churn.ChurnError as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/churn/persons/{identifier}")
def person_risk(identifier: str, store: Store = Depends(db), who: Principal = Depends(require("persons.read"))) -> Any:
    """One customer's risk, reasons and CLV (what the agent sees on a case)."""
    pid = persons.find(store, identifier)
    if pid is None:
        raise HTTPException(404, f"no person known by {identifier!r}")
    found = churn.risk_of(store, pid)
    if found is None:
        raise HTTPException(404, f"{identifier!r} has no churn score (not a customer at the scoring date, or "
                                 "no scoring yet)")
    return found
