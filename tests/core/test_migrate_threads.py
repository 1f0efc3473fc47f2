"""Migrations in one process are serialised: Alembic's command API is not thread-safe."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from core import migrate
from core.database import get_engine

THREADS = 6


def test_databases_migrated_from_several_threads_at_once_all_reach_head(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / f'db{n}.sqlite'}" for n in range(THREADS)]
    barrier = threading.Barrier(THREADS)

    def open_at_once(url: str) -> str | None:
        barrier.wait()  # every thread starts its migration together
        with get_engine(url).connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        revisions = list(pool.map(open_at_once, urls))
    head = ScriptDirectory.from_config(
        migrate.alembic_config(create_engine("sqlite://"))
    ).get_current_head()
    assert revisions == [head] * THREADS
    for url in urls:
        get_engine(url).dispose()
