"""The review queue and advisors' decisions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from api.deps import Advisor, Reviewer, Route, RunnerDep, SessionDep
from api.paging import paged
from api.schemas import (
    ApprovalPublic,
    ApprovalQueueItem,
    DecisionCreate,
    Page,
    PoolItem,
    PoolPage,
    RunPublic,
)
from api.views import queue_item, run_public
from core.database import session_scope
from core.services import approvals, principals, review_queue, runs
from core.tables import as_utc, utcnow

router = APIRouter(prefix="/v1/approvals", tags=["approvals"], route_class=Route)


@router.get("", response_model=Page[ApprovalQueueItem])
def list_approvals(
    session: SessionDep,
    runner: RunnerDep,
    principal: Reviewer,
    status_filter: str = Query("pending", alias="status", pattern="^pending$"),
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    """Plans awaiting sign-off, oldest first, a page at a time: an advisor's own, or everyone's
    for a supervisor. A page stops before TIERWISE_MAX_PAGE_BYTES too; `next` goes on.

    `client_changes` lists what changed in the client's record since the plan was drafted (or
    an assessment expired by today): such a plan cannot be approved as it stands.
    """
    months = runner.settings.compliance.assessment_valid_months
    found, more = approvals.queue(
        session, principal, date.today(), months, limit=limit, cursor=cursor
    )
    entries = ((queue_item(item), after) for item, after in found)
    return paged(entries, more, runner.settings.max_page_bytes)


@router.get("/pool", response_model=PoolPage)
def list_pool(
    session: SessionDep,
    runner: RunnerDep,
    principal: Reviewer,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    """The duty pool (值班投顾): reviews whose client has no advisor, unclaimed, oldest first,
    for advisors on duty (to claim) and supervisors (to watch: `total`, `overdue` past the
    review-time target, each item's `overdue`, and who is `on_duty`); others get 403."""
    review_queue.ensure_pool_reader(principal)
    settings = runner.settings
    months, target = settings.compliance.assessment_valid_months, settings.review_target_hours
    since = utcnow() - timedelta(hours=target)
    found, more = approvals.queue(
        session, principal, date.today(), months, limit=limit, cursor=cursor, pool=True
    )
    total, overdue = review_queue.pool_counts(session, since)
    entries = (
        (PoolItem.model_validate({**item, "overdue": _opened_before(item, since)}), after)
        for item, after in found
    )
    on_duty = principals.on_duty(session)
    fields = {"total": total, "overdue": overdue, "target_hours": target, "on_duty": on_duty}
    return paged(entries, more, settings.max_page_bytes, **fields)


def _opened_before(item: dict[str, Any], since: datetime) -> bool:
    return as_utc(datetime.fromisoformat(item["created_at"])) < since


@router.post("/{approval_id}/claim")
def claim(
    approval_id: str, session: SessionDep, runner: RunnerDep, principal: Advisor
) -> ApprovalPublic:
    """Claim a duty-pool review to decide it: an advisor on duty, the first to claim it (a
    second gets 409 ReviewAlreadyClaimed). It is then in the claimant's own queue, and the
    decision (POST …/decision) records them as its claimant. With the firm's setting
    TIERWISE_DUTY__CLAIMANT_BECOMES_ADVISOR the claimant becomes the client's advisor too."""
    approval = approvals.claim(session, approval_id, principal.name, duty=runner.settings.duty)
    return ApprovalPublic.model_validate(approvals.public(approval))


@router.post("/{approval_id}/decision", status_code=status.HTTP_202_ACCEPTED)
def decide(
    approval_id: str,
    body: DecisionCreate,
    request: Request,
    runner: RunnerDep,
    principal: Advisor,
) -> RunPublic:
    """Approve, revise or reject; only the client's own advisor may decide.

    Answers 202 as soon as the decision is committed, with the run as it stands (still
    `awaiting_approval`, its approval decided); the run then carries on in the background.
    Watch it (GET /v1/runs/{id} or its events) until it is delivered, rejected, waiting again
    with a revised plan, or blocked or failed (the run says why).
    """
    with session_scope(runner.engine) as session:
        approvals.visible(session, principal, approval_id)
    # Who may decide is the service's rule (approvals.decide), met by every caller.
    decision = {**body.model_dump(), "advisor": principal.name}
    run = runner.record_decision(approval_id, decision)  # committed in a transaction of its own
    # The answer is the run as the decision left it, read before the resume can move it on; the
    # resume is queued whether or not that read succeeds. If it cannot be queued (the server is
    # stopping, the broker is out of reach), the decision is committed all the same, and a
    # sweeper resumes the run once it has been quiet for a lease (runs.stranded finds a
    # recorded decision): still 202.
    try:
        with session_scope(runner.engine) as session:
            return run_public(session, runs.get(session, run.id))
    finally:
        request.app.state.engine.resume(approval_id)
