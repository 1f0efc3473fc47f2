"""Deliveries: a plan reaches a client at most once per run, whatever retries or races occur."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.services import audit
from core.tables import Delivery


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
) -> Delivery:
    """Insert the delivery, or return the one already there (the unique constraint decides)."""
    existing = get(session, run_id)
    if existing is not None:
        return existing
    delivery = Delivery(
        run_id=run_id, plan_hash=plan_hash, text=text, channel=channel, approved_by=approved_by
    )
    try:
        with session.begin_nested():
            session.add(delivery)
    except IntegrityError:
        found = get(session, run_id)
        if found is None:
            raise
        return found
    audit.append(
        session,
        run_id,
        "delivered",
        "delivered",
        approved_by or "system",
        {"plan_hash": plan_hash, "channel": channel},
    )
    return delivery


def public(delivery: Delivery) -> dict[str, Any]:
    return {
        "plan_hash": delivery.plan_hash,
        "channel": delivery.channel,
        "approved_by": delivery.approved_by,
        "text": delivery.text,
        "delivered_at": delivery.delivered_at.isoformat(),
    }
