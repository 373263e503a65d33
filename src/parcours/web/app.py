"""The web app: thin on purpose; pages and API routes render what domain modules compute.

The served process is the store's one writer (DuckDB allows one writing process): API
batches go through :class:`parcours.ingest.live.Writer`; reads run on per-request
connections of the same database.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from parcours.act.runner import RuleEngine
from parcours.act.training import Training
from parcours.desk import automations, sla_watch
from parcours.desk.chat import ChatService
from parcours.desk.email_channel import MailSettings, start_listener
from parcours.desk.outbox import Outbox
from parcours.desk.smtp import SmtpListener
from parcours.ingest.live import Writer
from parcours.store import Store
from parcours.voice import surveys
from parcours.voice.delivery import VoiceRunner
from parcours.voice.model import LinkError
from parcours.web.deps import LoginRequired
from parcours.web.figures import Figures
from parcours.web.files import BodyLimit
from parcours.web.render import render
from parcours.webhooks import Webhooks, stored_payload

HERE = Path(__file__).parent
JSON_PATHS = ("/api/", "/chat/")  #: paths whose errors are JSON (the API, the chat widget's endpoints)
log = logging.getLogger("parcours.web")


def default_spool(db: Path) -> Path:
    """Where API batches wait for the writer: next to the store."""
    return db.with_name(db.name + ".spool")


def create_app(db: str | Path, *, spool: Path | None = None, mail: MailSettings | None = None,
               public_url: str | None = None) -> FastAPI:
    """The app on the store ``db``; ``mail`` (else ``PARCOURS_MAIL_DOMAIN``… from the environment)
    turns on the desk's e-mail channel: the SMTP listener and the outbox. ``public_url`` (else
    ``PARCOURS_PUBLIC_URL``, else http://127.0.0.1:8000) is where customers open survey links;
    ``PARCOURS_VOICE_EVERY_S`` (15 s) paces the surveys' background work, ``PARCOURS_RULES_EVERY_S``
    (10 s) the rules' sweeps."""
    store = Store(db)
    mail = mail or MailSettings.from_env()
    public_url = (public_url or os.environ.get("PARCOURS_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")
    surveys.install_defaults(store)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        listener, outbox = _start_mail(app, store, mail)
        # pending cases resolved, unassigned ones escalated, SLA breaches recorded and sent
        runner = automations.Runner(store, on_sla_event=sla_watch.to_webhooks(app.state.webhooks)).start()
        # surveys invited and delivered, comments analysed, unhappy answers looped to the desk
        voice = VoiceRunner(store, base_url=public_url, mail=mail, webhooks=app.state.webhooks,
                            every_s=float(os.environ.get("PARCOURS_VOICE_EVERY_S", 15))).start()
        app.state.voice = voice
        app.state.rules.start()  # managers' rules: events as they are stored, states as time passes
        yield
        app.state.rules.stop()
        voice.stop()
        runner.stop()
        if listener is not None:
            listener.stop()
        if outbox is not None:
            outbox.stop()
        app.state.writer.close()
        app.state.figures.close()
        hooks = getattr(app.state, "webhooks", None)
        if hooks is not None:
            hooks.close()
        store.close()

    app = FastAPI(title="Parcours API", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url="/api/v1/openapi.json",
                  description="Customer-experience data in and figures out. Authenticate with "
                              "`Authorization: Bearer <token>` (`parcours tokens create`).")
    app.state.store = store
    app.state.public_url = public_url
    app.state.figures = Figures(store)
    app.state.chat = ChatService(store)
    app.state.churn_training = Training(store)
    app.state.outbox = None
    app.state.webhooks = Webhooks(store)  # before the writer: batches left in the spool emit too
    app.state.rules = RuleEngine(store, webhooks=app.state.webhooks,
                                 every_s=float(os.environ.get("PARCOURS_RULES_EVERY_S", 10)))
    app.state.writer = Writer(store, spool or default_spool(store.path),
                              on_stored=lambda table, rep: _stored(app, table, rep),
                              caught_up=app.state.rules.caught_up)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(BodyLimit)  # no request body over 64 MB is read

    from parcours.web import api, views
    from parcours.web.views.filters import BY

    # The dashboards' report, computed before the first visit. Then what is alive (modules, the
    # metric libraries the report imported) lives as long as the server: a full garbage
    # collection would walk its ~200,000 objects, holding the GIL ~0.1 s — a stall that every
    # request in flight waits behind. Frozen, they are left out of collections.
    app.state.figures.warm(by=BY, then=gc.freeze)

    app.include_router(api.router, prefix="/api/v1")
    app.include_router(views.router)

    @app.get("/health", include_in_schema=False)
    def health() -> dict[str, Any]:
        outbox = app.state.outbox
        return {"status": "ok", "store": str(store.path), "schema_version": store.schema_version,
                "queued_batches": app.state.writer.queued(), "figures_computing": app.state.figures.computing,
                "mail": outbox.status() if outbox is not None else None, "chat": app.state.chat.stats(),
                "voice": getattr(app.state, "voice", None) and app.state.voice.last,
                "rules": app.state.rules.stats}

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Any:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Any:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(LinkError)
    async def unusable_link(request: Request, exc: LinkError) -> Any:
        from parcours.web.views.survey import link_error

        return link_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def unreadable(request: Request, exc: RequestValidationError) -> Any:
        errors = [{"where": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg")}
                  for e in exc.errors()]
        text = "; ".join(f"{e['where']}: {e['reason']}" for e in errors)
        if request.url.path.startswith(JSON_PATHS):
            return JSONResponse({"detail": text, "errors": errors}, status_code=422)
        return render(request, "error.html", status=422, detail=text, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if request.url.path.startswith(JSON_PATHS):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return render(request, "error.html", status=exc.status_code,
                      detail=exc.detail if exc.status_code != 404 else None, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Any:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": f"internal error ({type(exc).__name__}); see the server log"},
                                status_code=500)
        return render(request, "error.html", status=500, detail=type(exc).__name__, status_code=500)

    return app


def _start_mail(app: FastAPI, store: Store, mail: MailSettings | None) -> tuple[SmtpListener | None, Outbox | None]:
    """The desk's e-mail channel, when configured: the inbound listener and the outbox thread."""
    if mail is None:
        return None, None
    outbox = Outbox(store, mail.domain, mail.sender, mail.relay, interval=mail.outbox_interval, tls=mail.relay_tls,
                    user=mail.relay_user, password=mail.relay_password)
    outbox.start()
    app.state.outbox = outbox
    listener = start_listener(store, mail)
    if listener is not None:
        log.warning("desk mail for %s received on %s:%s", mail.domain, mail.smtp_host, mail.smtp_port)
    return listener, outbox


def _stored(app: FastAPI, table: str, rep: Any) -> None:
    """After the writer committed API rows: the rules judge them, webhook subscribers are told."""
    if rep.accepted:
        app.state.rules.notify(table, import_id=rep.import_id)
    hooks = getattr(app.state, "webhooks", None)
    if hooks is not None and rep.accepted:
        hooks.emit(f"{table}.stored", stored_payload(rep, "api"))


__all__ = ["create_app"]
