"""Client feedback on a delivered plan."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from core.errors import RunNotDelivered
from core.masking import mask_text
from core.services import audit
from core.tables import Feedback, Run


def add(session: Session, run: Run, rating: int, comment: str | None, actor: str) -> Feedback:
    """Store a rating (1-5) and comment; only a delivered plan can be rated."""
    if run.status != "delivered":
        raise RunNotDelivered(f"run {run.id} is {run.status}; feedback needs a delivered plan")
    item = Feedback(run_id=run.id, rating=rating, comment=mask_text(comment) if comment else None)
    session.add(item)
    session.flush()
    audit.append(session, run.id, f"feedback:{item.id}", "feedback", actor, {"rating": rating})
    return item


def for_run(session: Session, run_id: str) -> list[dict[str, Any]]:
    query = select(Feedback).where(Feedback.run_id == run_id).order_by(col(Feedback.id))
    return [
        {"rating": f.rating, "comment": f.comment, "created_at": f.created_at.isoformat()}
        for f in session.exec(query)
    ]
