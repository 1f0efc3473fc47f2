"""The FastAPI app factory: lifespan wiring, error handlers and routers."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from api import errors
from api.deps import Limiter, StreamSlots
from api.middleware import BodySizeLimit, InFlightLimit
from api.routes import (
    approvals,
    batches,
    callbacks,
    clients,
    evals,
    health,
    outcomes,
    principals,
    products,
    runs,
)
from api.schemas import ERROR_RESPONSES
from api.web import callbacks as inbox_callbacks
from api.web import outcomes as inbox_outcomes
from api.web import pool as inbox_pool
from api.web import routes as inbox
from api.web.security import InboxSecurityHeaders
from core.logs import install_log_masking
from core.settings import Settings, get_settings
from graphs.engine import Engine, open_engine
from graphs.runner import Runner, open_runner
from tools.outcomes import service as measuring

log = logging.getLogger("tierwise.api")


def _sweep_forever(runner: Runner, engine: Engine, stop: threading.Event) -> None:
    """Recover runs a dead worker left behind and carry on open batches no process is
    carrying, now and then every sweep interval (through the task engine, if one is set)."""
    while not stop.is_set():
        try:
            runner.beat()
            engine.sweep()
        except Exception:  # a failed sweep is retried at the next interval
            log.exception("sweep failed")
        stop.wait(runner.settings.sweep_interval_seconds)


def _measure_forever(runner: Runner, stop: threading.Event) -> None:
    """Measure delivered plans again after new prices (or for the first time), now and then
    every sweep interval, under the one refresh lease: reads answer from stored outcomes."""
    while not stop.is_set():
        try:
            measuring.refresh(
                runner.engine,
                runner.market,
                lease_seconds=runner.settings.lease_seconds,
                stop=stop.is_set,
            )
        except Exception:  # retried at the next interval
            log.exception("measuring outcomes failed")
        stop.wait(runner.settings.sweep_interval_seconds)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A Tierwise API bound to one database and one checkpointer."""
    settings = settings or get_settings()
    install_log_masking()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync handlers and dependencies run on these threads; the database pool is sized to
        # them (Settings.db_connections), so a request waits for a thread, never a connection.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        storage = settings.rate_limit_storage
        app.state.limiter = Limiter(settings.rate_limit, storage, "requests for this token")
        app.state.auth_failures = Limiter(
            settings.auth_failure_limit, storage, "invalid tokens from this address"
        )
        app.state.sign_ins = Limiter(
            settings.sign_in_limit, storage, "sign-in attempts from this address"
        )
        app.state.streams = StreamSlots(settings.max_streams_per_token)
        app.state.stopping = stopping = threading.Event()
        with open_runner(settings) as runner:
            # Runs, decisions' resumes and evals on pools of their own, so a long eval never
            # holds up a run and a burst of new runs never holds up a signed-off plan.
            executor = ThreadPoolExecutor(settings.run_workers, thread_name_prefix="tw-run")
            resumes = ThreadPoolExecutor(settings.resume_workers, thread_name_prefix="tw-resume")
            evals = ThreadPoolExecutor(1, thread_name_prefix="tw-eval")
            # Embedded batches, one at a time, each on batch_workers threads of its own.
            batch_pool = ThreadPoolExecutor(1, thread_name_prefix="tw-batch-driver")
            app.state.runner, app.state.executor, app.state.eval_executor = runner, executor, evals
            app.state.resume_executor, app.state.batch_executor = resumes, batch_pool
            # With TIERWISE_BROKER_URL set, runs, resumes and batches only go to the broker.
            app.state.engine = engine = open_engine(runner, app.state, stopping)
            app.state.database_check = health.DatabaseCheck(runner.engine)
            sweeper = threading.Thread(
                target=_sweep_forever,
                args=(runner, engine, stopping),
                name="tw-sweep",
                daemon=True,
            )
            sweeper.start()
            measurer = threading.Thread(
                target=_measure_forever, args=(runner, stopping), name="tw-measure", daemon=True
            )
            measurer.start()
            try:
                yield
            finally:
                # Stop taking work; a running eval stops at its next scenario, and runs still
                # queued here stay queued in the database, for the next worker (this one says it
                # stopped, so they are taken at once).
                stopping.set()
                evals.shutdown(wait=True, cancel_futures=True)
                executor.shutdown(wait=True, cancel_futures=True)
                resumes.shutdown(wait=True, cancel_futures=True)
                batch_pool.shutdown(wait=True, cancel_futures=True)
                sweeper.join(timeout=settings.sweep_interval_seconds + settings.lease_seconds)
                measurer.join(timeout=settings.sweep_interval_seconds + settings.lease_seconds)

    app = FastAPI(
        title="Tierwise",
        version="0.1.0",
        description="Tiered, AI-assisted wealth advice with advisor sign-off and compliance.",
        lifespan=lifespan,
        # Starlette's trailing-slash redirect builds an absolute URL from the Host header.
        redirect_slashes=False,
    )
    app.state.settings = settings  # what tests/live.py serves it with
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie="tierwise_inbox",
        same_site="strict",
        https_only=settings.environment == "production",
        max_age=int(settings.inbox_session_hours * 3600),
    )
    app.add_middleware(BodySizeLimit)
    # Outside the body reader: a request counts from its head, while its body arrives too.
    app.add_middleware(InFlightLimit, limit=settings.max_in_flight)
    app.add_middleware(InboxSecurityHeaders)  # outermost: even a refusal gets them
    errors.install(app)
    app.include_router(health.router)
    app.include_router(inbox.router)
    app.include_router(inbox_outcomes.router)  # the inbox's outcomes page
    app.include_router(inbox_pool.router)  # the inbox's duty pool (值班投顾)
    app.include_router(inbox_callbacks.router)  # the inbox's follow-up calls page
    for module in (
        clients,
        runs,
        approvals,
        batches,
        products,
        evals,
        outcomes,
        principals,
        callbacks,
    ):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    return app
