"""Request dependencies: the session, the current principal and role checks."""

from __future__ import annotations

import functools
import inspect
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlmodel import Session

from core.database import commit, session_scope
from core.errors import Forbidden, RateLimited, Unauthorized
from core.services import principals
from core.tables import Principal
from graphs.runner import Runner

bearer = HTTPBearer(auto_error=False, description="A Tierwise token: tierwise principal create")


class Route(APIRoute):
    """Every API and inbox route: a sync handler commits its request session as it returns.

    FastAPI validates a sync handler's response on a worker thread, after the handler and
    before a function-scoped dependency's exit. A session still open then holds a connection
    while it waits for a thread, and under load every thread can be waiting for a connection
    held that way: a deadlock that lasts until the pool times out. Committing in the handler's
    own thread gives the connection back first (the dependency's exit then only closes).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _committing(endpoint), **kwargs)


def _committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(endpoint) or inspect.isasyncgenfunction(endpoint):
        return endpoint  # on the event loop: its serialisation waits for no thread

    @functools.wraps(endpoint)
    def handler(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        for value in kwargs.values():
            if isinstance(value, Session):
                commit(value)
        return result

    return handler


def get_runner(request: Request) -> Runner:
    runner: Runner = request.app.state.runner
    return runner


def get_session(runner: Annotated[Runner, Depends(get_runner)]) -> Iterator[Session]:
    """One request, one commit: made before the response is sent, so a 2xx means it landed."""
    with session_scope(runner.engine) as session:
        yield session


RunnerDep = Annotated[Runner, Depends(get_runner)]
# scope="function": FastAPI runs the exit code of a request-scoped yield dependency only after
# the response has gone out, which would acknowledge writes that are not yet committed (or that
# then fail to commit). Function scope commits as the handler returns, and a failed commit
# becomes the error response instead.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class Limiter:
    """A moving-window limit per key (a token, a client address), in memory or through Redis."""

    def __init__(self, rate: str, storage: str, what: str) -> None:
        self.rate, self.what = parse(rate), what
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage))

    def _refuse(self, key: str) -> RateLimited:
        reset = self.limiter.get_window_stats(self.rate, self.what, key).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        return RateLimited(f"over {self.rate} {self.what}; retry in {wait}s", wait)

    def hit(self, key: str) -> None:
        """Count one more for `key`; RateLimited once over the rate."""
        if not self.limiter.hit(self.rate, self.what, key):
            raise self._refuse(key)


class StreamSlots:
    """Event streams open per token in this process, capped: a stream holds no database
    connection, but each costs a poll every interval, so no one token may open without end."""

    def __init__(self, cap: int) -> None:
        self.cap, self.open, self.lock = cap, Counter[str](), threading.Lock()

    @contextmanager
    def slot(self, principal: str) -> Iterator[None]:
        with self.lock:
            if self.open[principal] >= self.cap:
                raise RateLimited(
                    f"{self.cap} event streams are open for this token; close one first", 1
                )
            self.open[principal] += 1
        try:
            yield
        finally:
            with self.lock:
                self.open[principal] -= 1


def client_address(request: Request) -> str:
    """The client's address: the peer's, or, from a proxy in TIERWISE_TRUSTED_PROXIES only, the
    one its X-Forwarded-For names (api/server.py has uvicorn rewrite it then, and only then)."""
    return request.client.host if request.client else "unknown"


def authenticate_counting_failures(
    request: Request, session: Session, token: str, failures: Limiter
) -> Principal:
    """The token's principal, for the API and the inbox's sign-in alike. Only failures count,
    per address, against `failures`: past its limit a bad token is RateLimited, while a right
    one is still served, so one caller behind a NAT or a proxy with a stale token (or guessing:
    tokens are 192 random bits) locks no one else out."""
    try:
        return principals.authenticate(session, token)
    except Unauthorized:
        failures.hit(client_address(request))
        raise


def current_principal(
    request: Request,
    runner: RunnerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, from a session of its own that is closed before the handler runs, so a
    request (or an event stream) never holds a connection for authentication."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send Authorization: Bearer <token>")
    with session_scope(runner.engine) as session:
        failures = request.app.state.auth_failures
        principal = authenticate_counting_failures(
            request, session, credentials.credentials, failures
        )
    request.app.state.limiter.hit(principal.name)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that admits only the given roles."""

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role} may not do this")
        return principal

    return check


Reader = Annotated[Principal, Depends(require("service", "advisor", "supervisor"))]
Reviewer = Annotated[Principal, Depends(require("advisor", "supervisor"))]
Advisor = Annotated[Principal, Depends(require("advisor"))]
Service = Annotated[Principal, Depends(require("service"))]
Supervisor = Annotated[Principal, Depends(require("supervisor"))]
