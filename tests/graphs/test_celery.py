"""The task engine for real: `tierwise worker` subprocesses on the local RabbitMQ.

Each test has queues of its own (TIERWISE_QUEUE_PREFIX), deleted afterwards, and a database of
its own, so nothing crosses tests. No eager mode, no mock of the broker: messages go through
RabbitMQ to worker processes, which are killed with SIGKILL where the test says so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import AS_OF, hnw_client, long_tail_client, make_client
from fastapi.testclient import TestClient
from kombu import Connection
from sqlalchemy import func, update
from sqlmodel import col, select

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import batches, clients, principals
from core.settings import Settings
from core.tables import AuditEvent, BatchItem, Delivery, Run, utcnow
from graphs import engine
from graphs.runner import Runner, open_runner

BROKER = os.environ.get("TIERWISE_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
TIERWISE = Path(sys.executable).with_name("tierwise")


@pytest.fixture
def broker_settings(settings: Settings) -> Iterator[Settings]:
    """The test's settings on the broker, with queues of its own, deleted afterwards."""
    prefix = f"tw-test-{uuid.uuid4().hex[:10]}"
    with_broker = settings.model_copy(
        update={
            "broker_url": BROKER,
            "queue_prefix": prefix,
            "lease_seconds": 5.0,
            "sweep_interval_seconds": 1.0,
        }
    )
    yield with_broker
    with Connection(BROKER) as connection:
        channel = connection.default_channel
        for name in engine.queue_names(with_broker).values():
            channel.queue_delete(name)
        channel.exchange_delete(prefix)


class Workers:
    """`tierwise worker` processes for one test, each in a process group of its own."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings, self.logs = settings, logs
        self.started: list[subprocess.Popen[bytes]] = []

    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            "TIERWISE_ENVIRONMENT": s.environment,
            "TIERWISE_DATABASE_URL": s.database_url,
            "TIERWISE_BROKER_URL": s.broker_url or "",
            "TIERWISE_QUEUE_PREFIX": s.queue_prefix,
            "TIERWISE_LEASE_SECONDS": str(s.lease_seconds),
            "TIERWISE_SWEEP_INTERVAL_SECONDS": str(s.sweep_interval_seconds),
        }

    def start(self, queues: str = "runs,batch") -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.started)}.log").open("wb")
        process = subprocess.Popen(
            [str(TIERWISE), "worker", "--queues", queues, "--loglevel", "INFO"],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and its pool processes at once: nothing gets to clean up."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=self.settings.lease_seconds * 4)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in self.logs.glob("*.log"))


@pytest.fixture
def workers(broker_settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(broker_settings, tmp_path)
    yield pool
    pool.stop_all()


@pytest.fixture
def broker_runner(broker_settings: Settings) -> Iterator[Runner]:
    with open_runner(broker_settings) as runner:
        yield runner


def _patience(settings: Settings) -> float:
    """The longest a task may take before its worker is killed for it, twice over: a wait
    beyond that is a failure, not a slow machine."""
    return 2 * engine.task_time_limit(settings)


def wait_until(settings: Settings, workers: Workers, check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _patience(settings)
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {_patience(settings):.0f}s\n{workers.output()}")
        time.sleep(0.1)


def _store(runner: Runner, *found: Any) -> None:
    with session_scope(runner.engine) as session:
        for client in found:
            clients.upsert(session, client)


def _batch(runner: Runner, **selection: Any) -> str:
    with session_scope(runner.engine) as session:
        return batches.create(
            session,
            batches.Selection(**selection),
            tiers=runner.settings.tiers,
            as_of=AS_OF,
            shipped_from=runner.market.cma.first_day,
            actor="test",
        ).id


def _state(runner: Runner, batch_id: str) -> tuple[str, dict[str, int]]:
    with session_scope(runner.engine) as session:
        return batches.get(session, batch_id).status, batches.counts(session, batch_id)


def _done(runner: Runner, batch_id: str) -> Callable[[], bool]:
    return lambda: _state(runner, batch_id)[0] == "done"


def _exactly_once(runner: Runner, total: int, others: int = 0) -> None:
    """One run per client of the batch (and `others` runs besides), at most one delivery per
    run, one delivered event per delivery."""
    with session_scope(runner.engine) as session:
        made = session.exec(select(Run)).all()
        assert len(made) == total + others
        of_batch = session.exec(
            select(Run).join(BatchItem, col(BatchItem.run_id) == col(Run.id))
        ).all()
        assert len(of_batch) == len({r.client_id for r in of_batch}) == total
        delivered = [r.id for r in made if r.status == "delivered"]
        assert session.exec(select(func.count()).select_from(Delivery)).one() == len(delivered)
        events = session.exec(
            select(AuditEvent.run_id, func.count())
            .where(AuditEvent.kind == "delivered")
            .group_by(col(AuditEvent.run_id))
        ).all()
        assert sorted(r for r, _ in events) == sorted(delivered)
        assert all(n == 1 for _, n in events)


def test_a_batch_on_a_worker_finishes_and_mid_tier_and_hnw_wait_for_an_advisor(  # type: ignore[no-untyped-def]
    broker_runner, broker_settings, workers
):
    _store(
        broker_runner,
        *[long_tail_client(client_id=f"C-LT{n}") for n in range(4)],
        make_client(client_id="C-MID"),
        hnw_client(client_id="C-HNW"),
    )
    batch_id = _batch(broker_runner)
    engine.Broker(broker_runner).start_batch(batch_id)  # one message; a worker publishes items
    workers.start()
    wait_until(broker_settings, workers, _done(broker_runner, batch_id), "the batch to finish")
    assert _state(broker_runner, batch_id) == ("done", {"delivered": 4, "awaiting_approval": 2})
    _exactly_once(broker_runner, 6)
    with session_scope(broker_runner.engine) as session:
        assert {i.attempts for i in session.exec(select(BatchItem))} == {1}


def test_a_redelivered_message_makes_no_second_run(broker_runner, broker_settings, workers):  # type: ignore[no-untyped-def]
    _store(broker_runner, *[long_tail_client(client_id=f"C-{n}") for n in range(5)])
    batch_id = _batch(broker_runner)
    broker = engine.Broker(broker_runner)
    assert broker.publish_items(batch_id) == 5
    assert broker.republish(batch_id, before=utcnow()) == 5  # every item's message, twice
    assert broker.ready("batch") == 10
    workers.start()
    wait_until(broker_settings, workers, _done(broker_runner, batch_id), "the batch to finish")
    wait_until(broker_settings, workers, lambda: broker.ready("batch") == 0, "the queue to drain")
    assert _state(broker_runner, batch_id) == ("done", {"delivered": 5})
    _exactly_once(broker_runner, 5)
    with session_scope(broker_runner.engine) as session:
        # A second message for a settled item is skipped without counting an attempt.
        assert {i.attempts for i in session.exec(select(BatchItem))} == {1}


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(  # type: ignore[no-untyped-def]
    broker_runner, broker_settings, workers
):
    total = 40
    _store(broker_runner, *[long_tail_client(client_id=f"C-{n:03}") for n in range(total)])
    batch_id = _batch(broker_runner)
    engine.Broker(broker_runner).start_batch(batch_id)
    first = workers.start()

    def some_delivered() -> bool:
        return _state(broker_runner, batch_id)[1].get("delivered", 0) >= 5

    wait_until(broker_settings, workers, some_delivered, "the first plans")
    workers.kill(first)  # SIGKILL, pool processes and all, with runs in flight
    killed_at = _state(broker_runner, batch_id)[1]
    assert killed_at.get("delivered", 0) < total, "the batch finished before the kill"
    workers.start()
    wait_until(broker_settings, workers, _done(broker_runner, batch_id), "the batch to finish")
    status, counts = _state(broker_runner, batch_id)
    assert status == "done" and sum(counts.values()) == total
    with session_scope(broker_runner.engine) as session:
        failed = session.exec(select(BatchItem).where(BatchItem.status == "failed")).all()
        assert all(i.error for i in failed)  # a failed item says why
        made = session.exec(select(Run)).all()
        assert all(r.error for r in made if r.status == "failed")
    assert counts.get("delivered", 0) + counts.get("failed", 0) == total
    _exactly_once(broker_runner, total)


def test_a_cancelled_batch_starts_nothing_more(broker_runner, broker_settings, workers):  # type: ignore[no-untyped-def]
    _store(broker_runner, *[long_tail_client(client_id=f"C-{n}") for n in range(6)])
    batch_id = _batch(broker_runner)
    broker = engine.Broker(broker_runner)
    assert broker.publish_items(batch_id) == 6
    with session_scope(broker_runner.engine) as session:
        batches.cancel(session, batch_id)
    workers.start()
    wait_until(broker_settings, workers, lambda: broker.ready("batch") == 0, "the queue to drain")
    assert _state(broker_runner, batch_id) == ("cancelled", {"cancelled": 6})
    with session_scope(broker_runner.engine) as session:
        assert session.exec(select(func.count()).select_from(Run)).one() == 0


@pytest.fixture
def broker_api(broker_settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(create_app(broker_settings)) as client:
        with session_scope(get_engine(broker_settings.database_url)) as session:
            tokens = {
                name: principals.create(session, name, role)[1]  # type: ignore[arg-type]
                for name, role in [("svc-core", "service"), ("adv-li", "advisor")]
            }
        yield client, tokens


def test_with_a_broker_the_api_only_enqueues_and_workers_run_and_resume(  # type: ignore[no-untyped-def]
    broker_api, broker_runner, broker_settings, workers
):
    api, tokens = broker_api
    service = {"Authorization": f"Bearer {tokens['svc-core']}"}
    advisor = {"Authorization": f"Bearer {tokens['adv-li']}"}
    _store(broker_runner, long_tail_client(client_id="C-LT"), make_client(client_id="C-MID"))
    started = [
        api.post("/v1/runs", json={"client_id": c}, headers=service) for c in ("C-LT", "C-MID")
    ]
    assert [r.status_code for r in started] == [202, 202]
    # No worker yet: the API executed nothing; both runs wait in the interactive queue.
    assert engine.Broker(broker_runner).ready("runs") == 2
    with session_scope(broker_runner.engine) as session:
        assert {r.status for r in session.exec(select(Run))} == {"queued"}
    workers.start(queues="runs")

    def status(run_id: str) -> str:
        return str(api.get(f"/v1/runs/{run_id}", headers=service).json()["status"])

    lt, mid = (r.json()["id"] for r in started)
    wait_until(broker_settings, workers, lambda: status(lt) == "delivered", "the run")
    wait_until(broker_settings, workers, lambda: status(mid) == "awaiting_approval", "review")
    approval = api.get(f"/v1/runs/{mid}", headers=service).json()["approval"]
    answer = api.post(
        f"/v1/approvals/{approval['id']}/decision",
        json={"action": "approve", "plan_hash": approval["plan_hash"], "comment": "ok"},
        headers=advisor,
    )
    assert answer.status_code == 202
    wait_until(broker_settings, workers, lambda: status(mid) == "delivered", "the resume")
    _exactly_once(broker_runner, 0, others=2)


def test_batches_through_the_api_never_hold_up_an_interactive_run(  # type: ignore[no-untyped-def]
    broker_api, broker_runner, broker_settings, workers
):
    api, tokens = broker_api
    service = {"Authorization": f"Bearer {tokens['svc-core']}"}
    _store(broker_runner, *[long_tail_client(client_id=f"C-{n:02}") for n in range(20)])
    made = api.post("/v1/batches", json={"filter": {"tier": "long_tail"}}, headers=service).json()
    assert (made["status"], made["total"], made["counts"]) == ("queued", 20, {"queued": 20})
    # A worker on the interactive queue only: it publishes the batch's items, runs none of
    # them, and runs an advisor's run at once however many items wait.
    workers.start(queues="runs")
    broker = engine.Broker(broker_runner)
    wait_until(broker_settings, workers, lambda: broker.ready("batch") == 20, "the items")
    one = api.post("/v1/runs", json={"client_id": "C-00"}, headers=service).json()["id"]

    def delivered() -> bool:
        return api.get(f"/v1/runs/{one}", headers=service).json()["status"] == "delivered"

    wait_until(broker_settings, workers, delivered, "the interactive run")
    assert api.get(f"/v1/batches/{made['id']}", headers=service).json()["counts"] == {"queued": 20}
    workers.start(queues="batch")
    batch_done = lambda: api.get(f"/v1/batches/{made['id']}", headers=service).json()  # noqa: E731
    wait_until(broker_settings, workers, lambda: batch_done()["status"] == "done", "the batch")
    assert batch_done()["counts"] == {"delivered": 20}
    _exactly_once(broker_runner, 20, others=1)


def test_a_stranded_batch_run_is_recovered_through_its_item(broker_runner, broker_settings):  # type: ignore[no-untyped-def]
    _store(broker_runner, long_tail_client(client_id="C-1"), long_tail_client(client_id="C-2"))
    batch_id = _batch(broker_runner, client_ids=("C-1",))
    with session_scope(broker_runner.engine) as session:
        claim = batches.claim(session, batch_id, "C-1", max_attempts=3, worker="gone")
    alone = broker_runner.create(long_tail_client(client_id="C-2"), as_of=AS_OF)
    broker = engine.Broker(broker_runner)
    broker.recover(claim.run_id)  # counted against the item's attempts when it runs
    broker.recover(alone.id)
    assert (broker.ready("batch"), broker.ready("runs")) == (1, 1)


def test_a_broker_out_of_reach_hands_the_items_back_at_the_first_failure(broker_runner):  # type: ignore[no-untyped-def]
    _store(broker_runner, *[long_tail_client(client_id=f"C-{n}") for n in range(4)])
    batch_id = _batch(broker_runner)
    down = broker_runner.settings.model_copy(
        update={"broker_url": "amqp://guest:guest@127.0.0.1:1//"}
    )
    app = engine.celery_app(down)
    app.conf.broker_connection_max_retries = 0
    broker = engine.Broker(broker_runner, app)
    calls = []
    original = broker._send
    broker._send = lambda *a, **k: calls.append(a) or original(*a, **k)  # type: ignore[method-assign]
    assert broker.publish_items(batch_id) == 0
    assert len(calls) == 1  # one refused send, not one per item
    with session_scope(broker_runner.engine) as session:
        assert len(batches.take_to_publish(session, batch_id)) == 4  # all handed back


def test_the_sweep_publishes_again_what_the_broker_lost_once_its_queue_is_empty(  # type: ignore[no-untyped-def]
    broker_runner, broker_settings
):
    _store(broker_runner, *[long_tail_client(client_id=f"C-{n}") for n in range(3)])
    batch_id = _batch(broker_runner)
    broker = engine.Broker(broker_runner)
    assert broker.publish_items(batch_id) == 3
    with Connection(BROKER) as connection:  # the broker loses them
        connection.default_channel.queue_purge(engine.queue_names(broker_settings)["batch"])
    assert broker.ready("batch") == 0
    broker.sweep()  # published just now: not lost yet, as far as anyone can tell
    assert broker.ready("batch") == 0
    a_lease_ago = utcnow() - timedelta(seconds=broker_settings.lease_seconds + 1)
    with session_scope(broker_runner.engine) as session:
        session.execute(update(BatchItem).values(published_at=a_lease_ago))
    broker.sweep()
    assert broker.ready("batch") == 3
    broker.sweep()  # the queue holds them now: nothing is sent twice
    assert broker.ready("batch") == 3
