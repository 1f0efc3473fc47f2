"""The points of the inbox's outcomes chart: each delivered plan of a period, credited to the
advisor who made it, naming whose plan it was only to those who may see the client now."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from core.services import principals
from core.services.outcomes import scoped
from core.tables import Outcome, Principal, Run


@dataclass(frozen=True)
class PlanPoint:
    """A delivered plan as a chart of the aggregates draws it: its figures, credited to the
    advisor who made it, and whose plan it was (`run_id`, `client_id`, the period) only while
    the viewer may see the client now, by the rule runs.visible applies. A plan whose client
    moved to another advisor still counts for the one who made it, naming no one."""

    advisor_id: str | None
    breach: bool
    annualised: bool
    plan_return: float | None
    plan_volatility: float | None
    max_drawdown: float | None
    tolerance: float
    excess_vs_holdings: float | None
    excess_vs_equal_weight: float | None
    run_id: str | None
    client_id: str | None
    from_day: date | None
    to_day: date | None


# Whose plan it was: left out where the viewer may not see the client now.
_WHOSE = ("run_id", "client_id", "from_day", "to_day")


def plans(
    session: Session,
    *,
    principal: Principal,
    start: date | None = None,
    end: date | None = None,
    limit: int = 2000,
) -> tuple[list[PlanPoint], int]:
    """The newest `limit` plans delivered in the period and credited to what the principal may
    see (scoped as the aggregates are), from their columns alone, and how many there are in
    all. Whose each plan was is left out where the principal may not see the client now."""
    columns = [col(getattr(Outcome, field.name)) for field in fields(PlanPoint)]
    query = select_columns(*columns, col(Run.advisor_id).label("advisor_now")).join(
        Run, col(Run.id) == col(Outcome.run_id)
    )
    rows = scoped(query, start, end, principal)
    found = session.execute(
        rows.order_by(col(Outcome.from_day).desc(), col(Outcome.run_id)).limit(limit)
    )
    points = []
    for row in found:
        values = dict(row._mapping)
        if not principals.can_see(principal, values.pop("advisor_now")):
            values.update(dict.fromkeys(_WHOSE))
        points.append(PlanPoint(**values))
    total = session.exec(scoped(select(func.count()).select_from(Outcome), start, end, principal))
    return points, int(total.one())
