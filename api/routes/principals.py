"""Principals as people: who I am, and a supervisor keeping advisors' names and registrations.

Tokens are minted only at the command line (`tierwise principal create`), by whoever runs the
deployment: the API never issues a credential.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentPrincipal, Reviewer, Route, SessionDep, Supervisor
from api.schemas import DutyUpdate, PrincipalPublic, PrincipalUpdate
from core.errors import PrincipalNotFound
from core.services import principals

router = APIRouter(prefix="/v1/principals", tags=["principals"], route_class=Route)


@router.get("/me")
def get_me(principal: CurrentPrincipal) -> PrincipalPublic:
    """The calling principal, as a client would meet them if they sign a letter."""
    return PrincipalPublic.model_validate(principals.public(principal))


@router.get("/{name}")
def get_principal(name: str, session: SessionDep, _: Supervisor) -> PrincipalPublic:
    """A principal by login id; supervisors only."""
    found = principals.by_name(session, name)
    if found is None:
        raise PrincipalNotFound(f"no principal {name!r}")
    return PrincipalPublic.model_validate(principals.public(found))


@router.patch("/{name}")
def update_principal(
    name: str, body: PrincipalUpdate, session: SessionDep, _: Supervisor
) -> PrincipalPublic:
    """Set or clear a principal's display name, registration number (执业证书编号) or contact;
    supervisors only. An advisor signs a plan off only with a display name and a registration
    number: until both are set, an approval is refused (403 AdvisorUnregistered)."""
    changes = body.model_dump(exclude_unset=True)
    return PrincipalPublic.model_validate(
        principals.public(principals.update(session, name, changes))
    )


@router.put("/{name}/duty")
def set_duty(
    name: str, body: DutyUpdate, session: SessionDep, principal: Reviewer
) -> PrincipalPublic:
    """Put an advisor on duty (值班投顾) or take them off it: an advisor for themselves, a
    supervisor for any advisor. An advisor on duty sees the duty pool (GET
    /v1/approvals/pool) and claims its reviews, those of clients with no advisor."""
    found = principals.set_duty(session, name, body.on_duty, by=principal)
    return PrincipalPublic.model_validate(principals.public(found))
