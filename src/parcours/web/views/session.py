"""Log in and out (server-side sessions; CSRF-checked forms)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from parcours import auth
from parcours.store import Store
from parcours.web.deps import SESSION_COOKIE, check_csrf, db, principal
from parcours.web.render import render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # only paths of this site: an open redirect would help phishing
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def home_for(who: auth.Principal) -> str:
    """Where a user lands: the overview; the desk for agents; else customer 360."""
    return "/" if who.can("metrics") else "/desk" if who.can("desk") else "/customers"


def _may_open(who: auth.Principal, target: str) -> bool:
    """Whether the page asked for after login is one this user may see (else: home)."""
    path = target.split("?", 1)[0]
    return who.can("metrics") or path == "/customers" or (who.can("desk") and path.startswith("/desk"))


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Any:
    return render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login")
def login(request: Request, email: str = Form(..., max_length=320), password: str = Form(..., max_length=1000),
          csrf: str = Form(""), next: str = Form("/"), store: Store = Depends(db)) -> Any:
    check_csrf(request, csrf)
    who = auth.check_password(store, email, password)
    if who is None or who.role == "ingest":
        return render(request, "login.html", next=_safe_next(next), error="bad_login", status_code=401)
    target = _safe_next(next)
    if target == "/" or not _may_open(who, target):
        target = home_for(who)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, auth.open_session(store, who), httponly=True, samesite="lax", path="/",
                        max_age=auth.SESSION_HOURS * 3600)
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form(""), store: Store = Depends(db),
           who: auth.Principal | None = Depends(principal)) -> Any:
    check_csrf(request, csrf)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.close_session(store, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
