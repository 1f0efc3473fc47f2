"""Outcomes of delivered plans, as stored rows (DESIGN §5.5): what is stale, and what the
aggregates, breaches and flags read.

One row per delivered run, written by tools/outcomes and never deleted with a client: a client
who left or was planned again still has every plan they were delivered counted in the period it
was delivered in, so the aggregates carry no survivorship bias. A row measured on prices older
than the price mark is stale: one process at a time measures the stale rows again, under the
refresh lease on the price mark (tools/outcomes/service.py).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy import select as select_columns
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased, defer
from sqlmodel import Session, col, select

from core.services import cursors, prices
from core.tables import Client, Delivery, Outcome, PriceMark, Principal, Run, utcnow

GroupBy = Literal["advisor", "tier"]
UNASSIGNED = "(none)"  # the group of plans whose client had no advisor


def _stale(query: Any, version: int) -> Any:
    """Delivered runs whose stored outcome is missing or measured on older prices."""
    return (
        query.join(Delivery, col(Delivery.run_id) == col(Run.id))
        .outerjoin(Outcome, col(Outcome.run_id) == col(Run.id))
        .where(or_(col(Outcome.run_id).is_(None), col(Outcome.prices_version) < version))
    )


def stale_runs(
    session: Session, version: int, limit: int, after: str | None = None
) -> list[tuple[Run, Delivery, Outcome | None]]:
    """Delivered runs with no outcome, or one measured on older prices, with their delivery
    and that outcome (without its figures document), in id order after `after` (a keyset:
    each page starts where the last ended, whatever was measured since)."""
    query = _stale(select(Run, Delivery, Outcome), version).options(defer(Outcome.figures))  # type: ignore[arg-type]
    if after is not None:
        query = query.where(col(Run.id) > after)
    return list(session.exec(query.order_by(col(Run.id)).limit(limit)).all())


def stale_count(session: Session, version: int) -> int:
    """How many delivered runs stale_runs would page through."""
    return int(session.exec(_stale(select(func.count()).select_from(Run), version)).one())


def take_refresh(session: Session, owner: str, seconds: float) -> bool:
    """Take (or renew) the lease on measuring outcomes again: one process at a time does it,
    and a lease its holder stopped renewing lapses for another to take."""
    prices.seed_mark(session)
    now = utcnow()
    taken = session.execute(
        update(PriceMark)
        .where(
            col(PriceMark.id) == 1,
            or_(
                col(PriceMark.refresh_owner).is_(None),
                col(PriceMark.refresh_owner) == owner,
                col(PriceMark.refresh_until) < now,
            ),
        )
        .values(refresh_owner=owner, refresh_until=now + timedelta(seconds=seconds))
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def release_refresh(session: Session, owner: str) -> None:
    session.execute(
        update(PriceMark)
        .where(col(PriceMark.id) == 1, col(PriceMark.refresh_owner) == owner)
        .values(refresh_owner=None, refresh_until=None)
    )


def credited_advisor(run: Run) -> str | None:
    """The client's advisor when the plan was made: a later change of advisor does not move a
    plan's result to the new one."""
    advisor = run.client_snapshot.get("advisor_id")
    return advisor if isinstance(advisor, str) else None


def _row(
    measured: tuple[Run, Delivery, dict[str, Any], Outcome | None],
    version: int,
    cause: str | None,
    now: Any,
) -> dict[str, Any]:
    run, delivery, doc, previous = measured
    plan = doc.get("plan") or {}
    excess = doc.get("excess") or {}
    breach = bool(doc.get("drawdown_breach"))
    # A breach found where the last measure found none was made by the prices measured on;
    # one already there keeps its cause (a first measure's has none).
    if not breach or previous is None:
        caused_by = None
    else:
        caused_by = previous.breach_import if previous.breach else cause
    return {
        "run_id": run.id,
        "client_id": run.client_id,
        "advisor_id": credited_advisor(run),
        "tier": run.tier,
        "from_day": date.fromisoformat(doc["from"]),
        "to_day": date.fromisoformat(doc["to"]),
        "delivered_at": delivery.delivered_at,
        "coverage": float(doc.get("coverage") or 0.0),
        "annualised": bool(doc.get("annualised")),
        "plan_return": plan.get("return"),
        "plan_volatility": plan.get("volatility"),
        "max_drawdown": plan.get("max_drawdown"),
        "tolerance": float(doc.get("tolerance") or 0.0),
        "excess_vs_holdings": excess.get("holdings"),
        "excess_vs_equal_weight": excess.get("equal_weight"),
        "breach": breach,
        "breach_import": caused_by,
        "figures": doc,
        "prices_version": version,
        "computed_at": now,
    }


def save(
    session: Session,
    measured: Sequence[tuple[Run, Delivery, dict[str, Any], Outcome | None]],
    version: int,
    cause: str | None = None,
) -> list[dict[str, Any]]:
    """Insert or replace these runs' outcomes, each measured with the one stored before it
    (two refreshers at once both succeed; the later write stands), and return the rows saved.
    `cause`: the price import whose mark `version` is, which a new breach is labelled with."""
    if not measured:
        return []
    now = utcnow()
    values = [_row(item, version, cause, now) for item in measured]
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(Outcome)
    upsert = statement.on_conflict_do_update(
        index_elements=["run_id"],
        set_={k: statement.excluded[k] for k in values[0] if k != "run_id"},
    )
    session.execute(upsert, values)  # executemany: compiled once, cached
    return values


def get(session: Session, run_id: str) -> Outcome | None:
    return session.get(Outcome, run_id)


def scoped(query: Any, start: date | None, end: date | None, principal: Principal | None) -> Any:
    """The query limited to plans made in [start, end] (by as_of), and to an advisor's own."""
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
    query = scoped(
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
) -> list[tuple[Outcome, str | None]]:
    """Breaches to act on, newest plan first, each with the client's advisor now: measured
    plans whose drawdown passed the client's tolerance and that are still the client's latest
    delivered plan, of clients still with the firm. An advisor sees their current clients'
    (a client moved to another advisor goes with the breach; the aggregates still credit the
    plan to the advisor who made it)."""
    query = _breaches(start, end, principal)
    return [(row, advisor) for row, advisor in session.exec(query)]


def breach_page(
    session: Session,
    *,
    start: date | None = None,
    end: date | None = None,
    principal: Principal | None = None,
    limit: int,
    cursor: str | None = None,
) -> cursors.Page[tuple[Outcome, str | None]]:
    """A page of `breaches`, each with the cursor that continues after it; and the next
    page's cursor, None on the last."""
    query = _breaches(start, end, principal)
    if cursor:  # an empty one, as none, starts at the first page
        keys = (cursors.day, cursors.row_id)
        day, run_id = cursors.decode(cursor, keys, "the newest plan")
        query = query.where(
            or_(
                col(Outcome.from_day) < day,
                and_(col(Outcome.from_day) == day, col(Outcome.run_id) > run_id),
            )
        )
    found = [(row, advisor) for row, advisor in session.exec(query.limit(limit + 1))]
    return cursors.page(found, limit, _after_breach)


def _after_breach(breach: tuple[Outcome, str | None]) -> str:
    return cursors.encode(breach[0].from_day, breach[0].run_id)


def _breaches(start: date | None, end: date | None, principal: Principal | None) -> Any:
    query = (
        select(Outcome, col(Client.advisor_id))
        .join(Client, col(Client.id) == col(Outcome.client_id))
        .options(defer(Outcome.figures))  # type: ignore[arg-type]
        .where(col(Outcome.breach), ~_superseded())
    )
    query = scoped(query, start, end, None)  # scoped below by the client's advisor now
    if principal is not None and principal.role == "advisor":
        query = query.where(col(Client.advisor_id) == principal.name)
    return query.order_by(col(Outcome.from_day).desc(), col(Outcome.run_id))


def superseded(session: Session, row: Outcome) -> bool:
    """True once a plan was delivered to the client after this one (and measured)."""
    query = (
        select(func.count())
        .select_from(Outcome)
        .where(col(Outcome.run_id) == row.run_id, _superseded())
    )
    return bool(session.exec(query).one())


def _superseded() -> Any:
    """EXISTS an outcome of a plan delivered to the same client later (ties, which need two
    deliveries in one microsecond, broken by run id)."""
    later = aliased(Outcome)
    return exists().where(
        col(later.client_id) == col(Outcome.client_id),
        or_(
            col(later.delivered_at) > col(Outcome.delivered_at),
            and_(
                col(later.delivered_at) == col(Outcome.delivered_at),
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


def breach_public(row: Outcome, advisor_id: str | None) -> dict[str, Any]:
    """One breach as a list shows it: whose plan (the client's advisor now, and who made the
    plan), over what period, how far it fell against how far the client accepted, on what
    share of the plan that was measured, and the price import that made it a breach when the
    plan was measured again (None when its first measure found it)."""
    return {
        "run_id": row.run_id,
        "client_id": row.client_id,
        "advisor_id": advisor_id,
        "planned_by": row.advisor_id,
        "from": row.from_day.isoformat(),
        "to": row.to_day.isoformat(),
        "max_drawdown": row.max_drawdown,
        "tolerance": row.tolerance,
        "return": row.plan_return,
        "volatility": row.plan_volatility,
        "coverage": row.coverage,
        "price_import": row.breach_import,
    }
