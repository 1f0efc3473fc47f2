"""The public view of a run, with its latest approval, delivery and feedback (DESIGN §5.2)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from core.services import approvals, deliveries, feedback, runs
from core.tables import Run


def run_view(session: Session, run: Run) -> dict[str, Any]:
    approval = approvals.latest_for_run(session, run.id)
    delivery = deliveries.get(session, run.id)
    return runs.public(
        run,
        approvals.public(approval) if approval else None,
        deliveries.public(delivery) if delivery else None,
        feedback.for_run(session, run.id),
    )
