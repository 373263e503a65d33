"""The REST API's reference: the vendored Swagger UI reading the app's OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from parcours.auth import Principal
from parcours.web.deps import principal
from parcours.web.render import render

router = APIRouter()


@router.get("/api/docs")
def api_docs(request: Request, who: Principal | None = Depends(principal)) -> Any:
    """Open to all, like the OpenAPI document itself: calls need a token anyway."""
    return render(request, "apidocs.html")
