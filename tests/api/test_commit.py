"""A 2xx answer means the write is committed: seen by the next request, or never acknowledged."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from apihelp import auth, wait_for
from factories import client_data
from fastapi.testclient import TestClient
from live import client_limits, serve
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from api.app import create_app
from core.database import get_engine
from core.settings import Settings

COMMIT_DELAY_SECONDS = 0.3  # long enough that a read sent after an early answer beats the commit


@contextmanager
def on_commit(engine: Engine, action: Any) -> Iterator[None]:
    """Run `action` on every commit of the engine's connections (a real fault, not a mock)."""
    event.listen(engine, "commit", action)
    try:
        yield
    finally:
        event.remove(engine, "commit", action)


def test_a_put_is_visible_to_the_very_next_request(
    settings: Settings, tokens: dict[str, str]
) -> None:
    """Over a real server, with slow commits: every acknowledged PUT is found by the next GET."""
    engine = get_engine(settings.database_url)
    svc = auth(tokens["svc-core"])
    missing: list[str] = []
    slow = threading.Event()

    def delay(_conn: Any) -> None:
        if slow.is_set():
            time.sleep(COMMIT_DELAY_SECONDS)

    with (
        on_commit(engine, delay),
        serve(create_app(settings)) as base,
        httpx.Client(base_url=base, timeout=None, limits=client_limits(settings)) as http,
    ):

        def put_then_get(worker: int) -> None:
            for i in range(3):
                body = client_data(client_id=f"C-{worker}-{i}")
                put = http.put(f"/v1/clients/{body['client_id']}", json=body, headers=svc)
                assert put.status_code == 200, put.text
                got = http.get(f"/v1/clients/{body['client_id']}", headers=svc)
                if got.status_code != 200:
                    missing.append(body["client_id"])

        slow.set()
        threads = [threading.Thread(target=put_then_get, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        body = client_data(client_id="C-RUN")
        assert http.put("/v1/clients/C-RUN", json=body, headers=svc).status_code == 200
        run = http.post("/v1/runs", json={"client_id": "C-RUN"}, headers=svc)
        slow.clear()
        assert run.status_code == 202, run.text
        wait_for(http, run.json()["id"], tokens["svc-core"], {"awaiting_approval"})
    assert missing == [], f"acknowledged but not found by the next request: {missing}"


def test_a_commit_that_fails_is_an_error_and_stores_nothing(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    engine = get_engine(settings.database_url)
    body = client_data(client_id="C-LOST")

    def refuse(_conn: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    with on_commit(engine, refuse):
        response = api.put("/v1/clients/C-LOST", json=body, headers=auth(tokens["svc-core"]))
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "NotCommitted"
    assert api.get("/v1/clients/C-LOST", headers=auth(tokens["svc-core"])).status_code == 404
