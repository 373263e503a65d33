"""Churn risk over the API: train and score, the value at risk, who is at risk and why."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query

from parcours import persons
from parcours.act import churn
from parcours.auth import Principal
from parcours.store import Store
from parcours.web.deps import db, require
from parcours.web.views.churn import model_summary

router = APIRouter(tags=["churn"])


@router.post("/churn/train")
def train(store: Store = Depends(db), who: Principal = Depends(require("act"))) -> Any:
    """Train a model on the history (cut-off 90 days before the data end), then score every customer."""
    try:
        trained = churn.train(store)
        return {"trained": trained, "scored": churn.score(store)}
    except churn.ChurnError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/churn/model")
def model(store: Store = Depends(db), who: Principal = Depends(require("act"))) -> Any:
    """The latest model: AUC with its 95 % interval, Brier, calibration bins, features."""
    found = model_summary(store)
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
