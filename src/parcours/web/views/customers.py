"""Customer 360: find a person by any identifier; their identifiers, merges and one timeline
across channels. Where agents land."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from parcours import persons
from parcours.auth import Principal
from parcours.store import Store
from parcours.web.deps import db, page_user
from parcours.web.render import render

router = APIRouter()
TIMELINE_LIMIT = 1000


@router.get("/customers")
def customers(request: Request, q: str = Query("", max_length=500), store: Store = Depends(db),
              who: Principal = Depends(page_user("persons.read"))) -> Any:
    q = q.strip()
    person = persons.show(store, q, limit=TIMELINE_LIMIT) if q else None
    return render(request, "customers.html", q=q, person=person, limit=TIMELINE_LIMIT)
