"""The agents' desk: the inbox (filters, SLA countdowns, live by HTMX polling) and the case
page (header and clocks, the person's whole timeline, messages, composer and actions).

Every form carries the CSRF token and the case version it was rendered with: a stale
version re-renders the page with the ConflictError's news and the agent's draft kept.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse

from parcours import persons
from parcours.act import churn
from parcours.auth import Principal
from parcours.desk import agents, cases, clocks, macros
from parcours.desk.cases import (
    DISPOSITIONS,
    TRANSITIONS,
    ClosedCaseError,
    ConflictError,
    DeskError,
    Event,
    NotFoundError,
)
from parcours.schema import CHANNELS, PRIORITIES
from parcours.store import Store
from parcours.web.deps import check_csrf, db, page_user
from parcours.web.files import attachment_response, uploads
from parcours.web.i18n import STRINGS
from parcours.web.render import language, render

router = APIRouter()
PAGE = 50                      #: inbox rows a page
TIMELINE_SHOWN = 200           #: the person's latest timeline events on the case page
PRESENCE_TTL = 20.0            #: seconds a viewer counts as present without polling again
POLL_S = 10                    #: the inbox's refresh period
SHOWN_TZ = clocks.DEFAULT_CALENDAR.tz  #: the desk's wall clock (due times, messages)
STATUSES = ("active", "new", "open", "pending", "resolved", "closed")
desk_user = page_user("desk")


# -- who is looking at a case --------------------------------------------------------------
class Presence:
    """Who has a case open: in memory, per server process, forgotten after ``ttl`` seconds
    without a poll — a hint for agents, not a lock."""

    def __init__(self, ttl: float = PRESENCE_TTL) -> None:
        self.ttl, self._lock = ttl, threading.Lock()
        self._seen: dict[str, dict[str, tuple[str, float]]] = {}

    def see(self, case_id: str, user_id: str, name: str) -> list[str]:
        """Record this viewer; the names of the others viewing the case now."""
        now = time.monotonic()
        with self._lock:
            viewers = self._seen.setdefault(case_id, {})
            for uid in [u for u, (_, at) in viewers.items() if now - at > self.ttl]:
                del viewers[uid]
            viewers[user_id] = (name, now)
            return sorted(n for u, (n, _) in viewers.items() if u != user_id)


PRESENCE = Presence()


# -- helpers -------------------------------------------------------------------------------
def agent_for(store: Store, who: Principal) -> str:
    """The desk agent of this web user, added the first time they open the desk."""
    return agents.agent_of(store, who.kind, who.id, who.name, create=True) or who.id


def names(store: Store) -> dict[str, str]:
    return {a.agent_id: a.name for a in agents.list_agents(store)}


def span(seconds: float | None, lang: str) -> str:
    """Business time as agents read it: 45 min, 2 h 05, 3 j 4 h."""
    if seconds is None:
        return "—"
    s = abs(int(seconds))
    if s < 60:
        return "< 1 min"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d}"
    return f"{s // 86400} {'j' if lang == 'fr' else 'd'} {s % 86400 // 3600} h"


DAYS = {"en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
        "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")}


def local(ts: datetime | None, fmt: str = "%Y-%m-%d %H:%M", lang: str = "en") -> str:
    """An instant on the desk's wall clock; ``%a`` is the day's name in the reader's language."""
    if not ts:
        return ""
    at = ts.astimezone(SHOWN_TZ)
    return at.strftime(fmt.replace("%a", DAYS.get(lang, DAYS["en"])[at.weekday()]))


def conflict_news(e: ConflictError, who: dict[str, str], lang: str) -> str:
    """"Alice Martin replied at 10:02 — reload to see it": the latest change the agent missed."""
    t = STRINGS[lang]
    if not e.changes:
        return t["desk_conflict_plain"]
    # what the agent most needs to read: the latest message or closing, else the latest change
    said = [c for c in e.changes if c.kind in ("message", "note", "closed", "merged_into")]
    last: Event = (said or e.changes)[-1]
    key = last.kind
    if key == "message":
        key = "reply" if last.detail.get("author") == "agent" else "wrote"
    what = t.get(f"desk_ev_{key}") or cases.describe(last).split(f" {last.actor} ", 1)[-1]
    return t["desk_conflict"].format(who=who.get(last.actor, last.actor), what=what, at=local(last.ts, "%H:%M"),
                                     n=len(e.changes))


@dataclass(frozen=True)
class Filters:
    status: str = "active"
    team: str = ""
    mine: bool = False
    channel: str = ""
    priority: str = ""
    q: str = ""
    cursor: str = ""

    def query(self, **change: Any) -> str:
        values = {**self.__dict__, **change}
        return urlencode({k: ("1" if v is True else v) for k, v in values.items() if v not in ("", False, None)
                          and not (k == "status" and v == "active")})


def inbox_filters(status: str = Query("active", max_length=20), team: str = Query("", max_length=100),
                  mine: bool = Query(False), channel: str = Query("", max_length=20),
                  priority: str = Query("", max_length=20), q: str = Query("", max_length=500),
                  cursor: str = Query("", max_length=500)) -> Filters:
    return Filters(status if status in STATUSES else "active", team, mine, channel if channel in CHANNELS else "",
                   priority if priority in PRIORITIES else "", q.strip(), cursor)


def _rows(store: Store, f: Filters, me: str) -> tuple[list[cases.InboxRow], dict[str, clocks.Due], str | None]:
    try:
        rows = cases.inbox(store, status=None if f.status == "active" else f.status, team=f.team or None,
                           assignee=me if f.mine else None, channel=f.channel or None, priority=f.priority or None,
                           q=f.q or None, limit=PAGE + 1, cursor=f.cursor or None)
    except DeskError as e:
        raise HTTPException(400, str(e)) from None
    more = rows[PAGE - 1].cursor if len(rows) > PAGE else None
    rows = rows[:PAGE]
    return rows, clocks.inbox_clocks(store, [r.case_id for r in rows]), more


def _inbox_ctx(store: Store, who: Principal, f: Filters) -> dict[str, Any]:
    me = agent_for(store, who)
    rows, dues, more = _rows(store, f, me)
    return {"rows": rows, "dues": dues, "more": more, "f": f, "me": me, "who_names": names(store),
            "teams": agents.list_teams(store), "channels": CHANNELS, "priorities": PRIORITIES,
            "statuses": STATUSES, "span": span, "local": local, "poll_s": POLL_S,
            "now_ts": datetime.now(timezone.utc)}


# -- the inbox -----------------------------------------------------------------------------
@router.get("/desk")
def inbox(request: Request, f: Filters = Depends(inbox_filters), store: Store = Depends(db),
          who: Principal = Depends(desk_user)) -> Any:
    return render(request, "desk_inbox.html", **_inbox_ctx(store, who, f))


@router.get("/desk/opportunities")
def pipeline(request: Request, store: Store = Depends(db), who: Principal = Depends(desk_user)) -> Any:
    """The sales opportunities agents flagged when closing cases (seed 004), newest first."""
    count, priced, total = cases.pipeline_totals(store)
    return render(request, "desk_pipeline.html", rows=cases.opportunities(store, limit=500), count=count,
                  total=total, priced=priced, who_names=names(store), local=local)


@router.get("/desk/contacts/new")
def contact_form(request: Request, who: Principal = Depends(desk_user)) -> Any:
    """A store visit or a phone call, typed in by the agent who took it."""
    return render(request, "desk_contact.html", form={"channel": "store"}, error=None)


@router.post("/desk/contacts")
def post_contact(request: Request, channel: str = Form("store", max_length=10),
                 identifier: str = Form("", max_length=320), text: str = Form("", max_length=100_000),
                 subject: str = Form("", max_length=500), csrf: str = Form(""), store: Store = Depends(db),
                 who: Principal = Depends(desk_user)) -> Any:
    """The contact lands on the person's open case about it (or a new one), like any message."""
    check_csrf(request, csrf)
    form = {"channel": channel, "identifier": identifier, "text": text, "subject": subject}
    try:
        if channel not in ("store", "phone"):
            raise DeskError(f"channel {channel!r}: a contact typed in is a store visit or a phone call")
        got = cases.receive(store, channel=channel, identifiers=persons.typed(store, identifier), text=text,
                            ts=datetime.now(timezone.utc), subject=subject or None,
                            entered_by=agent_for(store, who))
    except (DeskError, persons.PersonError) as e:
        return render(request, "desk_contact.html", form=form, error=str(e), status_code=422)
    return RedirectResponse(f"/desk/cases/{got.case_id}", status_code=303)


@router.get("/desk/rows")
def inbox_rows(request: Request, f: Filters = Depends(inbox_filters), store: Store = Depends(db),
               who: Principal = Depends(desk_user)) -> Any:
    """The inbox's rows alone: what the page polls every ``POLL_S`` seconds."""
    return render(request, "desk_rows.html", **_inbox_ctx(store, who, f))


def not_found(request: Request, e: NotFoundError) -> Any:
    """A 404 page that says which case is missing and why (the app's handler hides 404 details)."""
    return render(request, "error.html", status=404, detail=f"{e} — {STRINGS[language(request)]['desk_back']}: /desk",
                  status_code=404)


# -- the case page -------------------------------------------------------------------------
def _case_view(store: Store, who: Principal, case_id: str) -> dict[str, Any]:
    """What the case page shows of the case (also what the presence poll swaps in when it changed)."""
    view = cases.get(store, case_id, timeline_limit=TIMELINE_SHOWN)
    c = view.case
    return {"view": view, "c": c, "me": agent_for(store, who), "sla": clocks.clock(store, c),
            "who_names": names(store), "span": span, "local": local}


def _case_page(request: Request, store: Store, who: Principal, case_id: str, *, status_code: int = 200,
               **extra: Any) -> Any:
    try:
        ctx = _case_view(store, who, case_id)
    except NotFoundError as e:
        return not_found(request, e)
    view, c = ctx["view"], ctx["c"]
    timeline = list(reversed(view.person.timeline))[:TIMELINE_SHOWN] if view.person else []
    ctx.update({
        "timeline": timeline, "viewers": PRESENCE.see(c.case_id, who.id, who.name), "next_statuses": [
            s for s in TRANSITIONS.get(c.status, ()) if s != "closed"],
        "priorities": PRIORITIES, "dispositions": DISPOSITIONS,
        "draft": "", "mode": "public", "error": None, "conflict": None, "version": c.version, "seen": c.version,
        "changed": False, "live": False, "case_id": c.case_id, "macros": _macros(store),
        "teams": agents.list_teams(store), "agent_choices": [a for a in agents.list_agents(store) if not a.disabled],
        "risk": churn.risk_of(store, c.person_id) if c.person_id else None})
    ctx.update(extra)
    return render(request, "desk_case.html", status_code=status_code, **ctx)


def _macros(store: Store) -> list[macros.Macro]:
    try:
        return list(macros.load(store).values())
    except macros.MacroError:  # a broken macros file: the page still opens (the API names the error)
        return list(macros.DEFAULTS.values())


@router.get("/desk/cases/{case_id}")
def case_page(request: Request, case_id: str, store: Store = Depends(db),
              who: Principal = Depends(desk_user)) -> Any:
    return _case_page(request, store, who, case_id)


@router.get("/desk/cases/{case_id}/presence")
def presence(request: Request, case_id: str, v: int = Query(-1), seen: int | None = Query(None),
             store: Store = Depends(db), who: Principal = Depends(desk_user)) -> Any:
    """Who else has the case open, and whether it changed since the page's forms were
    rendered (version ``v``); when it changed since the version the page last showed
    (``seen``), the case's head and messages too, swapped in out of band — once per change.
    The forms keep ``v``: acting on the case still asks to reload first (no lost update)."""
    seen = v if seen is None else seen
    try:
        current = cases.load(store.con, case_id).version
    except DeskError:  # merged, erased: the next reload says so
        current = seen
    live: dict[str, Any] = {}
    if current != seen:
        try:
            live = _case_view(store, who, case_id) | {"live": True}
        except DeskError:
            current = seen
    return render(request, "desk_presence.html", case_id=case_id, version=v, seen=current, changed=current != v,
                  viewers=PRESENCE.see(case_id, who.id, who.name), **live)


def _act(request: Request, store: Store, who: Principal, case_id: str, csrf: str,
         action: Callable[[str], Any], *, draft: str = "", mode: str = "public", to: str | None = None) -> Any:
    """Run one desk action as this agent; a refusal re-renders the page with the reason and
    the draft (409 for a conflict or a closed case, 422 for bad input) — nothing is lost."""
    check_csrf(request, csrf)
    me = agent_for(store, who)
    lang = language(request)
    try:
        result = action(me)
    except ConflictError as e:
        known = names(store)
        detail = str(e)
        for agent_id, name in known.items():
            detail = detail.replace(f" {agent_id} ", f" {name} ")
        return _case_page(request, store, who, case_id, status_code=409, draft=draft, mode=mode,
                          conflict=conflict_news(e, known, lang), error=detail)
    except NotFoundError as e:
        return not_found(request, e)
    except ClosedCaseError as e:
        return _case_page(request, store, who, case_id, status_code=409, draft=draft, mode=mode, error=str(e))
    except (DeskError, agents.AgentError) as e:
        return _case_page(request, store, who, case_id, status_code=422, draft=draft, mode=mode, error=str(e))
    target = to or getattr(result, "case_id", None) or case_id
    return RedirectResponse(f"/desk/cases/{target}", status_code=303)


@router.post("/desk/cases/{case_id}/reply")
def post_reply(request: Request, case_id: str, body: str = Form("", max_length=100_000),
               mode: str = Form("public"), then: str = Form(""), version: int = Form(...), csrf: str = Form(""),
               files: list[UploadFile] = File([]), store: Store = Depends(db),
               who: Principal = Depends(desk_user)) -> Any:
    """A public reply (optionally setting the status after it) or an internal note, with files."""
    public = mode != "note"

    def act(me: str) -> Any:
        return cases.reply(store, case_id, me, body, expected_version=version, public=public,
                           status=(then or None) if public else None, attachments=uploads(files))

    return _act(request, store, who, case_id, csrf, act, draft=body, mode=mode)


@router.get("/desk/attachments/{attachment_id}")
def attachment(request: Request, attachment_id: str = Path(..., max_length=100), store: Store = Depends(db),
               who: Principal = Depends(desk_user)) -> Any:
    """An attachment of a case's message, served inert (web/files.py)."""
    try:
        return attachment_response(store, attachment_id)
    except NotFoundError as e:
        return render(request, "error.html", status=404, detail=str(e), status_code=404)
    except DeskError as e:  # refused at receipt, or the file on disk is damaged
        return render(request, "error.html", status=410, detail=str(e), status_code=410)


@router.post("/desk/cases/{case_id}/macro")
def post_macro(request: Request, case_id: str, name: str = Form(..., max_length=100), version: int = Form(...),
               csrf: str = Form(""), store: Store = Depends(db), who: Principal = Depends(desk_user)) -> Any:
    """Reply with a canned reply (in the case's language), then set the macro's status."""

    def act(me: str) -> Any:
        try:
            return macros.apply(store, case_id, name, me, expected_version=version, agent_name=who.name)
        except macros.MacroError as e:
            raise DeskError(str(e)) from e

    return _act(request, store, who, case_id, csrf, act)


@router.post("/desk/cases/{case_id}/assign")
def post_assign(request: Request, case_id: str, version: int = Form(...), csrf: str = Form(""),
                store: Store = Depends(db), who: Principal = Depends(desk_user)) -> Any:
    return _act(request, store, who, case_id, csrf,
                lambda me: cases.assign(store, case_id, me, actor=me, expected_version=version))


@router.post("/desk/cases/{case_id}/route")
def post_route(request: Request, case_id: str, team: str = Form("", max_length=100),
               assignee: str = Form("", max_length=100), version: int = Form(...), csrf: str = Form(""),
               store: Store = Depends(db), who: Principal = Depends(desk_user)) -> Any:
    """Hand the case to a team and/or an agent ("" for none), both in one change."""

    def act(me: str) -> Any:
        return cases.hand_over(store, case_id, me, team=team or None, assignee=assignee or None,
                               expected_version=version)

    return _act(request, store, who, case_id, csrf, act)


@router.post("/desk/cases/{case_id}/status")
def post_status(request: Request, case_id: str, status: str = Form(..., max_length=20),
                priority: str = Form("", max_length=20), version: int = Form(...), csrf: str = Form(""),
                store: Store = Depends(db), who: Principal = Depends(desk_user)) -> Any:
    """Status and priority in one form; the second change uses the version the first made."""

    def act(me: str) -> Any:
        c = cases.set_status(store, case_id, me, status, expected_version=version)
        if priority and priority != c.priority:
            c = cases.set_priority(store, case_id, me, priority, expected_version=c.version)
        return c

    return _act(request, store, who, case_id, csrf, act)


@router.post("/desk/cases/{case_id}/close")
def post_close(request: Request, case_id: str, disposition: str = Form(..., max_length=20),
               anything_else: bool = Form(False), opportunity: bool = Form(False),
               product: str = Form("", max_length=200), amount: str = Form("", max_length=20),
               version: int = Form(...), csrf: str = Form(""), store: Store = Depends(db),
               who: Principal = Depends(desk_user)) -> Any:
    """Close for good: disposition, "anything else I can do for you?" asked, a sales opportunity."""

    def act(me: str) -> Any:
        opp: dict[str, Any] | None = None
        if opportunity or product.strip():
            opp = {"product": product.strip() or "unspecified"}
            if amount.strip():
                try:
                    opp["amount"] = float(amount.replace(",", ".").replace("\u202f", "").replace(" ", ""))
                except ValueError:
                    raise DeskError(f"opportunity amount {amount!r} is not a number") from None
        return cases.close(store, case_id, me, disposition, anything_else, opp, expected_version=version)

    return _act(request, store, who, case_id, csrf, act)


@router.post("/desk/cases/{case_id}/split")
def post_split(request: Request, case_id: str, message_ids: list[str] = Form([]),
               subject: str = Form("", max_length=500), version: int = Form(...), csrf: str = Form(""),
               store: Store = Depends(db), who: Principal = Depends(desk_user)) -> Any:
    """Move the ticked messages to a new case of the same person (two issues in one thread);
    the agent lands on the new case."""
    return _act(request, store, who, case_id, csrf, lambda me: cases.split(
        store, case_id, message_ids, me, expected_version=version, subject=subject or None))


@router.post("/desk/cases/{case_id}/link")
def post_link(request: Request, case_id: str, accept: str = Form(..., max_length=5), version: int = Form(...),
              csrf: str = Form(""), store: Store = Depends(db), who: Principal = Depends(desk_user)) -> Any:
    """Accept (merge into the suggested case) or reject the suggested link."""
    do = cases.accept_link if accept == "yes" else cases.reject_link
    return _act(request, store, who, case_id, csrf, lambda me: do(store, case_id, me, expected_version=version))

