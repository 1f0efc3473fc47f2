"""A real uvicorn server on a free loopback port, in a thread, for tests that need one."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from starlette.types import ASGIApp

from api import server as http_server
from core.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Live:
    """A test server: its base URL, and uvicorn's server, whose connections a test may count."""

    base: str
    server: uvicorn.Server

    def connections(self) -> int:
        return len(self.server.server_state.connections)


@contextmanager
def serve(app: ASGIApp, settings: Settings | None = None) -> Iterator[str]:
    """Serve the app as `tierwise serve` does until the block ends; yields its base URL.

    The timeouts come from `settings`, else the app's `state.settings`, else the defaults.
    """
    with served(app, settings) as live:
        yield live.base


@contextmanager
def served(app: ASGIApp, settings: Settings | None = None) -> Iterator[Live]:
    """As `serve`, yielding the server too."""
    if settings is None:
        settings = getattr(getattr(app, "state", None), "settings", None)
    if settings is None:
        settings = Settings(environment="test")
    port = free_port()
    config = http_server.config(app, settings, "127.0.0.1", port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the test server on port {port} failed to start; see its log")
        time.sleep(0.05)
    try:
        yield Live(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def client_limits(settings: Settings, max_connections: int = 100) -> httpx.Limits:
    """A test client's pool that lets an idle connection go before the server closes it (its
    keep-alive and head timeouts): a request sent on one the server is closing meets a reset,
    which no server can prevent, so a test that waits between requests would fail by chance."""
    expiry = min(settings.keep_alive_seconds, settings.header_timeout_seconds) / 2
    return httpx.Limits(max_connections=max_connections, keepalive_expiry=expiry)
