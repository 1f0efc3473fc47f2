"""Runs: the row written before the graph starts, and kept in step with it."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, update
from sqlmodel import Session, col, select

from core.errors import ClientNotFound, IdempotencyKeyReused, InvalidInput, RunNotFound
from core.masking import mask_text
from core.schemas.client import ClientInput
from core.schemas.vocabulary import FINAL_STATUSES, RunStatus
from core.services import audit, cursors, principals
from core.tables import Approval, Principal, Run, utcnow

NODE_FIELDS = ("profile", "research", "plan", "compliance")


def usage(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals of a run's model calls: count, tokens, latency, cost and fallbacks."""
    costs = [c["cost"] for c in calls if c.get("cost") is not None]
    return {
        "calls": len(calls),
        "tokens_in": sum(c["tokens_in"] for c in calls),
        "tokens_out": sum(c["tokens_out"] for c in calls),
        "latency_ms": round(sum(c["latency_ms"] for c in calls), 3),
        "cost": round(sum(costs), 6) if costs else None,
        "fallbacks": sum(1 for c in calls if c.get("outcome") == "fallback"),
        "models": sorted({c["model"] for c in calls}),
    }


def new_run_id() -> str:
    return f"run-{uuid.uuid4().hex}"


def create(
    session: Session,
    client: ClientInput,
    *,
    as_of: date,
    request: str | None = None,
    locale: str | None = None,
    run_id: str | None = None,
    actor: str = "system",
    idempotency: tuple[str, str] | None = None,
    worker: str | None = None,
    parent_run_id: str | None = None,
    special_care: dict[str, Any] | None = None,
) -> Run:
    """A queued run with the client snapshot it will use; audited as created.

    `idempotency` is (scoped key, request hash); the key is unique in the database. `worker` is
    the process that will execute it, answerable for it until another takes its lease. A run
    made by accepting a special-care offer names the offer's run (`parent_run_id`) and carries
    the procedure's record (`special_care`, a SpecialCareRecord as JSON), which the gate reads.
    """
    key, request_hash = idempotency or (None, None)
    request = mask_text(request) if request else request  # stored and audited masked, for good
    run = Run(
        id=run_id or new_run_id(),
        client_id=client.client_id,
        advisor_id=client.advisor_id,
        status="queued",
        locale=locale or client.locale,
        request=request,
        as_of=as_of.isoformat(),
        client_snapshot=client.model_dump(mode="json"),
        idempotency_key=key,
        request_hash=request_hash,
        worker=worker,
        parent_run_id=parent_run_id,
        special_care=special_care,
    )
    session.add(run)
    session.flush()
    audit.append(
        session,
        run.id,
        "created",
        "run_created",
        actor,
        _created_payload(run),
    )
    return run


def _created_payload(run: Run) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "client_id": run.client_id,
        "request": run.request,
        "as_of": run.as_of,
    }
    if run.parent_run_id is not None:
        payload["parent_run_id"] = run.parent_run_id
    return payload


def get(session: Session, run_id: str) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise RunNotFound(f"no run {run_id!r}")
    return run


def visible(session: Session, principal: Principal, run_id: str) -> Run:
    """The run, if the principal may see it: another advisor's run is RunNotFound, as a
    missing one."""
    run = get(session, run_id)
    principals.ensure_can_see(principal, run.advisor_id, RunNotFound(f"no run {run_id!r}"))
    return run


def by_idempotency_key(session: Session, key: str) -> Run | None:
    return session.exec(select(Run).where(Run.idempotency_key == key)).first()


def idempotency(
    principal: Principal, key: str | None, request: dict[str, Any]
) -> tuple[str, str] | None:
    """(scoped key, request hash) for an Idempotency-Key, or None without one; the key is
    scoped to the principal, so one caller's key never answers with another's run."""
    if key is None:
        return None
    if not 1 <= len(key) <= 128:
        raise InvalidInput("Idempotency-Key must be 1 to 128 characters")
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False)
    return f"{principal.name}:{key}", hashlib.sha256(canonical.encode()).hexdigest()


def replay(session: Session, principal: Principal, scoped: tuple[str, str]) -> Run | None:
    """The run an earlier request with this key created, if the principal may still see it;
    the same key with a different body is IdempotencyKeyReused."""
    existing = by_idempotency_key(session, scoped[0])
    if existing is None:
        return None
    if existing.request_hash != scoped[1]:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different body")
    missing = ClientNotFound(f"no client {existing.client_id!r}")
    principals.ensure_can_see(principal, existing.advisor_id, missing)
    return existing


def _after(run: Run) -> str:
    """The cursor of the page of runs that starts after this one."""
    return cursors.encode(run.created_at, run.id)


def list_runs(
    session: Session,
    *,
    client_id: str | None = None,
    status: str | None = None,
    advisor_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> cursors.Page[Run]:
    """Runs newest first, a page at a time, each with the cursor that continues after it; the
    next page's cursor is None on the last."""
    query = select(Run).order_by(col(Run.created_at).desc(), col(Run.id).desc())
    if client_id:
        query = query.where(Run.client_id == client_id)
    if status:
        query = query.where(Run.status == status)
    if advisor_id:
        query = query.where(Run.advisor_id == advisor_id)
    if cursor:  # an empty one, as none, starts at the first page
        keys = (cursors.instant, cursors.row_id)
        created, run_id = cursors.decode(cursor, keys, "the newest run")
        query = query.where(
            or_(
                col(Run.created_at) < created,
                and_(col(Run.created_at) == created, col(Run.id) < run_id),
            )
        )
    return cursors.page(list(session.exec(query.limit(limit + 1))), limit, _after)


def set_status(
    session: Session,
    run: Run,
    status: RunStatus,
    error: str | None = None,
    execution: str | None = None,
) -> None:
    """Set and audit the status; each execution's start is its own event, so a run executed
    twice shows twice in the trail."""
    run.status, run.updated_at = status, utcnow()
    if error is not None:
        error = mask_text(error[:2000])  # an exception may quote client text; the trail is forever
        run.error = error
    session.add(run)
    key = f"status:{len(run.trajectory)}:{status}" + (f":{execution}" if execution else "")
    payload: dict[str, Any] = {"status": status, "error": error}
    if execution:
        payload["execution"] = execution
    audit.append(session, run.id, key, "status", "system", payload)


def record_node(session: Session, run: Run, node: str, update: dict[str, Any]) -> None:
    """Apply one node's state update to the run row and audit it."""
    step = len(run.trajectory)
    run.trajectory = [*run.trajectory, node]
    for field in NODE_FIELDS:
        if update.get(field) is not None:
            setattr(run, field, update[field])
    if update.get("tier"):
        run.tier = update["tier"]
    run.updated_at = utcnow()
    session.add(run)
    audit.append(
        session, run.id, f"node:{step}:{node}", "node", "system", _audit_payload(node, update)
    )


def acquire_lease(
    session: Session,
    run_id: str,
    owner: str,
    seconds: float,
    worker: str | None = None,
    dead: Collection[str] = (),
) -> bool:
    """Take or renew the run's lease for `owner`, an execution of `worker`; False while another
    owner's lease is still valid, unless the worker answerable for the run is in `dead`."""
    now = utcnow()
    free = or_(
        col(Run.lease_owner).is_(None),
        col(Run.lease_until) < now,
        col(Run.lease_owner) == owner,
        _answerable_dead(dead),
    )
    result = session.execute(
        update(Run)
        .where(col(Run.id) == run_id, free)
        .values(
            lease_owner=owner,
            lease_until=now + timedelta(seconds=seconds),
            **({"worker": worker} if worker else {}),
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def renew_lease(session: Session, run_id: str, owner: str, seconds: float) -> bool:
    """Extend the lease only while this owner still holds it: an execution that lost its lease
    (another took the run after it stalled) never takes it back, even once it is free again."""
    result = session.execute(
        update(Run)
        .where(col(Run.id) == run_id, col(Run.lease_owner) == owner)
        .values(lease_until=utcnow() + timedelta(seconds=seconds))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_lease(session: Session, run_id: str, owner: str) -> None:
    session.execute(
        update(Run)
        .where(col(Run.id) == run_id, col(Run.lease_owner) == owner)
        .values(lease_owner=None, lease_until=None)
    )


def _answerable_dead(dead: Collection[str]) -> ColumnElement[bool]:
    return col(Run.worker).in_(sorted(dead)) if dead else false()


def stranded(
    session: Session, quiet_seconds: float, dead: Collection[str] = (), limit: int = 100
) -> list[str]:
    """Runs a dead worker left behind: queued or running, or holding a recorded decision.

    A run whose answerable worker is in `dead` (known dead: see services.workers) is stranded
    at once, lease or not. Any other run is stranded once it has no valid lease and nothing
    has happened for quiet_seconds (a live worker is about to start or resume it otherwise).
    """
    now = utcnow()
    quiet = now - timedelta(seconds=quiet_seconds)
    orphaned = _answerable_dead(dead)
    unleased = or_(col(Run.lease_until).is_(None), col(Run.lease_until) < now, orphaned)
    query = select(Run.id).where(
        unleased,
        col(Run.status).in_(("queued", "running")),
        or_(orphaned, col(Run.updated_at) < quiet),
    )
    found = list(session.exec(query.order_by(col(Run.created_at)).limit(limit)))
    # A decision recorded on the run's latest review, but the graph never resumed: chosen in the
    # query, oldest decision first, so any number of runs awaiting review cannot hide it.
    latest = (
        select(col(Approval.run_id), func.max(Approval.created_at).label("at"))
        .group_by(col(Approval.run_id))
        .subquery()
    )
    decided = (
        select(Run.id)
        .join(Approval, col(Approval.run_id) == col(Run.id))
        .join(
            latest,
            and_(latest.c.run_id == col(Approval.run_id), latest.c.at == col(Approval.created_at)),
        )
        .where(
            unleased,
            Run.status == "awaiting_approval",
            col(Approval.decided_at).is_not(None),
            or_(orphaned, col(Approval.decided_at) < quiet),
        )
        .order_by(col(Approval.decided_at))
        .limit(limit)
    )
    found += [run_id for run_id in session.exec(decided) if run_id not in found]
    return found


def prunable(session: Session, older_than: datetime, limit: int = 1000) -> list[str]:
    """Finished runs last touched before the cut-off whose checkpoints are still kept."""
    query = select(Run.id).where(
        col(Run.status).in_(sorted(FINAL_STATUSES)),
        col(Run.updated_at) < older_than,
        col(Run.checkpoints_pruned_at).is_(None),
    )
    return list(session.exec(query.order_by(col(Run.updated_at)).limit(limit)))


def mark_pruned(session: Session, run_id: str) -> None:
    """Record that the run's checkpoints are gone; the audit trail stays, with this event."""
    run = get(session, run_id)
    run.checkpoints_pruned_at = utcnow()
    session.add(run)
    audit.append(
        session,
        run_id,
        "checkpoints_pruned",
        "retention",
        "system",
        {"pruned_at": run.checkpoints_pruned_at.isoformat()},
    )


def record_node_started(session: Session, run: Run, task: dict[str, Any]) -> None:
    """Audit a node starting; the same task started again after a crash is recorded once."""
    audit.append(
        session,
        run.id,
        f"start:{task['id']}",
        "node_started",
        "system",
        {"node": task["name"], "step": len(run.trajectory)},
    )


def record_model_calls(session: Session, run: Run, calls: list[dict[str, Any]]) -> None:
    if calls:
        run.model_calls = [*run.model_calls, *calls]
        session.add(run)


def _audit_payload(node: str, update: dict[str, Any]) -> dict[str, Any]:
    """What the audit trail keeps of a step: the decisions and their provenance, not the prose."""
    payload: dict[str, Any] = {"node": node}
    if (profile := update.get("profile")) is not None:
        payload["profile"] = {
            k: profile[k]
            for k in (
                "tier",
                "risk_level",
                "lowest_category",
                "professional",
                "assessed_on",
                "assessment_stale",
                "qualified_investor",
            )
        }
    if (plan := update.get("plan")) is not None:
        payload["plan"] = {
            "plan_hash": plan["plan_hash"],
            "source": plan["source"],
            "holdings": plan["holdings"],
            "fallback": plan["fallback"],
        }
    if (report := update.get("compliance")) is not None:
        payload["compliance"] = {
            "verdict": report["verdict"],
            "rule_set_version": report["rule_set_version"],
            "plan_hash": report["plan_hash"],
            "rules": [f["rule_id"] for f in report["findings"]],
        }
    if (research := update.get("research")) is not None:
        payload["sources"] = [i["source_id"] for i in research["items"]]
    return payload


def public(
    run: Run,
    approval: dict[str, Any] | None,
    delivery: dict[str, Any] | None,
    feedback: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The run as the API shows it (DESIGN §5.2)."""
    return {
        "id": run.id,
        "client_id": run.client_id,
        "status": run.status,
        "tier": run.tier,
        "request": run.request,
        "intent": (run.profile or {}).get("request_intent"),
        "trajectory": run.trajectory,
        "profile": run.profile,
        "research": run.research,
        "plan": run.plan,
        "compliance": run.compliance,
        "approval": approval,
        "delivery": delivery,
        "feedback": feedback or [],
        "parent_run_id": run.parent_run_id,
        "special_care": run.special_care,
        "error": run.error,
        "model_calls": run.model_calls,
        "model_usage": usage(run.model_calls),
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
    }
