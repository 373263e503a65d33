"""What if…: the journey model's answer to a change, over the API (``GET /api/v1/whatif``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from parcours.auth import Principal
from parcours.simulate.whatif import WhatIfError, cached_model, scenario
from parcours.store import Store
from parcours.web.deps import db, require

router = APIRouter(tags=["whatif"])


@router.get("/whatif")
def whatif(channel: str | None = Query(None, description="the channel changed (phone, chat, email…)"),
           resolve: float = Query(0.0, ge=-100, le=100, description="resolution on a contact, in points (+10)"),
           scope: Literal["every", "first"] = Query("every", description="every contact on the channel, or only "
                                                                          "an episode's first contact"),
           give_up: float = Query(0.0, ge=-100, le=100, description="giving up after an unresolved contact, in points"),
           shift_to: str | None = Query(None, description="episodes starting on `channel` moved to start here"),
           shift: float = Query(0.0, ge=0, le=100, description="the share of them moved, in %"),
           store: Store = Depends(db), who: Principal = Depends(require("act"))) -> Any:
    """Baseline against scenario, from the model fit on the store's episodes and NPS answers:
    contacts per channel (per 1,000 episodes and in the period), give-up, settled at the first
    contact and NPS, each with 95 % bootstrap intervals (``change_ci``: the expected change;
    ``change_period_ci``: what one period like the data's would show); ``rates``: what the model
    learnt per channel (start share, resolution, give-up, reopening, in %). 422 names the field and why."""
    try:
        sc = scenario(channel, resolve_points=resolve, give_up_points=give_up, scope=scope, shift_to=shift_to,
                      shift_points=shift)
        model = cached_model(store)
        return {**model.ask(sc).as_dict(), "rates": model.rates()}
    except WhatIfError as exc:
        raise HTTPException(422, str(exc)) from None
