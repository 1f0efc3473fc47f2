"""The FastAPI app factory: lifespan wiring, error handlers and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.middleware import BodySizeLimit
from api.routes import approvals, clients, evals, health, products, runs
from api.schemas import ERROR_RESPONSES
from core.logs import install_log_masking
from core.settings import Settings, get_settings
from graphs.runner import open_runner


def create_app(settings: Settings | None = None) -> FastAPI:
    """A Tierwise API bound to one database and one checkpointer."""
    settings = settings or get_settings()
    install_log_masking()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with open_runner(settings) as runner, ThreadPoolExecutor(max_workers=2) as executor:
            app.state.runner, app.state.executor = runner, executor
            yield

    app = FastAPI(
        title="Tierwise",
        version="0.1.0",
        description="Tiered, AI-assisted wealth advice with advisor sign-off and compliance.",
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit)
    errors.install(app)
    app.include_router(health.router)
    for module in (clients, runs, approvals, products, evals):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    return app
