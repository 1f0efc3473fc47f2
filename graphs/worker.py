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

import logging
import threading
from contextlib import ExitStack
from typing import Any

from celery import Celery, signals

from core.database import forget_engines
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
                assert self.settings is not None, "configure() first"
                stack = ExitStack()
                self.runner = stack.enter_context(open_runner(self.settings))
                self.stack = stack
            return self.runner

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


def register(app: Celery) -> None:
    """The tasks, by the names graphs/engine.py publishes."""

    @app.task(name=engine.EXECUTE)  # type: ignore[untyped-decorator]
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

    @app.task(name=engine.RESUME)  # type: ignore[untyped-decorator]
    def resume(approval_id: str) -> None:
        PROCESS.get().resume_decided(approval_id)

    @app.task(name=engine.RECOVER)  # type: ignore[untyped-decorator]
    def recover(run_id: str) -> None:
        engine.recover_any(PROCESS.get(), run_id)

    @app.task(name=engine.BATCH_ITEM)  # type: ignore[untyped-decorator]
    def batch_item(batch_id: str, client_id: str) -> None:
        engine.run_item(PROCESS.get(), batch_id, client_id)

    @app.task(name=engine.PUBLISH_BATCH)  # type: ignore[untyped-decorator]
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
