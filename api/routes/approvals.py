"""The review queue and advisors' decisions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import Advisor, Reviewer, RunnerDep, SessionDep, ensure_can_see
from api.schemas import DecisionCreate, Page
from core.database import session_scope
from core.errors import Forbidden
from core.services import approvals, runs
from core.services.views import run_view

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])


@router.get("", response_model=Page)
def list_approvals(
    session: SessionDep,
    principal: Reviewer,
    status_filter: str = Query("pending", alias="status", pattern="^pending$"),
) -> Page:
    """Plans awaiting sign-off: an advisor's own, or everyone's for a supervisor."""
    advisor = principal.name if principal.role == "advisor" else None
    return Page(items=[approvals.public(a) for a in approvals.pending(session, advisor)])


@router.post("/{approval_id}/decision")
def decide(
    approval_id: str,
    body: DecisionCreate,
    runner: RunnerDep,
    principal: Advisor,
) -> dict[str, Any]:
    """Approve, revise or reject; only the client's own advisor may decide."""
    with session_scope(runner.engine) as session:
        approval = approvals.get(session, approval_id)
        ensure_can_see(principal, approval.advisor_id, f"approval {approval_id!r}")
        if approval.advisor_id != principal.name:
            raise Forbidden("only the client's advisor may decide")
    decision = {**body.model_dump(), "advisor": principal.name}
    run = runner.decide(approval_id, decision)
    with session_scope(runner.engine) as session:
        return run_view(session, runs.get(session, run.id))
