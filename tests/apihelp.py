"""Helpers for API tests: auth headers, storing a client, waiting for a run."""

from __future__ import annotations

import time
from typing import Any

import httpx
from factories import client_data
from fastapi.testclient import TestClient

from core.schemas.vocabulary import FINAL_STATUSES
from core.settings import Settings


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def put_client(api: TestClient, tokens: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = client_data(**overrides)
    response = api.put(
        f"/v1/clients/{body['client_id']}", json=body, headers=auth(tokens["svc-core"])
    )
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(
    api: TestClient | httpx.Client,
    run_id: str,
    token: str,
    statuses: set[str],
    stall_seconds: float = Settings().lease_seconds,
    decided: str | None = None,
) -> dict[str, Any]:
    """Poll until the run reaches one of `statuses`; fail once it ends elsewhere, or once it
    has not moved for stall_seconds (a live worker renews its lease at every step).

    `decided`: the approval a decision was just posted on (answered 202 at once, the run then
    resumed in the background). The run counts only once that decision has taken effect: a
    run still waiting on that very review is still to be resumed.
    """
    last, moved = None, time.monotonic()
    while True:
        run = api.get(f"/v1/runs/{run_id}", headers=auth(token)).json()
        on = (run.get("approval") or {}).get("id")
        resuming = decided is not None and on == decided and run["status"] not in FINAL_STATUSES
        if run["status"] in statuses and not resuming:
            return run
        if run["status"] in FINAL_STATUSES:
            raise AssertionError(f"run {run_id} ended {run['status']}, not {statuses}: {run}")
        if (run["status"], run["updated_at"]) != last:
            last, moved = (run["status"], run["updated_at"]), time.monotonic()
        elif time.monotonic() - moved > stall_seconds:
            raise AssertionError(f"run {run_id} stalled at {run['status']}, not {statuses}")
        time.sleep(0.05)
