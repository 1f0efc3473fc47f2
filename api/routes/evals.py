"""Eval suites for engineers: start one, read its results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine

from api.deps import RunnerDep, SessionDep, require
from core.database import session_scope
from core.errors import InvalidInput
from core.services import evals
from core.settings import Settings
from core.tables import Principal
from evals.runner import run_suite
from evals.schema import load_suite

router = APIRouter(prefix="/v1/evals", tags=["evals"])
Engineer = Annotated[Principal, Depends(require("engineer"))]


class EvalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: str = Field(pattern=r"^[a-z0-9_-]{1,64}$")
    repeat: int | None = Field(default=None, ge=1, le=20)


def execute_eval(
    engine: Engine, settings: Settings, eval_id: str, suite: str, repeat: int | None
) -> None:
    """Run the suite on its own scratch database and store the result on the eval row."""
    with session_scope(engine) as session:
        evals.set_status(session, eval_id, "running")
    try:
        result = run_suite(suite, settings=settings, repeat=repeat)
    except Exception as exc:  # a harness failure is recorded, never lost
        with session_scope(engine) as session:
            evals.set_status(session, eval_id, "failed", error=f"{type(exc).__name__}: {exc}")
        return
    with session_scope(engine) as session:
        evals.set_status(session, eval_id, "done", result=result)


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def start_eval(
    body: EvalCreate, request: Request, runner: RunnerDep, principal: Engineer
) -> dict[str, Any]:
    """Start an eval suite by name; it runs in the background on a scratch database."""
    try:
        load_suite(body.suite)
    except FileNotFoundError as exc:
        raise InvalidInput(f"suite: {exc}") from exc
    with session_scope(runner.engine) as session:
        row = evals.create(session, body.suite, body.repeat, principal.name)
        view = evals.public(row)
    request.app.state.executor.submit(
        execute_eval, runner.engine, runner.settings, row.id, body.suite, body.repeat
    )
    return view


@router.get("/{eval_id}")
def get_eval(eval_id: str, session: SessionDep, _: Engineer) -> dict[str, Any]:
    """The eval's status and, once done, its summary, gate, provenance and scenarios."""
    return evals.public(evals.get(session, eval_id))
