"""Access follows the client: reassignment moves every run, stream and replay; a 404 tells
nothing about whether another advisor's record exists."""

from __future__ import annotations

import threading
from typing import Any

from apihelp import auth, put_client, wait_for
from fastapi.testclient import TestClient
from test_api_runs import start


def test_another_advisors_records_answer_exactly_as_missing_ones(
    api: TestClient, tokens: dict[str, str]
) -> None:
    put_client(api, tokens)
    run_id = start(api, tokens)
    approval = wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})["approval"]
    wang = auth(tokens["adv-wang"])
    for kind, real in (("clients", "C-1001"), ("runs", run_id), ("approvals", approval["id"])):
        ghost = real[:-1] + ("x" if real[-1] != "x" else "y")
        if kind == "approvals":
            body = {"action": "approve", "plan_hash": approval["plan_hash"]}
            hidden = api.post(f"/v1/approvals/{real}/decision", json=body, headers=wang)
            missing = api.post(f"/v1/approvals/{ghost}/decision", json=body, headers=wang)
        else:
            hidden = api.get(f"/v1/{kind}/{real}", headers=wang)
            missing = api.get(f"/v1/{kind}/{ghost}", headers=wang)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["error"] == missing.json()["error"]
        assert hidden.json()["detail"].replace(real, ghost) == missing.json()["detail"]


def test_an_open_stream_stops_when_the_client_moves_to_another_advisor(
    api: TestClient, tokens: dict[str, str]
) -> None:
    put_client(api, tokens)
    run_id = start(api, tokens)
    wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})
    seen: list[str] = []
    opened = threading.Event()

    def follow() -> None:
        url = f"/v1/runs/{run_id}/events"
        with api.stream("GET", url, headers=auth(tokens["adv-li"])) as response:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    seen.append(line[7:])
                    if line == "event: awaiting_approval":
                        opened.set()

    reader = threading.Thread(target=follow)
    reader.start()
    opened.wait()
    put_client(api, tokens, advisor_id="adv-wang")
    approval = api.get("/v1/approvals", headers=auth(tokens["adv-wang"])).json()["items"][0]
    reject = {"action": "reject", "plan_hash": approval["plan_hash"], "comment": "转交新顾问"}
    url = f"/v1/approvals/{approval['id']}/decision"
    assert api.post(url, json=reject, headers=auth(tokens["adv-wang"])).status_code == 202
    reader.join()  # the stream ends on its own: on losing access, or (before) at the run's end
    assert "decision" not in seen and "rejected" not in seen, seen


def test_an_idempotent_replay_is_refused_once_the_client_has_moved(
    api: TestClient, tokens: dict[str, str]
) -> None:
    put_client(api, tokens)
    li = {**auth(tokens["adv-li"]), "Idempotency-Key": "li-1"}
    first = api.post("/v1/runs", json={"client_id": "C-1001"}, headers=li)
    assert first.status_code == 202
    put_client(api, tokens, advisor_id="adv-wang")
    again = api.post("/v1/runs", json={"client_id": "C-1001"}, headers=li)
    assert again.status_code == 404, again.text
    assert again.json() == {"error": "ClientNotFound", "detail": "no client 'C-1001'"}


def test_finished_runs_follow_the_client_to_the_new_advisor(
    api: TestClient, tokens: dict[str, str]
) -> None:
    put_client(api, tokens, client_id="C-LT", aum=200000, liquidity_need=20000)
    run_id = start(api, tokens, "C-LT")
    delivered: dict[str, Any] = wait_for(api, run_id, tokens["svc-core"], {"delivered"})
    put_client(
        api, tokens, client_id="C-LT", aum=200000, liquidity_need=20000, advisor_id="adv-wang"
    )
    assert api.get(f"/v1/runs/{run_id}", headers=auth(tokens["adv-li"])).status_code == 404
    moved = api.get(f"/v1/runs/{run_id}", headers=auth(tokens["adv-wang"]))
    assert moved.status_code == 200 and moved.json()["delivery"] == delivered["delivery"]
    listed = api.get("/v1/runs?client_id=C-LT", headers=auth(tokens["adv-wang"])).json()["items"]
    assert [r["id"] for r in listed] == [run_id]
