"""Where work executes (DESIGN §9): in this process, or on `tierwise worker` processes.

Work is new runs, decisions' resumes, recoveries and batch items. Both kinds of engine take the
same ids and end in the same functions (`run_item`, `Runner.execute`, ...), so the embedded
default and Celery behave alike:

- `Embedded` (no `TIERWISE_BROKER_URL`): thread pools of the serving process, or of the CLI's
  batch process; an embedded batch is driven by one process at a time, under a batch lease.
- `Broker`: publishes the ids to RabbitMQ through Celery, with publisher confirms; workers
  (graphs/worker.py) execute them. Runs and resumes go to one queue, batch items to another, so
  a push to every client never starves an advisor's interactive run.

The database is the source of truth: a message that is lost, duplicated or redelivered changes
nothing that `reconcile` and the runs' leases do not put right.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Protocol

from celery import Celery
from kombu import Exchange, Queue

from core.database import session_scope
from core.errors import RunBusy
from core.services import batches, workers
from core.settings import Settings
from core.tables import utcnow
from graphs.runner import Runner

log = logging.getLogger("tierwise.engine")

EXECUTE, RESUME, RECOVER = "tierwise.execute", "tierwise.resume", "tierwise.recover"
BATCH_ITEM, PUBLISH_BATCH = "tierwise.batch_item", "tierwise.publish_batch"


def queue_names(settings: Settings) -> dict[str, str]:
    """The two queues: interactive work (runs, resumes, recoveries, publishing a batch) and
    batch items."""
    return {"runs": f"{settings.queue_prefix}.runs", "batch": f"{settings.queue_prefix}.batch"}


def task_soft_time_limit(settings: Settings) -> float:
    """When a task is told to stop: once its run's lease heartbeat has given up
    (Settings.stalled_seconds). The run then fails, saying why."""
    return settings.stalled_seconds


def task_time_limit(settings: Settings) -> float:
    """A task's hard limit, one lease after the soft one: the worker process is killed and the
    message acknowledged; a sweep finds the stranded run and, for a batch run, publishes its
    item again, counted against its attempts. Settings keeps this under RabbitMQ's consumer
    timeout."""
    return settings.task_time_limit_seconds


def celery_app(settings: Settings) -> Celery:
    """A Celery app on the settings' broker, configured against the known traps: late acks
    and reject on worker lost (a killed worker's message is redelivered), prefetch 1 (a worker
    holds one message at a time), long tasks cancelled when the connection is lost (their
    messages come back), publisher confirms, no result backend (the database holds results),
    JSON only, and no chords."""
    if not settings.broker_url:
        raise ValueError("TIERWISE_BROKER_URL is not set: the embedded engine needs no Celery")
    names = queue_names(settings)
    exchange = Exchange(settings.queue_prefix, type="direct", durable=True)
    app = Celery("tierwise", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_transport_options={"confirm_publish": True},
        broker_connection_retry_on_startup=True,
        result_backend=None,
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        task_serializer="json",
        accept_content=["json"],
        task_soft_time_limit=task_soft_time_limit(settings),
        task_time_limit=task_time_limit(settings),
        task_default_queue=names["runs"],
        task_default_exchange=settings.queue_prefix,
        task_default_routing_key=names["runs"],
        task_queues=[
            Queue(names["runs"], exchange, routing_key=names["runs"], durable=True),
            Queue(names["batch"], exchange, routing_key=names["batch"], durable=True),
        ],
        task_routes={BATCH_ITEM: {"queue": names["batch"], "routing_key": names["batch"]}},
        worker_enable_remote_control=False,  # no pidbox queues: nothing but the two above
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
    )
    return app


class Pools(Protocol):
    """The thread pools an embedded engine hands work to (the API's app.state has them)."""

    executor: Executor
    resume_executor: Executor
    batch_executor: Executor


class Engine(Protocol):
    """Somewhere to send work by id. None of these raise: the work is in the database, and a
    sweep or a reconcile finds what could not be sent."""

    def execute(self, run_id: str) -> None: ...
    def resume(self, approval_id: str) -> None: ...
    def start_batch(self, batch_id: str) -> None: ...
    def sweep(self) -> None: ...


def _report(what: str) -> Callable[[Future[Any]], None]:
    def report(future: Future[Any]) -> None:
        if not future.cancelled() and (exc := future.exception()) is not None:
            log.warning("background %s failed: %s", what, exc)

    return report


def _submit(executor: Executor, fn: Callable[..., object], *args: object) -> None:
    try:
        executor.submit(fn, *args).add_done_callback(_report(getattr(fn, "__name__", "work")))
    except RuntimeError:  # shut down: this process is stopping; the database keeps the work
        log.warning("%s %s: not started here (stopping); a sweep takes it", fn, args)


def recover_any(runner: Runner, run_id: str) -> None:
    """Recover a run wherever it stands, taking it at once from a worker known to be dead;
    one a live execution holds is left to it."""
    with session_scope(runner.engine) as session:
        dead = frozenset(workers.dead(session, runner.host))
    try:
        runner.recover(run_id, dead)
    except RunBusy:
        log.info("run %s is held by a live execution; left to it", run_id)


def run_item(runner: Runner, batch_id: str, client_id: str) -> str:
    """Carry one batch item as far as it goes: claim it, then execute its new run or recover
    its existing one, then settle it. Safe to call any number of times, from any process:
    the claim and the run's lease make sure one run is made and executed at a time. Returns
    what the claim decided."""
    with session_scope(runner.engine) as session:
        claim = batches.claim(
            session,
            batch_id,
            client_id,
            max_attempts=runner.settings.batch_max_attempts,
            worker=runner.worker,
            dead=lambda: workers.dead(session, runner.host),
        )
    if claim.action == "execute":
        runner.execute(claim.run_id)
    elif claim.action == "recover":
        try:
            runner.recover(claim.run_id, claim.dead)
        except RunBusy:
            return "skip"  # taken by a live execution meanwhile; it settles the item
    with session_scope(runner.engine) as session:
        settled = batches.settle(session, batch_id, client_id)
        if claim.action == "skip":
            batches.close_if_done(session, batch_id)
    if claim.action != "skip" and not settled:
        log.info("batch %s, client %s: run %s not settled yet", batch_id, client_id, claim.run_id)
    return claim.action


def drive(
    runner: Runner, batch_id: str, stop: threading.Event | None = None, threads: int = 1
) -> bool:
    """Run a batch's open items in this process, on `threads` threads, until none is left or
    `stop` is set (never set here: it may be the server's); under the batch lease, renewed by
    a heartbeat, so no two processes drive one batch. False if another process holds the batch
    (or it is no longer open). Items in flight when it stops run to their end."""
    stop = stop or threading.Event()
    owner = f"{runner.worker}:batch:{uuid.uuid4().hex[:8]}"
    lease = runner.settings.lease_seconds
    with session_scope(runner.engine) as session:
        if not batches.acquire(session, batch_id, owner, lease):
            return False
    lost, done = threading.Event(), threading.Event()  # lost: cancelled, or taken over

    def heartbeat() -> None:
        while not done.wait(lease / 3):
            try:
                with session_scope(runner.engine) as session:
                    if not batches.acquire(session, batch_id, owner, lease):
                        lost.set()
                        return
            except Exception:  # a missed beat is retried; the lease covers two more
                log.warning("batch %s: lease renewal failed", batch_id, exc_info=True)

    def stopping() -> bool:
        return stop.is_set() or lost.is_set()

    beat = threading.Thread(target=heartbeat, name="tw-batch-lease", daemon=True)
    beat.start()
    free = threading.Semaphore(threads)
    try:
        with ThreadPoolExecutor(threads, thread_name_prefix="tw-batch") as pool:
            after = 0
            while not stopping():
                with session_scope(runner.engine) as session:
                    chunk = batches.open_clients(session, batch_id, after)
                if not chunk:
                    break
                after = chunk[-1][0]
                for _, client_id in chunk:
                    while not free.acquire(timeout=0.2) and not stopping():
                        pass
                    if stopping():
                        break
                    future = pool.submit(run_item, runner, batch_id, client_id)
                    future.add_done_callback(lambda _: free.release())
                    future.add_done_callback(_report(f"batch item {client_id}"))
        with session_scope(runner.engine) as session:
            batches.settle_finished(session, batch_id)
            batches.close_if_done(session, batch_id)
    finally:
        done.set()
        beat.join()
        with session_scope(runner.engine) as session:
            batches.release(session, batch_id, owner)
    return True


class Embedded:
    """Work on this process's thread pools."""

    def __init__(self, runner: Runner, pools: Pools, stop: threading.Event) -> None:
        self.runner, self.pools, self.stop = runner, pools, stop
        self._driving: set[str] = set()
        self._lock = threading.Lock()

    def execute(self, run_id: str) -> None:
        _submit(self.pools.executor, self.runner.execute, run_id)

    def resume(self, approval_id: str) -> None:
        _submit(self.pools.resume_executor, self.runner.resume_decided, approval_id)

    def start_batch(self, batch_id: str) -> None:
        with self._lock:
            if batch_id in self._driving:
                return
            self._driving.add(batch_id)
        _submit(self.pools.batch_executor, self._drive, batch_id)

    def _drive(self, batch_id: str) -> None:
        try:
            threads = self.runner.settings.batch_workers
            drive(self.runner, batch_id, self.stop, threads=threads)
        finally:
            with self._lock:
                self._driving.discard(batch_id)

    def sweep(self) -> None:
        """Recover stranded runs here, and drive any open batch no process is driving."""
        recovered = self.runner.sweep()
        if recovered:
            log.info("recovered %d stranded runs", len(recovered))
        for batch_id in reconcile(self.runner):
            self.start_batch(batch_id)


class Broker:
    """Work published to RabbitMQ for `tierwise worker` processes; this process executes none."""

    def __init__(self, runner: Runner, app: Celery | None = None) -> None:
        self.runner = runner
        self.app = app or celery_app(runner.settings)
        self.queues = queue_names(runner.settings)
        self.declare()

    def declare(self) -> None:
        """Make sure both durable queues exist, so their depth can be read before the first
        message (publishing declares them too)."""
        try:
            with self.app.connection_for_write() as connection:
                for queue in self.app.amqp.queues.values():
                    queue(connection.default_channel).declare()
        except Exception as exc:  # the broker is out of reach: publishing retries, and says so
            log.warning("could not declare the queues: %s", exc)

    def _send(self, name: str, args: list[Any], queue: str = "runs") -> bool:
        try:
            self.app.send_task(name, args, queue=self.queues[queue], routing_key=self.queues[queue])
        except Exception as exc:  # the broker is out of reach: the database keeps the work
            log.warning("could not publish %s %s (%s); a sweep publishes it again", name, args, exc)
            return False
        return True

    def execute(self, run_id: str) -> None:
        self._send(EXECUTE, [run_id])

    def resume(self, approval_id: str) -> None:
        self._send(RESUME, [approval_id])

    def start_batch(self, batch_id: str) -> None:
        self._send(PUBLISH_BATCH, [batch_id])

    def recover(self, run_id: str) -> None:
        """Publish a stranded run's recovery: a batch run's through its item, so that each
        recovery counts against the item's attempts and a run that always hangs or kills its
        worker fails in the end instead of looping."""
        with session_scope(self.runner.engine) as session:
            item = batches.item_of_run(session, run_id)
        if item is None:
            self._send(RECOVER, [run_id])
        else:
            self._send(BATCH_ITEM, list(item), "batch")

    def publish_items(self, batch_id: str, before: datetime | None = None) -> int:
        """Publish the batch's pending items never published (with `before`: last published
        before it, their message maybe lost), a chunk at a time: each chunk is taken in the
        database first, so concurrent publishers never send one item twice, and an item the
        broker does not confirm is handed back. Returns how many were confirmed."""
        sent = 0
        while True:
            with session_scope(self.runner.engine) as session:
                chunk = batches.take_to_publish(session, batch_id, before)
            if not chunk:
                return sent
            for position, (_, client_id) in enumerate(chunk):
                if not self._send(BATCH_ITEM, [batch_id, client_id], "batch"):
                    # The broker is failing: hand this one and the rest back at once, for the
                    # next sweep, rather than wait on the broker once per item.
                    with session_scope(self.runner.engine) as session:
                        batches.unpublish(session, [i for i, _ in chunk[position:]])
                    return sent + position
            sent += len(chunk)

    def ready(self, queue: str) -> int | None:
        """Messages waiting in a queue, or None if the broker cannot say."""
        try:
            with self.app.connection_for_write() as connection:
                declared = connection.default_channel.queue_declare(
                    self.queues[queue], passive=True
                )
                return int(declared.message_count)
        except Exception as exc:
            log.warning("could not read the %s queue's depth: %s", queue, exc)
            return None

    def sweep(self) -> None:
        """Publish what went missing. A killed worker's messages come back by themselves
        (late acks), so a run is stranded only if its message was lost: once the runs queue is
        empty, a recovery is published for each stranded run. Of open batches: items never
        published, and, once the batch queue is empty, items whose message was lost
        (published a lease ago, still pending)."""
        if self.ready("runs") == 0:
            for run_id in self.runner.sweep(recover=lambda run_id, _dead: self.recover(run_id)):
                log.info("run %s: recovery published", run_id)
        open_ids = reconcile(self.runner)
        if not open_ids:
            return
        before = utcnow() - timedelta(seconds=self.runner.settings.lease_seconds)
        empty = self.ready("batch") == 0
        for batch_id in open_ids:
            self.publish_items(batch_id)
            if empty:
                self.republish(batch_id, before)

    def republish(self, batch_id: str, before: datetime) -> int:
        """Publish again the batch's pending items last published before `before` (their
        messages may be lost; a duplicate is a no-op); returns how many."""
        return self.publish_items(batch_id, before)


def reconcile(runner: Runner) -> list[str]:
    """Settle the items whose runs finished, close the batches with nothing open, and return
    the batches still open."""
    with session_scope(runner.engine) as session:
        found = batches.open_batches(session)
    still: list[str] = []
    for batch_id in found:
        with session_scope(runner.engine) as session:
            batches.settle_finished(session, batch_id)
            if not batches.close_if_done(session, batch_id):
                still.append(batch_id)
    return still


def open_engine(runner: Runner, pools: Pools, stop: threading.Event) -> Engine:
    """The engine the settings ask for: Celery when a broker is set, else this process's pools
    (an embedded batch stops between items once `stop` is set)."""
    if runner.settings.broker_url:
        return Broker(runner)
    return Embedded(runner, pools, stop)
