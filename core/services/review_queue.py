"""The review queue at batch scale: pending reviews paged and sorted in the database through
keyset cursors, never in Python, and the plan last delivered to a client, for the plan page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, case, exists, func, or_
from sqlmodel import Session, col, select

from core.errors import Forbidden
from core.services import clients, cursors, principals
from core.services.approvals import REVIEWERS
from core.tables import Approval, Delivery, Principal, Run, as_utc

QueueSort = Literal["waited", "risk", "verdict"]
# Compliance verdicts, most severe first: the order tools/compliance/engine.VERDICT_ORDER ranks.
VERDICT_SEVERITY = {"block": 3, "revise": 2, "escalate": 1, "pass": 0}
PAGE_SIZE, MAX_PAGE_SIZE = 50, 100


@dataclass(frozen=True)
class QueueQuery:
    """Which page of the queue: its order, its filters, and the cursor it starts from (the
    last row of the page before it, `after`, or the first row of the page after it, `before`)."""

    sort: QueueSort = "waited"
    size: int = PAGE_SIZE
    after: str | None = None
    before: str | None = None
    tier: str | None = None
    level: str | None = None
    verdict: str | None = None
    pool: bool = False  # the duty pool's unclaimed reviews (clients with no advisor) only


@dataclass(frozen=True)
class QueueRow:
    """A pending review as the queue lists it."""

    id: str
    client_id: str
    advisor_id: str | None
    verdict: str
    created_at: datetime
    risk_level: str
    volatility: float
    tier: str | None
    name: str
    flags: list[str]


@dataclass(frozen=True)
class QueuePage:
    """One page, where it stands in the whole queue, and the cursors to the pages beside it."""

    rows: list[QueueRow]
    total: int  # pending reviews matching the filters
    overdue: int  # of them, those opened before the review-time target's start
    start: int  # the 1-based position of the first row
    next: str | None  # `after` for the page after this one
    previous: str | None  # `before` for the page before this one


class _Key(NamedTuple):
    expr: SQLColumnExpression[Any]
    descending: bool
    parse: Callable[[str], Any]  # reads the key from a cursor (core/services/cursors.py)


_SEVERITY = case(VERDICT_SEVERITY, value=col(Approval.verdict), else_=0)
_WAITED = [
    _Key(col(Approval.created_at), False, cursors.instant),
    _Key(col(Approval.id), False, cursors.row_id),
]
# Ties broken by waiting time, then id: every order is total, so pages never overlap.
SORT_KEYS: dict[QueueSort, list[_Key]] = {
    "waited": _WAITED,
    "risk": [
        _Key(col(Approval.risk_level), True, cursors.text),
        _Key(col(Approval.volatility), True, cursors.number),
        *_WAITED,
    ],
    "verdict": [_Key(_SEVERITY, True, cursors.serial), *_WAITED],
}


def queue_page(
    session: Session, principal: Principal, query: QueueQuery, overdue_before: datetime
) -> QueuePage:
    """A page of the pending reviews the principal may see (an advisor's own, everyone's for a
    supervisor), in the query's order, through a keyset cursor: O(page) however deep."""
    if principal.role not in REVIEWERS:
        raise Forbidden("only advisors and supervisors review plans")
    if query.pool:
        ensure_pool_reader(principal)
    keys, where = SORT_KEYS[query.sort], _queue_scope(principal, query)
    late = func.coalesce(func.sum(case((col(Approval.created_at) < overdue_before, 1), else_=0)), 0)
    total, overdue = session.execute(select(func.count(), late).where(*where)).one()
    found, more = _page_keys(session, keys, where, query)
    forward = query.before is None
    if not forward and not more:  # back at the start: the first page, in full
        forward, query = True, QueueQuery(query.sort, query.size)
        found, more = _page_keys(session, keys, where, query)
    if not found:
        return QueuePage([], total, overdue, 0, None, None)
    first, last = found[0][1:], found[-1][1:]
    ahead = session.execute(
        select(func.count()).where(*where, _beyond(keys, first, forward=False))
    ).scalar_one()
    return QueuePage(
        rows=_queue_rows(session, [r[0] for r in found]),
        total=total,
        overdue=overdue,
        start=ahead + 1,
        next=cursors.encode(query.sort, *last) if more or not forward else None,
        previous=cursors.encode(query.sort, *first) if ahead else None,
    )


def _page_keys(
    session: Session, keys: list[_Key], where: list[ColumnElement[bool]], query: QueueQuery
) -> tuple[list[tuple[Any, ...]], bool]:
    """The page's (id, *sort keys) in order, and whether more lie beyond it, going the query's
    way: forward from `after` (or the start), back from `before`."""
    forward, cursor = query.before is None, query.before or query.after
    bound = [] if cursor is None else [_beyond(keys, _decode(cursor, query.sort, forward), forward)]
    found = session.execute(
        select(col(Approval.id), *(k.expr for k in keys))
        .where(*where, *bound)
        .order_by(*(_direction(k, forward) for k in keys))
        .limit(query.size + 1)
    ).all()
    page = [tuple(r) for r in found[: query.size]]
    return (page if forward else page[::-1]), len(found) > query.size


# In the duty pool: the client has no advisor and nobody has claimed the review (a claim gives
# it the claimant as its advisor; approvals.in_pool says the same of one review).
_POOL = (col(Approval.advisor_id).is_(None), col(Approval.claimed_by).is_(None))


def ensure_pool_reader(principal: Principal) -> None:
    """The duty pool is for advisors on duty (to claim from) and supervisors (to watch)."""
    if principal.role == "supervisor":
        return
    if principal.role != "advisor" or not principal.on_duty:
        raise Forbidden(
            "the duty pool is for advisors on duty and supervisors: go on duty first "
            f"(PUT /v1/principals/{principal.name}/duty)"
        )


def pool_counts(session: Session, overdue_before: datetime) -> tuple[int, int]:
    """How many reviews wait unclaimed in the duty pool, and how many of them were opened
    before the review-time target's start (what supervisors are shown to act on)."""
    late = func.coalesce(func.sum(case((col(Approval.created_at) < overdue_before, 1), else_=0)), 0)
    where = [col(Approval.status) == "pending", *_POOL]
    total, overdue = session.execute(select(func.count(), late).where(*where)).one()
    return int(total), int(overdue)


def _queue_scope(principal: Principal, query: QueueQuery) -> list[ColumnElement[bool]]:
    where = [col(Approval.status) == "pending"]
    advisor = principals.advisor_scope(principal)
    if query.pool:
        where.extend(_POOL)
    elif advisor is not None:
        where.append(col(Approval.advisor_id) == advisor)
    if query.level:
        where.append(col(Approval.risk_level) == query.level)
    if query.verdict:
        where.append(col(Approval.verdict) == query.verdict)
    if query.tier:
        where.append(exists().where(col(Run.id) == Approval.run_id, col(Run.tier) == query.tier))
    return where


def _direction(key: _Key, forward: bool) -> ColumnElement[Any]:
    return key.expr.desc() if key.descending == forward else key.expr.asc()


def _beyond(keys: list[_Key], values: Sequence[Any], forward: bool) -> ColumnElement[bool]:
    """Rows after `values` in the keys' order (before them, going back): (k1 > v1) or (k1 = v1
    and k2 > v2) or …, led by k1 >= v1 so that an index on the first key bounds the scan."""

    def past(key: _Key, value: Any, strict: bool) -> ColumnElement[bool]:
        later = key.descending != forward
        if strict:
            beyond: ColumnElement[bool] = key.expr > value if later else key.expr < value
        else:
            beyond = key.expr >= value if later else key.expr <= value
        return beyond

    tiers = [
        and_(
            *(k.expr == v for k, v in zip(keys[:i], values[:i], strict=True)),
            past(keys[i], values[i], True),
        )
        for i in range(len(keys))
    ]
    return and_(past(keys[0], values[0], False), or_(*tiers))


def _decode(cursor: str, sort: QueueSort, forward: bool) -> tuple[Any, ...]:
    """The sort keys a cursor holds; InvalidInput for one that is not this order's."""
    keys = (cursors.exactly(sort), *(k.parse for k in SORT_KEYS[sort]))
    name = "after" if forward else "before"
    return cursors.decode(cursor, keys, "page one", name=name)[1:]


def _queue_rows(session: Session, ids: list[str]) -> list[QueueRow]:
    """The page's reviews in the order of `ids`, with what the queue shows of their runs: the
    client's name and behaviour flags, not the whole snapshot and profile."""
    a = Approval
    columns: list[Any] = [a.id, a.client_id, a.advisor_id, a.verdict, a.created_at]
    columns += [a.risk_level, a.volatility, a.findings, Run.tier]
    columns += [col(Run.client_snapshot)["name"], col(Run.profile)["behaviour_flags"]]
    found = session.execute(
        select(*columns).join(Run, col(Run.id) == a.run_id).where(col(a.id).in_(ids))
    ).all()
    by_id = {row[0]: row for row in found}
    rows = []
    for approval_id in (i for i in ids if i in by_id):
        _, client_id, advisor_id, verdict, created, level, vol, findings, tier, name, behaviour = (
            by_id[approval_id]
        )
        flags = [f["rule_id"] for f in findings if f["verdict"] != "pass"]
        flags += [f["flag"] for f in behaviour or []]
        created, name = as_utc(created), clients.shown_name({"name": name})
        rows.append(
            QueueRow(
                approval_id, client_id, advisor_id, verdict, created, level, vol, tier, name, flags
            )
        )
    return rows


@dataclass(frozen=True)
class DeliveredPlan:
    """A plan a client was sent: its run, the plan, and when."""

    run_id: str
    plan: dict[str, Any]
    delivered_at: datetime


def last_delivered(session: Session, run: Run) -> DeliveredPlan | None:
    """The plan most recently delivered to the run's client by an earlier run, or None."""
    found = session.execute(
        select(col(Run.id), col(Run.plan), col(Delivery.delivered_at))
        .join(Delivery, col(Delivery.run_id) == Run.id)
        .where(
            col(Run.client_id) == run.client_id,
            col(Run.status) == "delivered",
            col(Run.created_at) < run.created_at,
        )
        .order_by(col(Delivery.delivered_at).desc(), col(Run.id).desc())
        .limit(1)
    ).first()
    if found is None or not found[1]:
        return None
    return DeliveredPlan(found[0], found[1], as_utc(found[2]))
