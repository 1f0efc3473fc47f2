"""The review queue and advisors' decisions."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query

from api.deps import Advisor, Reviewer, Route, RunnerDep, SessionDep
from api.schemas import ApprovalQueueItem, DecisionCreate, Page, RunPublic
from api.views import queue_item, run_public
from core.database import session_scope
from core.services import approvals, runs

router = APIRouter(prefix="/v1/approvals", tags=["approvals"], route_class=Route)


@router.get("")
def list_approvals(
    session: SessionDep,
    runner: RunnerDep,
    principal: Reviewer,
    status_filter: str = Query("pending", alias="status", pattern="^pending$"),
) -> Page[ApprovalQueueItem]:
    """Plans awaiting sign-off: an advisor's own, or everyone's for a supervisor.

    `client_changes` lists what changed in the client's record since the plan was drafted (or
    an assessment expired by today): such a plan cannot be approved as it stands.
    """
    months = runner.settings.compliance.assessment_valid_months
    items = approvals.queue(session, principal, date.today(), months)
    return Page[ApprovalQueueItem](items=[queue_item(i) for i in items])


@router.post("/{approval_id}/decision")
def decide(
    approval_id: str,
    body: DecisionCreate,
    runner: RunnerDep,
    principal: Advisor,
) -> RunPublic:
    """Approve, revise or reject; only the client's own advisor may decide. Answers with the
    run as the decision left it."""
    with session_scope(runner.engine) as session:
        approvals.visible(session, principal, approval_id)
    # Who may decide is the service's rule (approvals.claim), met by every caller.
    decision = {**body.model_dump(), "advisor": principal.name}
    run = runner.decide(approval_id, decision)
    with session_scope(runner.engine) as session:
        return run_public(session, runs.get(session, run.id))
