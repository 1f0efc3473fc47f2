"""Inbox sessions: server-side rows behind a random cookie id, so sign-out really signs out.

The cookie carries only the raw id; the table keeps its SHA-256. A stolen database therefore
yields no usable id, and a cookie copied before sign-out (or before a token rotation) finds an
ended row and signs no one in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlmodel import Session, col

from core.errors import Unauthorized
from core.services import principals
from core.tables import InboxSession, Principal, as_utc, utcnow


def _hash(raw_id: str) -> str:
    return hashlib.sha256(raw_id.encode("utf-8")).hexdigest()


def start(session: Session, principal: Principal, hours: float) -> str:
    """A new session for `principal`, valid `hours`; returns the raw id for the cookie only."""
    raw_id = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        InboxSession(
            id_hash=_hash(raw_id),
            principal=principal.name,
            token_hash=principal.token_hash,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    return raw_id


def resolve(session: Session, raw_id: str, now: datetime | None = None) -> Principal:
    """The principal a live session belongs to; Unauthorized for anything else.

    A session is tied to the token it was started with: rotating the token ends it.
    """
    row = session.get(InboxSession, _hash(raw_id)) if raw_id else None
    if row is None or row.ended_at is not None:
        raise Unauthorized("sign in first")
    if as_utc(row.expires_at) <= (now or utcnow()):
        raise Unauthorized("the session expired: sign in again")
    principal = principals.by_name(session, row.principal)
    if principal is None or principal.token_hash != row.token_hash:
        raise Unauthorized("the token behind this session was revoked: sign in again")
    return principal


def end(session: Session, raw_id: str) -> None:
    """End the session (sign-out); an unknown or already ended id is left as it is."""
    row = session.get(InboxSession, _hash(raw_id)) if raw_id else None
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        session.add(row)
        session.flush()


def prune(session: Session, before: datetime) -> int:
    """Delete sessions ended or expired before `before`; returns how many went."""
    result = session.execute(
        delete(InboxSession).where(
            or_(col(InboxSession.ended_at) < before, col(InboxSession.expires_at) < before)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
