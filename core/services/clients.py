"""Clients: stored as the ClientInput contract; contact data only ever leaves masked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from core.errors import ClientNotFound, Forbidden
from core.masking import mask_contact, mask_text
from core.schemas.client import STORED, ClientInput
from core.services import principals
from core.tables import Approval, Client, Principal, Run, utcnow


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


def assign(session: Session, client_id: str, advisor_id: str) -> Client | None:
    """Make `advisor_id` the stored client's advisor of record (a duty-pool claim, when the
    firm's setting says so): the record and every run and review of the client follow, in
    the same commit. A client never stored (a run from a file) has no record to change."""
    row = session.get(Client, client_id)
    if row is None:
        return None
    _reassign(session, client_id, advisor_id)
    row.advisor_id, row.updated_at = advisor_id, utcnow()
    row.data = {**row.data, "advisor_id": advisor_id}
    session.add(row)
    session.flush()
    return row


def _reassign(session: Session, client_id: str, advisor_id: str | None) -> None:
    """Access follows the client: the new advisor takes over every run and review of the
    client, finished ones included (the client's history is theirs to serve from), and the
    former advisor loses them, in the same commit. Who decided stays on each decision and in
    the audit trail."""
    session.execute(
        update(Run).where(col(Run.client_id) == client_id).values(advisor_id=advisor_id)
    )
    session.execute(
        update(Approval).where(col(Approval.client_id) == client_id).values(advisor_id=advisor_id)
    )


def get(session: Session, client_id: str) -> ClientInput:
    row = session.get(Client, client_id)
    if row is None:
        raise ClientNotFound(f"no client {client_id!r}")
    return ClientInput.model_validate(row.data, context=STORED)


def visible(session: Session, principal: Principal, client_id: str) -> ClientInput:
    """The client, for a principal who may read it: never an engineer, and an advisor only
    their own (another advisor's client is ClientNotFound, as a missing one)."""
    if principal.role == "engineer":
        raise Forbidden("engineers do not read client records")
    client = get(session, client_id)
    principals.ensure_can_see(
        principal, client.advisor_id, ClientNotFound(f"no client {client_id!r}")
    )
    return client


def shown_name(record: dict[str, Any]) -> str:
    """A client's name as any page or response shows it: a name may hold a phone number."""
    return mask_text(record.get("name") or "")


def public(client: ClientInput) -> dict[str, Any]:
    """The client as any response shows it: contact masked, and so is anything in name or notes."""
    data = client.model_dump(mode="json")
    data["contact"] = mask_contact(data["contact"])
    data["name"] = shown_name(data)
    data["notes"] = mask_text(data["notes"])
    return data
