"""Deliveries: a plan reaches a client at most once per run, whatever retries or races occur."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.services import audit, client_changes
from core.tables import Delivery, Run


def get(session: Session, run_id: str) -> Delivery | None:
    return session.exec(select(Delivery).where(Delivery.run_id == run_id)).first()


def deliver(
    session: Session,
    run_id: str,
    *,
    plan_hash: str,
    text: str,
    channel: str,
    approved_by: str | None,
    on: date,
    valid_months: int,
    document: dict[str, Any] | None = None,
) -> Delivery:
    """Insert the delivery, or return the one already there (the unique constraint decides).

    `document` is the Letter (as JSON) `text` renders, signed by the approving advisor if one
    signed it off; None for a text with no sections. A new delivery is refused if the client
    has changed since the plan was drafted, or the assessment is not valid on `on` (the
    decision date, or the run's date without one).
    Either way the delivered event is appended (once, by its key) from the row that stands, so
    a retry after a crash between the two writes still leaves a trail that vouches for it.
    """
    delivery = get(session, run_id)
    if delivery is None:
        client_changes.ensure_current(session, session.get_one(Run, run_id), on, valid_months)
        delivery = Delivery(
            run_id=run_id,
            plan_hash=plan_hash,
            text=text,
            document=document,
            channel=channel,
            approved_by=approved_by,
        )
        try:
            with session.begin_nested():
                session.add(delivery)
        except IntegrityError:
            delivery = get(session, run_id)
            if delivery is None:
                raise
    # The event vouches for the exact text, letter and approver: a rewritten row shows.
    payload = audit.delivered_payload(
        plan_hash=delivery.plan_hash,
        text=delivery.text,
        channel=delivery.channel,
        approved_by=delivery.approved_by,
        document=delivery.document,
    )
    actor = delivery.approved_by or "system"
    audit.append(session, run_id, "delivered", "delivered", actor, payload)
    return delivery


def public(delivery: Delivery) -> dict[str, Any]:
    return {
        "plan_hash": delivery.plan_hash,
        "channel": delivery.channel,
        "approved_by": delivery.approved_by,
        "text": delivery.text,
        "document": delivery.document,
        "delivered_at": delivery.delivered_at.isoformat(),
    }
