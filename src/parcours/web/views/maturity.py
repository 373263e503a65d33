"""The maturity page (``/act/maturity``): Ovum's level with the evidence of each criterion, the
Temkin self-assessment (form and scores), and Temkin's tips for the weakest points. Everything
is computed by ``parcours.maturity``; this module reads the period and the form."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from parcours import maturity
from parcours.auth import Principal
from parcours.maturity.ovum import LEVEL_NEEDS, LEVELS
from parcours.maturity.temkin import COMPETENCY_ORDER, STATEMENTS, MaturityError
from parcours.store import Store
from parcours.web.deps import check_csrf, db, page_user
from parcours.web.i18n import STRINGS
from parcours.web.i18n_maturity import MATURITY_STRINGS
from parcours.web.render import language, render

router = APIRouter()


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:  # a wrong date is ignored, as the dashboards' filters do
        return None


def _page(request: Request, store: Store, *, status_code: int = 200, error: str | None = None,
          typed: dict[str, str] | None = None, start: date | None = None, end: date | None = None) -> Any:
    lang = language(request)
    m = maturity.summary(store, start, end, lang)
    prior = {s["id"]: str(s["score"]) for st in (m["temkin"] or {}).get("statements", {}).values() for s in st}
    needed_for = {cid: lvl for lvl, ids in LEVEL_NEEDS.items() for cid in ids}
    return render(request, "maturity.html", status_code=status_code, m=m, error=error,
                  t={**STRINGS[lang], **MATURITY_STRINGS[lang]},  # works before and after the merge into i18n
                  answers=typed if typed is not None else prior, needed_for=needed_for,
                  competencies=maturity.COMPETENCIES, order=COMPETENCY_ORDER, levels=LEVELS,
                  statements={c: [s for s in STATEMENTS if s.competency == c] for c in COMPETENCY_ORDER},
                  criterion_names={c["id"]: c["name"][lang] for c in m["criteria"]},
                  start=start, end=end, saved=request.query_params.get("saved") == "1")


@router.get("/act/maturity")
def maturity_page(request: Request, start: str | None = Query(None, alias="from", max_length=10),
                  end: str | None = Query(None, alias="to", max_length=10), store: Store = Depends(db),
                  who: Principal = Depends(page_user("act"))) -> Any:
    return _page(request, store, start=_day(start), end=_day(end))


@router.post("/act/maturity/assessment")
async def maturity_answer(request: Request, store: Store = Depends(db),
                          who: Principal = Depends(page_user("act"))) -> Any:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    typed = {s.id: str(form.get(s.id, "")) for s in STATEMENTS}
    try:  # the store's work on a worker thread, not on the event loop
        await run_in_threadpool(maturity.record, store, typed, who.label)
    except MaturityError as exc:  # what was ticked comes back with the reason
        return await run_in_threadpool(_page, request, store, status_code=422, error=str(exc), typed=typed)
    return RedirectResponse("/act/maturity?saved=1#temkin", status_code=303)
