"""Outcomes of delivered plans, as stored rows (DESIGN §5.5): what is stale, and what the
aggregates, breaches and flags read.

One row per delivered run, written by tools/outcomes and never deleted with a client: a client
who left or was planned again still has every plan they were delivered counted in the period it
was delivered in, so the aggregates carry no survivorship bias. A row measured on prices older
than the price mark is stale and measured again before anything reads it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from sqlalchemy import and_, exists, func, or_
from sqlalchemy import select as select_columns
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from core.tables import Delivery, Outcome, Principal, Run, utcnow

GroupBy = Literal["advisor", "tier"]
UNASSIGNED = "(none)"  # the group of plans whose client had no advisor


def stale_runs(session: Session, version: int, limit: int) -> list[Run]:
    """Delivered runs with no outcome, or one measured on other prices, oldest first."""
    query = (
        select(Run)
        .join(Delivery, col(Delivery.run_id) == col(Run.id))
        .outerjoin(Outcome, col(Outcome.run_id) == col(Run.id))
        .where(or_(col(Outcome.run_id).is_(None), col(Outcome.prices_version) != version))
        .order_by(col(Run.id))
        .limit(limit)
    )
    return list(session.exec(query).all())


def stale_count(session: Session, version: int) -> int:
    query = (
        select(func.count())
        .select_from(Run)
        .join(Delivery, col(Delivery.run_id) == col(Run.id))
        .outerjoin(Outcome, col(Outcome.run_id) == col(Run.id))
        .where(or_(col(Outcome.run_id).is_(None), col(Outcome.prices_version) != version))
    )
    return int(session.exec(query).one())


def credited_advisor(run: Run) -> str | None:
    """The client's advisor when the plan was made: a later change of advisor does not move a
    plan's result to the new one."""
    advisor = run.client_snapshot.get("advisor_id")
    return advisor if isinstance(advisor, str) else None


def save(session: Session, run: Run, doc: dict[str, Any], version: int) -> None:
    """Insert or replace the run's outcome (two refreshers at once both succeed)."""
    plan = doc.get("plan") or {}
    excess = doc.get("excess") or {}
    values = {
        "run_id": run.id,
        "client_id": run.client_id,
        "advisor_id": credited_advisor(run),
        "tier": run.tier,
        "from_day": date.fromisoformat(doc["from"]),
        "to_day": date.fromisoformat(doc["to"]),
        "coverage": float(doc.get("coverage") or 0.0),
        "plan_return": plan.get("return"),
        "excess_vs_holdings": excess.get("holdings"),
        "excess_vs_equal_weight": excess.get("equal_weight"),
        "breach": bool(doc.get("drawdown_breach")),
        "figures": doc,
        "prices_version": version,
        "computed_at": utcnow(),
    }
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(Outcome).values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["run_id"],
            set_={k: statement.excluded[k] for k in values if k != "run_id"},
        )
    )


def get(session: Session, run_id: str) -> Outcome | None:
    return session.get(Outcome, run_id)


def _period(query: Any, start: date | None, end: date | None, principal: Principal | None) -> Any:
    if start is not None:
        query = query.where(col(Outcome.from_day) >= start)
    if end is not None:
        query = query.where(col(Outcome.from_day) <= end)
    if principal is not None and principal.role == "advisor":
        query = query.where(col(Outcome.advisor_id) == principal.name)
    return query


def _quartiles(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def aggregate(
    session: Session,
    group_by: GroupBy,
    *,
    start: date | None = None,
    end: date | None = None,
    principal: Principal | None = None,
) -> list[dict[str, Any]]:
    """Per advisor or tier: every plan delivered in [start, end] (by its as_of), how many could
    be measured, the median and interquartile range of excess return over each baseline, and
    the share of measured plans whose drawdown passed the client's tolerance."""
    key = col(Outcome.advisor_id) if group_by == "advisor" else col(Outcome.tier)
    query = _period(
        select_columns(
            key,
            col(Outcome.plan_return),
            col(Outcome.excess_vs_holdings),
            col(Outcome.excess_vs_equal_weight),
            col(Outcome.breach),
        ),
        start,
        end,
        principal,
    )
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for group, *figures in session.execute(query).all():
        rows[group or UNASSIGNED].append(tuple(figures))
    groups = []
    for group in sorted(rows):
        members = rows[group]
        measured = [m for m in members if m[0] is not None]
        vs_holdings = sorted(m[1] for m in measured if m[1] is not None)
        vs_equal = sorted(m[2] for m in measured if m[2] is not None)
        h1, hm, h3 = _quartiles(vs_holdings)
        e1, em, e3 = _quartiles(vs_equal)
        breaches = sum(1 for m in measured if m[3])
        groups.append(
            {
                "key": group,
                "plans": len(members),
                "measured": len(measured),
                "median_excess_vs_holdings": hm,
                "iqr_excess_vs_holdings": [h1, h3] if vs_holdings else None,
                "median_excess_vs_equal_weight": em,
                "iqr_excess_vs_equal_weight": [e1, e3] if vs_equal else None,
                "median_return": statistics.median(m[0] for m in measured) if measured else None,
                "breaches": breaches,
                "breach_share": breaches / len(measured) if measured else None,
            }
        )
    return groups


def breaches(
    session: Session,
    *,
    start: date | None = None,
    end: date | None = None,
    principal: Principal | None = None,
    client_ids: Sequence[str] | None = None,
    current: bool = True,
) -> list[Outcome]:
    """Measured plans whose drawdown passed the client's tolerance, newest plan first; with
    `current`, only where the plan is still the client's latest (one planned again since has
    had its review)."""
    query = _period(select(Outcome).where(col(Outcome.breach)), start, end, principal)
    if current:
        query = query.where(~_superseded())
    if client_ids is not None:
        query = query.where(col(Outcome.client_id).in_(list(client_ids)))
    return list(session.exec(query.order_by(col(Outcome.from_day).desc(), col(Outcome.run_id))))


def _superseded() -> Any:
    """EXISTS a later outcome (a plan delivered later) for the same client."""
    later = aliased(Outcome)
    return exists().where(
        col(later.client_id) == col(Outcome.client_id),
        or_(
            col(later.from_day) > col(Outcome.from_day),
            and_(
                col(later.from_day) == col(Outcome.from_day),
                col(later.run_id) > col(Outcome.run_id),
            ),
        ),
    )


def breached_clients(session: Session, client_ids: Sequence[str]) -> set[str]:
    """Which of these clients' latest delivered plan has a drawdown past their tolerance."""
    if not client_ids:
        return set()
    query = select(col(Outcome.client_id)).where(
        col(Outcome.breach), col(Outcome.client_id).in_(list(client_ids)), ~_superseded()
    )
    return set(session.exec(query.distinct()).all())


def public(row: Outcome) -> dict[str, Any]:
    return dict(row.figures)
