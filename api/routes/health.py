"""Health: answers without a token, from the event loop, whatever the request threads are doing."""

from __future__ import annotations

import asyncio
import math
import time

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import APIRouter, Request
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from api.deps import Route
from api.schemas import Health
from core.errors import Unavailable

router = APIRouter(tags=["health"], route_class=Route)
FRESH_SECONDS = 1.0  # a database check this recent answers for every caller


class DatabaseCheck:
    """`SELECT 1` at most once a second, shared by every caller, on a thread and a connection
    of its own.

    A probe must not queue behind the request threads it is meant to watch (under load, all of
    them may be busy), nor multiply the load: concurrent callers await the same check.
    """

    def __init__(self, engine: Engine) -> None:
        # One connection of its own, kept, outside the request pool it is meant to watch.
        self.engine = create_engine(engine.url, pool_size=1, max_overflow=0, pool_pre_ping=True)
        self.checked_at = -math.inf
        self.lock = asyncio.Lock()
        self.thread = CapacityLimiter(1)

    def _ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def check(self) -> None:
        """Return once the database has answered within FRESH_SECONDS; raise what it raised."""
        async with self.lock:
            if time.monotonic() - self.checked_at < FRESH_SECONDS:
                return
            try:
                await anyio.to_thread.run_sync(self._ping, limiter=self.thread)
            except Exception as exc:
                raise Unavailable(f"the database did not answer: {type(exc).__name__}") from exc
            self.checked_at = time.monotonic()


@router.get("/healthz", response_model=Health)
async def healthz(request: Request) -> Health:
    """ok when the server answers and its database did within the last second; a database that
    does not answer is 503 Unavailable."""
    await request.app.state.database_check.check()
    return Health(status="ok", database="ok")
