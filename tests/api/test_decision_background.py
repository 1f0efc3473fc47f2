"""A decision answers 202 as soon as it is committed; the run is resumed in the background, and
a server that stops between the two loses nothing: the sweeper resumes the claimed decision."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from apihelp import auth, put_client, wait_for
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select
from test_api_runs import start

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import approvals, principals, runs
from core.settings import Settings
from core.tables import Delivery
from graphs.runner import Runner

RAW_PHONE = "13912345678"


class HeldExecutor(Executor):
    """Takes work and runs it only when the test says so, on the test's own thread."""

    def __init__(self) -> None:
        self.held: list[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        assert not kwargs
        future: Future[Any] = Future()
        self.held.append((future, fn, args))
        return future

    def run_held(self) -> None:
        while self.held:
            future, fn, args = self.held.pop(0)
            future.set_running_or_notify_cancel()
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)
                raise


class EagerExecutor(Executor):
    """Runs work to its end inside submit: a resume that wins every race with the answer."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        future.set_result(fn(*args, **kwargs))
        return future


def stopped_executor() -> Executor:
    """An executor as a stopping server leaves it: submit raises RuntimeError."""
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    return pool


def _waiting_run(api: TestClient, tokens: dict[str, str]) -> tuple[str, dict[str, Any]]:
    put_client(api, tokens)
    run_id = start(api, tokens)
    return run_id, wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})["approval"]


def _committed(settings: Settings, approval_id: str) -> tuple[str, str, dict[str, Any] | None]:
    """The approval's status, its run's status and the stored decision, read in a session of
    the test's own (so only what was committed)."""
    with session_scope(get_engine(settings.database_url)) as session:
        approval = approvals.get(session, approval_id)
        run = runs.get(session, approval.run_id)
        return approval.status, run.status, approval.decision


def _deliveries(settings: Settings, run_id: str) -> int:
    with session_scope(get_engine(settings.database_url)) as session:
        query = select(func.count()).select_from(Delivery).where(Delivery.run_id == run_id)
        return int(session.exec(query).one())


def test_a_decision_answers_202_once_committed_and_the_run_is_delivered_after(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    run_id, approval = _waiting_run(api, tokens)
    runner: Runner = api.app.state.runner  # type: ignore[attr-defined]
    held = HeldExecutor()
    api.app.state.resume_executor = held  # type: ignore[attr-defined]
    body = {
        "action": "approve",
        "plan_hash": approval["plan_hash"],
        "comment": f"客户来电 {RAW_PHONE} 确认",
    }
    decided = api.post(
        f"/v1/approvals/{approval['id']}/decision", json=body, headers=auth(tokens["adv-li"])
    )

    # Answered before anything resumed: the run as it stands, its approval decided.
    assert decided.status_code == 202, decided.text
    answer = decided.json()
    assert answer["id"] == run_id and answer["status"] == "awaiting_approval"
    assert answer["approval"]["status"] == "approved" and answer["delivery"] is None
    assert [(fn, args) for _, fn, args in held.held] == [(runner.resume_decided, (approval["id"],))]
    status, run_status, stored = _committed(settings, approval["id"])
    assert (status, run_status) == ("approved", "awaiting_approval")
    assert stored is not None and RAW_PHONE not in str(stored)  # stored masked
    paused = runner.graph.get_state(runner.config(run_id)).interrupts
    assert paused[0].value["approval_id"] == approval["id"]  # the graph has not moved
    assert _deliveries(settings, run_id) == 0

    held.run_held()  # now the resume runs
    run = api.get(f"/v1/runs/{run_id}", headers=auth(tokens["adv-li"])).json()
    assert run["status"] == "delivered" and run["delivery"]["approved_by"] == "adv-li"
    assert _deliveries(settings, run_id) == 1
    # The graph resumed with the decision as stored (masked), never the raw request.
    resumed = runner.graph.get_state(runner.config(run_id)).values["decision"]
    assert resumed["comment"] == stored["comment"] and RAW_PHONE not in resumed["comment"]
    again = api.post(
        f"/v1/approvals/{approval['id']}/decision", json=body, headers=auth(tokens["adv-li"])
    )
    assert again.status_code == 409 and again.json()["error"] == "ApprovalAlreadyDecided"


def test_a_revision_answers_202_and_the_run_waits_again_on_the_revised_plan(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    run_id, approval = _waiting_run(api, tokens)
    held = HeldExecutor()
    api.app.state.resume_executor = held  # type: ignore[attr-defined]
    revise = {
        "action": "revise",
        "plan_hash": approval["plan_hash"],
        "weights": {"TW-MM-01": 0.4, "511260": 0.3, "511010": 0.3},
    }
    decided = api.post(
        f"/v1/approvals/{approval['id']}/decision", json=revise, headers=auth(tokens["adv-li"])
    )
    assert decided.status_code == 202, decided.text
    assert decided.json()["approval"]["id"] == approval["id"]  # no new review yet
    assert _committed(settings, approval["id"])[:2] == ("revised", "awaiting_approval")
    held.run_held()
    run = api.get(f"/v1/runs/{run_id}", headers=auth(tokens["adv-li"])).json()
    assert run["status"] == "awaiting_approval"
    assert run["approval"]["id"] != approval["id"] and run["approval"]["status"] == "pending"


def test_a_server_stopping_between_claim_and_resume_loses_no_decision(
    settings: Settings,
) -> None:
    """The executor refuses the resume (the server is stopping): the answer is still 202, the
    decision stays committed, and a sweep delivers the run once it has been quiet a lease."""
    # The app's own sweeper runs once, at start-up: the test's sweep is the one that resumes.
    quick = settings.model_copy(update={"lease_seconds": 0.5, "sweep_interval_seconds": 3600})
    with session_scope(get_engine(settings.database_url)) as session:
        tokens = {
            name: principals.create(session, name, role)[1]  # type: ignore[arg-type]
            for name, role in (("adv-li", "advisor"), ("svc-core", "service"))
        }
    with TestClient(create_app(quick)) as api:
        run_id, approval = _waiting_run(api, tokens)
        runner: Runner = api.app.state.runner  # type: ignore[attr-defined]
        api.app.state.resume_executor = stopped_executor()  # type: ignore[attr-defined]
        body = {"action": "approve", "plan_hash": approval["plan_hash"]}
        decided = api.post(
            f"/v1/approvals/{approval['id']}/decision", json=body, headers=auth(tokens["adv-li"])
        )
        assert decided.status_code == 202, decided.text
        assert decided.json()["status"] == "awaiting_approval"
        assert _committed(settings, approval["id"])[:2] == ("approved", "awaiting_approval")

        # Stranded once quiet for a lease; a few leases bound the wait (a hang guard).
        bound = time.monotonic() + 10 * quick.lease_seconds
        while run_id not in runner.sweep():
            assert time.monotonic() < bound, "the sweeper never resumed the claimed decision"
            threading.Event().wait(quick.lease_seconds / 5)
        run = api.get(f"/v1/runs/{run_id}", headers=auth(tokens["adv-li"])).json()
        assert run["status"] == "delivered" and run["delivery"]["approved_by"] == "adv-li"
        assert _deliveries(settings, run_id) == 1
        assert runner.sweep() == []  # nothing left to resume, nothing delivered twice


def test_the_answer_is_the_run_as_the_decision_left_it_however_fast_the_resume(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    """The 202 carries the run as committed by the decision (awaiting_approval, its approval
    approved), even when the resume delivers the run before the answer is written."""
    run_id, approval = _waiting_run(api, tokens)
    api.app.state.resume_executor = EagerExecutor()  # type: ignore[attr-defined]
    body = {"action": "approve", "plan_hash": approval["plan_hash"]}
    decided = api.post(
        f"/v1/approvals/{approval['id']}/decision", json=body, headers=auth(tokens["adv-li"])
    )
    assert decided.status_code == 202, decided.text
    assert decided.json()["status"] == "awaiting_approval"
    assert decided.json()["approval"]["status"] == "approved"
    # The resume did run, at once: the run is delivered by the time the answer is read.
    run = api.get(f"/v1/runs/{run_id}", headers=auth(tokens["adv-li"])).json()
    assert run["status"] == "delivered"
    assert _deliveries(settings, run_id) == 1
