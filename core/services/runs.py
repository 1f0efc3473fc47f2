"""Runs: the row written before the graph starts, and kept in step with it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from sqlmodel import Session, col, select

from core.errors import RunNotFound
from core.schemas import ClientInput
from core.services import audit
from core.tables import Run, utcnow

RunStatus = Literal[
    "queued", "running", "awaiting_approval", "delivered", "rejected", "blocked", "failed"
]
FINAL_STATUSES = {"delivered", "rejected", "blocked", "failed"}
NODE_FIELDS = ("profile", "research", "plan", "compliance")


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
) -> Run:
    """A queued run with the client snapshot it will use; audited as created."""
    run = Run(
        id=run_id or new_run_id(),
        client_id=client.client_id,
        advisor_id=client.advisor_id,
        status="queued",
        locale=locale or client.locale,
        request=request,
        as_of=as_of.isoformat(),
        client_snapshot=client.model_dump(mode="json"),
    )
    session.add(run)
    session.flush()
    audit.append(
        session,
        run.id,
        "created",
        "run_created",
        actor,
        {"client_id": client.client_id, "request": request, "as_of": run.as_of},
    )
    return run


def get(session: Session, run_id: str) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise RunNotFound(f"no run {run_id!r}")
    return run


def list_runs(
    session: Session,
    *,
    client_id: str | None = None,
    status: str | None = None,
    advisor_id: str | None = None,
    limit: int = 50,
) -> list[Run]:
    query = select(Run).order_by(col(Run.created_at).desc(), col(Run.id).desc()).limit(limit)
    if client_id:
        query = query.where(Run.client_id == client_id)
    if status:
        query = query.where(Run.status == status)
    if advisor_id:
        query = query.where(Run.advisor_id == advisor_id)
    return list(session.exec(query))


def set_status(session: Session, run: Run, status: RunStatus, error: str | None = None) -> None:
    run.status, run.updated_at = status, utcnow()
    if error is not None:
        run.error = error[:2000]
    session.add(run)
    audit.append(
        session,
        run.id,
        f"status:{len(run.trajectory)}:{status}",
        "status",
        "system",
        {"status": status, "error": error},
    )


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
    run: Run, approval: dict[str, Any] | None, delivery: dict[str, Any] | None
) -> dict[str, Any]:
    """The run as the API shows it (DESIGN §5.2)."""
    return {
        "id": run.id,
        "client_id": run.client_id,
        "status": run.status,
        "tier": run.tier,
        "trajectory": run.trajectory,
        "profile": run.profile,
        "research": run.research,
        "plan": run.plan,
        "compliance": run.compliance,
        "approval": approval,
        "delivery": delivery,
        "error": run.error,
        "model_calls": run.model_calls,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
    }
