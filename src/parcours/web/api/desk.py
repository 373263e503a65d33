"""The service desk over HTTP: inbox, cases and agent actions, teams, agents and routing.

This module checks requests and shapes answers; the desk (``parcours.desk``) decides. Every
action on a case takes the version the caller read (JSON ``version`` or ``If-Match``), so
two agents never overwrite each other: a stale version answers 409 with who changed what.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from parcours.auth import Principal
from parcours.desk import agents, cases, macros, routing
from parcours.schema import CHANNELS, MAX_TEXT_CHARS, PRIORITIES
from parcours.store import Store
from parcours.web.deps import db, require
from parcours.web.files import AttachmentIn, attachment_response, decoded

router = APIRouter(prefix="/desk", tags=["desk"])

Status = Literal["new", "open", "pending", "resolved", "closed"]
SettableStatus = Literal["new", "open", "pending", "resolved"]  # closing records more: /close
Channel = Literal[CHANNELS]  # type: ignore[valid-type]
Priority = Literal[PRIORITIES]  # type: ignore[valid-type]
Disposition = Literal[cases.DISPOSITIONS]  # type: ignore[valid-type]
AgentStatus = Literal[agents.AGENT_STATUSES]  # type: ignore[valid-type]
Strategy = Literal[agents.STRATEGIES]  # type: ignore[valid-type]

_CASE_ID = Path(..., min_length=1, max_length=100, description="a case id (a merged case's id leads to the case "
                                                               "it was merged into when read)")
_IF_MATCH = Header(None, max_length=100, description="the case version read (the ETag of GET /desk/cases/{id}); "
                                                     "instead of the JSON field `version`")
_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such case"},
    409: {"description": "stale version (`current_version` and what changed), closed or merged case, or a move "
                         "the case's state does not allow"},
    422: {"description": "malformed input"},
    428: {"description": "no version given (JSON `version` or If-Match)"},
}


# -- who acts ---------------------------------------------------------------------------------
def _agent_of(store: Store, who: Principal) -> str | None:
    return agents.agent_of(store, who.kind, who.id, who.name)


def _actor(store: Store, who: Principal) -> str:
    """Who the case's history names: the agent, else the principal's label (``user:Anne``)."""
    return _agent_of(store, who) or who.label


def _agent_required(store: Store, who: Principal) -> str:
    agent = _agent_of(store, who)
    if agent is None:
        raise HTTPException(403, f"{who.label} is not a desk agent, and replies are written by agents: an admin "
                                 "adds one (POST /api/v1/desk/agents with your user_id or e-mail; for an API token, "
                                 "an agent_id equal to the token's name)")
    return agent


# -- versions and errors ----------------------------------------------------------------------
class Versioned(BaseModel):
    version: int | None = Field(None, ge=0, le=2**31 - 1,
                                description="the case version you read (or send If-Match)")


def _version(given: int | None, if_match: str | None) -> int:
    """The version the caller read: the JSON field, else the If-Match header (``"3"``, ``W/"3"``, ``3``)."""
    header: int | None = None
    if if_match is not None and if_match.strip():
        raw = if_match.strip().removeprefix("W/").strip('"')
        if not raw.isdigit() or len(raw) > 9:
            raise HTTPException(422, f"If-Match {if_match!r} is not a case version: send the ETag of "
                                     "GET /desk/cases/{case_id}, e.g. If-Match: \"3\"")
        header = int(raw)
    if given is not None and header is not None and given != header:
        raise HTTPException(422, f"version {given} and If-Match {header} disagree: send one of them")
    found = given if given is not None else header
    if found is None:
        raise HTTPException(428, "this action needs the case version you read (JSON field `version` or an "
                                 "If-Match header with the ETag of GET /desk/cases/{case_id}), so that nobody's "
                                 "change is overwritten")
    return found


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _desk_call(action: Callable[[], Any], *, state_errors: bool = False) -> Any:
    """Run a desk action, its refusals as HTTP answers: 409 for a stale version (with the
    current one), a closed or merged case, and — with ``state_errors`` — any refusal the
    case's state causes; 404 for an unknown case; 422 for the rest."""
    try:
        return action()
    except cases.ConflictError as e:
        return JSONResponse({"detail": str(e), "case_id": e.case_id, "your_version": e.expected,
                             "current_version": e.current, "changes": [cases.describe(c) for c in e.changes]},
                            status_code=409, headers=_etag(e.current))
    except cases.MergedCaseError as e:
        return JSONResponse({"detail": str(e), "case_id": e.case_id, "merged_into": e.target}, status_code=409)
    except cases.ClosedCaseError as e:
        raise HTTPException(409, str(e)) from e
    except cases.NotFoundError as e:
        raise HTTPException(404 if str(e).startswith("no case") else 422, str(e)) from e
    except (cases.DeskError, agents.AgentError) as e:
        raise HTTPException(409 if state_errors else 422, str(e)) from e


def _case(c: cases.Case) -> dict[str, Any]:
    out = asdict(c)
    out.pop("link_terms", None)
    return out


def _case_answer(c: cases.Case | JSONResponse, response: Response) -> Any:
    if isinstance(c, JSONResponse):
        return c
    response.headers.update(_etag(c.version))
    return _case(c)


# -- reading ------------------------------------------------------------------------------------
@router.get("/inbox")
def inbox(status: list[Status] | None = Query(None, description="default: the active ones (new, open, pending)"),
          team: str | None = Query(None, max_length=100), assignee: str | None = Query(
              None, max_length=100, description=f"an agent id, or {cases.UNASSIGNED!r} for cases nobody has"),
          channel: Channel | None = Query(None, description="the channel the customer last used"),
          priority: Priority | None = None,
          q: str | None = Query(None, max_length=500, description="a case id, any identifier of a person, or "
                                                                   "words of the subject"),
          cursor: str | None = Query(None, max_length=2000, description="`next_cursor` of the previous page"),
          limit: int = Query(50, ge=1, le=500), store: Store = Depends(db),
          who: Principal = Depends(require("desk"))) -> Any:
    """Cases by priority, then longest waiting, then id. Keyset pagination: pass
    `next_cursor` to get the next page (a case is never shown twice or skipped)."""
    rows = _desk_call(lambda: cases.inbox(store, status=list(status) if status else None, team=team,
                                          assignee=assignee, channel=channel, priority=priority, q=q, limit=limit,
                                          cursor=cursor))
    return {"cases": [asdict(r) for r in rows], "next_cursor": rows[-1].cursor if len(rows) == limit else None}


@router.get("/cases/{case_id}", responses={404: {"description": "no such case"}})
def get_case(response: Response, case_id: str = _CASE_ID,
             timeline_limit: int = Query(500, ge=0, le=10_000, description="latest entries of the person's "
                                                                             "timeline"),
             store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    """The case, its messages and events, and the person's timeline on every channel. The
    `ETag` header is the case's version: send it back as If-Match (or `version`) to act."""
    view = _desk_call(lambda: cases.get(store, case_id, timeline_limit=timeline_limit))
    response.headers.update(_etag(view.case.version))
    return {"case": _case(view.case), "messages": [asdict(m) for m in view.messages],
            "events": [asdict(e) for e in view.events], "person": asdict(view.person) if view.person else None,
            "redirected_from": view.redirected_from}


@router.get("/opportunities")
def opportunities(limit: int = Query(200, ge=1, le=10_000), store: Store = Depends(db),
                  who: Principal = Depends(require("desk"))) -> Any:
    """The sales pipeline: opportunities agents flagged when closing cases, newest first."""
    return [asdict(o) for o in cases.opportunities(store, limit=limit)]


# -- acting on a case ---------------------------------------------------------------------------
class ReplyIn(Versioned):
    body: str = Field("", max_length=MAX_TEXT_CHARS, description="may be empty when files are attached")
    channel: Channel | None = Field(None, description="default: the channel the customer last used")
    status: SettableStatus | None = Field(None, description="set in the same change, e.g. pending")
    attachments: list[AttachmentIn] = Field([], max_length=cases.MAX_ATTACHMENTS,
                                      description="files sent with the reply (refused files: 422, nothing sent)")


class NoteIn(Versioned):
    body: str = Field("", max_length=MAX_TEXT_CHARS, description="may be empty when files are attached")
    attachments: list[AttachmentIn] = Field([], max_length=cases.MAX_ATTACHMENTS)


class AssignIn(Versioned):
    assignee: str | None = Field(..., max_length=100, description="an agent id, or null to unassign")


class StatusIn(Versioned):
    status: SettableStatus = Field(..., description="closing is POST /desk/cases/{case_id}/close")


class PriorityIn(Versioned):
    priority: Priority


class CloseIn(Versioned):
    disposition: Disposition
    anything_else_asked: bool = Field(..., description="did you ask \"anything else I can do?\"")
    opportunity: dict[str, Any] | None = Field(None, description="a sales opportunity spotted, e.g. "
                                                                 "{\"product\": \"premium\", \"amount\": 120}")


class MergeIn(Versioned):
    into: str = Field(..., min_length=1, max_length=100, description="the case that stays")
    into_version: int | None = Field(None, ge=0, le=2**31 - 1, description="its version, if you read it")


class SplitIn(Versioned):
    message_ids: list[str] = Field(..., min_length=1, max_length=1000)
    subject: str | None = Field(None, max_length=cases.MAX_SUBJECT)
    topic: str | None = Field(None, max_length=cases.MAX_TOPIC)


def _posted(p: cases.Posted | JSONResponse, response: Response) -> Any:
    if isinstance(p, JSONResponse):
        return p
    response.headers.update(_etag(p.case.version))
    return {"message_id": p.message_id, "case": _case(p.case), "attachments": [asdict(a) for a in p.attachments]}


@router.post("/cases/{case_id}/reply", responses=_RESPONSES)
def reply(body: ReplyIn, response: Response, case_id: str = _CASE_ID, if_match: str | None = _IF_MATCH,
          store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    """A public reply to the customer (a closed case takes none: 409, open a follow-up)."""
    version, agent = _version(body.version, if_match), _agent_required(store, who)
    files = decoded(body.attachments)
    return _posted(_desk_call(lambda: cases.reply(store, case_id, agent, body.body, expected_version=version,
                                                  channel=body.channel, status=body.status, attachments=files)),
                   response)


@router.post("/cases/{case_id}/note", responses=_RESPONSES)
def note(body: NoteIn, response: Response, case_id: str = _CASE_ID, if_match: str | None = _IF_MATCH,
         store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    """An internal note, never shown to the customer (a closed case takes them too)."""
    version, agent = _version(body.version, if_match), _agent_required(store, who)
    files = decoded(body.attachments)
    return _posted(_desk_call(lambda: cases.note(store, case_id, agent, body.body, expected_version=version,
                                                 attachments=files)), response)


@router.get("/attachments/{attachment_id}", response_class=Response,
            responses={200: {"description": "the file, with its stored content type", "content": {"*/*": {}}},
                       404: {"description": "no such attachment"},
                       410: {"description": "refused at receipt (there is no file), or damaged on disk"}})
def attachment(attachment_id: str = Path(..., min_length=1, max_length=100), store: Store = Depends(db),
               who: Principal = Depends(require("desk"))) -> Any:
    """An attachment of a case's message (raster images and plain text inline, the rest as a
    download; served with nosniff and a sandboxing CSP)."""
    try:
        return attachment_response(store, attachment_id)
    except cases.NotFoundError as e:
        raise HTTPException(404, str(e)) from e
    except cases.DeskError as e:
        raise HTTPException(410, str(e)) from e


@router.post("/cases/{case_id}/assign", responses=_RESPONSES)
def assign(body: AssignIn, response: Response, case_id: str = _CASE_ID, if_match: str | None = _IF_MATCH,
           store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    """Give the case to an agent (or to nobody); may exceed capacity — the event says so."""
    version = _version(body.version, if_match)
    return _case_answer(_desk_call(lambda: cases.assign(store, case_id, body.assignee, actor=_actor(store, who),
                                                        expected_version=version)), response)


@router.post("/cases/{case_id}/status", responses=_RESPONSES)
def set_status(body: StatusIn, response: Response, case_id: str = _CASE_ID, if_match: str | None = _IF_MATCH,
               store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    """new → open ⇄ pending → resolved; resolved → open reopens. A move the machine does not allow: 409."""
    version = _version(body.version, if_match)
    return _case_answer(_desk_call(lambda: cases.set_status(store, case_id, _actor(store, who), body.status,
                                                            expected_version=version), state_errors=True), response)


@router.post("/cases/{case_id}/priority", responses=_RESPONSES)
def set_priority(body: PriorityIn, response: Response, case_id: str = _CASE_ID, if_match: str | None = _IF_MATCH,
                 store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    version = _version(body.version, if_match)
    return _case_answer(_desk_call(lambda: cases.set_priority(store, case_id, _actor(store, who), body.priority,
                                                              expected_version=version)), response)


@router.post("/cases/{case_id}/close", responses=_RESPONSES)
def close(body: CloseIn, response: Response, case_id: str = _CASE_ID, if_match: str | None = _IF_MATCH,
          store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    """Close for good, with the disposition, "anything else?" and an optional sales opportunity."""
    version = _version(body.version, if_match)
    return _case_answer(_desk_call(lambda: cases.close(store, case_id, _actor(store, who), body.disposition,
                                                       body.anything_else_asked, body.opportunity,
                                                       expected_version=version)), response)


class MacroIn(Versioned):
    name: str = Field(..., min_length=1, max_length=100, description="a macro of GET /desk/macros")


@router.get("/macros")
def list_macros(store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    """Canned replies (French and English, with variables) and the status each sets after."""
    try:
        found = macros.load(store)
    except macros.MacroError as e:
        raise HTTPException(422, str(e)) from e
    return [{"name": m.name, "title": m.title, "languages": sorted(m.body), "status": m.status,
             "variables": list(m.variables)} for m in found.values()]


@router.post("/cases/{case_id}/macro", responses=_RESPONSES)
def apply_macro(body: MacroIn, response: Response, case_id: str = _CASE_ID, if_match: str | None = _IF_MATCH,
                store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    """Reply with a macro, in the case's language, then set the macro's status."""
    version, agent = _version(body.version, if_match), _agent_required(store, who)
    try:
        posted = _desk_call(lambda: macros.apply(store, case_id, body.name, agent, expected_version=version,
                                                 agent_name=who.name))
    except macros.MacroError as e:
        raise HTTPException(422, str(e)) from e
    return _posted(posted, response)


@router.post("/cases/{case_id}/merge", responses=_RESPONSES)
def merge(body: MergeIn, response: Response, case_id: str = _CASE_ID, if_match: str | None = _IF_MATCH,
          store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    """Merge this case (a duplicate) into `into`; answers the case that stays."""
    version = _version(body.version, if_match)
    return _case_answer(_desk_call(lambda: cases.merge(store, case_id, body.into, _actor(store, who),
                                                       expected_version=version, target_version=body.into_version),
                                   state_errors=True), response)


@router.post("/cases/{case_id}/split", responses=_RESPONSES)
def split(body: SplitIn, response: Response, case_id: str = _CASE_ID, if_match: str | None = _IF_MATCH,
          store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    """Move messages to a new case of the same person (two issues in one thread); answers the new case."""
    version = _version(body.version, if_match)
    return _case_answer(_desk_call(lambda: cases.split(store, case_id, body.message_ids, _actor(store, who),
                                                       expected_version=version, subject=body.subject,
                                                       topic=body.topic)), response)


@router.post("/cases/{case_id}/links/accept", responses=_RESPONSES)
def accept_link(response: Response, body: Versioned | None = None, case_id: str = _CASE_ID,
                if_match: str | None = _IF_MATCH, store: Store = Depends(db),
                who: Principal = Depends(require("desk"))) -> Any:
    """The suggested case is the same issue: this case is merged into it (answered)."""
    version = _version(body.version if body else None, if_match)
    return _case_answer(_desk_call(lambda: cases.accept_link(store, case_id, _actor(store, who),
                                                             expected_version=version), state_errors=True), response)


@router.post("/cases/{case_id}/links/reject", responses=_RESPONSES)
def reject_link(response: Response, body: Versioned | None = None, case_id: str = _CASE_ID,
                if_match: str | None = _IF_MATCH, store: Store = Depends(db),
                who: Principal = Depends(require("desk"))) -> Any:
    """The suggested case is another issue: the suggestion goes (recorded)."""
    version = _version(body.version if body else None, if_match)
    return _case_answer(_desk_call(lambda: cases.reject_link(store, case_id, _actor(store, who),
                                                             expected_version=version), state_errors=True), response)


# -- contacts entered by an agent ----------------------------------------------------------------
class Identifiers(BaseModel):
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=100)
    social: str | None = Field(None, max_length=500)
    app_id: str | None = Field(None, max_length=500)
    person_id: str | None = Field(None, max_length=100)


class ContactIn(BaseModel):
    channel: Literal["store", "phone"] = Field(..., description="where the customer came or called")
    identifiers: Identifiers
    text: str = Field(..., min_length=1, max_length=MAX_TEXT_CHARS, description="what the customer said")
    topic: str | None = Field(None, max_length=cases.MAX_TOPIC)
    subject: str | None = Field(None, max_length=cases.MAX_SUBJECT)
    ts: datetime | None = Field(None, description="when (with a time zone); default now")


def received(r: cases.Received) -> dict[str, Any]:
    """A reception as the API answers it (shared with the channels module)."""
    out = asdict(r)
    out["attachments"] = [asdict(a) for a in r.attachments]
    return out


@router.post("/contacts", responses={422: {"description": "malformed input or identifiers"}})
def contact(body: ContactIn, store: Store = Depends(db), who: Principal = Depends(require("desk"))) -> Any:
    """A store visit or phone call typed in by an agent: it lands on the person's case (or a new one)."""
    ids = body.identifiers.model_dump(exclude_none=True)
    got = _desk_call(lambda: cases.receive(store, channel=body.channel, identifiers=ids, text=body.text,
                                           ts=body.ts or datetime.now().astimezone(), subject=body.subject,
                                           topic=body.topic, entered_by=_actor(store, who)))
    return received(got)


# -- teams, agents, routing (admins) ----------------------------------------------------------
class TeamIn(BaseModel):
    team_id: str = Field(..., min_length=1, max_length=100)
    name: str = Field(..., min_length=1, max_length=200)
    strategy: Strategy = "round_robin"
    topics: list[str] = Field([], max_length=200, description="case topics the team handles")


class AgentIn(BaseModel):
    agent_id: str = Field(..., min_length=1, max_length=100)
    name: str = Field(..., min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320, description="links the agent to the web-app user of that e-mail")
    user_id: str | None = Field(None, max_length=100, description="links the agent to a web-app user")
    teams: list[str] = Field([], max_length=100)
    skills: list[str] = Field([], max_length=100)
    languages: list[str] = Field([], max_length=50)
    capacity: int = Field(5, ge=0, le=agents.MAX_CAPACITY)
    status: AgentStatus = "offline"


class AgentPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320)
    teams: list[str] | None = Field(None, max_length=100)
    skills: list[str] | None = Field(None, max_length=100)
    languages: list[str] | None = Field(None, max_length=50)
    capacity: int | None = Field(None, ge=0, le=agents.MAX_CAPACITY)
    status: AgentStatus | None = None


class RoutingIn(BaseModel):
    strategy: Strategy | None = Field(None, description="default: each case's team's strategy")
    limit: int | None = Field(None, ge=1, le=100_000, description="route at most this many waiting cases")


def _agent_error(e: agents.AgentError) -> HTTPException:
    text = str(e)
    return HTTPException(409 if "already exists" in text else 404 if text.startswith("no agent") else 422, text)


@router.get("/teams")
def list_teams(store: Store = Depends(db), who: Principal = Depends(require("desk.admin"))) -> Any:
    return [asdict(t) for t in agents.list_teams(store)]


@router.post("/teams", status_code=201, responses={409: {"description": "the team exists"}})
def add_team(body: TeamIn, store: Store = Depends(db), who: Principal = Depends(require("desk.admin"))) -> Any:
    """A team; a case whose topic it lists goes to it."""
    try:
        return asdict(agents.add_team(store, body.team_id, body.name, strategy=body.strategy, topics=body.topics))
    except agents.AgentError as e:
        raise _agent_error(e) from e


@router.get("/agents")
def list_agents(team: str | None = Query(None, max_length=100), store: Store = Depends(db),
                who: Principal = Depends(require("desk.admin"))) -> Any:
    """Agents with their load (active cases assigned now)."""
    return [asdict(a) for a in agents.list_agents(store, team=team)]


@router.post("/agents", status_code=201, responses={409: {"description": "the agent exists"}})
def add_agent(body: AgentIn, store: Store = Depends(db), who: Principal = Depends(require("desk.admin"))) -> Any:
    """An agent. Link them to a web-app user (`user_id` or `email`) so that their API calls act as them."""
    try:
        return asdict(agents.add_agent(store, body.agent_id, body.name, email=body.email, user_id=body.user_id,
                                       teams=body.teams, skills=body.skills, languages=body.languages,
                                       capacity=body.capacity, status=body.status))
    except agents.AgentError as e:
        raise _agent_error(e) from e


@router.patch("/agents/{agent_id}", responses={404: {"description": "no such agent"}})
def update_agent(body: AgentPatch, agent_id: str = Path(..., min_length=1, max_length=100),
                 store: Store = Depends(db), who: Principal = Depends(require("desk.admin"))) -> Any:
    """Change capacity, skills, languages, teams, status (online, away, offline), name or e-mail."""
    changes = body.model_dump(exclude_unset=True)
    if any(v is None for k, v in changes.items() if k != "email"):
        raise HTTPException(422, "only email may be set to null")
    try:
        return asdict(agents.update_agent(store, agent_id, **changes))
    except agents.AgentError as e:
        raise _agent_error(e) from e


@router.post("/routing/run")
def run_routing(body: RoutingIn | None = None, store: Store = Depends(db),
                who: Principal = Depends(require("desk.admin"))) -> Any:
    """Route the waiting cases (urgent first, then oldest waiting) to online agents with room."""
    got = _desk_call(lambda: routing.assign_waiting(store, strategy=body.strategy if body else None,
                                                    limit=body.limit if body else None))
    return {"assignments": [asdict(a) for a in got], "waiting": len(routing.queue(store))}
