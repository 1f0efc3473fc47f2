"""Principals: API callers with a role; tokens are random and stored only as SHA-256 hashes.

An advisor is also a person to the client: a display name, a registration number (执业证书编号)
and a contact line, which sign the letters they sign off. The login id (`name`) never reaches a
client. What a letter carries is checked here, once, for every way in (API, CLI, demo):

- registration: a letter and 13 digits, as the Securities Association of China numbers its
  practising certificates (S0980120010001); blanks are dropped and the letter upper-cased.
- contact: one line the client may use, the firm's own: the branch and its office line as the
  firm writes it (上海陆家嘴营业部 021-6888 0001). Every client-facing text is masked and the
  PII rules hold back a letter with a mobile, an e-mail address, an ID or a card in it
  (core/masking.py), so a contact that reads as one is refused here rather than blocking every
  letter it signs. A landline with its area code (021-6888 0001) is none of those and shows
  as written.
- no field may hold what masking would hide, control characters, line breaks or the login id.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlmodel import Session, select

from core.errors import (
    AdvisorUnregistered,
    Forbidden,
    InvalidPrincipal,
    NotFound,
    PrincipalNotFound,
    Unauthorized,
)
from core.masking import find_sensitive
from core.schemas.letter import Signature
from core.schemas.vocabulary import ROLES, Role
from core.tables import Principal

PROFILE_FIELDS = ("display_name", "registration", "contact")
LIMITS = {"display_name": 64, "registration": 14, "contact": 120}  # within the table's columns
REGISTRATION = re.compile(r"[A-Z][0-9]{13}")
EXAMPLES = {
    "display_name": "李明",
    "registration": "S0980120010001",
    "contact": "上海陆家嘴营业部 021-6888 0001",
}
SENSITIVE = {
    "mobile": "a mobile number",
    "email": "an e-mail address",
    "id_number": "an ID number",
    "bank_card": "a bank card number",
    "ssn": "a US social security number",
}
SIGNER_FIELDS = ("display_name", "registration")  # what a signature cannot do without


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def by_name(session: Session, name: str) -> Principal | None:
    return session.exec(select(Principal).where(Principal.name == name)).first()


def checked(field: str, value: str | None) -> str | None:
    """The field's value as stored (one line, single blanks), or InvalidPrincipal naming the
    field and what is wrong; None stays None (not given, or cleared)."""
    if field not in PROFILE_FIELDS:
        raise InvalidPrincipal(f"{field} is not a principal's field: {', '.join(PROFILE_FIELDS)}")
    if value is None:
        return None
    if any(unicodedata.category(ch) in ("Cc", "Cf") and not ch.isspace() for ch in value):
        raise InvalidPrincipal(f"{field} holds control or invisible characters")
    value = " ".join(value.split())
    if field == "registration":
        value = value.replace(" ", "").upper()
    if not value:
        raise InvalidPrincipal(f"{field} is blank: give one, e.g. {EXAMPLES[field]}")
    if field == "registration" and not REGISTRATION.fullmatch(value):
        raise InvalidPrincipal(
            f"registration must be a letter and 13 digits, as a 执业证书编号 is written "
            f"(e.g. {EXAMPLES['registration']}); got {value!r}"
        )
    if len(value) > LIMITS[field]:
        raise InvalidPrincipal(f"{field} is longer than {LIMITS[field]} characters")
    found = find_sensitive(value, near_misses=True)
    if found:
        raise InvalidPrincipal(
            f"{field} holds what reads as {SENSITIVE[found[0].kind]} ({found[0].masked}): every "
            f"client-facing text is masked and a letter with one is held back, so no letter "
            f"could carry it; for a contact give the branch and its office line, e.g. "
            f"{EXAMPLES['contact']}"
        )
    return value


def _apply(principal: Principal, changes: Mapping[str, str | None]) -> None:
    """Check every change before applying any: a bad field leaves the principal as it was."""
    values = {field: checked(field, value) for field, value in changes.items()}
    login = re.compile(rf"(?<![\w-]){re.escape(principal.name)}(?![\w-])", re.IGNORECASE)
    for field, value in values.items():
        if value and login.search(value):
            raise InvalidPrincipal(
                f"{field} holds the login id {principal.name!r}, which never reaches a client: "
                f"give what the client reads, e.g. {EXAMPLES[field]}"
            )
    for field, value in values.items():
        setattr(principal, field, value)


def create(
    session: Session, name: str, role: Role, profile: Mapping[str, str | None] | None = None
) -> tuple[Principal, str]:
    """A principal with a fresh token; an existing name gets a new token and role. The profile
    fields given (display_name, registration, contact) are set; the others stay as they were."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    given = {k: v for k, v in (profile or {}).items() if v is not None}
    token = f"tw_{secrets.token_urlsafe(24)}"
    principal = by_name(session, name)
    if principal is None:
        principal = Principal(name=name, role=role, token_hash=hash_token(token))
    else:
        principal.role, principal.token_hash = role, hash_token(token)
    _apply(principal, given)
    session.add(principal)
    session.flush()
    return principal, token


def update(session: Session, name: str, changes: Mapping[str, str | None]) -> Principal:
    """Change the principal's display name, registration or contact (None clears one); the
    token and role stay. PrincipalNotFound for a name no one has."""
    principal = by_name(session, name)
    if principal is None:
        raise PrincipalNotFound(f"no principal {name!r}")
    _apply(principal, changes)
    session.add(principal)
    session.flush()
    return principal


def set_duty(
    session: Session, name: str, on_duty: bool, *, by: Principal | None = None
) -> Principal:
    """Put an advisor on duty (值班投顾) or take them off it: a supervisor for anyone, an
    advisor only for themselves (`by`; None, the command line's, for anyone). Only advisors
    are ever on duty: they alone decide plans."""
    if by is not None and by.role not in ("advisor", "supervisor"):
        raise Forbidden(f"role {by.role} may not set anyone's duty")
    if by is not None and by.role == "advisor" and by.name != name:
        raise Forbidden("an advisor sets only their own duty; a supervisor sets anyone's")
    target = by_name(session, name)
    if target is None:
        raise PrincipalNotFound(f"no principal {name!r}")
    if target.role != "advisor":
        raise InvalidPrincipal(f"{name} is a {target.role}: only advisors go on duty")
    target.on_duty = on_duty
    session.add(target)
    session.flush()
    return target


def on_duty(session: Session) -> list[str]:
    """The advisors on duty now, by login id."""
    query = select(Principal.name).where(Principal.role == "advisor", Principal.on_duty)
    return sorted(session.exec(query))


def ensure(
    session: Session, name: str, role: Role, profile: Mapping[str, str | None] | None = None
) -> Principal:
    """The principal of that name, created (with the profile) if missing; its new token is not
    shown (evals, tests)."""
    found = by_name(session, name)
    return found if found is not None else create(session, name, role, profile)[0]


def ensure_can_sign(principal: Principal) -> None:
    """An advisor signs a plan off as a person: AdvisorUnregistered naming what is missing."""
    missing = [f for f in SIGNER_FIELDS if not getattr(principal, f)]
    if missing:
        raise AdvisorUnregistered(
            f"{principal.name} has no {' and no '.join(missing)}: a plan is signed off by a "
            f"person the client can identify; set them first (tierwise principal update "
            f"--name {principal.name} --display-name ... --registration ...)"
        )


def signature(session: Session, name: str, on: date) -> Signature:
    """How the advisor `name` signs a letter on `on`: as a person, never by login id."""
    principal = by_name(session, name)
    if principal is None:
        raise PrincipalNotFound(f"no principal {name!r}")
    ensure_can_sign(principal)
    return Signature(
        name=principal.display_name or "",  # both set: ensure_can_sign says so
        registration=principal.registration or "",
        contact=principal.contact,
        on=on,
    )


def public(principal: Principal) -> dict[str, Any]:
    """A principal as shown to the API and the command line: never its token's hash."""
    return {
        "name": principal.name,
        "role": principal.role,
        "display_name": principal.display_name,
        "registration": principal.registration,
        "contact": principal.contact,
        "on_duty": principal.on_duty,
        "created_at": principal.created_at.isoformat(),
    }


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
