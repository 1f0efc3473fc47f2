"""Request dependencies: the session, the current principal and role checks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlmodel import Session

from core.database import session_scope
from core.errors import Forbidden, NotFound, RateLimited, Unauthorized
from core.services import principals
from core.tables import Principal
from graphs.runner import Runner

bearer = HTTPBearer(auto_error=False, description="A Tierwise token: tierwise principal create")


def get_runner(request: Request) -> Runner:
    return request.app.state.runner  # type: ignore[no-any-return]


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


class TokenLimiter:
    """A moving-window limit per principal, in memory or shared through Redis."""

    def __init__(self, rate: str, storage: str) -> None:
        self.rate = parse(rate)
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage))

    def check(self, principal: str) -> None:
        if not self.limiter.hit(self.rate, "token", principal):
            reset = self.limiter.get_window_stats(self.rate, "token", principal).reset_time
            wait = max(1, math.ceil(reset - time.time()))
            raise RateLimited(f"over {self.rate} for this token; retry in {wait}s", wait)


def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send Authorization: Bearer <token>")
    principal = principals.authenticate(session, credentials.credentials)
    request.app.state.limiter.check(principal.name)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that admits only the given roles."""

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role} may not do this")
        return principal

    return check


def ensure_can_see(principal: Principal, advisor_id: str | None, not_found: NotFound) -> None:
    """An advisor sees only their own clients: another advisor's record answers exactly as a
    missing one does (`not_found`, the error the lookup raises), so ids cannot be probed."""
    if principal.role == "advisor" and advisor_id != principal.name:
        raise not_found


Reader = Annotated[Principal, Depends(require("service", "advisor", "supervisor"))]
Reviewer = Annotated[Principal, Depends(require("advisor", "supervisor"))]
Advisor = Annotated[Principal, Depends(require("advisor"))]
Service = Annotated[Principal, Depends(require("service"))]
