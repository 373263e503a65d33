"""Rules, their firings and back-tests, the teams' notifications, and outreach over the API."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from parcours.act import engine, outreach, rules
from parcours.act.subjects import SUBJECTS
from parcours.auth import Principal
from parcours.store import Store
from parcours.web.deps import db, require

router = APIRouter(tags=["rules"])


class BacktestIn(BaseModel):
    rule: dict[str, Any] | None = Field(None, description="a rule not saved yet (else the saved rule_id's)")
    start: date = Field(..., alias="from")
    end: date = Field(..., alias="to", description="excluded")
    step_hours: float = Field(24, gt=0, le=24 * 7, description="states: hours between replayed sweeps")


class BudgetIn(BaseModel):
    per_person: int = Field(..., ge=1, le=100)
    period_days: int = Field(..., ge=1, le=366)
    reserve: int = Field(1, ge=0, le=99)
    welcome: float = Field(3.0, ge=1, le=5)


def _day(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


@router.get("/rules")
def list_rules(store: Store = Depends(db), who: Principal = Depends(require("act"))) -> Any:
    """Every rule, on or off, with its last error and how often it fired."""
    fired = dict(store.query("SELECT rule_id, count(*) FROM rule_firings GROUP BY rule_id"))
    return [{**r.as_dict(), "fired": fired.get(r.rule_id, 0)} for r in rules.listed(store)]


@router.get("/rules/subjects")
def subjects(who: Principal = Depends(require("act"))) -> Any:
    """What a rule may be about, and the fields its condition may name; the actions and their parameters."""
    return {"subjects": {s.name: {"kind": s.kind, "doc": s.doc, "fields": s.field_docs()} for s in SUBJECTS.values()},
            "actions": {a: {p: {"required": req, "doc": doc} for p, (req, doc) in spec.items()}
                        for a, spec in rules.ACTIONS.items()}}


@router.put("/rules/{rule_id}")
def put_rule(rule_id: str, body: dict[str, Any], store: Store = Depends(db),
             who: Principal = Depends(require("act"))) -> Any:
    """Create or replace a rule (saved off unless it says enabled). 422 names the field and why."""
    try:
        return rules.save(store, {**body, "id": rule_id}, actor=who.label).as_dict()
    except rules.RuleError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/rules/{rule_id}/on")
def switch_on(rule_id: str, store: Store = Depends(db), who: Principal = Depends(require("act"))) -> Any:
    """Switch a rule on: it judges what is stored from now on."""
    return _switch(store, rule_id, True)


@router.post("/rules/{rule_id}/off")
def switch_off(rule_id: str, store: Store = Depends(db), who: Principal = Depends(require("act"))) -> Any:
    """Switch a rule off."""
    return _switch(store, rule_id, False)


def _switch(store: Store, rule_id: str, on: bool) -> Any:
    try:
        return rules.set_enabled(store, rule_id, on).as_dict()
    except rules.RuleError as exc:
        raise HTTPException(404, str(exc)) from None


@router.delete("/rules/{rule_id}")
def delete_rule(rule_id: str, store: Store = Depends(db), who: Principal = Depends(require("act"))) -> Any:
    """Remove a rule (its firings stay on record)."""
    if not rules.delete(store, rule_id):
        raise HTTPException(404, f"no rule {rule_id!r}")
    return {"deleted": rule_id}


@router.post("/rules/{rule_id}/backtest")
def backtest(rule_id: str, body: BacktestIn, store: Store = Depends(db),
             who: Principal = Depends(require("act"))) -> Any:
    """How often the rule (saved, or the one in the body) would have fired over a past period."""
    rule = body.rule if body.rule is not None else rules.get(store, rule_id)
    if rule is None:
        raise HTTPException(404, f"no rule {rule_id!r}")
    if isinstance(rule, dict):
        rule = {**rule, "id": rule_id}
    try:
        return asdict(engine.backtest(store, rule, _day(body.start), _day(body.end),
                                      step=timedelta(hours=body.step_hours)))
    except rules.RuleError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/rules/firings")
def list_firings(rule: str | None = Query(None, max_length=64), person: str | None = Query(None, max_length=64),
                 status: str | None = Query(None, pattern="^(pending|done|skipped|failed)$"),
                 limit: int = Query(100, ge=1, le=10_000), store: Store = Depends(db),
                 who: Principal = Depends(require("act"))) -> Any:
    """The latest firings: rule, subject, person, case, reason, action, status, result or error."""
    return engine.firings(store, rule_id=rule, person_id=person, status=status, limit=limit)


@router.get("/notifications")
def notifications(team: str | None = Query(None, max_length=64), unread: bool = Query(False),
                  limit: int = Query(100, ge=1, le=1000), store: Store = Depends(db),
                  who: Principal = Depends(require("desk"))) -> Any:
    """What rules told the teams, newest first."""
    rows = store.con.execute(
        "SELECT notification_id, team_id, rule_id, person_id, case_id, message, created_at, read_at, read_by "
        "FROM notifications WHERE (? IS NULL OR team_id = ?) AND (NOT ? OR read_at IS NULL) "
        "ORDER BY created_at DESC LIMIT ?", [team, team, unread, limit])
    cols = [d[0] for d in rows.description]
    return [dict(zip(cols, r)) for r in rows.fetchall()]


@router.post("/notifications/{notification_id}/read")
def read(notification_id: str, store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    """Mark a notification read."""
    with store.write_lock, store.transaction() as con:
        n = con.execute("SELECT count(*) FROM notifications WHERE notification_id = ?", [notification_id]).fetchone()
        if not n[0]:
            raise HTTPException(404, f"no notification {notification_id!r}")
        con.execute("UPDATE notifications SET read_at = coalesce(read_at, now()), read_by = coalesce(read_by, ?) "
                    "WHERE notification_id = ?", [who.label, notification_id])
    return {"notification_id": notification_id, "read": True}


@router.get("/outreach")
def outreach_summary(store: Store = Depends(db), who: Principal = Depends(require("act"))) -> Any:
    """The practices with how customers rate them, queued / sent / held counts, and the budget."""
    return {"budget": asdict(outreach.budget(store)), "practices": outreach.summary(store)}


@router.put("/outreach/budget")
def put_budget(body: BudgetIn, store: Store = Depends(db), who: Principal = Depends(require("act"))) -> Any:
    """Set the contact-pressure budget (proactive contacts per person and period)."""
    try:
        return asdict(outreach.set_budget(store, outreach.Budget(**body.model_dump())))
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/outreach/effect")
def outreach_effect(days: int = Query(30, ge=1, le=365), store: Store = Depends(db),
                    who: Principal = Depends(require("act"))) -> Any:
    """NPS of persons reached vs held back by the budget, per practice, with 95 % intervals."""
    return outreach.effect(store, days=days)
