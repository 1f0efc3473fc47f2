"""Checkpointer factory: SQLite in the same file as the tables, or PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from core.database import DEFAULT_CONNECTIONS, DEFAULT_POOL_TIMEOUT, sqlite_path


@contextmanager
def open_checkpointer(
    database_url: str, connections: int = DEFAULT_CONNECTIONS, timeout: float = DEFAULT_POOL_TIMEOUT
) -> Iterator[BaseCheckpointSaver[str]]:
    """A durable checkpointer for the URL, closed on exit; on PostgreSQL its pool is sized like
    the engine's, so every thread that runs a graph finds a connection in time."""
    path = sqlite_path(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        try:
            sqlite_saver = SqliteSaver(conn)
            sqlite_saver.setup()
            yield sqlite_saver
        finally:
            conn.close()
        return
    if database_url.startswith(("postgresql://", "postgres://")):
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection
        from psycopg.rows import DictRow, dict_row
        from psycopg_pool import ConnectionPool

        kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
        with ConnectionPool(
            database_url,
            connection_class=Connection[DictRow],  # the row type the saver reads; kwargs set it
            kwargs=kwargs,
            min_size=min(4, connections),
            max_size=connections,
            timeout=timeout,
            open=True,
        ) as pool:
            postgres_saver = PostgresSaver(pool)
            postgres_saver.setup()
            yield postgres_saver
        return
    raise ValueError(f"unsupported database URL for the checkpointer: {database_url!r}")
