"""Acting before the problem: the managers' rules (write, back-test, switch on), their firings,
what the teams were told, and outreach under the contact-pressure budget. The logic lives in
``parcours.act``; this module reads forms and renders."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from parcours.act import engine, outreach, rules
from parcours.act.subjects import SUBJECTS
from parcours.auth import Principal
from parcours.store import Store
from parcours.web.deps import check_csrf, db, page_user
from parcours.web.render import render

router = APIRouter()


def _day(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


def _page(request: Request, store: Store, status_code: int = 200, **kw: Any) -> Any:
    fired = dict(store.query("SELECT rule_id, count(*) FROM rule_firings GROUP BY rule_id"))
    notes = store.query("SELECT team_id, message, created_at, case_id FROM notifications ORDER BY created_at DESC "
                        "LIMIT 20")
    return render(request, "act.html", status_code=status_code, rules=rules.listed(store), fired=fired,
                  firings=engine.firings(store, limit=30), notes=notes, subjects=SUBJECTS, actions=rules.ACTIONS,
                  practices=outreach.summary(store), budget=outreach.budget(store),
                  effect=outreach.effect(store), **kw)


@router.get("/act")
def act(request: Request, store: Store = Depends(db), who: Principal = Depends(page_user("act"))) -> Any:
    return _page(request, store, form={})


@router.post("/act/rules")
def save_rule(request: Request, rule_id: str = Form("", max_length=64), name: str = Form("", max_length=200),
              subject: str = Form("", max_length=20), when: str = Form("", max_length=2000),
              action: str = Form("", max_length=20), params: str = Form("{}", max_length=8000),
              repeat_after: str = Form("", max_length=20), csrf: str = Form(""), store: Store = Depends(db),
              who: Principal = Depends(page_user("act"))) -> Any:
    check_csrf(request, csrf)
    form = {"id": rule_id.strip(), "name": name, "subject": subject, "when": when, "action": action,
            "params": params, "repeat_after": repeat_after.strip() or None}
    try:
        rules.save(store, form, actor=who.label)
    except rules.RuleError as exc:  # what was typed comes back with the reason
        return _page(request, store, 422, form=form, error=str(exc), error_field=exc.field)
    return RedirectResponse(f"/act/rules/{form['id']}", status_code=303)


@router.get("/act/rules/{rule_id}")
def rule_page(request: Request, rule_id: str, start: date | None = Query(None, alias="from"),
              end: date | None = Query(None, alias="to"), store: Store = Depends(db),
              who: Principal = Depends(page_user("act"))) -> Any:
    rule = rules.get(store, rule_id)
    if rule is None:
        return render(request, "error.html", status=404, detail=f"no rule {rule_id!r}", status_code=404)
    last = store.query("SELECT max(ts) FROM touchpoints")[0][0] or datetime.now(timezone.utc)
    end_d = end or (last.date() + timedelta(days=1))
    start_d = start or (end_d - timedelta(days=30))
    test, error = None, None
    if start is not None or end is not None:
        try:
            test = engine.backtest(store, rule, _day(start_d), _day(end_d))
        except rules.RuleError as exc:
            error = str(exc)
    return render(request, "act_rule.html", rule=rule, test=test, error=error, start=start_d, end=end_d,
                  firings=engine.firings(store, rule_id=rule_id, limit=50), params=json.dumps(rule.params,
                                                                                              ensure_ascii=False),
                  subjects=SUBJECTS, actions=rules.ACTIONS)


@router.post("/act/rules/{rule_id}/switch")
def switch(request: Request, rule_id: str, on: str = Form(...), csrf: str = Form(""), store: Store = Depends(db),
           who: Principal = Depends(page_user("act"))) -> Any:
    check_csrf(request, csrf)
    try:
        rules.set_enabled(store, rule_id, on == "on")
    except rules.RuleError as exc:
        return render(request, "error.html", status=404, detail=str(exc), status_code=404)
    return RedirectResponse(f"/act/rules/{rule_id}", status_code=303)


@router.post("/act/budget")
def set_budget(request: Request, per_person: int = Form(..., ge=1, le=100), period_days: int = Form(..., ge=1, le=366),
               reserve: int = Form(1, ge=0, le=99), welcome: float = Form(3.0, ge=1, le=5), csrf: str = Form(""),
               store: Store = Depends(db), who: Principal = Depends(page_user("act"))) -> Any:
    check_csrf(request, csrf)
    try:
        outreach.set_budget(store, outreach.Budget(per_person, period_days, reserve, welcome))
    except ValueError as exc:
        return _page(request, store, 422, form={}, error=str(exc), error_field="budget")
    return RedirectResponse("/act#outreach", status_code=303)

