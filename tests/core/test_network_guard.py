"""The suite's guard: nothing in a test may reach beyond this machine."""

from __future__ import annotations

import socket

import pytest


def test_a_connection_beyond_loopback_fails_the_test() -> None:
    with socket.socket() as sock, pytest.raises(AssertionError, match="real endpoint"):
        sock.connect(("203.0.113.7", 443))  # TEST-NET-3: never reached, the guard refuses first


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())
