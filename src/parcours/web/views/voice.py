"""Voice of the customer: the scores over time, the themes of the comments and their tone,
the verbatims, closing the loop, the employees' voice beside the customers', and the silent
customers. Everything is computed by ``parcours.voice``; this module only reads the filters.

Also the pages that act: surveys switched on and off (``/voice/surveys``), themes tracked as
problems (``/voice/problems``), and the employees' own quarterly answer (``/voice/employees``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from parcours.auth import Principal
from parcours.store import Store
from parcours.voice import analysis, coverage, employees, loop, surveys
from parcours.voice.model import AnswerError, VoiceError, score_tone
from parcours.web.deps import check_csrf, db, page_user
from parcours.web.render import language, render
from parcours.web.views.filters import PageFilters, day_start, page_filters, page_report
from parcours.web.views.overview import trend_specs

router = APIRouter()
SURVEYS = ("nps", "csat", "ces")
LABELS = ("negative", "neutral", "positive")


@router.get("/voice")
def voice(request: Request, f: PageFilters = Depends(page_filters),
          metric: str | None = Query(None, max_length=10), theme: str | None = Query(None, max_length=60),
          label: str | None = Query(None, max_length=10), limit: int = Query(50, ge=1, le=500),
          store: Store = Depends(db), who: Principal = Depends(page_user("metrics"))) -> Any:
    rep = page_report(request, f)
    lang = language(request)
    metric = metric if metric in SURVEYS else None
    label = label if label in LABELS else None
    sel: dict[str, Any] = {"start": day_start(f.start), "end": day_start(f.end), "channel": f.channel,
                           "segment": f.segment}
    return render(request, "voice.html", rep=rep, filters=f, **trend_specs(rep, lang),
                  verbatims=analysis.recent(store, **sel, metric=metric, theme=theme, label=label, limit=limit),
                  themes=analysis.themes(store, **sel, metric=metric, language=lang),
                  topics=analysis.unthemed_topics(store),
                  feel=analysis.tone(store, **sel, metric=metric),
                  closing=loop.closure(store, start=sel["start"], end=sel["end"]),
                  problems=loop.problems(store), enps=employees.enps(store),
                  silent=coverage.coverage(store, start=sel["start"], end=sel["end"]),
                  metric=metric, theme=theme, label=label, surveys=SURVEYS, labels=LABELS, tone=score_tone, limit=limit,
                  theme_names=analysis.theme_names(lang))


@router.get("/voice/surveys")
def survey_list(request: Request, store: Store = Depends(db), who: Principal = Depends(page_user("voice"))) -> Any:
    return render(request, "voice_surveys.html", surveys=surveys.listed(store))


@router.post("/voice/surveys/{survey_id}/active")
def survey_switch(request: Request, survey_id: str, active: str = Form(...), csrf: str = Form(""),
                  store: Store = Depends(db), who: Principal = Depends(page_user("voice"))) -> Any:
    check_csrf(request, csrf)
    try:
        surveys.set_active(store, survey_id, active == "on", actor=who.label)
    except VoiceError as exc:
        return render(request, "error.html", status=422, detail=str(exc), status_code=422)
    return RedirectResponse("/voice/surveys", status_code=303)


@router.get("/voice/problems")
def problem_list(request: Request, store: Store = Depends(db), who: Principal = Depends(page_user("voice"))) -> Any:
    lang = language(request)
    return render(request, "voice_problems.html", problems=loop.problems(store),
                  themes=analysis.themes(store, language=lang, examples=1), statuses=loop.PROBLEM_STATUSES)


@router.post("/voice/problems")
def problem_save(request: Request, theme: str = Form(..., max_length=60), title: str = Form(..., max_length=200),
                 root_cause: str = Form("", max_length=2000), action: str = Form("", max_length=2000),
                 status: str = Form("open", max_length=20), owner: str = Form("", max_length=120),
                 problem_id: str = Form("", max_length=20), csrf: str = Form(""), store: Store = Depends(db),
                 who: Principal = Depends(page_user("voice"))) -> Any:
    check_csrf(request, csrf)
    try:
        loop.save_problem(store, actor=who.label, theme=theme, title=title, root_cause=root_cause or None,
                          action=action or None, status=status, owner=owner or None, problem_id=problem_id or None)
    except VoiceError as exc:
        return render(request, "error.html", status=422, detail=str(exc), status_code=422)
    return RedirectResponse("/voice/problems", status_code=303)


@router.get("/voice/employees")
def employee_page(request: Request, store: Store = Depends(db), who: Principal = Depends(page_user())) -> Any:
    lang = language(request)
    return render(request, "voice_employees.html", done=employees.answered(store, who.id),
                  question=employees.QUESTION[lang], suggestion_q=employees.SUGGESTION[lang],
                  enps=employees.enps(store), suggestions=employees.suggestions(store) if who.can("metrics") else [])


@router.post("/voice/employees")
def employee_answer(request: Request, score: str = Form(""), suggestion: str = Form(""), csrf: str = Form(""),
                    store: Store = Depends(db), who: Principal = Depends(page_user())) -> Any:
    check_csrf(request, csrf)
    lang = language(request)
    try:
        employees.answer(store, who.id, score, suggestion, team_id=employees.team_of(store, who.id), language=lang)
    except AnswerError as exc:  # what was typed comes back with the reason
        return render(request, "voice_employees.html", status_code=422, done=False, error=str(exc),
                      question=employees.QUESTION[lang], suggestion_q=employees.SUGGESTION[lang],
                      score=score, suggestion=suggestion, enps=employees.enps(store), suggestions=[])
    return RedirectResponse("/voice/employees", status_code=303)

