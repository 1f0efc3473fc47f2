"""SIGKILL the server with runs in flight and approvals pending, restart it, and check that
nothing is lost, stuck or delivered twice. Real processes, the test's own database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from live import free_port
from sqlalchemy import func
from sqlmodel import select

from core.database import get_engine, session_scope
from core.schemas.vocabulary import FINAL_STATUSES
from core.services import demo
from core.settings import Settings
from core.tables import Delivery, Run

ROOT = Path(__file__).resolve().parents[2]
FINAL_OR_WAITING = {"delivered", "awaiting_approval", "blocked", "rejected", "failed"}
# A lease far longer than recovery takes: a restart that waited for the dead process's leases
# to run out would make no progress for a whole lease, and the test allows half of one.
LEASE_SECONDS = 30.0
SWEEP_SECONDS = 0.5


class Server:
    """`tierwise serve` in a child process of its own."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.port, self.log = free_port(), log
        self.env = {
            **os.environ,
            "TIERWISE_DATABASE_URL": settings.database_url,
            "TIERWISE_LEASE_SECONDS": str(LEASE_SECONDS),
            "TIERWISE_SWEEP_INTERVAL_SECONDS": str(SWEEP_SECONDS),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "serve", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        for _ in range(300):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def seeded(settings: Settings) -> dict[str, str]:
    with session_scope(get_engine(settings.database_url)) as session:
        return {p["name"]: p["token"] for p in demo.seed(session)["principals"]}


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[Server]:
    running = Server(settings, tmp_path / "server.log")
    yield running
    running.stop()


def _runs(settings: Settings) -> list[Run]:
    with session_scope(get_engine(settings.database_url)) as session:
        return list(session.exec(select(Run)))


def _until(settings: Settings, done: Callable[[list[Run]], bool], stall: float) -> None:
    """Wait until `done` holds for the runs, failing once no run has changed for `stall`
    seconds: progress, not a wall clock, bounds the wait."""
    last, moved = None, time.monotonic()
    while not done(everything := _runs(settings)):
        seen = sorted((r.id, r.status, str(r.updated_at)) for r in everything)
        if seen != last:
            last, moved = seen, time.monotonic()
        assert time.monotonic() - moved < stall, [r.status for r in everything]
        time.sleep(0.1)


def test_sigkill_loses_nothing_strands_nothing_and_delivers_once(
    settings: Settings, seeded: dict[str, str], server: Server
) -> None:
    service, advisors = {"Authorization": f"Bearer {seeded['svc-core']}"}, seeded
    clients = [c.client_id for c in demo.load_clients()]
    server.start()
    with httpx.Client(base_url=server.url, headers=service, timeout=10) as http:
        pending = [
            http.post("/v1/runs", json={"client_id": "C-1001"}).json()["id"] for _ in range(3)
        ]
        _until(
            settings,
            lambda rs: all(r.status == "awaiting_approval" for r in rs if r.id in pending),
            LEASE_SECONDS,
        )
        burst = [
            http.post("/v1/runs", json={"client_id": clients[i % len(clients)]}).json()["id"]
            for i in range(30)
        ]
    server.kill()  # with most of the burst queued or running
    in_flight = [r.id for r in _runs(settings) if r.status in ("queued", "running")]
    assert in_flight, "the kill came too late to test anything"

    restarted = time.monotonic()
    server.start()  # its sweeper takes what the dead process left, at once: it is known dead
    _until(
        settings,
        lambda rs: not any(r.status in ("queued", "running") for r in rs),
        LEASE_SECONDS / 2,
    )
    recovered_in = time.monotonic() - restarted
    everything = _runs(settings)
    assert {r.id for r in everything} >= set(pending + burst)  # nothing lost
    assert all(r.status in FINAL_OR_WAITING for r in everything)
    assert all(r.error for r in everything if r.status == "failed")  # failed says why

    approved = set()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for name in ("adv-li", "adv-wang"):
            headers = {"Authorization": f"Bearer {advisors[name]}"}
            queue = http.get("/v1/approvals", headers=headers).json()["items"]
            for approval in queue:
                decided = http.post(
                    f"/v1/approvals/{approval['id']}/decision",
                    headers=headers,
                    json={"action": "approve", "plan_hash": approval["plan_hash"]},
                )
                assert decided.status_code in (202, 409), decided.text
                if decided.status_code == 409:  # only a plan that failed compliance may refuse
                    assert decided.json()["error"] == "PlanNotApprovable"
                else:
                    approved.add(approval["run_id"])
    # Each approval answered once committed; its run is resumed in the background.
    _until(
        settings,
        lambda rs: all(r.status in FINAL_STATUSES for r in rs if r.id in approved),
        LEASE_SECONDS / 2,
    )
    with session_scope(get_engine(settings.database_url)) as session:
        per_run = session.exec(
            select(Delivery.run_id, func.count()).group_by(Delivery.run_id)
        ).all()
        delivered = [r for r in session.exec(select(Run)) if r.status == "delivered"]
    assert all(count == 1 for _, count in per_run)
    assert {run_id for run_id, _ in per_run} == {r.id for r in delivered}
    print(
        f"\ncrash test: {len(everything)} runs, {len(in_flight)} queued or running at SIGKILL, "
        f"none left after {recovered_in:.1f}s (restart included); {len(delivered)} delivered "
        f"once each; {sum(r.status == 'failed' for r in everything)} failed with a reason"
    )
