"""The web chat: the widget's endpoints (the bot first, then an agent) and its demo page.

Public endpoints (no login): the conversation token from ``POST /chat/conversations`` is the
visitor's credential, sent as the ``X-Chat-Token`` header. The logic is
:class:`parcours.desk.chat.ChatService`; these functions only translate HTTP.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from parcours.desk.cases import DeskError
from parcours.desk.chat import MAX_TEXT, ChatError, ChatService, RateLimited, UnknownConversation
from parcours.web.i18n import STRINGS
from parcours.web.render import language, templates

router = APIRouter(include_in_schema=False)

class Start(BaseModel):
    language: str | None = Field(default=None, pattern="^(fr|en)$")


class Post(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    email: str | None = Field(default=None, max_length=254)


def _service(request: Request) -> ChatService:
    chat: ChatService = request.app.state.chat
    return chat


def _token(token: str | None) -> str:
    if not token:
        raise HTTPException(401, "X-Chat-Token header missing: start a conversation with POST /chat/conversations")
    return token


def _lines(chat: ChatService, token: str, lines: list[Any]) -> dict[str, Any]:
    return {"lines": [asdict(ln) for ln in lines], "state": chat.state(token)}


def _refused(exc: Exception) -> JSONResponse:
    if isinstance(exc, RateLimited):
        return JSONResponse({"detail": str(exc)}, status_code=429,
                            headers={"Retry-After": str(max(1, int(exc.retry_after)))})
    if isinstance(exc, UnknownConversation):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    return JSONResponse({"detail": str(exc)}, status_code=422)


@router.get("/chat", response_class=HTMLResponse)
def page(request: Request) -> Any:
    """The demo page: any site embeds the widget the same way (docs/chat.md)."""
    lang = language(request)
    return templates.TemplateResponse(request, "chat.html", {"lang": lang, "t": STRINGS[lang]})


@router.post("/chat/conversations")
def start(request: Request, body: Start | None = None) -> Any:
    chat = _service(request)
    try:
        token = chat.start(request.client.host if request.client else "?", body.language if body else None)
    except RateLimited as exc:
        return _refused(exc)
    return JSONResponse({"token": token}, status_code=201)


@router.post("/chat/messages")
def post(request: Request, body: Post, x_chat_token: Annotated[str | None, Header()] = None) -> Any:
    chat, token = _service(request), _token(x_chat_token)
    try:
        return _lines(chat, token, chat.post(token, body.text, body.email))
    except (ChatError, DeskError, UnknownConversation) as exc:
        return _refused(exc)


@router.get("/chat/messages")
def poll(request: Request, after: Annotated[int, Query(ge=0)] = 0,
         x_chat_token: Annotated[str | None, Header()] = None) -> Any:
    chat, token = _service(request), _token(x_chat_token)
    try:
        return _lines(chat, token, chat.lines(token, after))
    except UnknownConversation as exc:
        return _refused(exc)
