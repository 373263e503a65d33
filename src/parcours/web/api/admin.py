"""Administration over the API: who am I, API tokens, users, the audit log."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from parcours import auth
from parcours.auth import Principal
from parcours.store import Store
from parcours.web.deps import db, principal, require

router = APIRouter(tags=["admin"])
Role = Literal["admin", "analyst", "agent", "ingest"]


class TokenIn(BaseModel):
    name: str = Field(..., min_length=1, max_length=200, description="what will use it")
    role: Role


class UserIn(BaseModel):
    email: str = Field(..., min_length=3, max_length=320)
    password: str = Field(..., min_length=10, max_length=1000)
    role: Role
    name: str | None = Field(None, max_length=200)
    lang: Literal["fr", "en"] | None = None


@router.get("/me")
def me(who: Principal | None = Depends(principal)) -> Any:
    """Who this request is made as, and what they may do."""
    if who is None:
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
    return {"kind": who.kind, "id": who.id, "name": who.name, "role": who.role,
            "permissions": sorted(p for p in auth.PERMISSIONS if who.can(p))}


@router.post("/tokens", status_code=201)
def create_token(body: TokenIn, store: Store = Depends(db), who: Principal = Depends(require("admin"))) -> Any:
    """A new API token. The secret is in this answer only: store it now."""
    try:
        token_id, secret = auth.create_token(store, body.name, body.role, created_by=who.label)
    except auth.AuthError as e:
        raise HTTPException(422, str(e)) from e
    return {"token_id": token_id, "name": body.name, "role": body.role, "token": secret}


@router.get("/tokens")
def list_tokens(store: Store = Depends(db), who: Principal = Depends(require("admin"))) -> Any:
    """API tokens (never their secrets)."""
    return auth.list_tokens(store)


@router.delete("/tokens/{token_id}")
def revoke_token(token_id: str, store: Store = Depends(db), who: Principal = Depends(require("admin"))) -> Any:
    if not auth.revoke_token(store, token_id, by=who.label):
        raise HTTPException(404, f"no active token {token_id}")
    return {"revoked": token_id}


@router.post("/users", status_code=201)
def add_user(body: UserIn, store: Store = Depends(db), who: Principal = Depends(require("admin"))) -> Any:
    try:
        uid = auth.add_user(store, body.email, body.password, body.role, name=body.name, lang=body.lang,
                             by=who.label)
    except auth.AuthError as e:
        raise HTTPException(409 if "already exists" in str(e) else 422, str(e)) from e
    return {"user_id": uid, "email": body.email.strip().lower(), "role": body.role}


@router.get("/users")
def list_users(store: Store = Depends(db), who: Principal = Depends(require("admin"))) -> Any:
    return auth.list_users(store)


@router.get("/audit")
def audit_log(limit: int = Query(100, ge=1, le=10_000), store: Store = Depends(db),
              who: Principal = Depends(require("admin"))) -> Any:
    """Merges, unmerges, erasures, tokens and users: who did what, newest first."""
    keys = ("ts", "actor", "action", "target", "detail")
    return [dict(zip(keys, r)) for r in store.query(
        "SELECT ts, actor, action, target, detail FROM audit_log ORDER BY ts DESC LIMIT ?", [limit])]
