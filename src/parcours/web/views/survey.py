"""The survey page a customer opens from an e-mail, an SMS or the app: two steps (score, then
why), each saved, plain HTML forms (no JavaScript needed), in the person's language.

Public: the signed link is the credential (``parcours.voice.tokens``). The logic is
:mod:`parcours.voice.answers`; these functions only translate HTTP. A bad answer shows the
form again with what was typed and the reason (422); a used, expired or invalid link answers
410 / 410 / 404 with a page that says so in the person's language (:func:`link_error`, the
app's handler of LinkError at every step).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from parcours.store import Store
from parcours.voice import answers, loop
from parcours.voice.model import MAX_COMMENT_CHARS, AnswerError, Invitation, LinkError
from parcours.web.deps import db
from parcours.web.i18n import STRINGS, pick_language
from parcours.web.render import templates

router = APIRouter(include_in_schema=False)
_STATUS = {"invalid": 404, "expired": 410, "answered": 410}
_ENDS = {"nps": ("sv_low", "sv_high"), "csat": ("sv_low_sat", "sv_high_sat"), "ces": ("sv_low_ces", "sv_high_ces")}


def _lang(request: Request, inv: Invitation | None = None, fallback: str | None = None) -> str:
    asked = request.query_params.get("lang")
    return pick_language(asked if asked in STRINGS else (inv.language if inv else fallback),
                         request.headers.get("accept-language"))


def _page(request: Request, lang: str, status: int = 200, **kw: Any) -> Any:
    ctx = {"lang": lang, "t": STRINGS[lang], "other_lang": "en" if lang == "fr" else "fr", **kw}
    return templates.TemplateResponse(request, "survey.html", ctx, status_code=status,
                                      headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                               "X-Robots-Tag": "noindex"})


def link_error(request: Request, exc: LinkError) -> Any:
    """The page for a link that cannot be used (the app's handler of LinkError, any step)."""
    return _page(request, _lang(request, fallback=exc.language), _STATUS[exc.kind], step="gone", kind=exc.kind)


def _form(request: Request, inv: Invitation, token: str, status: int = 200, **kw: Any) -> Any:
    lang = _lang(request, inv)
    s = inv.survey
    step = kw.pop("step", "why" if inv.status == "partial" and request.query_params.get("step") != "score"
                  else "score")
    pre = request.query_params.get("score")
    chosen = kw.pop("chosen", inv.score if inv.score is not None else pre)
    return _page(request, lang, status, step=step, token=token, survey=s, question=s.question[lang],
                 why=s.why[lang], ends=_ENDS.get(s.metric, ("sv_low_sat", "sv_high_sat")),
                 scores=list(range(s.scale_min, s.scale_max + 1)), chosen=str(chosen) if chosen is not None else None,
                 inv=inv, max_comment=MAX_COMMENT_CHARS, **kw)


@router.get("/s/{token}", response_class=HTMLResponse)
def show(request: Request, token: str, store: Store = Depends(db)) -> Any:
    return _form(request, answers.open_link(store, token), token)


@router.post("/s/{token}/score", response_class=HTMLResponse)
def score(request: Request, token: str, score: str | None = Form(None), store: Store = Depends(db)) -> Any:
    try:
        answers.give_score(store, token, score)
    except AnswerError as exc:
        return _form(request, answers.open_link(store, token), token, 422, step="score", error=str(exc),
                     error_field=exc.field, chosen=score)
    lang = request.query_params.get("lang")
    return RedirectResponse(f"/s/{token}" + (f"?lang={lang}" if lang in STRINGS else ""), status_code=303)


@router.post("/s/{token}/why", response_class=HTMLResponse)
def why(request: Request, background: BackgroundTasks, token: str, comment: str | None = Form(None),
        language: str | None = Form(None), store: Store = Depends(db)) -> Any:
    try:
        done = answers.give_comment(store, token, comment, language=language, close_loop=False)
    except AnswerError as exc:  # the text typed comes back with the reason: nothing lost
        return _form(request, answers.open_link(store, token), token, 422, step="why", error=str(exc),
                     error_field=exc.field, comment=comment)
    # the loop case is opened once the customer has the answer (the runner's sweep catches any
    # the process did not get to)
    background.add_task(_close_loop, request, done.response_id)
    return RedirectResponse(f"/s/{token}/thanks?lang={_lang(request, done)}", status_code=303)


def _close_loop(request: Request, response_id: str | None) -> None:
    """After the response: the loop case if the answer calls for one, and the webhook event.
    Its own connection: the request's is closed once the response is sent."""
    if response_id is None:
        return
    request.app.state.rules.notify("responses", keys=[response_id])
    store = request.app.state.store.cursor()
    try:
        case_id = loop.consider(store, response_id)
        request.app.state.webhooks.emit("voice.survey.answered", answers.summary(store, response_id, case_id))
    finally:
        store.close()


@router.get("/s/{token}/thanks", response_class=HTMLResponse)
def thanks(request: Request, token: str, store: Store = Depends(db)) -> Any:
    inv = answers.invitation(store, token)
    call_back = loop.due(store, inv.response_id) if inv.response_id else None
    return _page(request, _lang(request, inv), step="thanks", call_back=call_back)


@router.get("/s/{token}/stop", response_class=HTMLResponse)
def stop_form(request: Request, token: str, store: Store = Depends(db)) -> Any:
    inv = answers.invitation(store, token)
    return _page(request, _lang(request, inv), step="stop", token=token)


@router.post("/s/{token}/stop", response_class=HTMLResponse)
def stop(request: Request, token: str, store: Store = Depends(db)) -> Any:
    """Unsubscribe; also the RFC 8058 one-click POST a mail client sends."""
    return _page(request, _lang(request, answers.unsubscribe(store, token)), step="stopped")
