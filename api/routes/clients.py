"""Clients: created by the firm's systems, read with contact data masked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from api.deps import CurrentPrincipal, Route, SessionDep, ensure_can_see, require
from core.errors import ClientNotFound, Forbidden, InvalidClient
from core.schemas.client import ClientInput
from core.services import clients

router = APIRouter(prefix="/v1/clients", tags=["clients"], route_class=Route)


@router.put("/{client_id}", dependencies=[Depends(require("service", "supervisor"))])
def put_client(client_id: str, body: ClientInput, session: SessionDep) -> dict[str, Any]:
    """Create or replace a client."""
    if body.client_id != client_id:
        raise InvalidClient(f"client_id in the body ({body.client_id}) differs from the path")
    clients.upsert(session, body)
    return clients.public(body)


@router.get("/{client_id}")
def get_client(client_id: str, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The client, contact masked."""
    if principal.role == "engineer":
        raise Forbidden("engineers do not read client records")
    client = clients.get(session, client_id)
    ensure_can_see(principal, client.advisor_id, ClientNotFound(f"no client {client_id!r}"))
    return clients.public(client)
