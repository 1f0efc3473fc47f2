"""Eval suites over HTTP, for engineers only."""

from __future__ import annotations

import time

from apihelp import auth
from fastapi.testclient import TestClient


def test_an_engineer_starts_the_smoke_suite_and_reads_its_result(
    api: TestClient, tokens: dict[str, str]
) -> None:
    started = api.post("/v1/evals", json={"suite": "smoke"}, headers=auth(tokens["eng-chen"]))
    assert started.status_code == 202 and started.json()["status"] == "queued"
    url = f"/v1/evals/{started.json()['id']}"
    for _ in range(600):
        body = api.get(url, headers=auth(tokens["eng-chen"])).json()
        if body["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert body["status"] == "done", body.get("error")
    assert body["gate"]["passed"] is True
    assert body["summary"]["scenarios"] == len(body["scenarios"]) >= 10
    assert body["provenance"]["rule_set_version"]


def test_evals_are_for_engineers_and_known_suites(api: TestClient, tokens: dict[str, str]) -> None:
    for role in ("adv-li", "sup-zhao", "svc-core"):
        denied = api.post("/v1/evals", json={"suite": "smoke"}, headers=auth(tokens[role]))
        assert denied.status_code == 403
    unknown = api.post("/v1/evals", json={"suite": "nope"}, headers=auth(tokens["eng-chen"]))
    assert unknown.status_code == 422 and "suite" in unknown.json()["detail"]
    missing = api.get("/v1/evals/eval-nope", headers=auth(tokens["eng-chen"]))
    assert missing.status_code == 404 and missing.json()["error"] == "EvalNotFound"
