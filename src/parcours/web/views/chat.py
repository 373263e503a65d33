"""The web chat: the widget's endpoints (the bot first, then an agent) and its demo page."""

from fastapi import APIRouter

router = APIRouter()
