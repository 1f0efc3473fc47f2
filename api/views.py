"""The API's typed responses, built from the services' public views.

The services (core/) build each record as every surface shows it, masking included; core
cannot import api/, so the response models are filled here. They forbid undeclared keys: a
field a service adds without its schema fails loudly instead of vanishing from the response.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api.schemas import (
    ApprovalQueueItem,
    AuditEventPublic,
    AuditTrail,
    ClientPublic,
    EvalRunPublic,
    ProductPublic,
    RunPublic,
)
from core.schemas.client import STORED, ClientInput
from core.services import audit, clients, evals
from core.services.views import run_view
from core.tables import EvalRun, Run
from tools.market.shelf import Product


def run_public(session: Session, run: Run) -> RunPublic:
    """The run with its latest approval, delivery and feedback."""
    return RunPublic.model_validate(run_view(session, run))


def client_public(client: ClientInput) -> ClientPublic:
    """The client, contact masked; a stored record is not re-checked against today's date."""
    return ClientPublic.model_validate(clients.public(client), context=STORED)


def queue_item(item: dict[str, Any]) -> ApprovalQueueItem:
    """A pending approval as the review queue shows it."""
    return ApprovalQueueItem.model_validate(item)


def eval_public(row: EvalRun) -> EvalRunPublic:
    """The eval run, with its summary, gate, provenance and scenarios once done."""
    return EvalRunPublic.model_validate(evals.public(row))


def product_public(product: Product) -> ProductPublic:
    """A product as the shelf lists it (its declared fields, daily_liquid included)."""
    return ProductPublic.model_validate(product, from_attributes=True)


def audit_trail(session: Session, run_id: str) -> AuditTrail:
    """The run's audit trail and whether its hash chain verifies."""
    check = audit.verify(session, run_id)
    events = [
        AuditEventPublic.model_validate(e, from_attributes=True)
        for e in audit.events(session, run_id)
    ]
    return AuditTrail(
        run_id=run_id,
        verified=check.verified,
        broken_at=check.broken_at,
        reason=check.reason,
        length=check.length,
        events=events,
    )
