"""Prices: the daily closes of shelf products that outcomes are measured on (DESIGN §5.5).

A file or body is read a line at a time (core/services/price_files.py), staged and checked
(price_stage.py, price_gate.py) and recorded (price_imports.py); tools/outcomes/imports.py runs
an import through them. A price already stored is replaced by an import's (a corrected or
re-adjusted series), and every import that changes a price bumps the price mark, so outcomes
measured on older prices are known to be stale.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core.errors import InvalidInput
from core.tables import Price, PriceMark, utcnow


def _insert(session: Session) -> Any:
    """INSERT into the price mark with ON CONFLICT, in the database's dialect."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(PriceMark)


def seed_mark(session: Session) -> None:
    """Make sure the price mark's one row exists (version 0 before any import), so that it can
    be locked or leased."""
    session.execute(
        _insert(session)
        .values(id=1, version=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"])
    )


def bump(session: Session) -> None:
    """Mark every outcome measured so far as measured on older prices (one statement, so two
    first imports at once both count)."""
    statement = _insert(session).values(id=1, version=1, updated_at=utcnow())
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"],
            set_={"version": PriceMark.version + 1, "updated_at": statement.excluded.updated_at},
        )
    )


def version(session: Session, *, for_update: bool = False) -> int:
    """The price mark's version as the database holds it now (0 before any import);
    `for_update` locks it for this transaction (after seed_mark)."""
    query = select(col(PriceMark.version)).where(col(PriceMark.id) == 1)
    found = session.execute(query.with_for_update() if for_update else query).scalar_one_or_none()
    return int(found or 0)


def as_day(value: date | str) -> date:
    """A day as the database hands it back (SQLite: ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _edge(session: Session, which: Any) -> date | None:
    value = session.execute(select(which(Price.day))).scalar_one_or_none()
    return None if value is None else as_day(value)


def last_day(session: Session) -> date | None:
    """The latest day any product has a price, or None before the first import."""
    return _edge(session, func.max)


def first_day(session: Session) -> date | None:
    """The earliest day any product has a price, or None before the first import."""
    return _edge(session, func.min)


def check_valuation_day(session: Session, day: date, *, shipped_from: date) -> None:
    """Refuse a valuation date (InvalidInput naming `as_of`) after today, or before the earliest
    price: the first stored close, or, with none stored, the first day of the series the
    shipped assumptions were estimated on (`shipped_from`). A past date in between is fine."""
    if day > date.today():
        raise InvalidInput(
            f"as_of {day.isoformat()} is in the future: a plan is dated today or before"
        )
    stored = first_day(session)
    if day < (stored or shipped_from):
        what = (
            f"the first stored price ({stored.isoformat()})"
            if stored
            else f"the first price the shipped assumptions use ({shipped_from.isoformat()})"
        )
        raise InvalidInput(f"as_of {day.isoformat()} is before {what}")


def series(
    session: Session, codes: Collection[str] | None, until: date | None = None
) -> dict[str, list[tuple[date, float]]]:
    """Each code's closes in date order (codes without any are absent; None: every code)."""
    query = select(col(Price.code), col(Price.day), col(Price.close))
    if codes is not None:
        query = query.where(col(Price.code).in_(sorted(codes)))
    if until is not None:
        query = query.where(col(Price.day) <= until)
    out: dict[str, list[tuple[date, float]]] = {}
    for code, day, close in session.execute(query.order_by(col(Price.code), col(Price.day))).all():
        out.setdefault(code, []).append((day, close))
    return out


LAST_CLOSE_DAYS = 10  # as outcomes: a close this many days old still prices a product


def last_closes(
    session: Session, codes: Collection[str], on: date, max_age_days: int = LAST_CLOSE_DAYS
) -> dict[str, float]:
    """Each code's last close on or before `on`, no older than `max_age_days` (codes without
    one are absent): the price a plan made on that day buys exchange lots at."""
    if not codes:
        return {}
    query = (
        select(col(Price.code), col(Price.close))
        .where(col(Price.code).in_(sorted(codes)))
        .where(col(Price.day) <= on, col(Price.day) >= on - timedelta(days=max_age_days))
        .order_by(col(Price.code), col(Price.day))
    )
    return {code: close for code, close in session.execute(query).all()}


def summary(session: Session) -> list[dict[str, Any]]:
    """Per code: how many prices, first and last day."""
    query = (
        select(col(Price.code), func.count(), func.min(Price.day), func.max(Price.day))
        .group_by(col(Price.code))
        .order_by(col(Price.code))
    )
    return [
        {"code": code, "prices": n, "from": str(first), "to": str(last)}
        for code, n, first, last in session.execute(query).all()
    ]
