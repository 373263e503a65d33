"""The service desk over HTTP: inbox, cases and agent actions, teams and agents."""

from fastapi import APIRouter

router = APIRouter(tags=["desk"])
