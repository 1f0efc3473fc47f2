"""Clients: created by the firm's systems, read with contact data masked."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import CurrentPrincipal, Route, SessionDep, require
from api.schemas import ClientPublic
from api.views import client_public
from core.errors import InvalidClient
from core.schemas.client import ClientInput
from core.services import clients

router = APIRouter(prefix="/v1/clients", tags=["clients"], route_class=Route)


@router.put("/{client_id}", dependencies=[Depends(require("service", "supervisor"))])
def put_client(client_id: str, body: ClientInput, session: SessionDep) -> ClientPublic:
    """Create or replace a client."""
    if body.client_id != client_id:
        raise InvalidClient(f"client_id in the body ({body.client_id}) differs from the path")
    clients.upsert(session, body)
    return client_public(body)


@router.get("/{client_id}")
def get_client(client_id: str, session: SessionDep, principal: CurrentPrincipal) -> ClientPublic:
    """The client, contact masked; engineers do not read client records."""
    return client_public(clients.visible(session, principal, client_id))
