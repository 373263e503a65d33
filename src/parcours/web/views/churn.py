"""Churn risk for the manager: how good the model is (AUC with its interval, calibration), the
customer value at risk by segment, and who is at risk with their reasons. ``parcours.act.churn``
computes; this module renders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from parcours.act import churn
from parcours.auth import Principal
from parcours.store import Store
from parcours.web.deps import check_csrf, db, page_user
from parcours.web.i18n import STRINGS
from parcours.web.render import language, render
from parcours.web.views import charts

router = APIRouter()


@router.get("/act/churn")
def churn_page(request: Request, threshold: float = Query(0.6, ge=0, le=1), segment: str | None = Query(None,
               max_length=40), store: Store = Depends(db), who: Principal = Depends(page_user("act"))) -> Any:
    model = churn.model_summary(store)
    scored = store.query("SELECT count(*) FROM churn_scores")[0][0]
    value = churn.clv_at_risk(store, threshold) if scored else None
    people = churn.at_risk(store, threshold, 50, segment=segment or None) if scored else []
    spec = None
    if model and model["metrics"].get("bins"):
        words = STRINGS[language(request)]
        spec = charts.reliability(words["churn_calibration"], model["metrics"]["bins"],
                                  predicted_title=words["churn_predicted"], observed_title=words["churn_observed"])
    return render(request, "churn.html", training=request.app.state.churn_training.status(), model=model,
                  scored=scored, value=value, people=people, spec=spec,
                  threshold=threshold, segment=segment or "")


@router.post("/act/churn/train")
def train(request: Request, csrf: str = Form(""), store: Store = Depends(db),
          who: Principal = Depends(page_user("act"))) -> Any:
    check_csrf(request, csrf)
    request.app.state.churn_training.start()
    return RedirectResponse("/act/churn", status_code=303)
