"""Schema migrations with Alembic: every database is brought to head before use."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 7_310_615  # an arbitrary, fixed advisory-lock key for schema migrations
# Alembic's command API works through module-global proxies (alembic.context, alembic.op), so two
# threads migrating two databases at once tear each other's context down. One migration at a
# time in this process; the advisory lock above does the same across processes.
_IN_PROCESS = threading.Lock()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to `revision`, in one transaction where the database allows."""
    config = alembic_config(engine)
    with _IN_PROCESS, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several API processes may start at once: one migrates, the others wait for it.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def revise(engine: Engine, message: str) -> None:
    """Write a new migration from the difference between the tables and the database."""
    config = alembic_config(engine)
    with _IN_PROCESS, engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
