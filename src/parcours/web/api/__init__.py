"""The REST API, ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``, browsable at ``/api/docs``)."""

from fastapi import APIRouter

from parcours.web.api import admin, ingest, metrics, persons, webhooks

router = APIRouter()
for module in (ingest, persons, metrics, admin, webhooks):
    router.include_router(module.router)
