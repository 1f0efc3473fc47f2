"""Runs: triggered by the firm's systems or an advisor, executed in the background."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, status
from sqlmodel import Session

from api.deps import Reader, RunnerDep, SessionDep, ensure_can_see, require
from api.schemas import Page, RunCreate
from core.services import approvals, audit, clients, deliveries, runs
from core.tables import Principal, Run

router = APIRouter(prefix="/v1/runs", tags=["runs"])


def run_view(session: Session, run: Run) -> dict[str, Any]:
    approval = approvals.latest_for_run(session, run.id)
    delivery = deliveries.get(session, run.id)
    return runs.public(
        run,
        approvals.public(approval) if approval else None,
        deliveries.public(delivery) if delivery else None,
    )


def visible_run(session: Session, principal: Principal, run_id: str) -> Run:
    run = runs.get(session, run_id)
    ensure_can_see(principal, run.advisor_id, f"run {run_id!r}")
    return run


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_run(
    body: RunCreate,
    request: Request,
    session: SessionDep,
    runner: RunnerDep,
    principal: Reader,
) -> dict[str, Any]:
    """Queue a run and return at once; it proceeds in the background."""
    client = clients.get(session, body.client_id)
    ensure_can_see(principal, client.advisor_id, f"client {body.client_id!r}")
    run = runs.create(
        session,
        client,
        as_of=date.today(),
        request=body.request,
        locale=body.locale,
        actor=principal.name,
    )
    session.commit()
    request.app.state.executor.submit(runner.execute, run.id)
    return run_view(session, run)


@router.get("", response_model=Page)
def list_runs(
    session: SessionDep,
    principal: Reader,
    client_id: str | None = None,
    status_filter: str | None = Query(None, alias="status"),
    limit: int = Query(50, ge=1, le=200),
) -> Page:
    """Runs, newest first; an advisor sees only their own clients' runs."""
    advisor = principal.name if principal.role == "advisor" else None
    found = runs.list_runs(
        session, client_id=client_id, status=status_filter, advisor_id=advisor, limit=limit
    )
    return Page(items=[run_view(session, r) for r in found], next=None)


@router.get("/{run_id}")
def get_run(run_id: str, session: SessionDep, principal: Reader) -> dict[str, Any]:
    return run_view(session, visible_run(session, principal, run_id))


@router.get("/{run_id}/audit", dependencies=[Depends(require("supervisor", "engineer"))])
def get_audit(run_id: str, session: SessionDep) -> dict[str, Any]:
    """The audit trail and whether its hash chain verifies."""
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
        "events": events,
    }
