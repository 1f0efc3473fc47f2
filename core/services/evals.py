"""Eval runs requested through the API: queued, running, done or failed, with the result."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from core.errors import NotFound
from core.tables import EvalRun, utcnow


class EvalNotFound(NotFound):
    pass


def create(session: Session, suite: str, repeat: int | None, requested_by: str) -> EvalRun:
    row = EvalRun(
        id=f"eval-{uuid.uuid4().hex[:12]}", suite=suite, repeat=repeat, requested_by=requested_by
    )
    session.add(row)
    session.flush()
    return row


def get(session: Session, eval_id: str) -> EvalRun:
    row = session.get(EvalRun, eval_id)
    if row is None:
        raise EvalNotFound(f"no eval {eval_id!r}")
    return row


def recent(session: Session, limit: int = 50) -> list[EvalRun]:
    """The latest eval runs, newest first."""
    query = select(EvalRun).order_by(col(EvalRun.created_at).desc()).limit(limit)
    return list(session.exec(query))


def set_status(
    session: Session,
    eval_id: str,
    status: str,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    row = get(session, eval_id)
    row.status, row.result, row.error = status, result, error
    if status in ("done", "failed"):
        row.finished_at = utcnow()
    session.add(row)


def public(row: EvalRun) -> dict[str, Any]:
    result = row.result or {}
    return {
        "id": row.id,
        "suite": row.suite,
        "repeat": row.repeat,
        "status": row.status,
        "requested_by": row.requested_by,
        "error": row.error,
        "summary": result.get("summary"),
        "gate": result.get("gate"),
        "provenance": result.get("provenance"),
        "scenarios": result.get("scenarios"),
        "created_at": row.created_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }
