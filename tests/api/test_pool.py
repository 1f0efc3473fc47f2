"""Under concurrency well past the request threads, nothing fails for want of a connection:
event streams hold none, authentication lets its connection go before the handler, and an
accepted run waits rather than fails. A real server on the test's own database."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from typing import Any

import httpx
import pytest
from apihelp import auth, wait_for
from factories import client_data
from fastapi import FastAPI
from fastapi.testclient import TestClient
from live import client_limits, serve
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.app import create_app
from core.database import session_scope
from core.schemas.client import ClientInput
from core.services import runs
from core.settings import Settings
from graphs.runner import open_runner

# Few request threads and one run worker: a connection held across a stream, or by the auth
# dependency beside its handler, would exhaust a pool sized to them within a handful of requests.
SMALL = {"request_threads": 4, "run_workers": 1, "max_streams_per_token": 8}


@pytest.fixture
def small(settings: Settings) -> Settings:
    return settings.model_copy(update=SMALL)


def _all(n: int, call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(call, range(n)))


@contextmanager
def _streams(base: str, run_id: str, tokens: list[str]) -> Iterator[list[threading.Event]]:
    """Open one event stream per token, each held open by a reader thread; yields, per stream,
    an event set once it has received its first event."""
    started = [threading.Event() for _ in tokens]
    statuses: list[int] = []

    def read(i: int) -> None:
        with (
            httpx.Client(base_url=base, timeout=None) as http,
            http.stream("GET", f"/v1/runs/{run_id}/events", headers=auth(tokens[i])) as resp,
        ):
            statuses.append(resp.status_code)
            for line in resp.iter_lines():
                if line.startswith("id:"):
                    started[i].set()
            started[i].set()

    threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(len(tokens))]
    for t in threads:
        t.start()
    try:
        yield started
    finally:
        for t in threads:
            t.join()
        assert statuses == [200] * len(tokens), statuses


def _mid_tier_run(http: httpx.Client, token: str, stall: float) -> dict[str, Any]:
    run = http.post("/v1/runs", json={"client_id": "C-1001"}, headers=auth(token))
    assert run.status_code == 202, run.text
    return wait_for(http, run.json()["id"], token, {"awaiting_approval"}, stall)


def test_streams_hold_no_connection_and_are_capped_per_token(
    small: Settings, tokens: dict[str, str]
) -> None:
    svc, li = auth(tokens["svc-core"]), auth(tokens["adv-li"])
    cap = small.max_streams_per_token
    app: FastAPI = create_app(small)
    limits = client_limits(small)
    with serve(app) as base, httpx.Client(base_url=base, timeout=None, limits=limits) as http:
        assert http.put("/v1/clients/C-1001", json=client_data(), headers=svc).status_code == 200
        run = _mid_tier_run(http, tokens["svc-core"], small.lease_seconds)
        # More open streams than the pool has connections: over two tokens' worth of the cap.
        holders = [tokens["svc-core"]] * cap + [tokens["adv-li"]] * cap + [tokens["sup-zhao"]] * 5
        assert len(holders) > small.db_connections
        with _streams(base, run["id"], holders) as started:
            for flag in started:
                flag.wait()
            assert http.get("/healthz").status_code == 200
            lists = _all(20, lambda _: http.get("/v1/runs", headers=svc))
            assert [r.status_code for r in lists] == [200] * 20
            over = http.get(f"/v1/runs/{run['id']}/events", headers=svc)
            assert over.status_code == 429, over.text
            assert over.json()["error"] == "RateLimited" and "Retry-After" in over.headers
            approval = run["approval"]
            decided = http.post(
                f"/v1/approvals/{approval['id']}/decision",
                json={"action": "approve", "plan_hash": approval["plan_hash"]},
                headers=li,
            )
            assert decided.status_code == 202, decided.text
        # Every stream ended with the run (delivered in the background), and gave its slot back.
        again = http.get(f"/v1/runs/{run['id']}/events", headers=svc)
        assert again.status_code == 200 and "delivered" in again.text


def test_bursts_past_the_threads_all_succeed_and_accepted_runs_never_fail(
    small: Settings, tokens: dict[str, str]
) -> None:
    svc, li = auth(tokens["svc-core"]), auth(tokens["adv-li"])
    with (
        serve(create_app(small)) as base,
        httpx.Client(base_url=base, timeout=None, limits=client_limits(small)) as http,
    ):
        for i in range(10):
            body = client_data(client_id=f"C-P{i}")
            assert http.put(f"/v1/clients/C-P{i}", json=body, headers=svc).status_code == 200
        posted = _all(
            30, lambda i: http.post("/v1/runs", json={"client_id": f"C-P{i % 10}"}, headers=svc)
        )
        assert [r.status_code for r in posted] == [202] * 30, [r.text for r in posted]
        ids = [r.json()["id"] for r in posted]
        done = [
            wait_for(http, i, tokens["svc-core"], {"awaiting_approval"}, small.lease_seconds)
            for i in ids
        ]
        approvals = [r["approval"] for r in done][:20]
        decided = _all(
            20,
            lambda i: http.post(
                f"/v1/approvals/{approvals[i]['id']}/decision",
                json={"action": "approve", "plan_hash": approvals[i]["plan_hash"]},
                headers=li,
            ),
        )
        assert [r.status_code for r in decided] == [202] * 20, [r.text for r in decided]
        lists = _all(80, lambda _: http.get("/v1/runs?limit=50", headers=svc))
        assert [r.status_code for r in lists] == [200] * 80
        # Every decided run resumes in the background and is delivered, none failed; the
        # others still wait for their advisor.
        for approval in approvals:
            wait_for(
                http, approval["run_id"], tokens["svc-core"], {"delivered"},
                small.lease_seconds, decided=approval["id"],
            )  # fmt: skip
        statuses = [http.get(f"/v1/runs/{i}", headers=svc).json()["status"] for i in ids]
    assert sorted(statuses) == sorted(["delivered"] * 20 + ["awaiting_approval"] * 10), statuses


def test_a_run_that_meets_a_busy_database_waits_and_is_resumed_not_failed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pool timeout inside a run (no connection free in time) leaves it running, with its
    checkpoint; the sweeper resumes it once it has been quiet for a lease."""
    quick = settings.model_copy(update={"lease_seconds": 0.3})
    record = runs.record_node
    faults = iter([PoolTimeout("QueuePool limit of size 1 overflow 0 reached")])

    def busy_once(*args: Any, **kwargs: Any) -> None:
        fault = next(faults, None)
        if fault is not None:
            raise fault
        record(*args, **kwargs)

    monkeypatch.setattr(runs, "record_node", busy_once)
    with open_runner(quick) as runner:
        run = runner.create(ClientInput.model_validate(client_data()), as_of=date.today())
        assert runner.execute(run.id).status == "running"  # not failed: the database was busy
        with session_scope(runner.engine) as session:
            assert runs.get(session, run.id).error is None
        threading.Event().wait(quick.lease_seconds * 2)  # quiet for a lease, as the sweep needs
        assert runner.sweep() == [run.id]
        with session_scope(runner.engine) as session:
            assert runs.get(session, run.id).status == "awaiting_approval"


def test_a_busy_database_is_503_with_retry_after_not_500(
    settings: Settings, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(*_: Any, **__: Any) -> None:
        raise PoolTimeout("QueuePool limit of size 1 overflow 0 reached")

    monkeypatch.setattr(runs, "list_runs", busy)
    # Starlette re-raises after the catch-all handler has answered; the answer is what counts.
    with TestClient(create_app(settings), raise_server_exceptions=False) as api:
        response = api.get("/v1/runs", headers=auth(tokens["svc-core"]))
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "Unavailable" and response.headers["Retry-After"] == "1"


def test_health_is_checked_once_a_second_for_everyone_and_a_dead_database_is_503(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.routes import health

    pings: list[int] = []
    real = health.DatabaseCheck._ping

    def counted(self: health.DatabaseCheck) -> None:
        pings.append(1)
        real(self)

    monkeypatch.setattr(health.DatabaseCheck, "_ping", counted)
    monkeypatch.setattr(health, "FRESH_SECONDS", math.inf)  # every answer after the first: fresh
    with TestClient(create_app(settings), raise_server_exceptions=False) as api:
        assert [api.get("/healthz").status_code for _ in range(5)] == [200] * 5
        assert len(pings) == 1

    def unreachable(self: health.DatabaseCheck) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(health.DatabaseCheck, "_ping", unreachable)
    monkeypatch.setattr(health, "FRESH_SECONDS", 0.0)
    with TestClient(create_app(settings), raise_server_exceptions=False) as api:
        response = api.get("/healthz")
    assert response.status_code == 503 and response.json()["error"] == "Unavailable"
