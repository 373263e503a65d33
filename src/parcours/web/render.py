"""Pages in the reader's language: the templates, their context and number formatting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Undefined
from markupsafe import Markup

from parcours.web.i18n import CHANNEL_NAMES, STRINGS, pick_language

HERE = Path(__file__).parent

#: the navigation: (path, label key, permission needed or None)
NAV = (("/", "nav_overview", "metrics"), ("/journeys", "nav_journeys", "metrics"),
       ("/service", "nav_service", "metrics"), ("/loyalty", "nav_loyalty", "metrics"),
       ("/voice", "nav_voice", "metrics"), ("/act", "nav_act", "act"), ("/customers", "nav_customers", "persons.read"),
       ("/api/docs", "nav_api", None))


def num(v: Any, digits: int = 1, lang: str = "en", sign: bool = False) -> str:
    """A number as the reader writes it (French: thin-space thousands, decimal comma)."""
    if v is None or isinstance(v, Undefined):  # a figure the report does not give
        return "—"
    s = f"{v:+,.{digits}f}" if sign else f"{v:,.{digits}f}"
    if lang == "fr":
        s = s.replace(",", "\u202f").replace(".", ",")
    return s


def spec_json(spec: Any) -> Markup:
    """A chart's data for a ``<script type="application/json">`` block (safe inside HTML)."""
    text = json.dumps(spec, ensure_ascii=False, default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["num"] = num
templates.env.filters["spec"] = spec_json


def language(request: Request) -> str:
    return pick_language(request.query_params.get("lang") or request.cookies.get("parcours_lang"),
                         request.headers.get("accept-language"))


def _session_user(request: Request) -> Any:
    from parcours import auth
    from parcours.web.deps import SESSION_COOKIE

    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    view = request.app.state.store.cursor()
    try:
        return auth.session_user(view, cookie)
    except Exception:  # an error page must render even when the store cannot be read
        return None
    finally:
        view.close()


def render(request: Request, template: str, *, status_code: int = 200, **kw: Any) -> Any:
    """Render a template with the reader's language, the user and the CSRF token."""
    from parcours.web.deps import csrf_token, set_csrf_cookie

    lang = language(request)
    other = "en" if lang == "fr" else "fr"
    user = getattr(request.state, "user", None)
    if user is None and template == "error.html":  # an error page still shows who is logged in
        user = _session_user(request)
    nav = [(path, key) for path, key, perm in NAV if perm is None or (user is not None and user.can(perm))]
    switch = request.url.include_query_params(lang=other)  # the same page and filters, other language
    ctx = {"request": request, "lang": lang, "t": STRINGS[lang], "ch": CHANNEL_NAMES[lang],
           "other_lang": other, "lang_url": f"{switch.path}?{switch.query}", "user": user, "nav": nav,
           "here": request.url.path,
           "home": "/" if user is None or user.can("metrics") else "/customers", "csrf": csrf_token(request), **kw}
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    set_csrf_cookie(request, response)
    if request.query_params.get("lang") in STRINGS:  # the switch is remembered
        response.set_cookie("parcours_lang", lang, samesite="lax", path="/")
    return response
