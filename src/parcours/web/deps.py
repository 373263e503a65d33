"""Who is asking, and may they: FastAPI dependencies shared by the API and the pages.

An API call carries ``Authorization: Bearer <token>``; a browser carries the session
cookie set at login. Forms and cookie-authenticated writes must also carry the CSRF
token (double submit: the ``parcours_csrf`` cookie, echoed in a form field ``csrf`` or the
``X-CSRF-Token`` header); a bearer token is not sent by browsers on their own, so it
needs none.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from parcours import auth
from parcours.auth import Principal
from parcours.store import Store

SESSION_COOKIE = "parcours_session"
CSRF_COOKIE = "parcours_csrf"


class LoginRequired(Exception):
    """A page needs a logged-in user: the error handler redirects to /login."""


def db(request: Request) -> Iterator[Store]:
    """The store on a connection of this request's own (DuckDB connections are per thread)."""
    view = request.app.state.store.cursor()
    try:
        yield view
    finally:
        view.close()


async def principal(request: Request) -> Principal | None:
    """The caller, from a bearer token or a session cookie (async: a recently checked secret
    costs no thread hop, which is most of a single event's latency budget)."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise HTTPException(401, "give the API token as: Authorization: Bearer <token>",
                                headers={"WWW-Authenticate": "Bearer"})
        who = await _lookup(request, "token", secret.strip())
        if who is None:
            raise HTTPException(401, "unknown or revoked API token", headers={"WWW-Authenticate": "Bearer"})
        return who
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        who = await _lookup(request, "session", cookie)
        if who is not None:
            request.state.via_cookie = True
            request.state.user = who  # the pages' layout shows who is logged in
            return who
    return None


async def _lookup(request: Request, kind: str, secret: str) -> Principal | None:
    """Who holds this token or session; the store is queried (on a worker thread) only if the
    secret was not checked recently."""
    found, who = auth.recent(kind, secret)
    if found:
        return who
    find = auth.token_principal if kind == "token" else auth.session_user

    def query() -> Principal | None:
        view = request.app.state.store.cursor()
        try:
            return find(view, secret)
        finally:
            view.close()

    return await run_in_threadpool(query)


def require(permission: str) -> Callable[..., Awaitable[Principal]]:
    """An API dependency: 401 without credentials, 403 without the permission (and, for a
    browser's session, 403 on a write without the CSRF header)."""

    async def dep(request: Request, who: Principal | None = Depends(principal)) -> Principal:
        if who is not None and getattr(request.state, "via_cookie", False) \
                and request.method not in ("GET", "HEAD", "OPTIONS"):
            check_csrf(request)
        if who is None:
            raise HTTPException(401, "authentication required: an API token (Authorization: Bearer) "
                                     "or a session", headers={"WWW-Authenticate": "Bearer"})
        if not who.can(permission):
            raise HTTPException(403, f"the role {who.role!r} may not do this (needs {permission!r}: "
                                     f"{', '.join(sorted(auth.PERMISSIONS[permission]))})")
        return who

    return dep


def page_user(permission: str | None = None) -> Callable[..., Awaitable[Principal]]:
    """A page dependency: to the login page without a session, 403 without the permission."""

    async def dep(who: Principal | None = Depends(principal)) -> Principal:
        if who is None:
            raise LoginRequired()
        if permission and not who.can(permission):
            raise HTTPException(403, "forbidden")
        return who

    return dep


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser (set as a cookie by :func:`set_csrf_cookie`)."""
    tok = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not tok:
        tok = request.state.new_csrf = secrets.token_urlsafe(24)
    return tok


def set_csrf_cookie(request: Request, response: Any) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(CSRF_COOKIE, new, httponly=False, samesite="strict", path="/")


def check_csrf(request: Request, form_value: str | None = None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = form_value or request.headers.get("x-csrf-token")
    if not cookie or not sent or not secrets.compare_digest(cookie, sent):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
