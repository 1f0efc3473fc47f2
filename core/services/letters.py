"""Letters: which letter a run has, for the client's copy (HTML, PDF) and the advisor's view."""

from __future__ import annotations

from sqlmodel import Session

from core.errors import LetterNotFound
from core.schemas.letter import Letter
from core.services import deliveries
from core.tables import Approval, Run


def for_run(session: Session, run: Run) -> Letter:
    """The run's letter: the one delivered, once it is; before that, the one its compliance
    report checked (the letter the client will receive if the plan is delivered).

    Raises LetterNotFound while the run has none: still running, or stopped before one.
    The session reads the delivered copy (Delivery.document) where there is one.
    """
    delivered = deliveries.get(session, run.id)
    if delivered is not None and delivered.document is not None:
        return Letter.model_validate(delivered.document)
    document = (run.compliance or {}).get("document")
    if document is None:
        raise LetterNotFound(
            f"run {run.id!r} has no letter yet (status {run.status}): a letter exists once "
            "the compliance check has written one"
        )
    return Letter.model_validate(document)


def for_review(session: Session, run: Run, approval: Approval) -> Letter | None:
    """The letter of the plan under this review, or None: the run has no letter yet, or has
    moved on to another plan since (a revision), whose letter belongs to its own review."""
    if (run.compliance or {}).get("plan_hash") != approval.plan_hash:
        return None
    try:
        return for_run(session, run)
    except LetterNotFound:
        return None
