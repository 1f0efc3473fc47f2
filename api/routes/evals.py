"""Eval suites for engineers: start one, read its results."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy.engine import Engine

from api.deps import Route, RunnerDep, SessionDep, require
from api.schemas import EvalCreate, EvalRunPublic
from api.views import eval_public
from core.database import session_scope
from core.errors import InvalidInput
from core.services import evals
from core.settings import Settings
from core.tables import Principal
from evals.runner import EvalCancelled, run_suite
from evals.schema import UnknownSuite, load_suite, suite_file

router = APIRouter(prefix="/v1/evals", tags=["evals"], route_class=Route)
Engineer = Annotated[Principal, Depends(require("engineer"))]
SHUT_DOWN_RUNNING = "the server shut down before the suite finished; start it again"
SHUT_DOWN_QUEUED = "the server shut down before the suite started; start it again"


def execute_eval(
    engine: Engine,
    settings: Settings,
    eval_id: str,
    suite: str,
    repeat: int | None,
    stop: threading.Event | None = None,
) -> None:
    """Run the suite on its own scratch database and store the result on the eval row.

    Once `stop` is set (the server is shutting down) the suite ends at its next scenario and the
    row says so, rather than holding the shutdown until the whole suite has run.
    """
    with session_scope(engine) as session:
        evals.set_status(session, eval_id, "running")
    try:
        result = run_suite(str(suite_file(suite)), settings=settings, repeat=repeat, stop=stop)
    except EvalCancelled as exc:
        with session_scope(engine) as session:
            evals.set_status(session, eval_id, "failed", error=f"{SHUT_DOWN_RUNNING} ({exc})")
        return
    except Exception as exc:  # a harness failure is recorded, never lost
        with session_scope(engine) as session:
            evals.set_status(session, eval_id, "failed", error=f"{type(exc).__name__}: {exc}")
        return
    with session_scope(engine) as session:
        evals.set_status(session, eval_id, "done", result=result)


def _fail_if_cancelled(engine: Engine, eval_id: str) -> Callable[[Future[None]], None]:
    """A callback for the eval's future: an eval the shutdown took off the queue never ran, and
    its row would otherwise say queued for ever."""

    def callback(future: Future[None]) -> None:
        if future.cancelled():
            with session_scope(engine) as session:
                evals.set_status(session, eval_id, "failed", error=SHUT_DOWN_QUEUED)

    return callback


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def start_eval(
    body: EvalCreate, request: Request, runner: RunnerDep, principal: Engineer
) -> EvalRunPublic:
    """Start an eval suite by name; it runs in the background on a scratch database."""
    try:
        load_suite(str(suite_file(body.suite)))  # by name only: never a path on the server
    except UnknownSuite as exc:
        raise InvalidInput(f"suite: {exc}") from exc
    with session_scope(runner.engine) as session:
        row = evals.create(session, body.suite, body.repeat, principal.name)
        view = eval_public(row)
    state = request.app.state
    try:
        future = state.eval_executor.submit(
            execute_eval,
            runner.engine,
            runner.settings,
            row.id,
            body.suite,
            body.repeat,
            state.stopping,
        )
    except RuntimeError:  # the executor has shut down: the server is stopping
        with session_scope(runner.engine) as session:
            evals.set_status(session, row.id, "failed", error=SHUT_DOWN_QUEUED)
            return eval_public(evals.get(session, row.id))
    future.add_done_callback(_fail_if_cancelled(runner.engine, row.id))
    return view


@router.get("/{eval_id}")
def get_eval(eval_id: str, session: SessionDep, _: Engineer) -> EvalRunPublic:
    """The eval's status and, once done, its summary, gate, provenance and scenarios."""
    return eval_public(evals.get(session, eval_id))
