"""Runs: triggered by the firm's systems or an advisor, executed in the background."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from api.deps import Reader, Route, RunnerDep, Service, SessionDep, ensure_can_see, require, submit
from api.schemas import FeedbackCreate, Page, RunCreate
from core.database import session_scope
from core.errors import ClientNotFound, IdempotencyKeyReused, InvalidInput, RunNotFound
from core.services import audit, clients, feedback, runs
from core.services.views import run_view
from core.tables import Principal, Run
from graphs.runner import Runner

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


def visible_run(session: Session, principal: Principal, run_id: str) -> Run:
    run = runs.get(session, run_id)
    ensure_can_see(principal, run.advisor_id, RunNotFound(f"no run {run_id!r}"))
    return run


def _idempotency(principal: Principal, key: str | None, body: RunCreate) -> tuple[str, str] | None:
    if key is None:
        return None
    if not 1 <= len(key) <= 128:
        raise InvalidInput("Idempotency-Key must be 1 to 128 characters")
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return f"{principal.name}:{key}", hashlib.sha256(canonical.encode()).hexdigest()


def _replay(session: Session, principal: Principal, scoped: tuple[str, str]) -> Run | None:
    """The run an earlier request with this key created, if the principal may still see it."""
    existing = runs.by_idempotency_key(session, scoped[0])
    if existing is None:
        return None
    if existing.request_hash != scoped[1]:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different body")
    ensure_can_see(
        principal, existing.advisor_id, ClientNotFound(f"no client {existing.client_id!r}")
    )
    return existing


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_run(
    body: RunCreate,
    request: Request,
    runner: RunnerDep,
    principal: Reader,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """Queue a run and return at once; it proceeds in the background.

    With an Idempotency-Key, the same key and body return the same run; a different body is 409.
    """
    scoped = _idempotency(principal, idempotency_key, body)
    with session_scope(runner.engine) as session:
        if scoped and (existing := _replay(session, principal, scoped)) is not None:
            return run_view(session, existing)
        client = clients.get(session, body.client_id)
        ensure_can_see(
            principal, client.advisor_id, ClientNotFound(f"no client {body.client_id!r}")
        )
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
            view = run_view(session, run)
    except IntegrityError:
        # Another request with the same key won the race: answer with its run.
        with session_scope(runner.engine) as session:
            existing = _replay(session, principal, scoped) if scoped else None
            if existing is None:
                raise
            return run_view(session, existing)
    # Queued in the database first: if this process cannot run it (busy, stopping, dead), the
    # sweeper of this or another process does.
    submit(request.app.state.executor, runner.execute, run.id)
    return view


@router.get("", response_model=Page)
def list_runs(
    session: SessionDep,
    principal: Reader,
    client_id: str | None = None,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page:
    """Runs, newest first; an advisor sees only their own clients' runs."""
    advisor = principal.name if principal.role == "advisor" else None
    found, next_cursor = runs.list_runs(
        session,
        client_id=client_id,
        status=status_filter,
        advisor_id=advisor,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[run_view(session, r) for r in found], next=next_cursor)


@router.get("/{run_id}")
def get_run(run_id: str, session: SessionDep, principal: Reader) -> dict[str, Any]:
    """Status, tier, trajectory, profile, research, plan, compliance, approval, delivery."""
    return run_view(session, visible_run(session, principal, run_id))


def _events_after(
    runner: Runner, principal: Principal, run_id: str, after: int
) -> tuple[list[ServerSentEvent], bool]:
    """The run's events after `after`, and whether it has ended; checked against the
    principal's access every time, so a stream stops when the client moves to another advisor."""
    with session_scope(runner.engine) as session:
        finished = visible_run(session, principal, run_id).status in runs.FINAL_STATUSES
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
        run_id = visible_run(session, principal, run_id).id
    with request.app.state.streams.slot(principal.name):
        yield run_id, principal


@router.get("/{run_id}/events", response_class=EventSourceResponse)
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
    numeric = last_event_id is not None and last_event_id.isascii() and last_event_id.isdigit()
    after = int(last_event_id) if numeric else -1  # type: ignore[arg-type]
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
def get_audit(run_id: str, session: SessionDep) -> dict[str, Any]:
    """The audit trail and whether it verifies: why not, and the length its head records."""
    runs.get(session, run_id)
    check = audit.verify(session, run_id)
    events = [
        {
            "seq": e.seq,
            "kind": e.kind,
            "actor": e.actor,
            "payload": e.payload,
            "prev_hash": e.prev_hash,
            "hash": e.hash,
            "created_at": e.created_at,
        }
        for e in audit.events(session, run_id)
    ]
    return {
        "run_id": run_id,
        "verified": check.verified,
        "broken_at": check.broken_at,
        "reason": check.reason,
        "length": check.length,
        "events": events,
    }


@router.post("/{run_id}/feedback", status_code=status.HTTP_201_CREATED)
def post_feedback(
    run_id: str, body: FeedbackCreate, session: SessionDep, principal: Service
) -> dict[str, Any]:
    """The client's rating (1-5) and comment on a delivered plan; shown on the run."""
    run = runs.get(session, run_id)
    feedback.add(session, run, body.rating, body.comment, principal.name)
    return run_view(session, run)
