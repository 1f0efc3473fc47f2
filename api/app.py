"""The FastAPI app factory: lifespan wiring, error handlers and routers."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from api import errors
from api.deps import TokenLimiter
from api.middleware import BodySizeLimit
from api.routes import approvals, clients, evals, health, products, runs
from api.schemas import ERROR_RESPONSES
from api.web import routes as inbox
from core.logs import install_log_masking
from core.settings import Settings, get_settings
from graphs.runner import Runner, open_runner

log = logging.getLogger("tierwise.api")


def _sweep_forever(runner: Runner, stop: threading.Event) -> None:
    """Recover runs a crashed worker left behind, now and then every sweep interval."""
    while not stop.is_set():
        try:
            recovered = runner.sweep()
            if recovered:
                log.info("recovered %d stranded runs", len(recovered))
        except Exception:  # a failed sweep is retried at the next interval
            log.exception("sweep failed")
        stop.wait(runner.settings.sweep_interval_seconds)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A Tierwise API bound to one database and one checkpointer."""
    settings = settings or get_settings()
    install_log_masking()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with open_runner(settings) as runner, ThreadPoolExecutor(max_workers=2) as executor:
            app.state.runner, app.state.executor = runner, executor
            app.state.limiter = TokenLimiter(settings.rate_limit, settings.rate_limit_storage)
            stop = threading.Event()
            sweeper = threading.Thread(target=_sweep_forever, args=(runner, stop), daemon=True)
            sweeper.start()
            yield
            stop.set()
            sweeper.join(timeout=10)

    app = FastAPI(
        title="Tierwise",
        version="0.1.0",
        description="Tiered, AI-assisted wealth advice with advisor sign-off and compliance.",
        lifespan=lifespan,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie="tierwise_inbox",
        same_site="strict",
        https_only=settings.environment == "production",
        max_age=8 * 3600,
    )
    app.add_middleware(BodySizeLimit)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(inbox.router)
    for module in (clients, runs, approvals, products, evals):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    return app
