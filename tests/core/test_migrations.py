"""Migrations: they build the schema the tables describe, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from core.database import get_engine
from core.settings import Settings


def test_migrated_database_matches_the_tables(settings: Settings) -> None:
    engine = get_engine(settings.database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    tables = set(inspect(engine).get_table_names())
    assert {"run", "approval", "delivery", "auditevent", "principal", "alembic_version"} <= tables


def test_upgrading_twice_changes_nothing(settings: Settings) -> None:
    from core import migrate

    engine = get_engine(settings.database_url)
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is not None
