"""`tierwise worker`: a Celery worker that executes runs, resumes, recoveries and batch items.

Messages carry ids only (graphs/engine.py publishes them); each task reads the database and
calls the same function the embedded engine does, so a redelivered message finds the run it
made before. Each worker process (Celery's prefork children) opens its own database engine,
checkpointer and runner after the fork, on its first task or its first reconcile; nothing
opened in the parent is used in a child. Each child also sweeps and reconciles every
`sweep_interval_seconds`: it recovers stranded runs and republishes batch items that went
missing, so resuming after any crash needs no command.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from celery import Celery, signals
from celery.exceptions import Reject

from core.database import forget_engines, is_transient
from core.errors import RunBusy
from core.logs import install_log_masking
from core.settings import Settings
from graphs import engine
from graphs.runner import Runner, open_runner

log = logging.getLogger("tierwise.worker")


class _Process:
    """This worker process's runner, opened on first use, and its reconcile loop."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.app: Celery | None = None
        self.runner: Runner | None = None
        self.stack: ExitStack | None = None
        self.publisher: engine.Broker | None = None
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def forked(self) -> None:
        """In a new child: forget whatever the parent had open, and start reconciling."""
        forget_engines()
        self.runner, self.stack, self.publisher = None, None, None
        self.stop = threading.Event()
        threading.Thread(target=self._reconcile_forever, name="tw-reconcile", daemon=True).start()

    def get(self) -> Runner:
        with self.lock:
            if self.runner is None:
                assert self.settings is not None, "run() sets the settings before any task"
                stack = ExitStack()
                self.runner = stack.enter_context(open_runner(sized_for_a_worker(self.settings)))
                self.stack = stack
            return self.runner

    def pause(self) -> float:
        return self.settings.lease_seconds / 10 if self.settings else 1.0

    def broker(self) -> engine.Broker:
        """A publisher on this process's runner and Celery app (queues declared once)."""
        runner = self.get()
        with self.lock:
            if self.publisher is None or self.publisher.runner is not runner:
                self.publisher = engine.Broker(runner, self.app)
            return self.publisher

    def close(self) -> None:
        self.stop.set()
        with self.lock:
            if self.stack is not None:
                self.stack.close()
            self.runner, self.stack = None, None

    def _reconcile_forever(self) -> None:
        assert self.settings is not None and self.app is not None
        while not self.stop.wait(self.settings.sweep_interval_seconds):
            try:
                self.get().beat()
                self.broker().sweep()
            except Exception:  # retried at the next interval
                log.exception("reconcile failed")


PROCESS = _Process()


def sized_for_a_worker(settings: Settings) -> Settings:
    """A pool process executes one task at a time, beside its reconcile loop: size its database
    pools for that (Settings.db_connections), not for an API process's request threads, so
    many workers fit in PostgreSQL's connections."""
    return settings.model_copy(
        update={"request_threads": 1, "run_workers": 1, "resume_workers": 1, "batch_workers": 1}
    )


def _requeue_if_transient(task: Callable[..., None]) -> Callable[..., None]:
    """A database that is busy or briefly out of reach is not the work's fault: the message
    goes back to the queue (after a pause, so an outage is not a busy loop) instead of being
    acknowledged as failed and lost."""

    @functools.wraps(task)
    def guarded(*args: Any) -> None:
        try:
            task(*args)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("%s%s: database busy (%s); back to the queue", task.__name__, args, exc)
            time.sleep(PROCESS.pause())
            raise Reject(exc, requeue=True) from exc

    return guarded


def register(app: Celery) -> None:
    """The tasks, by the names graphs/engine.py publishes."""

    def task(name: str) -> Callable[[Callable[..., None]], Any]:
        def wrap(fn: Callable[..., None]) -> Any:
            return app.task(name=name)(_requeue_if_transient(fn))

        return wrap

    @task(engine.EXECUTE)
    def execute(run_id: str) -> None:
        runner = PROCESS.get()
        try:
            run = runner.execute(run_id)
        except RunBusy:
            log.info("run %s is being executed elsewhere", run_id)
            return
        if run.status == "running":
            # Started before: this is the message again, after its worker was killed.
            engine.recover_any(runner, run_id)

    @task(engine.RESUME)
    def resume(approval_id: str) -> None:
        PROCESS.get().resume_decided(approval_id)

    @task(engine.RECOVER)
    def recover(run_id: str) -> None:
        engine.recover_any(PROCESS.get(), run_id)

    @task(engine.BATCH_ITEM)
    def batch_item(batch_id: str, client_id: str) -> None:
        engine.run_item(PROCESS.get(), batch_id, client_id)

    @task(engine.PUBLISH_BATCH)
    def publish_batch(batch_id: str) -> None:
        PROCESS.broker().publish_items(batch_id)


def _child_started(**_: Any) -> None:
    PROCESS.forked()


def _child_stopping(**_: Any) -> None:
    PROCESS.close()


def run(settings: Settings, concurrency: int, queues: list[str], loglevel: str = "INFO") -> None:
    """Start a worker on the settings' broker and block until it is stopped."""
    install_log_masking()
    names = engine.queue_names(settings)
    unknown = sorted(set(queues) - set(names))
    if unknown:
        raise ValueError(f"unknown queue {', '.join(unknown)}: choose from {', '.join(names)}")
    app = engine.celery_app(settings)
    register(app)
    PROCESS.settings, PROCESS.app = settings, app
    signals.worker_process_init.connect(_child_started, weak=False)
    signals.worker_process_shutdown.connect(_child_stopping, weak=False)
    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            f"--queues={','.join(names[q] for q in queues)}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
