"""An inbox decision never blocks the event loop: the server answers others while it resumes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
from inboxhelp import approval_status, csrf_in, plan_for_adv_li, sign_in, wait_for_run
from live import serve
from sqlalchemy import event
from sqlalchemy.engine import Engine

from api.app import create_app
from core.database import get_engine, session_scope
from core.services import principals
from core.settings import Settings
from tools.llm.port import LanguageModel

BOUND = 60.0  # seconds: generous, only ever reached when something is wrong


@contextmanager
def statements_on_the_loop(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement run on a thread with a running event loop: each one blocked it."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread: free to block
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_server_answers_while_an_inbox_decision_resumes(settings: Settings) -> None:
    app = create_app(settings)
    entered, release = threading.Event(), threading.Event()
    with serve(app) as base:
        runner = app.state.runner
        waiting = plan_for_adv_li(runner)
        with session_scope(runner.engine) as session:
            token = principals.create(session, "adv-li", "advisor")[1]
        real_factory = runner.model_factory

        def held_model() -> LanguageModel:
            """The resume's model, handed over only once the test has seen the server answer."""
            entered.set()
            assert release.wait(BOUND), "the test never released the decision"
            return real_factory()

        runner.model_factory = held_model
        with (
            httpx.Client(base_url=base, timeout=BOUND) as advisor,
            httpx.Client(base_url=base, timeout=BOUND) as other,
            ThreadPoolExecutor(1) as pool,
            statements_on_the_loop(get_engine(settings.database_url)) as on_loop,
        ):
            sign_in(advisor, token)
            plan = advisor.get(f"/inbox/approvals/{waiting.approval_id}")
            form = {"csrf": csrf_in(plan.text), "plan_hash": waiting.plan_hash, "action": "approve"}
            url = f"/inbox/approvals/{waiting.approval_id}/decide"
            decision = pool.submit(advisor.post, url, data=form)
            try:
                assert entered.wait(BOUND), "the decision never reached the resume"
                health = other.get("/healthz")  # a blocked loop would time out here
            finally:
                release.set()
            decided = decision.result(timeout=BOUND)
        assert health.status_code == 200
        assert on_loop == []  # no database work on the event loop, in any request
        assert decided.status_code == 303
        location = f"/inbox/approvals/{waiting.approval_id}?follow=1"  # the page follows the run
        assert decided.headers["location"] == location
        assert approval_status(settings, waiting.approval_id) == "approved"
        assert wait_for_run(settings, waiting.run_id, {"delivered"}) == "delivered"
