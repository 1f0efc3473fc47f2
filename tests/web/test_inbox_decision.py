"""An inbox decision is recorded at once; the plan page follows the run (a meta refresh, no
script) until the decision has taken effect, then shows where it ended and says how."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from inboxhelp import Waiting, approval_status, csrf_in, plan_for_adv_li, sign_in
from sqlalchemy import update
from sqlmodel import col

from api.app import create_app
from core.database import get_engine, session_scope
from core.settings import Settings
from core.tables import Approval, utcnow
from graphs.runner import Runner

REFRESH = 'http-equiv="refresh"'


class HeldExecutor(Executor):
    """Takes work and runs it only when the test says so, on the test's own thread."""

    def __init__(self) -> None:
        self.held: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        assert not kwargs
        self.held.append((fn, args))
        return Future()

    def run_held(self) -> None:
        while self.held:
            fn, args = self.held.pop(0)
            fn(*args)


def _post(inbox: TestClient, waiting: Waiting, **fields: str) -> str:
    """Post a decision on the waiting plan from its page; returns where it redirects."""
    plan = f"/inbox/approvals/{waiting.approval_id}"
    form = {"csrf": csrf_in(inbox.get(plan).text), "plan_hash": waiting.plan_hash, **fields}
    posted = inbox.post(f"{plan}/decide", data=form)
    assert posted.status_code == 303, posted.text
    return str(posted.headers["location"])


def status_of(page: str) -> str:
    return page.split('<strong id="run-status">', 1)[1].split("<", 1)[0]


def test_an_approval_is_recorded_at_once_and_the_page_follows_it_to_delivery(
    settings: Settings, inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    held = HeldExecutor()
    inbox.app.state.resume_executor = held  # type: ignore[attr-defined]
    sign_in(inbox, staff["adv-li"])
    location = _post(inbox, waiting, action="approve", comment="ok")
    plan = f"/inbox/approvals/{waiting.approval_id}"
    assert location == f"{plan}?follow=1"
    assert approval_status(settings, waiting.approval_id) == "approved"  # committed
    assert len(held.held) == 1  # the resume is queued, not run

    page = inbox.get(location)
    assert page.status_code == 200
    assert "审核决定已记录，正在将方案发送给客户" in page.text  # the flash
    assert status_of(page.text) == "awaiting_approval" and 'id="progress"' in page.text
    assert REFRESH in page.text and f"url={plan}?follow=1" in page.text
    assert 'id="decide"' not in page.text  # nothing left to decide here
    again = inbox.get(location)  # still resuming: the page keeps following, the flash is gone
    assert again.status_code == 200 and REFRESH in again.text and "已记录" not in again.text

    held.run_held()
    done = inbox.get(location)
    assert done.status_code == 303 and done.headers["location"] == plan
    final = inbox.get(plan)
    assert "方案已发送给客户。" in final.text and status_of(final.text) == "delivered"
    assert REFRESH not in final.text and 'id="progress"' not in final.text


def test_a_revision_is_followed_to_its_own_review(
    inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    held = HeldExecutor()
    inbox.app.state.resume_executor = held  # type: ignore[attr-defined]
    sign_in(inbox, staff["adv-li"])
    inbox.get("/inbox/lang", params={"to": "en"})
    weights = {"weight_TW-MM-01": "40", "weight_511260": "30", "weight_511010": "30"}
    location = _post(inbox, waiting, action="revise", **weights)
    page = inbox.get(location)
    assert "Revision recorded" in page.text and REFRESH in page.text
    held.run_held()
    done = inbox.get(location)
    assert done.status_code == 303
    newer = done.headers["location"]
    assert newer.startswith("/inbox/approvals/") and waiting.approval_id not in newer
    review = inbox.get(newer)
    assert "Revision submitted: see its compliance result below." in review.text
    assert status_of(review.text) == "awaiting_approval" and 'id="decide"' in review.text
    assert REFRESH not in review.text


def test_errors_the_claim_raises_keep_their_messages_and_queue_nothing(
    inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    held = HeldExecutor()
    inbox.app.state.resume_executor = held  # type: ignore[attr-defined]
    sign_in(inbox, staff["adv-li"])
    plan = f"/inbox/approvals/{waiting.approval_id}"
    stale = _post(inbox, Waiting(waiting.run_id, waiting.approval_id, "0" * 64), action="approve")
    assert stale == plan and "该方案已更新" in inbox.get(stale).text
    no_reason = _post(inbox, waiting, action="reject")
    assert no_reason == plan and "操作未完成" in inbox.get(no_reason).text
    assert held.held == []
    _post(inbox, waiting, action="reject", comment="client will wait")
    decided = _post(inbox, waiting, action="approve")
    assert decided == plan and "该方案已有审核决定" in inbox.get(decided).text
    assert len(held.held) == 1  # the reject's resume only


def test_a_server_stopping_after_the_claim_leaves_the_page_following_until_swept(
    settings: Settings, staff: dict[str, str]
) -> None:
    """The executor refuses (the server is stopping): the decision is recorded all the same,
    the page keeps following, and once a sweep has resumed the run it says it was delivered."""
    quick = settings.model_copy(
        update={"lease_seconds": 0.5, "sweep_interval_seconds": 3600, "sign_in_limit": "100/minute"}
    )
    with TestClient(create_app(quick), follow_redirects=False) as inbox:
        runner: Runner = inbox.app.state.runner  # type: ignore[attr-defined]
        waiting = plan_for_adv_li(runner)
        stopped = ThreadPoolExecutor(1)
        stopped.shutdown()
        inbox.app.state.resume_executor = stopped  # type: ignore[attr-defined]
        sign_in(inbox, staff["adv-li"])
        location = _post(inbox, waiting, action="approve")
        assert approval_status(settings, waiting.approval_id) == "approved"
        page = inbox.get(location)
        assert page.status_code == 200 and REFRESH in page.text

        bound = time.monotonic() + 10 * quick.lease_seconds  # a hang guard
        while waiting.run_id not in runner.sweep():
            assert time.monotonic() < bound, "the sweeper never resumed the claimed decision"
            threading.Event().wait(quick.lease_seconds / 5)
        done = inbox.get(location)
        assert done.status_code == 303
        final = inbox.get(done.headers["location"])
        assert "方案已发送给客户。" in final.text and status_of(final.text) == "delivered"


def test_a_page_left_following_a_lost_resume_stops_refreshing_and_says_so(
    settings: Settings, inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    """A resume lost with its server is the sweeper's within a lease and a sweep: well past
    that (three times, from the settings), the page stops refreshing and says to reload later."""
    inbox.app.state.resume_executor = HeldExecutor()  # type: ignore[attr-defined]
    sign_in(inbox, staff["adv-li"])
    location = _post(inbox, waiting, action="approve", comment="ok")
    assert REFRESH in inbox.get(location).text
    patience = 3 * (settings.lease_seconds + settings.sweep_interval_seconds)
    with session_scope(get_engine(settings.database_url)) as session:
        session.execute(
            update(Approval)
            .where(col(Approval.id) == waiting.approval_id)
            .values(decided_at=utcnow() - timedelta(seconds=patience + 1))
        )
    page = inbox.get(location)
    assert page.status_code == 200 and REFRESH not in page.text
    assert "请稍后刷新本页" in page.text and status_of(page.text) == "awaiting_approval"


def test_only_the_advisor_who_decided_is_told_how_it_ended(
    inbox: TestClient, staff: dict[str, str], waiting: Waiting
) -> None:
    held = HeldExecutor()
    inbox.app.state.resume_executor = held  # type: ignore[attr-defined]
    sign_in(inbox, staff["adv-li"])
    location = _post(inbox, waiting, action="approve", comment="ok")
    held.run_held()
    sign_in(inbox, staff["sup-zhao"])  # a supervisor following the same link
    done = inbox.get(location)
    assert done.status_code == 303
    page = inbox.get(done.headers["location"])
    assert status_of(page.text) == "delivered" and "方案已发送给客户。" not in page.text
