"""The staging tables a price import fills before anything of it reaches `price`.

Both are temporary tables: each database connection has its own, and they go with the
connection. An import writes every good line's prices to `pricestage` a chunk per transaction
(on SQLite a temporary table is written without the database's write lock, so the API's writers
carry on), finds the (code, day)s given two closes, then settles one price per (code, day) in
`pricestaged` with whether it is new or differs from the stored close. The sanity gate reads
that, and `swap` writes only the prices that change into `price`, in one short transaction. A
bad line anywhere, a refusal or a crash before the swap leaves `price` as it was and nothing
behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from core.services import prices
from core.services.price_files import KEPT, Row
from core.tables import Price, utcnow

# Apart from SQLModel's tables: migrations neither create nor expect them.
_TEMPORARY = MetaData()
LINES = Table(  # every price of every good line, indexed once they are all in (`index`)
    "pricestage",
    _TEMPORARY,
    Column("code", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("line", Integer, nullable=False),
    Column("close", Float, nullable=False),
    prefixes=["TEMPORARY"],
)
STAGED = Table(  # one price per (code, day): its first line, and what it does to `price`
    "pricestaged",
    _TEMPORARY,
    Column("code", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("line", Integer, nullable=False),
    Column("close", Float, nullable=False),
    Column("changes", Boolean, nullable=False),  # new, or not the stored close
    Column("replaces", Boolean, nullable=False),  # not the stored close
    prefixes=["TEMPORARY"],
)


def open_stage(session: Session) -> None:
    """Empty staging tables on this session's connection."""
    close_stage(session)
    _TEMPORARY.create_all(session.connection())


def close_stage(session: Session) -> None:
    _TEMPORARY.drop_all(session.connection(), checkfirst=True)


def stage(session: Session, rows: Sequence[Row]) -> None:
    """Add these rows to the staging table, through the driver: SQLAlchemy's processing of
    each row's parameters took four times as long as SQLite's insert, and PostgreSQL copies
    rows in far quicker than it inserts them."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection  # psycopg, in this transaction
        copying = "COPY pricestage (code, day, line, close) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(copying) as copy:
            for r in rows:
                copy.write_row((r.code, r.day, r.line, r.close))
        return
    connection.exec_driver_sql(  # SQLite keeps a day as ISO text, as SQLAlchemy's Date does
        "INSERT INTO pricestage (code, day, line, close) VALUES (?, ?, ?, ?)",
        [(r.code, r.day.isoformat(), r.line, r.close) for r in rows],
    )


def index(session: Session) -> None:
    """Index the staged lines by (code, day), once all are in: a few times quicker than an
    index kept up line by line (on SQLite, 1.3 million lines in 4.5 s instead of 20)."""
    session.execute(text("CREATE INDEX ix_pricestage ON pricestage (code, day, line)"))


def duplicates(session: Session) -> tuple[list[str], int]:
    """Lines giving a (code, day) another close than its first line does: the first KEPT
    named, and how many in all."""
    here = LINES.c
    first = (
        select(here.code, here.day, func.min(here.line).label("line"))
        .group_by(here.code, here.day)
        .having(func.count() > 1)
        .subquery("first")
    )
    earlier = aliased(LINES, name="earlier")
    query = (
        select(here.line, here.code, here.day, here.close, first.c.line, earlier.c.close)
        .join(first, and_(first.c.code == here.code, first.c.day == here.day))
        .join(
            earlier,
            and_(
                earlier.c.code == first.c.code,
                earlier.c.day == first.c.day,
                earlier.c.line == first.c.line,
            ),
        )
        .where(here.close != earlier.c.close)
    )
    found = [
        f"line {line}: {code} on {prices.as_day(day).isoformat()} is {close:g} here and {was:g} "
        f"on line {at}"
        for line, code, day, close, at, was in session.execute(
            query.order_by(here.line).limit(KEPT)
        )
    ]
    total = len(found)
    if total == KEPT:
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    return found, total


def settle(session: Session) -> dict[str, Any] | None:
    """One price per (code, day) staged (once `duplicates` found none), marked against the
    stored closes: how many, of which codes, from and to which day (None: no prices)."""
    here = LINES.c
    first = (
        select(here.code, here.day, func.min(here.line).label("line"), func.min(here.close))
        .group_by(here.code, here.day)
        .subquery("first")
    )
    stored = col(Price.close)
    marked = select(
        *first.c,
        or_(stored.is_(None), stored != first.c[3]),
        and_(stored.is_not(None), stored != first.c[3]),
    ).outerjoin(Price, and_(col(Price.code) == first.c.code, col(Price.day) == first.c.day))
    session.execute(STAGED.insert().from_select([c.name for c in STAGED.c], marked))
    count, start, end = session.execute(
        select(func.count(), func.min(STAGED.c.day), func.max(STAGED.c.day))
    ).one()
    if not count:
        return None
    codes = session.execute(select(STAGED.c.code).distinct().order_by(STAGED.c.code)).scalars()
    return {
        "rows": count,
        "codes": list(codes),
        "from": prices.as_day(start),
        "to": prices.as_day(end),
    }


def mark_changes(session: Session) -> None:
    """Mark each staged price again against the stored closes, as `price` holds them now."""
    stored = and_(col(Price.code) == STAGED.c.code, col(Price.day) == STAGED.c.day)
    same = exists().where(stored, col(Price.close) == STAGED.c.close)
    other = exists().where(stored, col(Price.close) != STAGED.c.close)
    session.execute(update(STAGED).values(changes=~same, replaces=other))


def lock(session: Session) -> int:
    """Take the price mark for this transaction (one import's swap at a time; on SQLite, the
    write lock at once, before anything is read) and return its version."""
    prices.seed_mark(session)
    return prices.version(session, for_update=True)


def swap(session: Session) -> tuple[int, int, int | None]:
    """Store the staged prices that change `price`, in (code, day) order, after `lock`: how
    many were new or different, how many of those replaced a stored close, and the price mark
    they made (None when nothing changed)."""
    changed, replaced = session.execute(
        select(func.count(), func.count().filter(STAGED.c.replaces)).where(STAGED.c.changes)
    ).one()
    if not changed:
        return 0, 0, None
    stamp = literal(utcnow(), type_=Price.__table__.c.imported_at.type)  # type: ignore[attr-defined]
    new = (
        select(STAGED.c.code, STAGED.c.day, STAGED.c.close, stamp)
        .where(STAGED.c.changes)
        .order_by(STAGED.c.code, STAGED.c.day)
    )
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(Price).from_select(["code", "day", "close", "imported_at"], new)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["code", "day"],
            set_={"close": statement.excluded.close, "imported_at": statement.excluded.imported_at},
        )
    )
    prices.bump(session)
    return int(changed), int(replaced), prices.version(session)
