"""Idle, slow, surplus and unread connections against a real server, on raw sockets
(api/server.py).

Every wait here is a multiple (SLACK) of the timeout the test sets, so a loaded machine only makes
the tests slower, never wrong; no test asserts how long anything took.
"""

from __future__ import annotations

import json
import selectors
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Response
from live import serve, served
from pydantic import SecretStr
from typer.testing import CliRunner, Result

from api.app import create_app
from api.middleware import InFlightLimit
from api.server import UnsafeBind, check_bind
from cli import main as cli
from core.settings import Settings, get_settings

SLACK = 10  # how many of a timeout a test waits for what should happen within one
HEAD = b"GET /healthz HTTP/1.1\r\nHost: tierwise\r\n\r\n"


def bound(seconds: float) -> float:
    return seconds * SLACK


@contextmanager
def connections(base: str, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections to the server, closed at the end of the block."""
    port = urlsplit(base).port
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    try:
        yield socks
    finally:
        for sock in socks:
            sock.close()


def server_closed(sock: socket.socket) -> bool:
    """Whether the server has closed this connection (reads a pending close, never waits)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.setblocking(True)


def wait_closed(socks: list[socket.socket], within: float) -> list[socket.socket]:
    """Wait up to `within` seconds for the server to close each socket; returns those open."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    open_, deadline = set(socks), time.monotonic() + within
    try:
        while open_ and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(timeout=left):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if server_closed(sock):
                    selector.unregister(sock)
                    open_.discard(sock)
    finally:
        selector.close()
    return list(open_)


def read_response(sock: socket.socket, within: float) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 response with a Content-Length: status, lower-cased headers, body."""
    sock.settimeout(within)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"the server closed the connection mid-response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(4096)
        assert chunk, "the server closed the connection mid-body"
        body += chunk
    sock.settimeout(None)
    return int(status_line.split()[1]), headers, body


def trickle_until_closed(sock: socket.socket, header_timeout: float, body: bool = False) -> bool:
    """Send an endless head (or a head at once, then a long body) one byte per fifth of the
    timeout; whether the server closed it."""
    interval = header_timeout / 5  # each byte well inside the timeout: only a per-head timer fires
    head = b"GET /healthz HTTP/1.1\r\nHost: tierwise\r\nX-Slow: " + b"a" * (5 * SLACK)
    if body:
        length = 5 * SLACK
        sock.sendall(b"PUT /v1/clients/C-1 HTTP/1.1\r\nHost: tierwise\r\n")
        sock.sendall(f"Content-Length: {length}\r\n\r\n".encode())
        head = b"{" * length
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    try:
        for byte in head:
            if selector.select(timeout=interval) and server_closed(sock):
                return True
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                return True
        return not wait_closed([sock], interval)  # the whole head sent: closed by now?
    finally:
        selector.close()


def with_timeouts(settings: Settings, **update: float) -> Settings:
    return settings.model_copy(update=update)


def test_idle_connections_hold_no_request_slot(settings: Settings) -> None:
    """Five times max_in_flight silent sockets: /healthz still answers, and they stay open."""
    s = with_timeouts(settings, max_in_flight=8, header_timeout_seconds=60)
    with serve(create_app(s), s) as base, connections(base, 5 * s.max_in_flight) as idle:
        with httpx.Client(base_url=base, timeout=bound(1)) as http:
            for _ in range(s.max_in_flight + 1):
                assert http.get("/healthz").status_code == 200
        assert not [sock for sock in idle if server_closed(sock)]  # they were open all along


def test_idle_connections_are_closed_after_the_header_timeout(settings: Settings) -> None:
    s = with_timeouts(settings, max_in_flight=8, header_timeout_seconds=0.5)
    with serve(create_app(s), s) as base, connections(base, 5 * s.max_in_flight) as idle:
        assert wait_closed(idle, bound(s.header_timeout_seconds)) == []


def test_a_head_sent_one_byte_at_a_time_is_closed(settings: Settings) -> None:
    s = with_timeouts(settings, header_timeout_seconds=0.5, keep_alive_seconds=60)
    with serve(create_app(s), s) as base, connections(base, 1) as (sock,):
        assert trickle_until_closed(sock, s.header_timeout_seconds)


def test_a_body_sent_one_byte_at_a_time_is_closed(settings: Settings) -> None:
    """The whole request, body included, must arrive within the timeout."""
    s = with_timeouts(settings, header_timeout_seconds=0.5, keep_alive_seconds=60)
    with serve(create_app(s), s) as base, connections(base, 1) as (sock,):
        assert trickle_until_closed(sock, s.header_timeout_seconds, body=True)


def test_a_kept_alive_connection_trickling_its_next_head_is_closed(settings: Settings) -> None:
    """uvicorn stops its keep-alive timer at the first byte; the header timer still runs."""
    s = with_timeouts(settings, header_timeout_seconds=0.5, keep_alive_seconds=60)
    with serve(create_app(s), s) as base, connections(base, 1) as (sock,):
        sock.sendall(HEAD)
        status, headers, _ = read_response(sock, bound(s.header_timeout_seconds))
        assert status == 200 and headers.get("connection") != "close"
        assert trickle_until_closed(sock, s.header_timeout_seconds)


def test_an_idle_kept_alive_connection_is_closed_after_keep_alive(settings: Settings) -> None:
    s = with_timeouts(settings, header_timeout_seconds=60, keep_alive_seconds=0.5)
    with serve(create_app(s), s) as base, connections(base, 1) as (sock,):
        for _ in range(2):  # the connection is reused, then left idle
            sock.sendall(HEAD)
            assert read_response(sock, bound(s.keep_alive_seconds))[0] == 200
        assert wait_closed([sock], bound(s.keep_alive_seconds)) == []


class Gate:
    """Holds every request to /hold inside its handler until the test opens the gate."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.opened = threading.Event()


def gated_app(limit: int, gate: Gate) -> FastAPI:
    """A small app behind InFlightLimit, with a lifespan that must hold no slot."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/hold")
    def hold() -> dict[str, str]:
        gate.entered.release()
        gate.opened.wait()
        return {"status": "released"}

    @app.get("/ok")
    def ok() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a handler failed")

    app.add_middleware(InFlightLimit, limit=limit)
    return app


def test_requests_beyond_max_in_flight_get_503(settings: Settings) -> None:
    s = with_timeouts(settings, max_in_flight=8, header_timeout_seconds=1)
    wait, gate = bound(s.header_timeout_seconds), Gate()
    with (
        serve(gated_app(s.max_in_flight, gate), s) as base,
        connections(base, s.max_in_flight + 1) as socks,
    ):
        *held, surplus = socks
        try:
            for sock in held:
                sock.sendall(b"GET /hold HTTP/1.1\r\nHost: tierwise\r\n\r\n")
            for _ in held:
                assert gate.entered.acquire(timeout=wait), "a request under the limit was held"
            surplus.sendall(b"GET /hold HTTP/1.1\r\nHost: tierwise\r\n\r\n")
            status, headers, body = read_response(surplus, wait)
            assert status == 503
            assert json.loads(body)["error"] == "Overloaded"
            assert f"{s.max_in_flight} requests in flight" in json.loads(body)["detail"]
            assert int(headers["retry-after"]) >= 1
        finally:
            gate.opened.set()
        for sock in held:
            assert read_response(sock, wait)[0] == 200
        surplus.sendall(b"GET /ok HTTP/1.1\r\nHost: tierwise\r\n\r\n")
        assert read_response(surplus, wait)[0] == 200  # the slots came back


def test_failed_requests_and_the_lifespan_hold_no_slot(settings: Settings) -> None:
    s = with_timeouts(settings, max_in_flight=1, header_timeout_seconds=1)
    with (
        serve(gated_app(s.max_in_flight, Gate()), s) as base,
        httpx.Client(base_url=base, timeout=bound(s.header_timeout_seconds)) as http,
    ):
        for _ in range(2):
            # uvicorn drops the connection after an unhandled error; do not reuse it
            assert http.get("/boom", headers={"Connection": "close"}).status_code == 500
            assert http.get("/ok").status_code == 200


BIG = 16 * 1024 * 1024  # beyond what the kernel buffers of both ends of a connection hold


def big_app(size: int) -> FastAPI:
    """A small app whose /big answers `size` bytes in one body, as a large list page does."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/big")
    def big() -> Response:
        return Response(b"x" * size, media_type="application/octet-stream")

    return app


def answered(sock: socket.socket, within: float) -> bool:
    """Whether a response has started to arrive, left unread (peeked, not received)."""
    sock.settimeout(within)
    try:
        return sock.recv(12, socket.MSG_PEEK) == b"HTTP/1.1 200"
    finally:
        sock.settimeout(None)


def wait_until(done: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)
    return done()


def reset_by_server(sock: socket.socket, within: float) -> bool:
    """Whether reading what arrived ends in a reset (a close would end in b"")."""
    sock.settimeout(within)
    try:
        while sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        return True
    return False


def test_a_client_that_never_reads_its_response_is_dropped_after_the_write_timeout(
    settings: Settings,
) -> None:
    """The connections, and the responses waiting in their buffers, are let go within a bound
    from the write timeout; reset, so the kernel keeps nothing for them either."""
    s = with_timeouts(
        settings, write_timeout_seconds=0.5, header_timeout_seconds=60, keep_alive_seconds=60
    )
    wait = bound(s.write_timeout_seconds)
    with served(big_app(BIG), s) as live, connections(live.base, 4) as socks:
        for sock in socks:
            sock.sendall(b"GET /big HTTP/1.1\r\nHost: tierwise\r\n\r\n")
        assert all(answered(sock, wait) for sock in socks)
        assert wait_until(lambda: live.connections() == 0, wait), "still held"
        assert all(reset_by_server(sock, wait) for sock in socks)


def test_a_client_reading_slowly_gets_its_whole_response(settings: Settings) -> None:
    """Each write timeout, the client has taken some of the response: it is never cut off."""
    s = with_timeouts(
        settings, write_timeout_seconds=2, header_timeout_seconds=60, keep_alive_seconds=60
    )
    size, chunk = 4 * 1024 * 1024, 256 * 1024
    with served(big_app(size), s) as live, connections(live.base, 1) as (sock,):
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: tierwise\r\nConnection: close\r\n\r\n")
        assert answered(sock, bound(s.write_timeout_seconds))
        received = 0
        sock.settimeout(bound(s.write_timeout_seconds))
        while data := sock.recv(chunk):
            received += len(data)
            time.sleep(s.write_timeout_seconds / 10)  # well inside each period
        assert received > size  # the head and every byte of the body


REAL = SecretStr("a-long-random-secret-from-the-service-environment")


def development() -> Settings:
    """Settings with both secrets at their development defaults, whatever the environment says."""
    defaults = {
        name: Settings.model_fields[name].default for name in ("session_secret", "audit_key")
    }
    return Settings(environment="test").model_copy(update=defaults)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_loopback_is_served_with_development_secrets(host: str) -> None:
    check_bind(development(), host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "tierwise.internal", ""])
@pytest.mark.parametrize(
    ("update", "named", "not_named"),
    [
        ({}, ["TIERWISE_SESSION_SECRET", "TIERWISE_AUDIT_KEY"], []),
        ({"audit_key": REAL}, ["TIERWISE_SESSION_SECRET"], ["TIERWISE_AUDIT_KEY"]),
        ({"session_secret": REAL}, ["TIERWISE_AUDIT_KEY"], ["TIERWISE_SESSION_SECRET"]),
    ],
)
def test_a_public_bind_with_a_development_secret_is_refused(
    host: str, update: dict[str, SecretStr], named: list[str], not_named: list[str]
) -> None:
    with pytest.raises(UnsafeBind) as refused:
        check_bind(development().model_copy(update=update), host)
    assert all(name in refused.value.detail for name in named)
    assert not any(name in refused.value.detail for name in not_named)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "127.0.0.1"])
def test_any_bind_is_served_with_real_secrets(host: str) -> None:
    check_bind(development().model_copy(update={"session_secret": REAL, "audit_key": REAL}), host)


def serve_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, args: list[str], why: str
) -> Result:
    """`tierwise serve ARGS` on the test database, failing the test if it starts serving."""
    monkeypatch.setenv("TIERWISE_DATABASE_URL", settings.database_url)

    def must_not_serve(*_: object, **__: object) -> None:
        pytest.fail(f"tierwise serve started {why}")

    monkeypatch.setattr(uvicorn.Server, "run", must_not_serve)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli.app, ["serve", *args])
    finally:
        get_settings.cache_clear()


def test_serve_on_0_0_0_0_with_development_secrets_exits_non_zero(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("TIERWISE_SESSION_SECRET", "TIERWISE_AUDIT_KEY", "TIERWISE_ENVIRONMENT"):
        monkeypatch.delenv(variable, raising=False)
    why = "on 0.0.0.0 with the development secrets"
    result = serve_refused(settings, monkeypatch, ["--host", "0.0.0.0"], why)
    assert result.exit_code == 1, result.output
    assert "TIERWISE_SESSION_SECRET" in result.stderr
    assert "0.0.0.0" in result.stderr


def test_serve_refuses_forwarded_allow_ips_and_names_the_setting_to_use(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's FORWARDED_ALLOW_IPS is not read (TIERWISE_TRUSTED_PROXIES is the one list of
    proxies believed), so a server started with it set would not do what its operator meant."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    result = serve_refused(settings, monkeypatch, [], "with FORWARDED_ALLOW_IPS set")
    assert result.exit_code == 1, result.output
    assert "FORWARDED_ALLOW_IPS" in result.stderr and "TIERWISE_TRUSTED_PROXIES" in result.stderr
