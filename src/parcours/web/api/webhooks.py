"""Webhooks over the API (admins only): subscribe a URL to events, see its deliveries, test it.

The dispatcher (:class:`parcours.webhooks.Webhooks`, ``app.state.webhooks``) records and
sends; this module only checks requests and shapes answers. docs/webhooks.md tells a
receiver how to verify the signature.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from parcours import auth
from parcours.auth import Principal
from parcours.store import Store
from parcours.web.deps import db, require
from parcours.webhooks import EVENTS, MAX_URL, WebhookError, Webhooks, patterns

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


_EVENT_ITEMS: dict[str, Any] = {"items": {"type": "string", "enum": patterns()}}


class WebhookIn(BaseModel):
    # the schema documents what the checks in parcours.webhooks enforce (with readable messages)
    url: str = Field(..., min_length=1, max_length=MAX_URL, description="where to POST events (http or https)",
                     examples=["https://crm.example.com/parcours-events"],
                     json_schema_extra={"pattern": "^https?://[^/?#\\s]+[^\\s]*$", "format": "uri"})
    events: list[str] = Field(..., min_length=1, max_length=50,
                              description=f"event names ({', '.join(EVENTS)}), a wildcard such as "
                                          "'touchpoints.*', or '*' for all", examples=[["touchpoints.*"]],
                              json_schema_extra=_EVENT_ITEMS)


def _hooks(request: Request) -> Webhooks:
    hooks = getattr(request.app.state, "webhooks", None)
    if hooks is None:
        raise HTTPException(503, "webhooks are not running in this server")
    return hooks


def _active(hooks: Webhooks, webhook_id: str) -> dict[str, Any]:
    found = hooks.get(webhook_id)
    if found is None:
        raise HTTPException(404, f"no active webhook {webhook_id}")
    return found


@router.post("", status_code=201)
def subscribe(body: WebhookIn, request: Request, store: Store = Depends(db),
              who: Principal = Depends(require("admin"))) -> Any:
    """Subscribe a URL. The signing secret is in this answer only: store it now."""
    hooks = _hooks(request)
    try:
        webhook_id, secret = hooks.subscribe(body.url, body.events, created_by=who.label)
    except WebhookError as e:
        raise HTTPException(422, str(e)) from e
    auth.audit(store, who.label, "webhook.create", webhook_id, {"url": body.url, "events": body.events})
    return {**_active(hooks, webhook_id), "secret": secret}


@router.get("")
def list_webhooks(request: Request, who: Principal = Depends(require("admin"))) -> Any:
    """Active subscriptions with counts of their deliveries (never their secrets)."""
    return _hooks(request).list()


@router.delete("/{webhook_id}")
def unsubscribe(webhook_id: str, request: Request, store: Store = Depends(db),
                who: Principal = Depends(require("admin"))) -> Any:
    """Stop sending to this subscriber; its pending deliveries are cancelled."""
    if not _hooks(request).unsubscribe(webhook_id):
        raise HTTPException(404, f"no active webhook {webhook_id}")
    auth.audit(store, who.label, "webhook.delete", webhook_id, {})
    return {"deleted": webhook_id}


@router.get("/{webhook_id}/deliveries")
def deliveries(webhook_id: str, request: Request, limit: int = Query(50, ge=1, le=1000),
               who: Principal = Depends(require("admin"))) -> Any:
    """Recent deliveries, newest first: status (pending, delivered, failed, cancelled), attempts,
    the last HTTP status and error, and when the next attempt is due."""
    hooks = _hooks(request)
    _active(hooks, webhook_id)
    return hooks.deliveries(webhook_id, limit)


@router.post("/{webhook_id}/test", status_code=202)
def test(webhook_id: str, request: Request, who: Principal = Depends(require("admin"))) -> Any:
    """Send a ``ping`` event to this subscriber now (follow it in its deliveries)."""
    hooks = _hooks(request)
    _active(hooks, webhook_id)
    delivery_id = hooks.ping(webhook_id)
    if delivery_id is None:
        raise HTTPException(404, f"no active webhook {webhook_id}")
    return {"delivery_id": delivery_id, "event": "ping",
            "deliveries_url": f"/api/v1/webhooks/{webhook_id}/deliveries"}
