"""Migrations: they build the schema the tables describe, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

from core.database import get_engine, session_scope
from core.services import demo, principals
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


BEFORE_PEOPLE = "36de47c9860f"  # the revision before advisors became people


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    from alembic import command

    from core import migrate

    config = migrate.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_people_and_signed_letters_come_and_go_with_their_revision(settings: Settings) -> None:
    """Down to the revision before, principals stay (without their names); up again, they come
    back with empty fields to fill, and a delivery can store its signed letter."""
    engine = get_engine(settings.database_url)
    people = {"display_name", "registration", "contact"}
    assert people <= _columns(engine, "principal") and "document" in _columns(engine, "delivery")
    _migrate(engine, BEFORE_PEOPLE, down=True)
    assert not people & _columns(engine, "principal")
    assert "document" not in _columns(engine, "delivery")
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT name FROM principal ORDER BY name")).scalars()
        assert list(kept) == ["adv-li", "adv-wang"]
    _migrate(engine, "head")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT name, display_name, registration, contact FROM principal ORDER BY name")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("adv-li", None, None, None),
        ("adv-wang", None, None, None),
    ]
    with session_scope(engine) as session:
        assert principals.update(session, "adv-li", demo.DEMO_PEOPLE["adv-li"]).registration
