"""Inbox test helpers: sign in as a browser does (or in Chromium), a plan waiting for adv-li,
its status."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from factories import AS_OF, make_client
from fastapi.testclient import TestClient
from live import serve
from playwright.sync_api import ConsoleMessage, Page, sync_playwright
from starlette.types import ASGIApp

from core.database import get_engine, session_scope
from core.schemas.vocabulary import FINAL_STATUSES
from core.services import approvals, clients, runs
from core.settings import Settings
from graphs.runner import Runner

COOKIE = "tierwise_inbox"
CHROMIUM = "/usr/bin/chromium"  # Debian's package


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


@dataclass(frozen=True)
class Browsing:
    """A Chromium page signed in to a live server, and what its console said."""

    page: Page
    base: str
    console: list[ConsoleMessage] = field(default_factory=list)

    def refused_by_csp(self) -> list[str]:
        """What the Content Security Policy refused, as the console said it."""
        return [m.text for m in self.console if "Content Security Policy" in m.text]


@contextmanager
def chromium_signed_in(app: ASGIApp, token: str) -> Iterator[Browsing]:
    """Serve the app, and in headless Chromium sign in with the token on its login form."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
    flags = ["--no-sandbox", "--disable-gpu"]
    with serve(app) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
        try:
            page = browser.new_page()
            browsing = Browsing(page, base)
            page.on("console", lambda message: browsing.console.append(message))
            page.goto(f"{base}/inbox/login")
            page.fill("#token", token)
            page.click("button[type=submit]")
            yield browsing
        finally:
            browser.close()


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
