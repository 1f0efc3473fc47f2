"""Batches as data (core/services/batches.py): selection, claims, attempts, cancel, progress."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from factories import AS_OF, hnw_client, long_tail_client, make_client
from sqlalchemy import update
from sqlmodel import col, select

from core.database import get_engine, session_scope
from core.errors import (
    BatchCancelled,
    BatchNotFound,
    ClientNotFound,
    IdempotencyKeyReused,
    InvalidInput,
)
from core.services import batches, clients, runs
from core.services.price_files import json_source
from core.settings import PricePolicy, Settings
from core.tables import Batch, BatchItem, Principal, Run, utcnow
from tools.market.market_data import load_market
from tools.outcomes import imports

WORKER = "test-worker"
SHIPPED_FROM = load_market().cma.first_day  # where the shipped assumptions' prices begin


@pytest.fixture
def engine(settings: Settings):  # type: ignore[no-untyped-def]
    return get_engine(settings.database_url)


def _store(engine, *found) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        for client in found:
            clients.upsert(session, client)


def _book(engine) -> None:  # type: ignore[no-untyped-def]
    _store(
        engine,
        long_tail_client(client_id="C-1"),
        long_tail_client(client_id="C-2", advisor_id="adv-wang"),
        make_client(client_id="C-3", risk_level="C4"),
        hnw_client(client_id="C-4"),
    )


def _create(engine, settings: Settings, selection: batches.Selection, **kwargs):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return batches.create(
            session,
            selection,
            tiers=settings.tiers,
            as_of=kwargs.pop("as_of", AS_OF),
            shipped_from=SHIPPED_FROM,
            actor="svc",
            **kwargs,
        )


def _claim(engine, batch_id: str, client_id: str, max_attempts: int = 3, dead=()):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return batches.claim(
            session,
            batch_id,
            client_id,
            max_attempts=max_attempts,
            worker=WORKER,
            dead=lambda: dead,
        )


def _counts(engine, batch_id: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return batches.counts(session, batch_id)


def test_a_selection_covers_the_ids_given_or_the_clients_the_filter_keeps(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    everyone = _create(engine, settings, batches.Selection())
    assert everyone.total == 4
    long_tail = _create(engine, settings, batches.Selection(tier="long_tail"))
    assert long_tail.total == 2
    wang = _create(engine, settings, batches.Selection(advisor_id="adv-wang"))
    assert wang.total == 1
    c4 = _create(engine, settings, batches.Selection(risk_level="C4"))
    assert c4.total == 1
    named = _create(engine, settings, batches.Selection(client_ids=("C-3", "C-1", "C-3")))
    assert named.total == 2  # a client once, however often it is named
    with session_scope(engine) as session:
        listed = [i for i, _ in batches.item_page(session, named.id, None, 10, None)[0]]
    assert [i["client_id"] for i in listed] == ["C-3", "C-1"]
    assert all(i["status"] == "queued" and i["run_id"] is None for i in listed)


def test_an_unknown_client_id_queues_nothing_and_is_named(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    with pytest.raises(ClientNotFound, match="'C-404'"):
        _create(engine, settings, batches.Selection(client_ids=("C-1", "C-404")))
    with session_scope(engine) as session:
        assert session.exec(select(Batch)).all() == []
        assert session.exec(select(BatchItem)).all() == []


def test_client_ids_and_a_filter_together_are_refused_naming_both(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    for kept in ({"tier": "long_tail"}, {"advisor_id": "adv-wang"}, {"risk_level": "C4"}):
        with pytest.raises(InvalidInput, match="client_ids and filter"):
            _create(engine, settings, batches.Selection(client_ids=("C-1", "C-3"), **kept))
    with session_scope(engine) as session:
        assert session.exec(select(Batch)).all() == []


def _refused(engine, settings, day: date, why: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=re.escape(why)):
        _create(engine, settings, batches.Selection(), as_of=day)


def test_a_valuation_date_after_today_or_before_the_earliest_price_is_refused(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    for day in (date.today() + timedelta(days=2), date(9999, 12, 31)):
        _refused(engine, settings, day, f"as_of {day.isoformat()} is in the future")
    # No prices stored: the earliest is where the shipped assumptions' series begin.
    shipped = f"before the first price the shipped assumptions use ({SHIPPED_FROM.isoformat()})"
    for day in (date(1, 1, 1), SHIPPED_FROM - timedelta(days=1)):
        _refused(engine, settings, day, f"as_of {day.isoformat()} is {shipped}")
    with session_scope(engine) as session:
        assert session.exec(select(Batch)).all() == []
    # A past date is fine, today too.
    assert _create(engine, settings, batches.Selection(), as_of=SHIPPED_FROM).as_of == str(
        SHIPPED_FROM
    )
    assert _create(engine, settings, batches.Selection(), as_of=date.today()).total == 4
    # Once prices are stored, the first stored close is the earliest price.
    first = SHIPPED_FROM + timedelta(days=2000)
    rows = [{"date": (first + timedelta(days=d)).isoformat(), "code": "510300", "close": 4.0}
            for d in range(3)]  # fmt: skip
    imports.run(engine, json_source(rows, {"510300"}), PricePolicy(), {"510300"}, actor="test")
    stored = f"before the first stored price ({first.isoformat()})"
    _refused(engine, settings, first - timedelta(days=1), stored)
    _refused(engine, settings, SHIPPED_FROM, stored)
    assert _create(engine, settings, batches.Selection(), as_of=first).total == 4


def test_an_empty_selection_is_done_at_once(engine, settings):  # type: ignore[no-untyped-def]
    made = _create(engine, settings, batches.Selection(tier="hnw"))
    assert (made.total, made.status) == (0, "done")
    assert made.finished_at is not None


def test_the_run_id_is_derived_from_batch_and_client():
    first = batches.run_id_for("batch-a", "C-1")
    assert first == batches.run_id_for("batch-a", "C-1")
    assert first != batches.run_id_for("batch-b", "C-1")
    assert first != batches.run_id_for("batch-a", "C-2")
    # No pair may run into another by concatenation.
    assert batches.run_id_for("batch-a", "bC-1") != batches.run_id_for("batch-ab", "C-1")


def test_a_claim_makes_one_run_and_a_second_claim_finds_it(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    made = _create(engine, settings, batches.Selection(client_ids=("C-1",)), request="多配债券")
    first = _claim(engine, made.id, "C-1")
    assert first.action == "execute"
    with session_scope(engine) as session:
        run = runs.get(session, first.run_id)
        assert (run.status, run.as_of, run.request) == ("queued", AS_OF.isoformat(), "多配债券")
        assert session.get(Batch, made.id).status == "running"  # type: ignore[union-attr]
    # The same message again, before anyone executed the run: recover it, never a second run.
    again = _claim(engine, made.id, "C-1")
    assert (again.action, again.run_id) == ("recover", first.run_id)
    with session_scope(engine) as session:
        assert len(session.exec(select(Run)).all()) == 1
    assert _counts(engine, made.id) == {"queued": 1}


def test_a_claim_skips_a_run_a_live_execution_holds_and_counts_no_attempt(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    made = _create(engine, settings, batches.Selection(client_ids=("C-1",)))
    run_id = _claim(engine, made.id, "C-1").run_id
    with session_scope(engine) as session:
        assert runs.acquire_lease(session, run_id, "live:1", settings.lease_seconds, "live")
    for _ in range(5):  # a flood of duplicates never fails a run being executed
        assert _claim(engine, made.id, "C-1").action == "skip"
    with session_scope(engine) as session:
        item = session.exec(select(BatchItem)).one()
        assert (item.status, item.attempts) == ("started", 1)
    # Once its worker is known to be dead, the next message recovers it.
    assert _claim(engine, made.id, "C-1", dead={"live"}).action == "recover"


def test_an_item_started_too_often_fails_with_why_and_its_run_too(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    made = _create(engine, settings, batches.Selection(client_ids=("C-1",)))
    actions = [_claim(engine, made.id, "C-1", max_attempts=2).action for _ in range(3)]
    assert actions == ["execute", "recover", "skip"]
    with session_scope(engine) as session:
        item = session.exec(select(BatchItem)).one()
        assert (item.status, item.attempts) == ("failed", 3)
        assert item.error == "gave up after 2 attempts"
        run = runs.get(session, item.run_id)
        assert run.status == "failed" and "gave up after 2 attempts" in (run.error or "")
        assert batches.close_if_done(session, made.id)
    assert _counts(engine, made.id) == {"failed": 1}
    assert _claim(engine, made.id, "C-1").action == "skip"  # and stays failed


def test_a_client_gone_or_invalid_fails_its_item_and_no_run_is_made(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    made = _create(engine, settings, batches.Selection(client_ids=("C-1", "C-2")))
    with session_scope(engine) as session:
        from core.tables import Client

        session.delete(session.get(Client, "C-1"))
        row = session.get(Client, "C-2")
        assert row is not None
        row.data = {**row.data, "aum": -5}
        session.add(row)
    assert _claim(engine, made.id, "C-1").action == "skip"
    assert _claim(engine, made.id, "C-2").action == "skip"
    with session_scope(engine) as session:
        listed = [i for i, _ in batches.item_page(session, made.id, "failed", 10, None)[0]]
        assert session.exec(select(Run)).all() == []
    assert {i["client_id"]: i["error"] for i in listed} == {
        "C-1": "client 'C-1' is no longer stored",
        "C-2": "stored client is not valid",
    }
    assert all(i["run_id"] is None for i in listed)


def test_cancel_stops_what_has_not_started_and_what_ran_stays(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    made = _create(engine, settings, batches.Selection())
    started = _claim(engine, made.id, "C-1")
    with session_scope(engine) as session:
        cancelled = batches.cancel(session, made.id)
        assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    for client_id in ("C-2", "C-3", "C-4"):
        assert _claim(engine, made.id, client_id).action == "skip"
    assert _counts(engine, made.id) == {"queued": 1, "cancelled": 3}
    # The run that started goes on: a redelivered message still carries it.
    assert _claim(engine, made.id, "C-1").action == "recover"
    with session_scope(engine) as session:
        assert runs.get(session, started.run_id).status == "queued"
        assert batches.cancel(session, made.id).status == "cancelled"  # twice is the same


def test_a_cancelled_batch_is_not_resumable_and_says_so(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    made = _create(engine, settings, batches.Selection())
    # An advisor with no clients: a batch of nobody, done at once.
    empty = _create(engine, settings, batches.Selection(advisor_id="adv-nobody"))
    with session_scope(engine) as session:
        assert batches.resumable(session, made.id).status == "queued"
        assert batches.resumable(session, empty.id).status == "done"
        batches.cancel(session, made.id)
    with session_scope(engine) as session, pytest.raises(BatchCancelled) as raised:
        batches.resumable(session, made.id)
    assert raised.value.status_code == 409
    assert raised.value.detail.startswith(f"batch {made.id} was cancelled at ")
    with session_scope(engine) as session, pytest.raises(BatchNotFound):
        batches.resumable(session, "batch-missing")


def test_counts_sum_to_the_total_at_every_stage(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    made = _create(engine, settings, batches.Selection())
    seen = [_counts(engine, made.id)]
    for client_id in ("C-1", "C-2", "C-3"):
        claim = _claim(engine, made.id, client_id)
        with session_scope(engine) as session:
            run = runs.get(session, claim.run_id)
            runs.set_status(session, run, "delivered")
            assert batches.settle(session, made.id, client_id)
        seen.append(_counts(engine, made.id))
    assert all(sum(c.values()) == 4 for c in seen)
    assert seen[-1] == {"delivered": 3, "queued": 1}
    with session_scope(engine) as session:
        assert not batches.close_if_done(session, made.id)
        assert batches.get(session, made.id).status == "running"


def test_the_last_item_settled_closes_the_batch(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    made = _create(engine, settings, batches.Selection(client_ids=("C-1", "C-4")))
    for client_id, status in (("C-1", "delivered"), ("C-4", "awaiting_approval")):
        claim = _claim(engine, made.id, client_id)
        with session_scope(engine) as session:
            runs.set_status(session, runs.get(session, claim.run_id), status)  # type: ignore[arg-type]
    with session_scope(engine) as session:
        assert batches.settle_finished(session, made.id) == 2  # what a crash left started
        assert batches.close_if_done(session, made.id)
        closed = batches.get(session, made.id)
        assert closed.status == "done" and closed.finished_at is not None
    assert _counts(engine, made.id) == {"delivered": 1, "awaiting_approval": 1}


def test_items_page_without_loss_or_repeat_and_filter_by_shown_status(engine, settings):  # type: ignore[no-untyped-def]
    _store(engine, *[long_tail_client(client_id=f"C-{n:03}") for n in range(25)])
    made = _create(engine, settings, batches.Selection())
    _claim(engine, made.id, "C-007")
    seen, cursor = [], None
    while True:
        with session_scope(engine) as session:
            page, cursor = batches.item_page(session, made.id, None, 10, cursor)
        seen += [i["client_id"] for i, _ in page]
        if cursor is None:
            break
    assert seen == [f"C-{n:03}" for n in range(25)]
    with session_scope(engine) as session:
        queued, _ = batches.item_page(session, made.id, "queued", 100, None)
        assert len(queued) == 25  # the started one's run is queued too
        # Each item's own cursor goes on from the item after it (a page cut short goes on there).
        third = queued[2][1]
        after, _ = batches.item_page(session, made.id, "queued", 2, third)
        assert [i["client_id"] for i, _ in after] == ["C-003", "C-004"]
        with pytest.raises(InvalidInput):
            batches.item_page(session, made.id, None, 10, "not-a-cursor")
        with pytest.raises(BatchNotFound):
            batches.item_page(session, "batch-missing", None, 10, None)


def test_an_idempotency_key_replays_its_batch_and_refuses_another_body(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    svc = Principal(name="svc", role="service", token_hash="-")
    scoped = runs.idempotency(svc, "k-1", {"filter": {"tier": "long_tail"}})
    assert scoped is not None
    made = _create(engine, settings, batches.Selection(tier="long_tail"), idempotency=scoped)
    with session_scope(engine) as session:
        assert batches.replay(session, scoped).id == made.id  # type: ignore[union-attr]
        other = runs.idempotency(svc, "k-1", {"filter": {"tier": "hnw"}})
        assert other is not None
        with pytest.raises(IdempotencyKeyReused):
            batches.replay(session, other)
        # Scoped to the caller: another principal's same key is another key.
        sup = Principal(name="sup", role="supervisor", token_hash="-")
        assert batches.replay(session, runs.idempotency(sup, "k-1", {}) or ("", "")) is None


def test_the_batch_lease_lets_one_driver_at_a_time(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    made = _create(engine, settings, batches.Selection())
    with session_scope(engine) as session:
        assert batches.acquire(session, made.id, "one", 60)
        assert not batches.acquire(session, made.id, "two", 60)
        assert batches.acquire(session, made.id, "one", 60)  # renewing
        session.execute(
            update(Batch)
            .where(col(Batch.id) == made.id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        assert batches.acquire(session, made.id, "two", 60)  # lapsed: taken
        batches.release(session, made.id, "one")  # not its lease any more: a no-op
        assert not batches.acquire(session, made.id, "one", 60)
        batches.cancel(session, made.id)
        assert not batches.acquire(session, made.id, "two", 60)  # a closed batch is not driven


def test_two_publishers_never_take_the_same_item_and_a_failed_send_is_handed_back(  # type: ignore[no-untyped-def]
    engine, settings
):
    _store(engine, *[long_tail_client(client_id=f"C-{n}") for n in range(5)])
    made = _create(engine, settings, batches.Selection())
    with session_scope(engine) as session:
        first = batches.take_to_publish(session, made.id, limit=3)
    with session_scope(engine) as session:
        second = batches.take_to_publish(session, made.id, limit=3)
        assert batches.take_to_publish(session, made.id) == []
    assert [c for _, c in first] == ["C-0", "C-1", "C-2"]
    assert [c for _, c in second] == ["C-3", "C-4"]
    with session_scope(engine) as session:
        batches.unpublish(session, [i for i, _ in second])
        assert [c for _, c in batches.take_to_publish(session, made.id)] == ["C-3", "C-4"]
    _claim(engine, made.id, "C-0")  # started: never published again
    with session_scope(engine) as session:
        lost = batches.take_to_publish(session, made.id, before=utcnow() + timedelta(seconds=1))
        assert [c for _, c in lost] == ["C-1", "C-2", "C-3", "C-4"]
        # Just published again: not lost as of a moment ago.
        assert (
            batches.take_to_publish(session, made.id, before=utcnow() - timedelta(seconds=60)) == []
        )


def test_a_run_that_finished_settles_its_item_even_on_its_last_attempt(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    made = _create(engine, settings, batches.Selection(client_ids=("C-1",)))
    claim = _claim(engine, made.id, "C-1", max_attempts=1)
    with session_scope(engine) as session:  # the run finished; its worker died before settling
        runs.set_status(session, runs.get(session, claim.run_id), "delivered")
    assert _claim(engine, made.id, "C-1", max_attempts=1).action == "settled"
    with session_scope(engine) as session:
        item = session.exec(select(BatchItem)).one()
        assert (item.status, item.error) == ("settled", None)


def test_a_batch_that_has_just_finished_stays_done_when_cancelled(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    made = _create(engine, settings, batches.Selection(client_ids=("C-1",)))
    claim = _claim(engine, made.id, "C-1")
    with session_scope(engine) as session:
        runs.set_status(session, runs.get(session, claim.run_id), "delivered")
        assert batches.settle(session, made.id, "C-1")
    with session_scope(engine) as session:
        kept = batches.cancel(session, made.id)
        assert kept.status == "done"
    assert _counts(engine, made.id) == {"delivered": 1}


def test_a_batch_run_is_found_by_its_item(engine, settings):  # type: ignore[no-untyped-def]
    _book(engine)
    made = _create(engine, settings, batches.Selection(client_ids=("C-1",)))
    run_id = _claim(engine, made.id, "C-1").run_id
    with session_scope(engine) as session:
        assert batches.item_of_run(session, run_id) == (made.id, "C-1")
        assert batches.item_of_run(session, "run-not-a-batch-run") is None
