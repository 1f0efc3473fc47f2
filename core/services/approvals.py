"""Approvals: one row per advisor review round, claimed atomically by exactly one decision."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from core.errors import (
    ApprovalAlreadyDecided,
    ApprovalNotFound,
    Forbidden,
    PlanHashMismatch,
    PlanNotApprovable,
)
from core.masking import mask_text
from core.services import audit, client_changes, cursors, principals
from core.tables import Approval, Client, Principal, Run, utcnow

APPROVABLE_VERDICTS = {"pass", "escalate"}
REVIEWERS = ("advisor", "supervisor")


def open_review(session: Session, run: Run, payload: dict[str, Any]) -> Approval:
    """The pending approval for an interrupt payload; opening it twice is harmless."""
    existing = session.get(Approval, payload["approval_id"])
    if existing is not None:
        return existing
    approval = Approval(
        id=payload["approval_id"],
        run_id=run.id,
        client_id=run.client_id,
        advisor_id=run.advisor_id,
        plan_hash=payload["plan_hash"],
        plan=payload["plan"],
        findings=payload["findings"],
        verdict=payload["verdict"],
        risk_level=_risk_level(run),
        volatility=float(payload["plan"].get("expected_volatility") or 0.0),
        request=_request(payload),
    )
    session.add(approval)
    session.flush()
    audit.append(
        session,
        run.id,
        f"review:{approval.id}",
        "review_opened",
        "system",
        {
            "approval_id": approval.id,
            "plan_hash": approval.plan_hash,
            "verdict": approval.verdict,
            "advisor_id": approval.advisor_id,
        },
    )
    return approval


def _risk_level(run: Run) -> str:
    """The client's level the plan was drafted for: the profile's, else the assessed one."""
    level = (run.profile or {}).get("risk_level")
    return str(level or run.client_snapshot.get("risk_assessment", {}).get("level") or "")


def _request(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The client's words and the rules' reading of them, or None for a run without a request."""
    if not payload.get("request"):
        return None
    return {"text": payload["request"], "review": payload.get("request_review")}


def get(session: Session, approval_id: str) -> Approval:
    approval = session.get(Approval, approval_id)
    if approval is None:
        raise ApprovalNotFound(f"no approval {approval_id!r}")
    return approval


def visible(session: Session, principal: Principal, approval_id: str) -> Approval:
    """The approval, for a principal who reviews plans: an advisor only their own clients'
    (another advisor's is ApprovalNotFound, as a missing one)."""
    if principal.role not in REVIEWERS:
        raise Forbidden("only advisors and supervisors review plans")
    approval = get(session, approval_id)
    missing = ApprovalNotFound(f"no approval {approval_id!r}")
    principals.ensure_can_see(principal, approval.advisor_id, missing)
    return approval


def queue(
    session: Session,
    principal: Principal | None,
    on: date,
    valid_months: int,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> cursors.Page[dict[str, Any]]:
    """A page of the pending approvals the principal may see (an advisor's own, or everyone's
    for a supervisor; None, the command line's, everyone's too), oldest first, as the review
    queue shows them, each with the cursor that continues after it; and the next page's
    cursor, None on the last."""
    query = (
        select(Approval)
        .where(col(Approval.status) == "pending")
        .order_by(col(Approval.created_at), col(Approval.id))
    )
    scope = principals.advisor_scope(principal) if principal is not None else None
    if scope is not None:
        query = query.where(col(Approval.advisor_id) == scope)
    if cursor:  # an empty one, as none, starts at the first page
        keys = (cursors.instant, cursors.row_id)
        created, approval_id = cursors.decode(cursor, keys, "the oldest review")
        query = query.where(
            or_(
                col(Approval.created_at) > created,
                and_(col(Approval.created_at) == created, col(Approval.id) > approval_id),
            )
        )
    found, more = cursors.page(list(session.exec(query.limit(limit + 1))), limit, _after)
    return [(queue_item(session, a, on, valid_months), after) for a, after in found], more


def _after(approval: Approval) -> str:
    return cursors.encode(approval.created_at, approval.id)


def queue_item(session: Session, approval: Approval, on: date, valid_months: int) -> dict[str, Any]:
    """A pending approval as the review queue shows it: with why it cannot be approved as it
    stands, if the client has changed since the plan was drafted (empty when it can)."""
    run = session.get_one(Run, approval.run_id)
    return {
        **public(approval),
        "client_changes": client_changes.blockers(session, run, on, valid_months),
    }


def latest_for_run(session: Session, run_id: str) -> Approval | None:
    query = (
        select(Approval).where(Approval.run_id == run_id).order_by(col(Approval.created_at).desc())
    )
    return session.exec(query).first()


def for_run(session: Session, run_id: str) -> list[Approval]:
    query = select(Approval).where(Approval.run_id == run_id).order_by(col(Approval.created_at))
    return list(session.exec(query))


def decide(
    session: Session, approval_id: str, decision: dict[str, Any], *, valid_months: int
) -> Approval:
    """Record a decision if, and only if, the approval is still pending with this plan hash,
    the decider is the client's current advisor, (to approve) has a display name and a
    registration number to sign the letter with, and (to approve or revise) the client is
    still the one the plan was drafted for on the decision date (`decision["decided_on"]`)."""
    action, plan_hash = decision["action"], decision["plan_hash"]
    comment = mask_text(decision["comment"]) if decision.get("comment") else None
    decision = {**decision, "comment": comment}
    decided_by = decision["advisor"]
    approval = get(session, approval_id)
    if approval.status != "pending":
        raise ApprovalAlreadyDecided(f"approval {approval_id} was already {approval.status}")
    decider = ensure_decider(session, approval, decided_by)
    if approval.plan_hash != plan_hash:
        raise PlanHashMismatch(
            f"the plan under review has hash {approval.plan_hash}, not {plan_hash}"
        )
    if action == "approve" and approval.verdict not in APPROVABLE_VERDICTS:
        raise PlanNotApprovable(
            f"compliance verdict is {approval.verdict}; revise or reject this plan instead"
        )
    if action == "approve":  # the letter goes out signed by this advisor, as a person
        principals.ensure_can_sign(decider)
    if action != "reject":
        run = session.get_one(Run, approval.run_id)
        on = date.fromisoformat(decision["decided_on"])
        client_changes.ensure_current(session, run, on, valid_months)
    status = {"approve": "approved", "reject": "rejected", "revise": "revised"}[action]
    result = session.execute(
        update(Approval)
        .where(
            col(Approval.id) == approval_id,
            col(Approval.status) == "pending",
            # A reassignment committed since the checks above moves the review to another
            # advisor (in the same commit as the client): then this decision does not land.
            col(Approval.advisor_id) == decided_by,
        )
        .values(
            status=status,
            action=action,
            decision=decision,
            decided_by=decided_by,
            comment=comment,
            decided_at=utcnow(),
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ApprovalAlreadyDecided(
            f"approval {approval_id} was decided, or its client reassigned, meanwhile"
        )
    session.refresh(approval)
    audit.append(
        session,
        approval.run_id,
        f"decision:{approval_id}",
        "decision",
        decided_by,
        {"approval_id": approval_id, "action": action, "plan_hash": plan_hash, "comment": comment},
    )
    return approval


def ensure_decider(session: Session, approval: Approval, name: str) -> Principal:
    """Only an advisor principal who is the client's advisor now may decide (DESIGN §5.2)."""
    principal = principals.by_name(session, name)
    if principal is None or principal.role != "advisor":
        raise Forbidden(f"{name!r} is not an advisor; only the client's advisor may decide")
    stored = session.get(Client, approval.client_id)
    current = stored.advisor_id if stored is not None else approval.advisor_id
    if current is None:
        raise Forbidden("the client has no advisor: nobody may decide until one is assigned")
    if name != current:
        raise Forbidden(f"{name!r} is not this client's advisor; only they may decide")
    return principal


def public(approval: Approval) -> dict[str, Any]:
    return {
        "id": approval.id,
        "run_id": approval.run_id,
        "client_id": approval.client_id,
        "advisor_id": approval.advisor_id,
        "status": approval.status,
        "plan_hash": approval.plan_hash,
        "plan": approval.plan,
        "findings": approval.findings,
        "verdict": approval.verdict,
        "request": approval.request,
        "action": approval.action,
        "decided_by": approval.decided_by,
        "comment": approval.comment,
        "created_at": approval.created_at.isoformat(),
        "decided_at": approval.decided_at.isoformat() if approval.decided_at else None,
    }
