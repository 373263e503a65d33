"""The pages of the web app, one module per page."""

from fastapi import APIRouter

from parcours.web.views import overview, session

router = APIRouter(include_in_schema=False)
for module in (session, overview):
    router.include_router(module.router)
