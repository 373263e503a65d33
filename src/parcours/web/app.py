"""The web app: thin on purpose; pages render what domain modules compute."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from parcours import report
from parcours.store import Store
from parcours.web.i18n import CHANNEL_NAMES, STRINGS, pick_language

HERE = Path(__file__).parent


def _num(v: Any, digits: int = 1, lang: str = "en", sign: bool = False) -> str:
    if v is None:
        return "—"
    s = f"{v:+,.{digits}f}" if sign else f"{v:,.{digits}f}"
    if lang == "fr":
        s = s.replace(",", "\u202f").replace(".", ",")
    return s


def create_app(db: str | Path) -> FastAPI:
    store = Store(db, read_only=True)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(title="Parcours", docs_url=None, redoc_url=None, lifespan=lifespan)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["num"] = _num
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.store = store

    def ctx(request: Request, **kw: Any) -> dict[str, Any]:
        lang = pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))
        return {"request": request, "lang": lang, "t": STRINGS[lang], "ch": CHANNEL_NAMES[lang],
                "other_lang": "en" if lang == "fr" else "fr", **kw}

    cache: dict[str, Any] = {}

    def current_report() -> dict[str, Any]:
        # the store is opened read-only and DuckDB lets no other process write meanwhile,
        # so the figures cannot change while this app runs
        if "report" not in cache:
            cache["report"] = report.build(store)
        return cache["report"]

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> Any:
        rep = current_report()
        j = rep["journeys"]
        cells = {(a, b): {"n": n, "share": j["switch_share"][a][b]}
                 for a, row in j["switch_matrix"].items() for b, n in row.items()}
        return templates.TemplateResponse(request, "overview.html", ctx(request, rep=rep, cells=cells))

    @app.get("/api/v1/report")
    def report_json() -> Any:
        return JSONResponse(current_report())

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Any:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "store": str(store.path), "schema_version": store.schema_version}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        c = ctx(request, status=exc.status_code)
        return templates.TemplateResponse(request, "error.html", c, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Any:
        c = ctx(request, status=500, detail=type(exc).__name__)
        return templates.TemplateResponse(request, "error.html", c, status_code=500)

    return app
