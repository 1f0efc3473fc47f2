"""Scratch PostgreSQL databases, for the tests and the benchmarks: one per use, dropped after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from core.database import get_engine


@contextmanager
def scratch_database(base: str, prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database beside `base`, dropped afterwards (connections and all);
    yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
