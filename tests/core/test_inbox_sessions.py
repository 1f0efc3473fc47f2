"""Inbox sessions live on the server: sign-out, expiry and a new token each end them for good."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from core.database import get_engine, session_scope
from core.errors import Unauthorized
from core.services import inbox_sessions, principals
from core.settings import Settings
from core.tables import InboxSession, utcnow


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    with session_scope(get_engine(settings.database_url)) as s:
        yield s


def test_a_session_signs_its_principal_in_and_only_its_hash_is_stored(session: Session) -> None:
    principal, _ = principals.create(session, "adv-li", "advisor")
    raw_id = inbox_sessions.start(session, principal, hours=8)
    rows = list(session.exec(select(InboxSession)))
    assert [r.id_hash for r in rows] == [hashlib.sha256(raw_id.encode()).hexdigest()]
    assert raw_id not in {v for r in rows for v in r.model_dump().values() if isinstance(v, str)}
    assert inbox_sessions.resolve(session, raw_id).name == "adv-li"
    with pytest.raises(Unauthorized):  # what a copy of the database shows is not a session id
        inbox_sessions.resolve(session, rows[0].id_hash)
    with pytest.raises(Unauthorized):
        inbox_sessions.resolve(session, "")


def test_an_ended_session_stays_ended(session: Session) -> None:
    principal, _ = principals.create(session, "adv-li", "advisor")
    raw_id, other = (inbox_sessions.start(session, principal, hours=8) for _ in range(2))
    inbox_sessions.end(session, raw_id)
    inbox_sessions.end(session, raw_id)  # twice is harmless
    inbox_sessions.end(session, "never-issued")
    with pytest.raises(Unauthorized):
        inbox_sessions.resolve(session, raw_id)
    assert inbox_sessions.resolve(session, other).name == "adv-li"  # others are untouched


def test_a_session_expires_after_its_hours(session: Session) -> None:
    principal, _ = principals.create(session, "adv-li", "advisor")
    raw_id = inbox_sessions.start(session, principal, hours=8)
    now = utcnow()
    assert inbox_sessions.resolve(session, raw_id, now=now + timedelta(hours=7, minutes=59))
    with pytest.raises(Unauthorized):
        inbox_sessions.resolve(session, raw_id, now=now + timedelta(hours=8, seconds=1))


def test_a_new_token_or_a_removed_principal_ends_its_sessions(session: Session) -> None:
    principal, _ = principals.create(session, "adv-li", "advisor")
    raw_id = inbox_sessions.start(session, principal, hours=8)
    principals.create(session, "adv-li", "advisor")  # rotates the token
    with pytest.raises(Unauthorized):
        inbox_sessions.resolve(session, raw_id)
    gone, _ = principals.create(session, "adv-gone", "advisor")
    raw_id = inbox_sessions.start(session, gone, hours=8)
    session.delete(gone)
    session.flush()
    with pytest.raises(Unauthorized):
        inbox_sessions.resolve(session, raw_id)


def test_prune_deletes_ended_and_expired_sessions_only(session: Session) -> None:
    principal, _ = principals.create(session, "adv-li", "advisor")
    live, ended, expired = (inbox_sessions.start(session, principal, hours=8) for _ in range(3))
    inbox_sessions.end(session, ended)
    row = session.get(InboxSession, hashlib.sha256(expired.encode()).hexdigest())
    assert row is not None
    row.expires_at = utcnow() - timedelta(minutes=1)
    session.add(row)
    session.flush()
    assert inbox_sessions.prune(session, before=utcnow() + timedelta(seconds=1)) == 2
    assert inbox_sessions.resolve(session, live).name == "adv-li"
    assert len(list(session.exec(select(InboxSession)))) == 1
