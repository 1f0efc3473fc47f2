"""Approvals: one row per advisor review round, decided atomically by exactly one decision.

A review whose client has no advisor waits in the duty pool (值班投顾) until an advisor on duty
claims it (`claim`): the claimant then decides it, as the client's advisor would, and keeps the
run's later rounds. So no pending review is left with nobody able to decide it."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from core.errors import (
    ApprovalAlreadyDecided,
    ApprovalNotFound,
    Forbidden,
    NotInPool,
    PlanHashMismatch,
    PlanNotApprovable,
    ReviewAlreadyClaimed,
)
from core.masking import mask_text
from core.services import audit, client_changes, clients, cursors, principals
from core.settings import DutyPolicy
from core.tables import Approval, Client, Principal, Run, as_utc, utcnow

APPROVABLE_VERDICTS = {"pass", "escalate"}
REVIEWERS = ("advisor", "supervisor")


def open_review(session: Session, run: Run, payload: dict[str, Any]) -> Approval:
    """The pending approval for an interrupt payload; opening it twice is harmless."""
    existing = session.get(Approval, payload["approval_id"])
    if existing is not None:
        return existing
    claimed = _claim_kept(session, run)
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
        claimed_by=claimed.claimed_by if claimed else None,
        claimed_at=claimed.claimed_at if claimed else None,
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
            "claimed_by": approval.claimed_by,
        },
    )
    return approval


def _claim_kept(session: Session, run: Run) -> Approval | None:
    """The run's claimed round whose claimant still holds the run: a later round (after a
    revision) stays with them instead of going back to the pool."""
    earlier = latest_for_run(session, run.id)
    if earlier is None or earlier.claimed_by is None or earlier.claimed_by != run.advisor_id:
        return None
    return earlier


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
    if in_pool(approval) and principal.on_duty:
        return approval  # an advisor on duty reads a pool review before claiming it
    if approval.claimed_by == principal.name and approval.advisor_id is None:
        return approval  # the claimant's, though a record sent since left the client unassigned
    missing = ApprovalNotFound(f"no approval {approval_id!r}")
    principals.ensure_can_see(principal, approval.advisor_id, missing)
    return approval


def in_pool(approval: Approval) -> bool:
    """Whether the review waits in the duty pool: pending, its client with no advisor, and
    nobody has claimed it (a claim gives it the claimant as its advisor)."""
    return (
        approval.status == "pending" and approval.advisor_id is None and approval.claimed_by is None
    )


def queue(
    session: Session,
    principal: Principal | None,
    on: date,
    valid_months: int,
    *,
    limit: int = 50,
    cursor: str | None = None,
    pool: bool = False,
) -> cursors.Page[dict[str, Any]]:
    """A page of the pending approvals the principal may see (an advisor's own, or everyone's
    for a supervisor; None, the command line's, everyone's too), oldest first, as the review
    queue shows them, each with the cursor that continues after it; and the next page's
    cursor, None on the last. With `pool`, the duty pool's unclaimed reviews instead."""
    query = (
        select(Approval)
        .where(col(Approval.status) == "pending")
        .order_by(col(Approval.created_at), col(Approval.id))
    )
    scope = principals.advisor_scope(principal) if principal is not None else None
    if pool:
        query = query.where(col(Approval.advisor_id).is_(None), col(Approval.claimed_by).is_(None))
    elif scope is not None:
        query = query.where(col(Approval.advisor_id) == scope)
    if cursor:  # an empty one, as none, starts at the first page
        keys = (cursors.instant, cursors.row_id)
        last = cursors.decode(cursor, keys, "the oldest review")
        query = query.where(cursors.after_oldest(col(Approval.created_at), col(Approval.id), last))
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
    the decider is the client's current advisor (or, for a client with none, the on-duty
    advisor who claimed the review), (to approve) has a display name and a registration
    number to sign the letter with, and (to approve or revise) the client is still the one
    the plan was drafted for on the decision date (`decision["decided_on"]`). A claimed
    review's decision names its claimant (`claimed_by`), as its audit entry does."""
    action, plan_hash = decision["action"], decision["plan_hash"]
    comment = mask_text(decision["comment"]) if decision.get("comment") else None
    decided_by = decision["advisor"]
    approval = get(session, approval_id)
    if approval.status != "pending":
        raise ApprovalAlreadyDecided(f"approval {approval_id} was already {approval.status}")
    decider = ensure_decider(session, approval, decided_by)
    decision = {**decision, "comment": comment, "claimed_by": approval.claimed_by}
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
        {
            "approval_id": approval_id,
            "action": action,
            "plan_hash": plan_hash,
            "comment": comment,
            "claimed_by": approval.claimed_by,
        },
    )
    return approval


def ensure_decider(session: Session, approval: Approval, name: str) -> Principal:
    """Only an advisor principal who is the client's advisor now may decide, or, for a client
    with none, the on-duty advisor who claimed the review (DESIGN §5.2)."""
    principal = principals.by_name(session, name)
    if principal is None or principal.role != "advisor":
        raise Forbidden(f"{name!r} is not an advisor; only the client's advisor may decide")
    current = _current_advisor(session, approval)
    if current is None and approval.claimed_by is None:
        raise Forbidden(
            "the client has no advisor: the review waits in the duty pool; an advisor on duty "
            "claims it first (POST /v1/approvals/{id}/claim), then decides it"
        )
    if name != (current or approval.claimed_by):
        raise Forbidden(f"{name!r} is not this client's advisor; only they may decide")
    return principal


def _current_advisor(session: Session, approval: Approval) -> str | None:
    """The client's advisor now: the stored record's, else (a run from a file) the review's
    own, which a claim may have set: then the review's claimant, not an advisor of record."""
    stored = session.get(Client, approval.client_id)
    if stored is not None:
        return stored.advisor_id
    return None if approval.advisor_id == approval.claimed_by else approval.advisor_id


def claim(session: Session, approval_id: str, advisor: str, *, duty: DutyPolicy) -> Approval:
    """Take a duty-pool review (值班投顾) to decide it: only an advisor on duty, only a pending
    review whose client has no advisor, and only the first to claim it (one conditional
    UPDATE: a second claimant gets ReviewAlreadyClaimed). The review and its run become the
    claimant's; with `duty.claimant_becomes_advisor` the client's advisor of record too, in
    the same transaction. Claiming one's own claimed review again is harmless."""
    ensure_on_duty(principals.by_name(session, advisor), advisor)
    approval = get(session, approval_id)
    if approval.status != "pending":
        raise ApprovalAlreadyDecided(f"approval {approval_id} was already {approval.status}")
    if approval.claimed_by == advisor:
        return approval
    _ensure_unclaimed(approval)
    current = _current_advisor(session, approval)
    if current == advisor:
        raise NotInPool("this review is your own client's: decide it, there is nothing to claim")
    if current is not None:  # another advisor's client: answered as a missing one
        raise ApprovalNotFound(f"no approval {approval_id!r}")
    result = session.execute(
        update(Approval)
        .where(
            col(Approval.id) == approval_id,
            col(Approval.status) == "pending",
            col(Approval.claimed_by).is_(None),
            col(Approval.advisor_id).is_(None),
        )
        .values(claimed_by=advisor, claimed_at=utcnow(), advisor_id=advisor)
    )
    session.refresh(approval)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        if approval.status != "pending":
            raise ApprovalAlreadyDecided(f"approval {approval_id} was {approval.status} meanwhile")
        _ensure_unclaimed(approval)
        raise NotInPool("the client was given an advisor meanwhile: the review is theirs now")
    _take_run(session, approval, advisor)
    if duty.claimant_becomes_advisor:
        clients.assign(session, approval.client_id, advisor)
        audit.append(
            session,
            approval.run_id,
            f"advisor:{approval_id}",
            "advisor_assigned",
            advisor,
            {"client_id": approval.client_id, "advisor_id": advisor, "by": "duty_claim"},
        )
    return approval


def ensure_on_duty(principal: Principal | None, name: str) -> Principal:
    """Only an advisor on duty takes pool reviews: Forbidden naming what is missing."""
    if principal is None or principal.role != "advisor":
        raise Forbidden(f"{name!r} is not an advisor; only an advisor on duty claims a review")
    if not principal.on_duty:
        raise Forbidden(
            f"{name} is not on duty: go on duty first (PUT /v1/principals/{name}/duty, or "
            f"tierwise principal duty --name {name} --on)"
        )
    return principal


def _ensure_unclaimed(approval: Approval) -> None:
    if approval.claimed_by is not None:
        when = as_utc(approval.claimed_at).isoformat() if approval.claimed_at else "earlier"
        raise ReviewAlreadyClaimed(
            f"{approval.claimed_by} claimed this review first ({when}); it is theirs to decide"
        )


def _take_run(session: Session, approval: Approval, advisor: str) -> None:
    """The claimant serves the run from now on (its page, its later rounds), audited."""
    session.execute(
        update(Run)
        .where(col(Run.id) == approval.run_id, col(Run.advisor_id).is_(None))
        .values(advisor_id=advisor)
    )
    audit.append(
        session,
        approval.run_id,
        f"claim:{approval.id}",
        "review_claimed",
        advisor,
        {"approval_id": approval.id, "claimed_by": advisor, "plan_hash": approval.plan_hash},
    )


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
        "claimed_by": approval.claimed_by,
        "claimed_at": approval.claimed_at.isoformat() if approval.claimed_at else None,
        "comment": approval.comment,
        "created_at": approval.created_at.isoformat(),
        "decided_at": approval.decided_at.isoformat() if approval.decided_at else None,
    }
