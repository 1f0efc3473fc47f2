"""Batches: a run for every client of a selection (千人千策), queued for the task engine."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from api.deps import Route, RunnerDep, SessionDep, require
from api.paging import paged
from api.schemas import BatchCreate, BatchItemPublic, BatchPublic, Page
from core.database import session_scope
from core.schemas.vocabulary import BatchItemStatus
from core.services import batches, runs
from core.tables import Batch, Principal

router = APIRouter(prefix="/v1/batches", tags=["batches"], route_class=Route)
Launcher = Annotated[Principal, Depends(require("service", "supervisor"))]


def batch_public(session: Session, batch: Batch) -> BatchPublic:
    return BatchPublic.model_validate(batches.public(session, batch))


def _selection(body: BatchCreate) -> batches.Selection:
    found = body.filter
    return batches.Selection(
        client_ids=tuple(body.client_ids) if body.client_ids is not None else None,
        tier=found.tier if found else None,
        advisor_id=found.advisor_id if found else None,
        risk_level=found.risk_level if found else None,
    )


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_batch(
    body: BatchCreate,
    request: Request,
    runner: RunnerDep,
    principal: Launcher,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> BatchPublic:
    """Queue a run for each selected client and return at once; workers carry them out.

    Client ids that are not stored are 404 and nothing is queued. With an Idempotency-Key, the
    same key and body return the same batch; a different body is 409. Mid-tier and
    high-net-worth clients' runs stop at `awaiting_approval`, as any run does.
    """
    scoped = runs.idempotency(principal, idempotency_key, body.model_dump(mode="json"))
    try:
        with session_scope(runner.engine) as session:
            if scoped and (existing := batches.replay(session, scoped)) is not None:
                return batch_public(session, existing)
            batch = batches.create(
                session,
                _selection(body),
                tiers=runner.settings.tiers,
                as_of=body.as_of or date.today(),
                shipped_from=runner.market.cma.first_day,
                actor=principal.name,
                request=body.request,
                idempotency=scoped,
            )
            view = batch_public(session, batch)  # built in the unit of work that commits it
    except IntegrityError:
        # Another request with the same key won the race: answer with its batch.
        with session_scope(runner.engine) as session:
            existing = batches.replay(session, scoped) if scoped else None
            if existing is None:
                raise
            return batch_public(session, existing)
    # Queued in the database first: if it cannot be handed on now, a sweep carries it on.
    request.app.state.engine.start_batch(batch.id)
    return view


@router.get("/{batch_id}")
def get_batch(batch_id: str, session: SessionDep, principal: Launcher) -> BatchPublic:
    """The batch and its progress, counted from its items and their runs."""
    return batch_public(session, batches.get(session, batch_id))


@router.get("/{batch_id}/items", response_model=Page[BatchItemPublic])
def list_items(
    batch_id: str,
    session: SessionDep,
    runner: RunnerDep,
    principal: Launcher,
    status_filter: Annotated[BatchItemStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Response:
    """The batch's clients in the order they were queued, with their runs and statuses; a page
    stops before TIERWISE_MAX_PAGE_BYTES too, and `next` goes on from there."""
    found, next_cursor = batches.item_page(session, batch_id, status_filter, limit, cursor)
    entries = ((BatchItemPublic.model_validate(i), after) for i, after in found)
    return paged(entries, next_cursor, runner.settings.max_page_bytes)


@router.post("/{batch_id}/cancel")
def cancel_batch(batch_id: str, session: SessionDep, principal: Launcher) -> BatchPublic:
    """Stop what has not started; runs already made carry on to their end."""
    batch = batches.cancel(session, batch_id)
    return batch_public(session, batch)
