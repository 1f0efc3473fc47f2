"""Inbox test helpers: sign in as a browser does, a plan waiting for adv-li, its status."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import httpx
from factories import AS_OF, make_client
from fastapi.testclient import TestClient

from core.database import get_engine, session_scope
from core.schemas.vocabulary import FINAL_STATUSES
from core.services import approvals, clients, runs
from core.settings import Settings
from graphs.runner import Runner

COOKIE = "tierwise_inbox"


@dataclass(frozen=True)
class Waiting:
    """A plan waiting for adv-li's sign-off."""

    run_id: str
    approval_id: str
    plan_hash: str


def plan_for_adv_li(runner: Runner) -> Waiting:
    client = make_client()
    with session_scope(runner.engine) as session:
        clients.upsert(session, client)
    run = runner.create(client, as_of=AS_OF)
    runner.execute(run.id)
    with session_scope(runner.engine) as session:
        approval = approvals.latest_for_run(session, run.id)
        assert approval is not None and approval.status == "pending"
        return Waiting(run.id, approval.id, approval.plan_hash)


def csrf_in(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: httpx.Client | TestClient, token: str) -> httpx.Response:
    """Sign in as a browser does: fetch the form for its CSRF token, then post the token."""
    csrf = csrf_in(client.get("/inbox/login").text)
    return client.post("/inbox/login", data={"token": token, "csrf": csrf})


def approval_status(settings: Settings, approval_id: str) -> str:
    with session_scope(get_engine(settings.database_url)) as session:
        return approvals.get(session, approval_id).status


def wait_for_run(settings: Settings, run_id: str, statuses: set[str]) -> str:
    """Wait until the run (resumed in the background after a decision) reaches one of
    `statuses`; fail once it ends elsewhere or has not moved for a lease."""
    last, moved = None, time.monotonic()
    while True:
        with session_scope(get_engine(settings.database_url)) as session:
            run = runs.get(session, run_id)
            status, seen = run.status, (run.status, str(run.updated_at))
        if status in statuses:
            return status
        assert status not in FINAL_STATUSES, f"run {run_id} ended {status}, not {statuses}"
        if seen != last:
            last, moved = seen, time.monotonic()
        assert time.monotonic() - moved <= settings.lease_seconds, f"run {run_id} stalled"
        time.sleep(0.05)
