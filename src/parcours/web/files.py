"""Files over HTTP: the desk's attachments served safely, uploads read within limits, and a
cap on every request's body.

A customer's file is untrusted content served from our origin: it goes out with its stored
type, ``nosniff`` and a sandboxing CSP, and only raster images and plain text are shown
inline — anything else (HTML, SVG, PDF, office files) downloads, so nothing a customer sent
runs in an agent's session.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parcours.desk import cases
from parcours.desk.attachments import MEDIA_TYPE
from parcours.store import Store

#: the largest request body the server reads: one attachment of 25 MB in base64 JSON fits, and
#: files of a message should stay under ~45 MB in all (the API and the composer's help say so)
MAX_BODY_BYTES = 64 * 1024 * 1024
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "text/plain")


#: base64 of the domain's largest attachment, and some room: a file a little over the limit is
#: refused by the desk (recorded, the message kept); a body far over it is refused here
_MAX_B64 = (cases.MAX_ATTACHMENT_BYTES // 3 + 1) * 4 + 1024 * 1024


class AttachmentIn(BaseModel):
    """A file in a JSON body (a gateway's message, an agent's reply)."""

    filename: str = Field(..., min_length=1, max_length=500)
    content_type: str = Field(..., min_length=1, max_length=200, examples=["image/jpeg"],
                              pattern=r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*"
                                      r"(;[ -~]*)?$")
    data: str = Field(..., max_length=_MAX_B64, description=f"the file, base64 (kept up to "
                                                           f"{cases.MAX_ATTACHMENT_BYTES:,} bytes)")


def decoded(files: list[AttachmentIn]) -> list[cases.Attachment]:
    """The files of a JSON body, decoded (422 naming the one that is not base64)."""
    out = []
    for i, f in enumerate(files):
        try:
            data = base64.b64decode(f.data, validate=True)
        except (binascii.Error, ValueError) as e:
            raise HTTPException(422, f"attachments.{i}.data: not base64 ({e})") from e
        out.append(cases.Attachment(f.filename, f.content_type, data))
    return out



def attachment_response(store: Store, attachment_id: str) -> Response:
    """The attachment's bytes with headers that keep its content inert (raises the desk's
    NotFoundError / DeskError: unknown, refused, or damaged on disk)."""
    info, data = cases.attachment_bytes(store, attachment_id)
    ctype = info.content_type if info.content_type and MEDIA_TYPE.fullmatch(info.content_type) \
        else "application/octet-stream"
    how = "inline" if ctype in INLINE_TYPES else "attachment"
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in info.filename)
    return Response(data, media_type=ctype + ("; charset=utf-8" if ctype == "text/plain" else ""), headers={
        "Content-Disposition": f"{how}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(info.filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
        "Cache-Control": "private, max-age=3600"})


def uploads(files: list[UploadFile]) -> list[cases.Attachment]:
    """The files of a form, read (from the server's spool of the upload); the empty part a
    browser sends for "no file chosen" is skipped."""
    out = []
    for f in files:
        f.file.seek(0)
        data = f.file.read()
        if f.filename or data:
            out.append(cases.Attachment(f.filename or "attachment", f.content_type or "", data))
    return out


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 and a sentence saying so: at once
    from Content-Length, or as soon as a chunked body goes past it (nothing is half-read into
    memory beyond the limit)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, send)
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit and not refused:
                    refused = True
                    if not started:  # answered here: the framework turns any body error into a 400
                        await self._refuse(scope, send)
                    raise _TooLarge
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            if refused:  # the app's own answer to the aborted body is dropped: the 413 went out
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except _TooLarge:
            pass

    async def _refuse(self, scope: Scope, send: Send) -> None:
        detail = (f"the request body is over {self.limit // (1024 * 1024)} MB, the most this server reads "
                  "(an attachment may be up to 25 MB)")
        api = scope.get("path", "").startswith("/api/")
        body: Any = json.dumps({"detail": detail}).encode() if api else (
            f"<!doctype html><meta charset=utf-8><title>413</title><h1>413 — too large</h1><p>{detail}.</p>"
        ).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json" if api else b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
