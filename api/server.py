"""The one place Tierwise configures uvicorn: request-head, write and keep-alive timeouts, a safe
bind.

Why not uvicorn's own knobs alone: `timeout_keep_alive` only starts after a first response, so a
connection that never sends a request (or trickles its head one byte at a time) was held
forever; a response its client never reads stayed in the transport's buffer forever (closing a
transport waits for its buffer to drain); and `limit_concurrency` counts connections, so a few
hundred silent sockets made every request answer 503. Here a request's head must arrive within
`header_timeout_seconds`, a response that the client takes nothing of for `write_timeout_seconds`
is dropped with its connection, and the request cap lives in `api.middleware.InFlightLimit`,
which counts requests, not sockets.

Forwarded headers (X-Forwarded-For, -Proto) are believed only from TIERWISE_TRUSTED_PROXIES:
uvicorn's default believes them from loopback, or from FORWARDED_ALLOW_IPS, so a local caller
could name a new address per request and escape every per-address limit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import struct
import sys
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from core.errors import TierwiseError
from core.settings import Settings

GRACEFUL_SHUTDOWN_SECONDS = 20  # requests in flight at a stop get this long to finish
DEV_SECRET_PREFIX = "dev-only"  # the defaults in core/settings.py, public in this repository


class UnsafeBind(TierwiseError):
    """A bind beyond loopback while a development secret, which anyone can read, is in use."""


class UnsafeForwarding(TierwiseError):
    """FORWARDED_ALLOW_IPS is set: uvicorn's own list of trusted proxies, which Tierwise ignores."""


class ServerConfig(uvicorn.Config):
    """uvicorn's Config plus the request-head and write timeouts that TimeoutProtocol reads."""

    def __init__(
        self, app: ASGIApp, *, header_timeout: float, write_timeout: float, **kwargs: Any
    ) -> None:
        super().__init__(app, **kwargs)
        self.header_timeout, self.write_timeout = header_timeout, write_timeout


# The client is still sending its request: waiting for the head, or reading the body.
RECEIVING = (h11.IDLE, h11.SEND_BODY)


class TimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing any connection whose request head arrives late, or whose
    client stops taking its response.

    The head timer runs while the connection waits for a request head, that is while h11's
    `their_state` is IDLE or SEND_BODY (the head or the body still arriving): from
    `connection_made`, and again once a kept-alive connection is back to IDLE after a response.
    Data does not restart it (a slowloris, on the head or on the body, gains nothing), and it is
    cancelled once h11 has the whole request, so a slow handler is never cut off.

    The write timer runs while output waits in the transport's buffer, the kernel's being full:
    the transport pauses writing at the first byte it must keep (a high-water mark of 0) and
    resumes once the buffer is empty. Each time it fires, a client that took some of the output
    since (a slow reader) gets another period; one that took none is aborted, which drops the
    buffer at once (a close would wait for it to drain, for ever). As nginx's send_timeout, it
    bounds the time between two successful writes, not the whole response.

    Relies on these uvicorn 0.54 `H11Protocol` internals (pyproject pins the minor version):
    the constructor's keywords; `self.conn` (the h11.Connection), `self.transport` and
    `self.loop`; `handle_events` being where every h11 event is consumed, called from
    `data_received` and, after a response, from `on_response_complete`; and `pause_writing` and
    `resume_writing` driving its flow control, whose drain a response's next write awaits.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not isinstance(config, ServerConfig):
            raise TypeError("TimeoutProtocol needs the ServerConfig api.server.config builds")
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout, self.write_timeout = config.header_timeout, config.write_timeout
        self.head_timer: asyncio.TimerHandle | None = None
        self.write_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Paused exactly while any output waits here: the write timer then sees every stall,
        # not only those past uvicorn's 64 KiB (a close of a connection whose last few KiB were
        # never taken would otherwise wait for them for ever).
        transport.set_write_buffer_limits(high=0)
        self._watch_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self._cancel_write_timer()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.write_timer is None:
            self._watch_writes(self.transport.get_write_buffer_size())

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel_write_timer()  # the buffer is empty: everything went to the kernel

    def handle_events(self) -> None:
        super().handle_events()
        self._watch_head()

    def _watch_head(self) -> None:
        """Run the timer exactly while a request head is awaited and the connection is open."""
        awaiting = self.conn.their_state in RECEIVING and not self.transport.is_closing()
        if awaiting and self.head_timer is None:
            self.head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)
        elif not awaiting:
            self._cancel_head_timer()

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if not self.transport.is_closing():
            self.logger.debug("closing a connection whose request head did not arrive in time")
            self.transport.close()  # connection_lost tells h11 and uvicorn's own state

    def _watch_writes(self, waiting: int) -> None:
        """Check again in a write timeout whether the client took any of `waiting` bytes."""
        self.write_timer = self.loop.call_later(self.write_timeout, self._write_due, waiting)

    def _cancel_write_timer(self) -> None:
        if self.write_timer is not None:
            self.write_timer.cancel()
            self.write_timer = None

    def _write_due(self, waiting: int) -> None:
        self.write_timer = None
        left = self.transport.get_write_buffer_size()
        if left == 0:
            return
        if left < waiting:  # a slow reader, still reading
            self._watch_writes(left)
            return
        self.logger.debug("aborting a connection whose client took none of its response in time")
        # A reset, not a close: the kernel drops what it still holds for the client too, rather
        # than keep it for a peer that reads nothing until its orphan times out.
        self.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        self.transport.abort()  # drops the buffer; connection_lost ends the request's wait


def config(
    app: ASGIApp, settings: Settings, host: str, port: int, log_level: str = "info"
) -> ServerConfig:
    """uvicorn's Config for Tierwise: the timeouts from settings, and no connection cap."""
    return ServerConfig(
        app,
        header_timeout=settings.header_timeout_seconds,
        write_timeout=settings.write_timeout_seconds,
        host=host,
        port=port,
        log_level=log_level,
        http=TimeoutProtocol,
        # uvicorn hands this to loop.call_later, which takes a float despite the int annotation.
        timeout_keep_alive=settings.keep_alive_seconds,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # Given explicitly, even empty, so uvicorn never falls back on FORWARDED_ALLOW_IPS or
        # on trusting loopback.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
        # No limit_concurrency: it counts idle connections, so silent sockets would 503 every
        # request. InFlightLimit (api/middleware.py) caps requests being handled instead.
    )


def _is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # any other name may resolve anywhere
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def check_bind(settings: Settings, host: str) -> None:
    """Refuse to serve beyond loopback while a secret is still its public development default.

    The inbox session cookie is signed with `session_secret` and the audit chain keyed with
    `audit_key`; with the defaults, anyone who can reach the port could forge a session.
    """
    if _is_loopback(host):
        return
    defaults = [
        variable
        for variable, secret in (
            ("TIERWISE_SESSION_SECRET", settings.session_secret),
            ("TIERWISE_AUDIT_KEY", settings.audit_key),
        )
        if secret.get_secret_value().startswith(DEV_SECRET_PREFIX)
    ]
    if defaults:
        names = " and ".join(defaults)
        still = "is still the public development default"
        if len(defaults) > 1:
            still = "are still the public development defaults"
        raise UnsafeBind(
            f"refusing to serve on {host!r}: {names} {still}; set {names} to a long random "
            "secret, or bind to 127.0.0.1"
        )


def check_forwarding(environ: Mapping[str, str]) -> None:
    """Refuse to start while FORWARDED_ALLOW_IPS is set: it would not be read, and whoever set
    it expects the proxies it names to be believed (or everyone, with "*")."""
    if "FORWARDED_ALLOW_IPS" in environ:
        raise UnsafeForwarding(
            f"FORWARDED_ALLOW_IPS is set ({environ['FORWARDED_ALLOW_IPS']!r}) but Tierwise does "
            "not read it: put the reverse proxies' addresses or networks in "
            "TIERWISE_TRUSTED_PROXIES (comma separated) and unset FORWARDED_ALLOW_IPS"
        )


def serve(app: ASGIApp, settings: Settings, host: str, port: int) -> None:
    """Check the forwarding and the bind, then serve until stopped; exits 3 as uvicorn does if
    the start failed."""
    check_forwarding(os.environ)
    check_bind(settings, host)
    server = uvicorn.Server(config(app, settings, host, port))
    with suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)  # port in use, or the lifespan failed; uvicorn logged why
