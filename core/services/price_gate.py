"""The sanity gate a price import passes before it is stored (README "Service effect").

Only what the import changes is judged (a price new or different from the stored one): a row
equal to the stored close was judged, or overridden, when it was first stored, so history
imported again is not refused again. Two things are refused, each with the line that brings it,
unless the import is overridden with a reason (recorded with the import and audited):

- **A daily move** beyond TIERWISE_PRICES__MAX_DAILY_MOVE (a fraction under 1; 0.40 by default):
  close to close between two consecutive price days of one product, up or down, where either
  close is one the import changes. Stored prices are its neighbours, so one bad row between
  stored closes is refused for the move into it and the move out of it.
- **A changed row far ahead**: dated more than TIERWISE_PRICES__MAX_DAYS_AHEAD days past the
  last day most of the other shelf products with prices (stored or imported; a strict majority
  of them) have prices on. For a first import the others are the file's own products; a
  product alone in the first import, or alone on the shelf with prices, has no others, and only
  the future-date check of every line applies to it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    Integer,
    case,
    cast,
    exists,
    false,
    func,
    null,
    or_,
    select,
    union_all,
)
from sqlmodel import Session, col

from core.services.price_files import KEPT, InvalidPrices, line_of
from core.services.price_stage import STAGED
from core.services.prices import as_day
from core.settings import PricePolicy
from core.tables import Price


class ImplausiblePrices(InvalidPrices):
    """Lines the sanity gate refuses: an import overridden with a reason lets them through."""

    def __init__(self, problems: list[str], total: int) -> None:
        super().__init__(
            problems,
            total,
            hint="if these prices are right, import them again with an override and its reason "
            '(tierwise prices import --override REASON, or "override": {"reason": ...})',
        )


def check(session: Session, policy: PricePolicy, known: Collection[str]) -> tuple[list[str], int]:
    """What the gate refuses in the staged rows: the first KEPT in line order, and how many."""
    moves, move_total = _moves(session, policy.max_daily_move)
    ahead, ahead_total = _ahead(session, policy.max_days_ahead, known)
    return sorted([*moves, *ahead], key=line_of)[:KEPT], move_total + ahead_total


def _moving(limit: float) -> Any:
    """Consecutive closes of a product, staged or stored, at least one of them a staged close
    that changes `price`, that move past `limit`: code, day, close, line and the day, close and
    line before, and the line named (the changing one: the later if both are), in its order.
    A staged close the import does not change is judged as a stored one: not at all."""
    staged = STAGED.c
    stored = select(
        col(Price.code),
        col(Price.day),
        col(Price.close),
        cast(null(), Integer).label("line"),
        false().label("changes"),
    ).where(
        col(Price.code).in_(select(staged.code).where(staged.changes)),
        ~exists().where(staged.code == col(Price.code), staged.day == col(Price.day)),
    )
    mine = select(staged.code, staged.day, staged.close, staged.line, staged.changes).where(
        staged.code.in_(select(staged.code).where(staged.changes))
    )
    m = union_all(mine, stored).subquery("merged").c

    def before(column: Any, kind: Any, name: str) -> Any:  # on the product's price day before
        return func.lag(column, type_=kind).over(partition_by=m.code, order_by=m.day).label(name)

    paired = select(
        m.code,
        m.day,
        m.close,
        m.line,
        before(m.day, Date, "prev_day"),
        before(m.close, Float, "prev_close"),
        before(m.line, Integer, "prev_line"),
        m.changes,
        before(m.changes, Boolean, "prev_changes"),
    ).subquery("paired")
    p = paired.c
    named = case((p.changes, p.line), else_=p.prev_line)
    return (
        select(p.code, p.day, p.close, p.line, p.prev_day, p.prev_close, p.prev_line, named)
        .where(
            p.prev_close.is_not(None),
            or_(p.changes, p.prev_changes),
            or_(p.close > p.prev_close * (1 + limit), p.close < p.prev_close * (1 - limit)),
        )
        .order_by(named, p.day)
    )


def _moves(session: Session, limit: float) -> tuple[list[str], int]:
    named: dict[int, list[str]] = {}  # by line: a row is named for the move into it and out
    total = 0
    for code, day, close, line, prev_day, prev_close, prev_line, at in session.execute(
        _moving(limit)
    ):
        if at not in named:
            total += 1
        if at in named or len(named) < KEPT:
            source = f" (line {prev_line})" if line is not None and prev_line is not None else ""
            named.setdefault(at, []).append(
                f"{code} moves {close / prev_close - 1:+,.1%} from {prev_close:g} on "
                f"{as_day(prev_day).isoformat()}{source} to {close:g} on {as_day(day).isoformat()}"
            )
    found = [
        f"line {at}: {'; '.join(moves)}, over the {limit * 100:g}% a day allowed"
        for at, moves in named.items()
    ]
    return found, total


def _ahead(session: Session, days: int, known: Collection[str]) -> tuple[list[str], int]:
    staged = STAGED.c
    ends = {
        code: as_day(day)
        for code, day in session.execute(
            select(col(Price.code), func.max(col(Price.day))).group_by(col(Price.code))
        )
    }
    imported = {  # the last changing day of each product (an unchanged row is stored already)
        code: as_day(day)
        for code, day in session.execute(
            select(staged.code, func.max(staged.day)).where(staged.changes).group_by(staged.code)
        )
    }
    for code, day in imported.items():
        ends[code] = max(day, ends.get(code, day))
    found: list[str] = []
    total = 0
    for code in sorted(imported):
        others = sorted((d for c, d in ends.items() if c != code and c in known), reverse=True)
        if not others:
            continue
        common = others[len(others) // 2]  # a strict majority of the others reach it
        if imported[code] <= common + timedelta(days=days):
            continue
        rows = select(staged.line, staged.day).where(
            staged.code == code, staged.changes, staged.day > common + timedelta(days=days)
        )
        for line, day in session.execute(rows.order_by(staged.line)):
            total += 1
            if len(found) < KEPT:
                found.append(
                    f"line {line}: {code} on {as_day(day).isoformat()} is "
                    f"{(as_day(day) - common).days} days past {common.isoformat()}, the last day "
                    f"most other shelf products have prices on ({days} days allowed)"
                )
    return found, total
