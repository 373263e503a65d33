"""Persons: look up by any identifier, the cross-channel timeline, merge, unmerge, erase."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from parcours import persons
from parcours.auth import Principal
from parcours.store import Store
from parcours.web.deps import db, require

router = APIRouter(prefix="/persons", tags=["persons"])


class MergeIn(BaseModel):
    other: str = Field(..., min_length=1, max_length=500, description="identifier of the person merged into this one")
    reason: str = Field("", max_length=2000)


class UnmergeIn(BaseModel):
    reason: str = Field("", max_length=2000)


def _person(store: Store, identifier: str, limit: int | None) -> persons.Person:
    p = persons.show(store, identifier, limit=limit)
    if p is None:
        raise HTTPException(404, f"no person known by {identifier!r} (person id, e-mail, phone, handle or app id)")
    return p


@router.get("")
def lookup(identifier: str = Query(..., min_length=1, max_length=500,
                                   description="person id, e-mail, phone (any format), social handle or app id"),
           store: Store = Depends(db), who: Principal = Depends(require("persons.read"))) -> Any:
    """Find a person by any identifier."""
    p = _person(store, identifier, 0)
    return {"person_id": p.person_id, "attributes": p.attributes, "identities": p.identities, "merges": p.merges}


@router.get("/{identifier}")
def get_person(identifier: str, store: Store = Depends(db), who: Principal = Depends(require("persons.read"))) -> Any:
    """A person with their identifiers and merges."""
    p = _person(store, identifier, 0)
    return {"person_id": p.person_id, "attributes": p.attributes, "identities": p.identities, "merges": p.merges}


@router.get("/{identifier}/timeline")
def timeline(identifier: str, limit: int = Query(500, ge=1, le=10_000), store: Store = Depends(db),
             who: Principal = Depends(require("persons.read"))) -> Any:
    """Touchpoints, cases, case messages, orders and answers on every channel, in time order."""
    return asdict(_person(store, identifier, limit))


@router.post("/{identifier}/merge")
def merge(identifier: str, body: MergeIn, store: Store = Depends(db),
          who: Principal = Depends(require("persons.merge"))) -> Any:
    """Merge another person into this one (audited; undo with unmerge)."""
    try:
        merge_id = persons.merge(store, identifier, body.other, actor=who.label, reason=body.reason)
    except persons.PersonError as e:
        raise HTTPException(409 if "already" in str(e) else 404, str(e)) from e
    return {"merge_id": merge_id, "person_id": persons.find(store, identifier)}


@router.post("/{merged_person_id}/unmerge")
def unmerge(merged_person_id: str, body: UnmergeIn | None = None, store: Store = Depends(db),
            who: Principal = Depends(require("persons.merge"))) -> Any:
    """Undo the latest merge of a person into another: their record and rows come back."""
    try:
        merge_id = persons.unmerge(store, merged_person_id, actor=who.label, reason=body.reason if body else "")
    except persons.PersonError as e:
        raise HTTPException(404 if "was not merged" in str(e) else 409, str(e)) from e
    return {"merge_id": merge_id, "person_id": merged_person_id}


@router.delete("/{identifier}")
def erase(request: Request, identifier: str, store: Store = Depends(db),
          who: Principal = Depends(require("persons.erase"))) -> Any:
    """Right to erasure: delete the person and every row that names them, everywhere — and
    the web chat conversations this server holds in memory (or the next message would save
    them again)."""
    names = persons.names(store, identifier)
    try:
        counts = persons.erase(store, identifier, actor=who.label)
    except persons.PersonError as e:
        raise HTTPException(404, str(e)) from e
    counts["chat_in_memory"] = request.app.state.chat.forget(names)
    return {"erased": True, "rows": counts}
