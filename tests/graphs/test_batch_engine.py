"""The embedded engine (graphs/engine.py): batch items run in-process, once each, resumably."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace

from factories import AS_OF, hnw_client, long_tail_client, make_client
from sqlalchemy import func, update
from sqlmodel import col, select

from core.database import session_scope
from core.services import audit, batches, clients, runs
from core.tables import AuditEvent, Batch, BatchItem, Delivery, Run, utcnow
from graphs import engine
from graphs.runner import Runner


def _book(runner: Runner, n_long_tail: int = 3) -> list[str]:
    book = [long_tail_client(client_id=f"C-LT{n}") for n in range(n_long_tail)]
    book += [make_client(client_id="C-MID"), hnw_client(client_id="C-HNW")]
    with session_scope(runner.engine) as session:
        for client in book:
            clients.upsert(session, client)
    return [c.client_id for c in book]


def _batch(runner: Runner, **selection: object) -> str:
    with session_scope(runner.engine) as session:
        made = batches.create(
            session,
            batches.Selection(**selection),  # type: ignore[arg-type]
            tiers=runner.settings.tiers,
            as_of=AS_OF,
            shipped_from=runner.market.cma.first_day,
            actor="test",
        )
        return made.id


def _state(runner: Runner, batch_id: str) -> tuple[str, dict[str, int]]:
    with session_scope(runner.engine) as session:
        return batches.get(session, batch_id).status, batches.counts(session, batch_id)


def test_a_batch_runs_every_client_once_and_mid_tier_and_hnw_wait_for_an_advisor(runner):  # type: ignore[no-untyped-def]
    ids = _book(runner)
    batch_id = _batch(runner)
    assert engine.drive(runner, batch_id, threads=2)
    status, counts = _state(runner, batch_id)
    assert status == "done"
    assert counts == {"delivered": 3, "awaiting_approval": 2}
    with session_scope(runner.engine) as session:
        made = session.exec(select(Run).order_by(col(Run.client_id))).all()
        assert sorted(r.client_id for r in made) == sorted(ids)  # one run per client
        assert {r.client_id: r.status for r in made if r.tier != "long_tail"} == {
            "C-HNW": "awaiting_approval",
            "C-MID": "awaiting_approval",
        }
        assert all(r.id == batches.run_id_for(batch_id, r.client_id) for r in made)
        assert session.exec(select(func.count()).select_from(Delivery)).one() == 3
        items = session.exec(select(BatchItem)).all()
        assert {i.status for i in items} == {"settled"} and {i.attempts for i in items} == {1}
        assert all(audit.verify(session, r.id).verified for r in made)


def test_an_item_run_again_makes_no_second_run_and_no_second_delivery(runner):  # type: ignore[no-untyped-def]
    _book(runner, n_long_tail=1)
    batch_id = _batch(runner, client_ids=("C-LT0",))
    assert engine.run_item(runner, batch_id, "C-LT0") == "execute"
    run_id = batches.run_id_for(batch_id, "C-LT0")
    with session_scope(runner.engine) as session:
        trail = session.exec(select(func.count()).where(AuditEvent.run_id == run_id)).one()
        # The item as a redelivered message would find it: started again by a crash report.
        session.execute(
            update(BatchItem).where(col(BatchItem.run_id) == run_id).values(status="started")
        )
    assert engine.run_item(runner, batch_id, "C-LT0") == "settled"
    assert engine.run_item(runner, batch_id, "C-LT0") == "skip"
    with session_scope(runner.engine) as session:
        assert session.exec(select(func.count()).select_from(Run)).one() == 1
        assert session.exec(select(func.count()).select_from(Delivery)).one() == 1
        again = session.exec(select(func.count()).where(AuditEvent.run_id == run_id)).one()
        assert again == trail
        assert batches.get(session, batch_id).status == "done"


def test_a_run_made_but_never_executed_is_carried_on_by_the_next_attempt(runner):  # type: ignore[no-untyped-def]
    _book(runner, n_long_tail=1)
    batch_id = _batch(runner, client_ids=("C-LT0", "C-MID"))
    with session_scope(runner.engine) as session:  # a worker claimed it, then died
        claim = batches.claim(session, batch_id, "C-LT0", max_attempts=3, worker="gone")
    assert claim.action == "execute"
    assert engine.drive(runner, batch_id)
    assert _state(runner, batch_id) == ("done", {"delivered": 1, "awaiting_approval": 1})
    with session_scope(runner.engine) as session:
        item = session.exec(select(BatchItem).where(BatchItem.client_id == "C-LT0")).one()
        assert item.attempts == 2
        assert runs.get(session, claim.run_id).status == "delivered"


def test_a_stopped_batch_stays_resumable_and_a_second_drive_finishes_it(runner):  # type: ignore[no-untyped-def]
    _book(runner)
    batch_id = _batch(runner)
    stop = threading.Event()
    original = runner.execute

    def execute_then_stop(run_id: str) -> Run:
        try:
            return original(run_id)
        finally:
            stop.set()  # as a Ctrl-C during the first item

    runner.execute = execute_then_stop  # type: ignore[method-assign]
    assert engine.drive(runner, batch_id, stop, threads=1)
    status, counts = _state(runner, batch_id)
    assert status == "running"
    assert counts == {"awaiting_approval": 1, "queued": 4}  # C-HNW comes first by id
    with session_scope(runner.engine) as session:
        assert session.get(Batch, batch_id).lease_owner is None  # type: ignore[union-attr]
    runner.execute = original  # type: ignore[method-assign]
    assert engine.drive(runner, batch_id, threads=2)
    assert _state(runner, batch_id) == ("done", {"delivered": 3, "awaiting_approval": 2})


def test_a_batch_another_process_drives_is_left_to_it(runner):  # type: ignore[no-untyped-def]
    _book(runner)
    batch_id = _batch(runner)
    with session_scope(runner.engine) as session:
        assert batches.acquire(session, batch_id, "other-process", runner.settings.lease_seconds)
    assert not engine.drive(runner, batch_id)
    assert _state(runner, batch_id) == ("queued", {"queued": 5})


def test_the_sweep_carries_on_an_open_batch_whose_driver_died(runner):  # type: ignore[no-untyped-def]
    _book(runner)
    batch_id = _batch(runner)
    lease = runner.settings.lease_seconds
    with session_scope(runner.engine) as session:
        assert batches.acquire(session, batch_id, "dead-driver", lease)
        session.execute(
            update(Batch)
            .where(col(Batch.id) == batch_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    pools = SimpleNamespace(
        executor=ThreadPoolExecutor(1),
        resume_executor=ThreadPoolExecutor(1),
        batch_executor=ThreadPoolExecutor(1),
    )
    embedded = engine.Embedded(runner, pools, threading.Event())  # type: ignore[arg-type]
    embedded.sweep()
    embedded.sweep()  # a second sweep while it drives starts no second driver
    pools.batch_executor.shutdown(wait=True)
    assert _state(runner, batch_id) == ("done", {"delivered": 3, "awaiting_approval": 2})
    with session_scope(runner.engine) as session:
        assert session.exec(select(func.count()).select_from(Run)).one() == 5


def test_a_cancel_while_driving_stops_the_drive_and_never_the_callers_event(runner):  # type: ignore[no-untyped-def]
    _book(runner)
    batch_id = _batch(runner)
    server_stopping = threading.Event()  # as the API's: the drive must never set it
    original = runner.execute

    def execute_then_cancel(run_id: str) -> Run:
        try:
            return original(run_id)
        finally:
            with session_scope(runner.engine) as session:
                batches.cancel(session, batch_id)

    runner.settings = runner.settings.model_copy(update={"lease_seconds": 0.3})
    runner.execute = execute_then_cancel  # type: ignore[method-assign]
    assert engine.drive(runner, batch_id, server_stopping, threads=1)
    assert not server_stopping.is_set()
    status, counts = _state(runner, batch_id)
    assert status == "cancelled" and counts.get("cancelled", 0) >= 3
    assert sum(counts.values()) == 5
