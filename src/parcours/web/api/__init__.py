"""The REST API, ``/api/v1`` (OpenAPI at ``/api/v1/openapi.json``, browsable at ``/api/docs``)."""

from fastapi import APIRouter

from parcours.web.api import (
    admin,
    channels,
    churn,
    desk,
    ingest,
    maturity,
    metrics,
    persons,
    promises,
    rules,
    voice,
    webhooks,
    whatif,
)

router = APIRouter()
for module in (ingest, persons, metrics, admin, webhooks, desk, channels, voice, rules, churn, promises, maturity,
               whatif):
    router.include_router(module.router)
