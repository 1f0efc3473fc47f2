"""Clients: stored as the ClientInput contract; contact data only ever leaves masked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from core.errors import ClientNotFound
from core.schemas import ClientInput
from core.services.runs import FINAL_STATUSES
from core.tables import Approval, Client, Run, utcnow
from tools.masking import mask_contact, mask_text


def upsert(session: Session, client: ClientInput) -> Client:
    """Create or replace a client."""
    data = client.model_dump(mode="json")
    row = session.get(Client, client.client_id)
    if row is None:
        row = Client(id=client.client_id, advisor_id=client.advisor_id, data=data)
    else:
        if row.advisor_id != client.advisor_id:
            _reassign(session, client.client_id, client.advisor_id)
        row.advisor_id, row.data, row.updated_at = client.advisor_id, data, utcnow()
    session.add(row)
    session.flush()
    return row


def _reassign(session: Session, client_id: str, advisor_id: str | None) -> None:
    """A client's new advisor takes over its open runs and pending reviews, in the same commit."""
    session.execute(
        update(Run)
        .where(col(Run.client_id) == client_id, col(Run.status).not_in(sorted(FINAL_STATUSES)))
        .values(advisor_id=advisor_id)
    )
    session.execute(
        update(Approval)
        .where(col(Approval.client_id) == client_id, col(Approval.status) == "pending")
        .values(advisor_id=advisor_id)
    )


def get(session: Session, client_id: str) -> ClientInput:
    row = session.get(Client, client_id)
    if row is None:
        raise ClientNotFound(f"no client {client_id!r}")
    return ClientInput.model_validate(row.data)


def public(client: ClientInput) -> dict[str, Any]:
    """The client as any response shows it: contact masked, and any sensitive data in the notes."""
    data = client.model_dump(mode="json")
    data["contact"] = mask_contact(data["contact"])
    data["notes"] = mask_text(data["notes"])
    return data
