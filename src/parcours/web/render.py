"""Pages in the reader's language: the templates, their context and number formatting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from parcours.web.i18n import CHANNEL_NAMES, STRINGS, pick_language

HERE = Path(__file__).parent


def num(v: Any, digits: int = 1, lang: str = "en", sign: bool = False) -> str:
    """A number as the reader writes it (French: thin-space thousands, decimal comma)."""
    if v is None:
        return "—"
    s = f"{v:+,.{digits}f}" if sign else f"{v:,.{digits}f}"
    if lang == "fr":
        s = s.replace(",", "\u202f").replace(".", ",")
    return s


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["num"] = num


def language(request: Request) -> str:
    return pick_language(request.query_params.get("lang") or request.cookies.get("parcours_lang"),
                         request.headers.get("accept-language"))


def render(request: Request, template: str, *, status_code: int = 200, **kw: Any) -> Any:
    """Render a template with the reader's language, the user and the CSRF token."""
    from parcours.web.deps import csrf_token, set_csrf_cookie

    lang = language(request)
    ctx = {"request": request, "lang": lang, "t": STRINGS[lang], "ch": CHANNEL_NAMES[lang],
           "other_lang": "en" if lang == "fr" else "fr", "user": getattr(request.state, "user", None),
           "csrf": csrf_token(request), **kw}
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    set_csrf_cookie(request, response)
    if request.query_params.get("lang") in STRINGS:  # the switch is remembered
        response.set_cookie("parcours_lang", lang, samesite="lax", path="/")
    return response
