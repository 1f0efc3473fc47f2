"""Runs: triggered by the firm's systems or an advisor, executed in the background."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy.exc import IntegrityError

from api.deps import Reader, Route, RunnerDep, Service, SessionDep, require
from api.paging import paged
from api.schemas import (
    AuditTrail,
    FeedbackCreate,
    Page,
    RunCreate,
    RunEvent,
    RunPublic,
    SpecialCareAccept,
)
from api.views import audit_trail, run_public
from core.database import session_scope
from core.errors import RunNotFound
from core.schemas.vocabulary import FINAL_STATUSES
from core.services import audit, clients, feedback, letters, principals, runs, special_care
from core.tables import Principal, utcnow
from graphs.runner import Runner
from tools.letter.html import firm_name, render_html
from tools.letter.pdf import render_pdf

router = APIRouter(prefix="/v1/runs", tags=["runs"], route_class=Route)
EVENT_POLL_SECONDS = 0.2
# How audit events show in the run's event stream.
EVENT_NAMES = {
    "run_created": "queued",
    "node_started": "node_started",
    "node": "node_finished",
    "review_opened": "review_opened",
    "decision": "decision",
    "delivered": "delivered",
    "feedback": "feedback",
}

EVENT_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events; each one's data is a JSON RunEvent",
        "content": {
            "text/event-stream": {
                "schema": {"type": "string", "description": "a text/event-stream body"},
                "itemSchema": {
                    "required": ["id", "event", "data"],
                    "properties": {
                        "data": {
                            "contentMediaType": "application/json",
                            "contentSchema": RunEvent.model_json_schema(),
                        }
                    },
                },
            }
        },
    }
}
LetterFormat = Literal["html", "pdf"]
LETTER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The letter as the client receives it: an HTML page, or an A4 PDF",
        "content": {
            "text/html": {"schema": {"type": "string", "description": "an HTML document"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
# The letter page runs nothing and loads nothing: its styles and chart are inline.
LETTER_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",  # client data: no shared cache keeps a copy
}


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_run(
    body: RunCreate,
    request: Request,
    runner: RunnerDep,
    principal: Reader,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> RunPublic:
    """Queue a run and return at once; it proceeds in the background.

    With an Idempotency-Key, the same key and body return the same run; a different body is 409.
    """
    scoped = runs.idempotency(principal, idempotency_key, body.model_dump(mode="json"))
    with session_scope(runner.engine) as session:
        if scoped and (existing := runs.replay(session, principal, scoped)) is not None:
            return run_public(session, existing)
        client = clients.visible(session, principal, body.client_id)
    try:
        with session_scope(runner.engine) as session:
            run = runs.create(
                session,
                client,
                as_of=date.today(),
                request=body.request,
                locale=body.locale,
                actor=principal.name,
                idempotency=scoped,
                worker=runner.worker,
            )
            # Built in the same unit of work: once it commits, the answer is 202 with the run.
            view = run_public(session, run)
    except IntegrityError:
        # Another request with the same key won the race: answer with its run.
        with session_scope(runner.engine) as session:
            existing = runs.replay(session, principal, scoped) if scoped else None
            if existing is None:
                raise
            return run_public(session, existing)
    # Queued in the database first: if this process cannot run it (busy, stopping, dead), the
    # sweeper of this or another process does.
    request.app.state.engine.execute(run.id)
    return view


@router.get("", response_model=Page[RunPublic])
def list_runs(
    session: SessionDep,
    runner: RunnerDep,
    principal: Reader,
    client_id: str | None = None,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    """Runs, newest first; an advisor sees only their own clients' runs. A page stops before
    TIERWISE_MAX_PAGE_BYTES, whatever `limit` says, and `next` goes on from there."""
    found, next_cursor = runs.list_runs(
        session,
        client_id=client_id,
        status=status_filter,
        advisor_id=principals.advisor_scope(principal),
        limit=limit,
        cursor=cursor,
    )
    entries = ((run_public(session, r), after) for r, after in found)
    return paged(entries, next_cursor, runner.settings.max_page_bytes)


@router.get("/{run_id}")
def get_run(run_id: str, session: SessionDep, principal: Reader) -> RunPublic:
    """Status, tier, trajectory, profile, research, plan, compliance, approval, delivery."""
    return run_public(session, runs.visible(session, principal, run_id))


@router.get("/{run_id}/letter", response_class=HTMLResponse, responses=LETTER)
def get_letter(
    run_id: str,
    runner: RunnerDep,
    principal: Reader,
    letter_format: Annotated[
        LetterFormat, Query(alias="format", description="html (the default) or pdf")
    ] = "html",
) -> Response:
    """The run's letter as the client receives it: the delivered one, or before delivery the
    one the compliance check passed. 404 while the run has none (still running, or stopped
    before a letter was written); who may see the run may see its letter."""
    with session_scope(runner.engine) as session:
        run = runs.visible(session, principal, run_id)
        letter, stored_id = letters.for_run(session, run), run.id
    firm = firm_name(runner.settings, letter.locale)  # rendered with no connection held
    if letter_format == "pdf":
        disposition = f'attachment; filename="tierwise-letter-{stored_id}.pdf"'
        headers = {**LETTER_HEADERS, "Content-Disposition": disposition}
        return Response(render_pdf(letter, firm), media_type="application/pdf", headers=headers)
    return HTMLResponse(render_html(letter, firm), headers=LETTER_HEADERS)


def _events_after(
    runner: Runner, principal: Principal, run_id: str, after: int
) -> tuple[list[ServerSentEvent], bool]:
    """The run's events after `after`, and whether it has ended; checked against the
    principal's access every time, so a stream stops when the client moves to another advisor."""
    with session_scope(runner.engine) as session:
        finished = runs.visible(session, principal, run_id).status in FINAL_STATUSES
        out = []
        for event in audit.events(session, run_id):
            if event.seq <= after:
                continue
            name = EVENT_NAMES.get(event.kind)
            if event.kind == "status":
                name = event.payload["status"]
            data = {"seq": event.seq, "kind": event.kind, "at": event.created_at, **event.payload}
            out.append(ServerSentEvent(id=str(event.seq), event=name or event.kind, data=data))
        return out, finished


def readable_run(
    request: Request, run_id: str, runner: RunnerDep, principal: Reader
) -> Iterator[tuple[str, Principal]]:
    """The run id and principal, once the principal may read it (checked before any event is
    streamed, so a refusal is a plain 404 rather than a broken stream), holding one of the
    token's stream slots until the stream ends."""
    with session_scope(runner.engine) as session:
        run_id = runs.visible(session, principal, run_id).id
    with request.app.state.streams.slot(principal.name):
        yield run_id, principal


@router.get("/{run_id}/events", response_class=EventSourceResponse, responses=EVENT_STREAM)
async def run_events(
    readable: Annotated[tuple[str, Principal], Depends(readable_run)],
    runner: RunnerDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    follow: bool = True,
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events from the start of the run (or after Last-Event-ID) until it ends.

    Events: queued, running, node_started, node_finished, review_opened (approval id and
    plan_hash), awaiting_approval, decision, delivered, rejected, blocked, failed, feedback.
    Each id is the event's sequence number in the run.
    """
    run_id, principal = readable
    after = -1
    if last_event_id is not None and last_event_id.isascii() and last_event_id.isdigit():
        after = int(last_event_id)
    while True:
        try:
            batch, finished = await run_in_threadpool(
                _events_after, runner, principal, run_id, after
            )
        except RunNotFound:
            return  # access ended mid-stream (the client moved to another advisor)
        for event in batch:
            yield event
            after = int(event.id or after)
        if (finished and not batch) or not follow:
            return
        await asyncio.sleep(EVENT_POLL_SECONDS)


@router.get("/{run_id}/audit", dependencies=[Depends(require("supervisor", "engineer"))])
def get_audit(run_id: str, session: SessionDep) -> AuditTrail:
    """The audit trail and whether it verifies: why not, and the length its head records."""
    runs.get(session, run_id)
    return audit_trail(session, run_id)


@router.post("/{run_id}/feedback", status_code=status.HTTP_201_CREATED)
def post_feedback(
    run_id: str, body: FeedbackCreate, session: SessionDep, principal: Service
) -> RunPublic:
    """The client's rating (1-5) and comment on a delivered plan; shown on the run."""
    run = runs.get(session, run_id)
    feedback.add(session, run, body.rating, body.comment, principal.name)
    return run_public(session, run)


@router.post("/{run_id}/special-care/accept", status_code=status.HTTP_201_CREATED)
def accept_special_care(
    run_id: str, body: SpecialCareAccept, request: Request, runner: RunnerDep, principal: Service
) -> RunPublic:
    """The client accepts the higher-risk part their delivered letter offered (CN-MIS-07), sent
    by the firm's channel for them once the cooling-off is over. 201 with the linked run, which
    delivers the plan with that part once the checks pass for the client as they are today; it
    is queued and proceeds in the background, as a new run does.

    404: no such run. 409: the run is not delivered, its plan offers nothing, the cooling-off
    has not ended (the answer says when it does), or the offer was accepted already (the answer
    names the linked run). 422: no acknowledgement.
    """
    with session_scope(runner.engine) as session:
        accepted = special_care.accept(
            session,
            run_id,
            body.acknowledgement,
            by=principal.name,
            now=utcnow(),
            settings=runner.settings,
            worker=runner.worker,
        )
        # Built in the same unit of work: once it commits, the answer is 201 with the run.
        view = run_public(session, accepted.run)
    # Committed and queued first, then dispatched as POST /v1/runs dispatches a new run: if
    # this process cannot run it, the sweeper of this or another process does.
    request.app.state.engine.execute(accepted.run.id)
    return view
