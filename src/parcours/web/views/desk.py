"""The agents' desk: the inbox and the case page."""

from fastapi import APIRouter

router = APIRouter()
