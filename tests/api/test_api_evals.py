"""Eval suites over HTTP, for engineers only."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from apihelp import auth, put_client, wait_for
from fastapi.testclient import TestClient

import evals.runner
from api.app import create_app
from core.database import get_engine, session_scope
from core.schemas.vocabulary import FINAL_STATUSES
from core.services import evals as eval_rows
from core.services import principals
from core.settings import Settings
from evals.schema import Scenario
from graphs.runner import Runner

FINAL = {"done", "failed"}
ROOT = Path(__file__).resolve().parents[2]


class ScenarioHook:
    """Stands in for evals.runner.run_scenario: counts the repetitions begun and can hold each
    one until `until` is set, so a test decides when an eval is mid-suite and when it moves on."""

    def __init__(self) -> None:
        self.original = evals.runner.run_scenario
        self.begun = 0
        self.entered = threading.Event()
        self.until = threading.Event()
        self.until.set()  # not held unless a test says so

    def __call__(self, runner: Runner, scenario: Scenario, as_of: date) -> Any:
        self.begun += 1
        self.entered.set()
        # The test sets `until` (directly, or by shutting the app down); the bound is a safety
        # net that turns a hang into a failed assertion on the eval's status.
        self.until.wait(timeout=Settings().lease_seconds)
        return self.original(runner, scenario, as_of)


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScenarioHook]:
    hook = ScenarioHook()
    monkeypatch.setattr(evals.runner, "run_scenario", hook)
    yield hook
    hook.until.set()  # never leave an eval thread held behind a failed test


def start_eval(api: TestClient, token: str, suite: str = "smoke") -> str:
    started = api.post("/v1/evals", json={"suite": suite}, headers=auth(token))
    assert started.status_code == 202 and started.json()["status"] == "queued", started.text
    return str(started.json()["id"])


def eval_status(api: TestClient, eval_id: str, token: str) -> dict[str, Any]:
    return dict(api.get(f"/v1/evals/{eval_id}", headers=auth(token)).json())


def wait_for_eval(
    api: TestClient, eval_id: str, token: str, hook: ScenarioHook, stall: float | None = None
) -> dict[str, Any]:
    """Poll until the eval ends; fail once it has begun no repetition for `stall` seconds."""
    stall = Settings().lease_seconds if stall is None else stall
    seen, moved = hook.begun, time.monotonic()
    while (body := eval_status(api, eval_id, token))["status"] not in FINAL:
        if hook.begun != seen:
            seen, moved = hook.begun, time.monotonic()
        assert time.monotonic() - moved < stall, f"eval {eval_id} stalled: {body}"
        time.sleep(0.05)
    return body


def wait_until_held(api: TestClient, eval_id: str, token: str, hook: ScenarioHook) -> None:
    """Until the eval is inside its first scenario; fail if it ends without getting there."""
    while not hook.entered.wait(0.05):
        body = eval_status(api, eval_id, token)
        assert body["status"] not in FINAL, f"eval ended before its first scenario: {body}"


def test_evals_are_for_engineers_and_known_suites(api: TestClient, tokens: dict[str, str]) -> None:
    for role in ("adv-li", "sup-zhao", "svc-core"):
        denied = api.post("/v1/evals", json={"suite": "smoke"}, headers=auth(tokens[role]))
        assert denied.status_code == 403
    unknown = api.post("/v1/evals", json={"suite": "nope"}, headers=auth(tokens["eng-chen"]))
    assert unknown.status_code == 422 and "suite" in unknown.json()["detail"]
    missing = api.get("/v1/evals/eval-nope", headers=auth(tokens["eng-chen"]))
    assert missing.status_code == 404 and missing.json()["error"] == "EvalNotFound"


@pytest.mark.parametrize("suite", ["nope", "evals", "tests", "suites"])
def test_an_unknown_suite_is_named_beside_the_known_ones_and_no_server_path(
    api: TestClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch, suite: str
) -> None:
    # From the project root "evals" and "tests" are directories: a name is never read as a path.
    monkeypatch.chdir(ROOT)
    answer = api.post("/v1/evals", json={"suite": suite}, headers=auth(tokens["eng-chen"]))
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert repr(suite) in detail and "known suites: full, request, smoke" in detail
    assert str(ROOT) not in detail and "/" not in detail


def test_two_evals_started_together_both_finish_with_their_results(
    api: TestClient, tokens: dict[str, str], hook: ScenarioHook
) -> None:
    token = tokens["eng-chen"]
    ids = [start_eval(api, token), start_eval(api, token)]
    for eval_id in ids:
        body = wait_for_eval(api, eval_id, token, hook)
        assert body["status"] == "done", body.get("error")
        assert body["gate"]["passed"] is True
        assert body["summary"]["scenarios"] == len(body["scenarios"]) >= 10
        assert body["provenance"]["rule_set_version"]


def test_a_run_is_not_held_up_by_a_running_eval(
    api: TestClient, tokens: dict[str, str], hook: ScenarioHook
) -> None:
    hook.until.clear()  # the eval stays in its first scenario until this test lets it go
    eval_id = start_eval(api, tokens["eng-chen"])
    wait_until_held(api, eval_id, tokens["eng-chen"], hook)
    put_client(api, tokens, client_id="C-LT", aum=200000, liquidity_need=20000)
    created = api.post("/v1/runs", json={"client_id": "C-LT"}, headers=auth(tokens["svc-core"]))
    assert created.status_code == 202, created.text
    run = wait_for(
        api, created.json()["id"], tokens["svc-core"], FINAL_STATUSES | {"awaiting_approval"}
    )
    assert run["status"] == "delivered"
    assert eval_status(api, eval_id, tokens["eng-chen"])["status"] == "running"
    assert hook.begun == 1
    hook.until.set()
    assert wait_for_eval(api, eval_id, tokens["eng-chen"], hook)["status"] == "done"


def test_shutdown_stops_a_running_eval_and_the_row_says_why(
    settings: Settings, hook: ScenarioHook
) -> None:
    with session_scope(get_engine(settings.database_url)) as session:
        token = principals.create(session, "eng-shut", "engineer")[1]
    app = create_app(settings)
    with TestClient(app) as client:
        # The first scenario is held until the server starts shutting down, as a long one is.
        hook.until = app.state.stopping
        running = start_eval(client, token)
        waiting = start_eval(client, token)  # queued behind it on the single eval thread
        wait_until_held(client, running, token, hook)
    # Leaving the block ran the lifespan's shutdown to its end: both rows say why they stopped.
    assert hook.until.is_set() and hook.begun == 1
    with session_scope(get_engine(settings.database_url)) as session:
        stopped, never = eval_rows.get(session, running), eval_rows.get(session, waiting)
    assert stopped.status == never.status == "failed"
    assert stopped.error and stopped.error.startswith(
        "the server shut down before the suite finished; start it again"
    )
    assert never.error == "the server shut down before the suite started; start it again"
    assert stopped.finished_at is not None and never.finished_at is not None
