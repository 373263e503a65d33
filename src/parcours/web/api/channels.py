"""Inbound channels over HTTP: messages from SMS, social and app gateways, and call records
from telephony exports, each landing on the person's case."""

from fastapi import APIRouter

router = APIRouter(tags=["channels"])
