"""Helpers for API tests: auth headers, storing a client, waiting for a run."""

from __future__ import annotations

import time
from typing import Any

from factories import client_data
from fastapi.testclient import TestClient


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def put_client(api: TestClient, tokens: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = client_data(**overrides)
    response = api.put(
        f"/v1/clients/{body['client_id']}", json=body, headers=auth(tokens["svc-core"])
    )
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(api: TestClient, run_id: str, token: str, statuses: set[str]) -> dict[str, Any]:
    for _ in range(200):
        run = api.get(f"/v1/runs/{run_id}", headers=auth(token)).json()
        if run["status"] in statuses:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {statuses}: {run['status']}")
