"""Principals: API callers with a role; tokens are random and stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from core.errors import NotFound, Unauthorized
from core.schemas.vocabulary import ROLES, Role
from core.tables import Principal


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def by_name(session: Session, name: str) -> Principal | None:
    return session.exec(select(Principal).where(Principal.name == name)).first()


def create(session: Session, name: str, role: Role) -> tuple[Principal, str]:
    """A principal with a fresh token; an existing name gets a new token and role."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = f"tw_{secrets.token_urlsafe(24)}"
    principal = by_name(session, name)
    if principal is None:
        principal = Principal(name=name, role=role, token_hash=hash_token(token))
    else:
        principal.role, principal.token_hash = role, hash_token(token)
    session.add(principal)
    session.flush()
    return principal, token


def ensure(session: Session, name: str, role: Role) -> Principal:
    """The principal of that name, created if missing; its new token is not shown (evals)."""
    found = by_name(session, name)
    return found if found is not None else create(session, name, role)[0]


def advisor_scope(principal: Principal) -> str | None:
    """Whose clients the principal sees: an advisor only their own (by name), others all (None)."""
    return principal.name if principal.role == "advisor" else None


def can_see(principal: Principal, advisor_id: str | None) -> bool:
    """Whether the principal may see a record of a client whose advisor is now `advisor_id`:
    an advisor only their own clients', anyone else every client's."""
    return principal.role != "advisor" or advisor_id == principal.name


def ensure_can_see(principal: Principal, advisor_id: str | None, not_found: NotFound) -> None:
    """An advisor sees only their own clients: another advisor's record answers exactly as a
    missing one does (`not_found`, the error the lookup raises), so ids cannot be probed."""
    if not can_see(principal, advisor_id):
        raise not_found


def authenticate(session: Session, token: str) -> Principal:
    """The token's principal; Unauthorized for a token no one holds (api.deps counts those)."""
    principal = session.exec(
        select(Principal).where(Principal.token_hash == hash_token(token))
    ).first()
    if principal is None:
        raise Unauthorized("invalid or revoked token")
    return principal
