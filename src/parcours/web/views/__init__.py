"""The pages of the web app, one module per page."""

from fastapi import APIRouter

from parcours.web.views import (
    act,
    apidocs,
    chat,
    churn,
    customers,
    desk,
    journeys,
    loyalty,
    maturity,
    overview,
    promises,
    service,
    session,
    survey,
    voice,
    whatif,
)

router = APIRouter(include_in_schema=False)
for module in (session, overview, journeys, service, loyalty, voice, act, churn, promises, maturity, whatif, survey,
               customers, desk, chat, apidocs):
    router.include_router(module.router)
