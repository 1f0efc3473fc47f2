"""Database: one engine per URL, sessions, and table creation; SQLite and PostgreSQL alike."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import psycopg
import psycopg_pool
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, create_engine

from core import migrate
from core.errors import NotCommitted


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite URL, or None for other databases."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url.removeprefix("sqlite:///"))


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# Connections one process needs at most: a request thread holds one at a time, and so does each
# run worker, each lease heartbeat, the sweeper and the outcome refresher (Settings.db_connections
# computes it).
DEFAULT_CONNECTIONS = 58  # Settings().db_connections: the same engine, whoever asks
DEFAULT_POOL_TIMEOUT = 30.0


def get_engine(
    url: str, connections: int = DEFAULT_CONNECTIONS, timeout: float = DEFAULT_POOL_TIMEOUT
) -> Engine:
    """One engine per database URL and pool size in this process, migrated to the latest schema.

    The pool holds up to `connections` (a few kept open, the rest opened on demand), sized to
    the threads that can use it at once, so a request waits for a connection rather than fails
    for want of one; `timeout` bounds that wait.
    """
    return _engine(url, connections, timeout)


_opened: list[Engine] = []  # every engine this process made, for forget_engines


@lru_cache(maxsize=8)
def _engine(url: str, connections: int, timeout: float) -> Engine:
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    kept = min(connections, 10)
    pool = {"pool_size": kept, "max_overflow": connections - kept, "pool_timeout": timeout}
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        args = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(url, connect_args=args, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, **pool)
    migrate.upgrade(engine)
    _opened.append(engine)
    return engine


def forget_engines() -> None:
    """In a process just forked from one that had engines: drop the parent's pools without
    closing their connections (the parent still uses them), so this process opens its own."""
    for engine in _opened:
        engine.dispose(close=False)
    _opened.clear()
    _engine.cache_clear()


@contextmanager
def session_scope(engine: Engine | Connection) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error (on a connection held for
    several units, such as a price import's with its staging tables, one transaction of it).

    A commit the database refuses (connection lost, lock timeout, serialisation failure) is
    NotCommitted: nothing of the unit was stored, and the caller is told so.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        commit(session)


def commit(session: Session) -> None:
    """Commit the session's unit of work, which gives its connection back to the pool; a
    commit the database refuses is NotCommitted, with everything rolled back."""
    try:
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise NotCommitted(
            f"the database did not confirm the commit ({exc.orig}); the change may not have "
            "been stored: check before retrying, or retry with an Idempotency-Key"
        ) from exc


# SQLSTATEs a retry may clear: connection exceptions (class 08), serialisation failure,
# deadlock, lock not available, too many connections, the server shutting down or starting.
TRANSIENT_SQLSTATES = ("08", "40001", "40P01", "55P03", "53300", "57P01", "57P02", "57P03")


def is_transient(exc: BaseException) -> bool:
    """A database that is busy or briefly out of reach, as opposed to a fault that will recur:
    no connection free in time, a lock held too long, a connection lost, a serialisation
    failure. Work that meets one waits and is retried; it never fails for it. A statement
    timeout, a full disk or a bad query is not transient."""
    if isinstance(exc, PoolTimeout | psycopg_pool.PoolTimeout):
        return True
    cause = exc.orig if isinstance(exc, OperationalError) else exc
    if isinstance(exc, NotCommitted) and isinstance(exc.__cause__, OperationalError):
        cause = exc.__cause__.orig
    if isinstance(cause, psycopg.OperationalError):
        state = cause.sqlstate
        return state is None or state.startswith(TRANSIENT_SQLSTATES)  # None: no connection
    return isinstance(cause, sqlite3.OperationalError) and any(
        word in str(cause) for word in ("locked", "busy")
    )
