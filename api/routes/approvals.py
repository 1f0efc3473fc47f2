"""The review queue and advisors' decisions."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query

from api.deps import Advisor, Reviewer, Route, RunnerDep, SessionDep, ensure_can_see
from api.schemas import DecisionCreate, Page
from core.database import session_scope
from core.errors import ApprovalNotFound
from core.services import approvals, runs
from core.services.views import run_view

router = APIRouter(prefix="/v1/approvals", tags=["approvals"], route_class=Route)


@router.get("", response_model=Page)
def list_approvals(
    session: SessionDep,
    runner: RunnerDep,
    principal: Reviewer,
    status_filter: str = Query("pending", alias="status", pattern="^pending$"),
) -> Page:
    """Plans awaiting sign-off: an advisor's own, or everyone's for a supervisor.

    `client_changes` lists what changed in the client's record since the plan was drafted (or
    an assessment expired by today): such a plan cannot be approved as it stands.
    """
    advisor = principal.name if principal.role == "advisor" else None
    months = runner.settings.compliance.assessment_valid_months
    items = [
        approvals.queue_item(session, a, date.today(), months)
        for a in approvals.pending(session, advisor)
    ]
    return Page(items=items)


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
        missing = ApprovalNotFound(f"no approval {approval_id!r}")
        ensure_can_see(principal, approval.advisor_id, missing)
    # Who may decide is the service's rule (approvals.claim), met by every caller.
    decision = {**body.model_dump(), "advisor": principal.name}
    run = runner.decide(approval_id, decision)
    with session_scope(runner.engine) as session:
        return run_view(session, runs.get(session, run.id))
