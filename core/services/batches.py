"""Batches: a run for every client of a selection (千人千策), as data (DESIGN §5.4).

The database is the source of truth; a task engine only carries ids. Each client of a batch is
one item, unique per (batch, client), and has at most one run, whose id is derived from the
pair: a retried, redelivered or re-published item finds the run it made before.

An item is `pending` (no run yet), `started` (its run exists), `settled` (its run ended or waits
for an advisor), `cancelled` (the batch was cancelled before it started) or `failed` (it could
not get a run that finishes: the client is gone or invalid, or it was started too many times;
`error` says which). Whoever starts an item claims it with one conditional update, so a cancel
and a start, or two deliveries of one message, never both win.

A batch's progress counts each item by its run's status, or by its own where it has no run,
so the counts always sum to the total. A batch is `done` when no item is pending or started.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import case, func, insert, or_, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from core.errors import (
    BatchCancelled,
    BatchNotFound,
    ClientNotFound,
    IdempotencyKeyReused,
    InvalidInput,
)
from core.masking import mask_text
from core.schemas.client import STORED, ClientInput
from core.schemas.vocabulary import FINAL_STATUSES
from core.services import cursors, prices, runs
from core.settings import TierPolicy
from core.tables import Batch, BatchItem, Client, Run, as_utc, utcnow

OPEN = ("pending", "started")
SETTLED_RUNS = (*sorted(FINAL_STATUSES), "awaiting_approval")  # ended, or waits for an advisor
CHUNK = 1000  # rows per insert, update or page of ids


def new_batch_id() -> str:
    return f"batch-{uuid.uuid4().hex}"


def run_id_for(batch_id: str, client_id: str) -> str:
    """The one run a batch may make for a client: the same id however often it is asked."""
    digest = hashlib.sha256(f"{batch_id}\x00{client_id}".encode()).hexdigest()
    return f"run-b{digest[:31]}"


@dataclass(frozen=True)
class Selection:
    """Which stored clients a batch covers: the ids given, or every client the filter keeps
    (no ids and no filter: every stored client). Ids and a filter together are InvalidInput:
    a filter would either be ignored or silently drop clients that were named."""

    client_ids: tuple[str, ...] | None = None
    tier: str | None = None
    advisor_id: str | None = None
    risk_level: str | None = None

    def __post_init__(self) -> None:
        filters = (self.tier, self.advisor_id, self.risk_level)
        if self.client_ids is not None and any(f is not None for f in filters):
            raise InvalidInput(
                "client_ids and filter cannot be given together: name the clients, or filter "
                "the stored ones"
            )

    def as_json(self) -> dict[str, Any]:
        if self.client_ids is not None:
            return {"client_ids": len(self.client_ids)}
        filters = {"tier": self.tier, "advisor_id": self.advisor_id, "risk_level": self.risk_level}
        return {"filter": {k: v for k, v in filters.items() if v is not None}}


def _selected(session: Session, selection: Selection, tiers: TierPolicy) -> list[str]:
    """The client ids a selection covers, in a stable order; an id given that is not stored is
    ClientNotFound, naming it (the first few, if many)."""
    if selection.client_ids is not None:
        wanted = list(dict.fromkeys(selection.client_ids))  # a client once, whatever was sent
        found: set[str] = set()
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start : start + CHUNK]
            found.update(session.exec(select(Client.id).where(col(Client.id).in_(part))))
        missing = [c for c in wanted if c not in found]
        if missing:
            shown = ", ".join(repr(c) for c in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise ClientNotFound(f"no client {shown}{more}; nothing was queued")
        return wanted
    if selection.tier is None and selection.risk_level is None:  # no record need be read
        ids = select(Client.id).order_by(col(Client.id))
        if selection.advisor_id is not None:
            ids = ids.where(col(Client.advisor_id) == selection.advisor_id)
        return list(session.exec(ids))
    query = select(Client.id, Client.data).order_by(col(Client.id))
    if selection.advisor_id is not None:
        query = query.where(col(Client.advisor_id) == selection.advisor_id)
    chosen = []
    for client_id, data in session.execute(query.execution_options(yield_per=CHUNK)):
        if selection.tier is not None and tiers.tier(float(data["aum"])) != selection.tier:
            continue
        level = (data.get("risk_assessment") or {}).get("level")
        if selection.risk_level is not None and level != selection.risk_level:
            continue
        chosen.append(client_id)
    return chosen


def replay(session: Session, scoped: tuple[str, str]) -> Batch | None:
    """The batch an earlier request with this key (runs.idempotency scopes it to the caller)
    created; the same key with another body is IdempotencyKeyReused."""
    found = session.exec(select(Batch).where(Batch.idempotency_key == scoped[0])).first()
    if found is not None and found.request_hash != scoped[1]:
        raise IdempotencyKeyReused("this Idempotency-Key was used with a different body")
    return found


def create(
    session: Session,
    selection: Selection,
    *,
    tiers: TierPolicy,
    as_of: date,
    shipped_from: date,
    actor: str,
    request: str | None = None,
    idempotency: tuple[str, str] | None = None,
    batch_id: str | None = None,
) -> Batch:
    """A queued batch with one pending item per selected client, in this transaction. `as_of`
    after today or before the earliest price is InvalidInput (prices.check_valuation_day;
    `shipped_from` is where the shipped assumptions' prices begin)."""
    prices.check_valuation_day(session, as_of, shipped_from=shipped_from)
    chosen = _selected(session, selection, tiers)
    key, request_hash = idempotency or (None, None)
    batch = Batch(
        id=batch_id or new_batch_id(),
        status="queued",
        total=len(chosen),
        request=mask_text(request) if request else request,
        as_of=as_of.isoformat(),
        selection=selection.as_json(),
        requested_by=actor,
        idempotency_key=key,
        request_hash=request_hash,
    )
    session.add(batch)
    session.flush()
    now = utcnow()
    for start in range(0, len(chosen), CHUNK):
        rows = [
            {
                "batch_id": batch.id,
                "client_id": client_id,
                "run_id": run_id_for(batch.id, client_id),
                "status": "pending",
                "attempts": 0,
                "updated_at": now,
            }
            for client_id in chosen[start : start + CHUNK]
        ]
        session.execute(insert(BatchItem), rows)
    if not chosen:  # nothing to do is done at once
        batch.status, batch.finished_at = "done", now
    return batch


def get(session: Session, batch_id: str) -> Batch:
    if not batch_id.isprintable():  # a NUL byte would fail in PostgreSQL's driver, as a 500
        raise BatchNotFound(f"no batch {batch_id!r}")
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise BatchNotFound(f"no batch {batch_id!r}")
    return batch


def resumable(session: Session, batch_id: str) -> Batch:
    """The batch, to be carried on; BatchCancelled if it was cancelled (BatchNotFound if none)."""
    batch = get(session, batch_id)
    if batch.status == "cancelled":
        when = f" at {as_utc(batch.finished_at).isoformat()}" if batch.finished_at else ""
        raise BatchCancelled(
            f"batch {batch_id} was cancelled{when}; what it had not started stays cancelled "
            "(start a new batch for those clients)"
        )
    return batch


def _shown_status() -> Any:
    """An item's status as progress counts it: its run's, else its own (pending is queued)."""
    own = case((col(BatchItem.status) == "pending", "queued"), else_=col(BatchItem.status))
    return func.coalesce(col(Run.status), own)


def counts(session: Session, batch_id: str) -> dict[str, int]:
    """How many of the batch's items are at each status; they sum to the total."""
    shown = _shown_status().label("shown")
    rows = session.execute(
        select(shown, func.count())
        .select_from(BatchItem)
        .outerjoin(Run, col(Run.id) == col(BatchItem.run_id))
        .where(col(BatchItem.batch_id) == batch_id)
        .group_by(shown)
    )
    return {str(status): int(n) for status, n in rows}


def public(session: Session, batch: Batch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "status": batch.status,
        "total": batch.total,
        "counts": counts(session, batch.id),
        "request": batch.request,
        "as_of": batch.as_of,
        "selection": batch.selection,
        "requested_by": batch.requested_by,
        "created_at": batch.created_at.isoformat(),
        "finished_at": batch.finished_at.isoformat() if batch.finished_at else None,
    }


def item_page(
    session: Session, batch_id: str, status: str | None, limit: int, cursor: str | None
) -> cursors.Page[dict[str, Any]]:
    """The batch's items in the order they were queued, each with its shown status and the
    cursor that continues after it; and the next page's cursor, None on the last."""
    get(session, batch_id)
    shown = _shown_status().label("shown")
    query = (
        select_columns(
            col(BatchItem.id), col(BatchItem.client_id), col(Run.id), col(BatchItem.error), shown
        )
        .outerjoin(Run, col(Run.id) == col(BatchItem.run_id))
        .where(col(BatchItem.batch_id) == batch_id)
        .order_by(col(BatchItem.id))
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(_shown_status() == status)
    if cursor:  # an empty one, as none, starts at the first page
        (after,) = cursors.decode(cursor, (cursors.serial,), "the first item")
        query = query.where(col(BatchItem.id) > after)
    rows = [tuple(row) for row in session.execute(query)]
    found, more = cursors.page(rows, limit, lambda row: cursors.encode(row[0]))
    return [
        (
            {
                "client_id": client_id,
                "run_id": run_id,  # None until the item has started
                "status": now,
                "error": error,
            },
            after,
        )
        for (_, client_id, run_id, error, now), after in found
    ], more


def cancel(session: Session, batch_id: str) -> Batch:
    """Stop what has not started: pending items are cancelled; runs already made go on."""
    batch = get(session, batch_id)
    now = utcnow()
    # Conditional, as close_if_done is: a batch that has just finished stays done.
    cancelled = session.execute(
        update(Batch)
        .where(col(Batch.id) == batch_id, col(Batch.status).in_(("queued", "running")))
        .values(status="cancelled", finished_at=now, updated_at=now)
        .values(lease_owner=None, lease_until=None)
    )
    if cancelled.rowcount:  # type: ignore[attr-defined]
        session.execute(
            update(BatchItem)
            .where(col(BatchItem.batch_id) == batch_id, col(BatchItem.status) == "pending")
            .values(status="cancelled", updated_at=now)
        )
    session.refresh(batch)
    return batch


Action = Literal["execute", "recover", "settled", "skip"]


@dataclass(frozen=True)
class Claim:
    """What a worker that took an item is to do: execute its new run, recover its existing
    one, nothing (it is settled or not this worker's to start), each with the run's id."""

    action: Action
    run_id: str
    dead: frozenset[str] = frozenset()  # workers known dead, when they had to be looked up


def claim(
    session: Session,
    batch_id: str,
    client_id: str,
    *,
    max_attempts: int,
    worker: str,
    dead: Callable[[], Collection[str]] = frozenset,
) -> Claim:
    """Take an item to work on, counting the attempt, in this transaction.

    A pending item of a batch still open gets its run, created here with the client as now
    stored; a started one is recovered from where its run stands, unless a live execution
    holds the run (its lease is valid and its worker is not among `dead()`, the workers known
    to be dead, looked up only then): that is a duplicate message, skipped without counting.
    An item started more than `max_attempts` times (each crash or redelivery is one) fails
    instead, with why, and so does its run if it never finished.
    """
    run_id = run_id_for(batch_id, client_id)
    item = session.exec(
        select(BatchItem).where(BatchItem.batch_id == batch_id, BatchItem.client_id == client_id)
    ).first()
    if item is None or item.status not in OPEN:
        return Claim("skip", run_id)
    batch = get(session, batch_id)
    now = utcnow()
    held = session.get(Run, run_id)
    known_dead: frozenset[str] = frozenset()
    if held is not None and held.lease_until is not None and as_utc(held.lease_until) > now:
        known_dead = frozenset(dead())
        if held.worker not in known_dead:
            return Claim("skip", run_id)  # being executed: this is a second message for it
    # The arbiter: one conditional update, which a cancel or another delivery cannot also win.
    taken = session.execute(
        update(BatchItem)
        .where(col(BatchItem.id) == item.id, col(BatchItem.status).in_(OPEN))
        .where(col(BatchItem.attempts) == item.attempts)
        .values(attempts=item.attempts + 1, updated_at=now)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        return Claim("skip", run_id)
    session.refresh(item)
    run = session.get(Run, run_id)
    if run is not None and run.status in SETTLED_RUNS:  # it finished; only the settle was lost
        _settle(item, now)
        session.add(item)
        return Claim("settled", run_id)
    if item.attempts > max_attempts:
        _fail(session, item, run, f"gave up after {max_attempts} attempts")
        return Claim("skip", run_id)
    if run is not None:
        _start(session, batch, item, now)
        return Claim("recover", run_id, known_dead)
    if batch.status in ("cancelled", "done"):
        item.status, item.updated_at = "cancelled", now
        session.add(item)
        return Claim("skip", run_id)
    try:
        client = _client(session, client_id)
    except (ClientNotFound, ValidationError) as exc:
        reason = str(exc) if isinstance(exc, ClientNotFound) else "stored client is not valid"
        _fail(session, item, None, reason)
        return Claim("skip", run_id)
    runs.create(
        session,
        client,
        as_of=date.fromisoformat(batch.as_of),
        request=batch.request,
        run_id=run_id,
        actor=batch.requested_by,
        worker=worker,
    )
    _start(session, batch, item, now)
    return Claim("execute", run_id)


def _client(session: Session, client_id: str) -> ClientInput:
    row = session.get(Client, client_id)
    if row is None:
        raise ClientNotFound(f"client {client_id!r} is no longer stored")
    return ClientInput.model_validate(row.data, context=STORED)


def _start(session: Session, batch: Batch, item: BatchItem, now: datetime) -> None:
    item.status, item.updated_at = "started", now
    session.add(item)
    if batch.status == "queued":
        session.execute(
            update(Batch)
            .where(col(Batch.id) == batch.id, col(Batch.status) == "queued")
            .values(status="running", updated_at=now)
        )


def _settle(item: BatchItem, now: datetime) -> None:
    item.status, item.updated_at = "settled", now


def _fail(session: Session, item: BatchItem, run: Run | None, reason: str) -> None:
    item.status, item.error, item.updated_at = "failed", reason, utcnow()
    session.add(item)
    if run is not None and run.status not in SETTLED_RUNS:
        runs.set_status(session, run, "failed", f"batch item {reason}")


def item_of_run(session: Session, run_id: str) -> tuple[str, str] | None:
    """(batch id, client id) of the batch item that made the run, if one did."""
    found = session.exec(
        select(BatchItem.batch_id, BatchItem.client_id).where(BatchItem.run_id == run_id)
    ).first()
    return None if found is None else (found[0], found[1])


def settle(session: Session, batch_id: str, client_id: str) -> bool:
    """Mark a started item settled if its run has ended or waits for an advisor; then close
    the batch if that was its last open item. True if the item is settled."""
    run_id = run_id_for(batch_id, client_id)
    run = session.get(Run, run_id)
    if run is None or run.status not in SETTLED_RUNS:
        return False
    session.execute(
        update(BatchItem)
        .where(
            col(BatchItem.batch_id) == batch_id,
            col(BatchItem.client_id) == client_id,
            col(BatchItem.status) == "started",
        )
        .values(status="settled", updated_at=utcnow())
    )
    close_if_done(session, batch_id)
    return True


def close_if_done(session: Session, batch_id: str) -> bool:
    """A batch with no item pending or started is done (a cancelled one stays cancelled)."""
    still_open = session.exec(
        select(BatchItem.id)
        .where(col(BatchItem.batch_id) == batch_id, col(BatchItem.status).in_(OPEN))
        .limit(1)
    ).first()
    if still_open is not None:
        return False
    now = utcnow()
    closed = session.execute(
        update(Batch)
        .where(col(Batch.id) == batch_id, col(Batch.status).in_(("queued", "running")))
        .values(status="done", finished_at=now, updated_at=now, lease_owner=None, lease_until=None)
    )
    return bool(closed.rowcount)  # type: ignore[attr-defined]


def open_batches(session: Session) -> list[str]:
    """Batches still queued or running, oldest first."""
    query = select(Batch.id).where(col(Batch.status).in_(("queued", "running")))
    return list(session.exec(query.order_by(col(Batch.created_at))))


def open_clients(session: Session, batch_id: str, after: int = 0) -> list[tuple[int, str]]:
    """(item id, client id) of the next CHUNK open items after `after`, in queued order."""
    query = (
        select(BatchItem.id, BatchItem.client_id)
        .where(col(BatchItem.batch_id) == batch_id, col(BatchItem.status).in_(OPEN))
        .where(col(BatchItem.id) > after)
        .order_by(col(BatchItem.id))
        .limit(CHUNK)
    )
    return [(int(i), str(c)) for i, c in session.execute(query)]


def take_to_publish(
    session: Session, batch_id: str, before: datetime | None = None, limit: int = CHUNK
) -> list[tuple[int, str]]:
    """Mark up to `limit` pending items published now and return them (item id, client id), to
    be published: those never published, or with `before`, those last published before it
    (their message may be lost). One conditional update takes them, so two publishers never
    send the same item; an item whose send then fails is handed back with `unpublish`."""
    query = select(BatchItem.id).where(
        col(BatchItem.batch_id) == batch_id, col(BatchItem.status) == "pending"
    )
    if before is None:
        query = query.where(col(BatchItem.published_at).is_(None))
    else:
        query = query.where(col(BatchItem.published_at) < before)
    wanted = list(session.exec(query.order_by(col(BatchItem.id)).limit(limit)))
    if not wanted:
        return []
    still = (
        col(BatchItem.published_at).is_(None)
        if before is None
        else col(BatchItem.published_at) < before
    )
    taken = session.execute(
        update(BatchItem)
        .where(col(BatchItem.id).in_(wanted), col(BatchItem.status) == "pending", still)
        .values(published_at=utcnow())
        .returning(col(BatchItem.id), col(BatchItem.client_id))
    )
    return sorted((int(i), str(c)) for i, c in taken)


def unpublish(session: Session, item_ids: Iterable[int]) -> None:
    """Hand back items whose message the broker did not confirm: the next publisher sends them."""
    ids = list(item_ids)
    for start in range(0, len(ids), CHUNK):
        session.execute(
            update(BatchItem)
            .where(col(BatchItem.id).in_(ids[start : start + CHUNK]))
            .values(published_at=None)
        )


def settle_finished(session: Session, batch_id: str) -> int:
    """Settle every started item whose run has ended or waits for an advisor (its worker
    settles it as the run stops; this catches the ones a crash left); returns how many."""
    finished = select(Run.id).where(
        col(Run.id) == col(BatchItem.run_id), col(Run.status).in_(SETTLED_RUNS)
    )
    result = session.execute(
        update(BatchItem)
        .where(col(BatchItem.batch_id) == batch_id, col(BatchItem.status) == "started")
        .where(finished.exists())
        .values(status="settled", updated_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def acquire(session: Session, batch_id: str, owner: str, seconds: float) -> bool:
    """Hold an open batch for one embedded driver, if no other holds it."""
    now = utcnow()
    taken = session.execute(
        update(Batch)
        .where(col(Batch.id) == batch_id, col(Batch.status).in_(("queued", "running")))
        .where(
            or_(
                col(Batch.lease_owner).is_(None),
                col(Batch.lease_owner) == owner,
                col(Batch.lease_until) < now,
            )
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def release(session: Session, batch_id: str, owner: str) -> None:
    session.execute(
        update(Batch)
        .where(col(Batch.id) == batch_id, col(Batch.lease_owner) == owner)
        .values(lease_owner=None, lease_until=None)
    )
