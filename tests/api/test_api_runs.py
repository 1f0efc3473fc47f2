"""Runs over HTTP: idempotency, events and reconnects, decision races, feedback and limits."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest
from apihelp import auth, put_client, wait_for
from fastapi.testclient import TestClient
from sqlmodel import func, select

from core.database import get_engine, session_scope
from core.masking import find_sensitive
from core.settings import Settings
from core.tables import Delivery, Run


def start(api: TestClient, tokens: dict[str, str], client_id: str = "C-1001", **kw: Any) -> str:
    response = api.post(
        "/v1/runs", json={"client_id": client_id}, headers=auth(tokens["svc-core"]), **kw
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def events(api: TestClient, run_id: str, token: str, **headers: str) -> list[dict[str, Any]]:
    """Read the event stream until the server closes it (follow=false stops at the present)."""
    out: list[dict[str, Any]] = []
    url = f"/v1/runs/{run_id}/events?follow=false"
    with api.stream("GET", url, headers={**auth(token), **headers}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        current: dict[str, Any] = {}
        for line in response.iter_lines():
            if not line:
                if current:
                    out.append(current)
                current = {}
            elif line.startswith("id: "):
                current["id"] = int(line[4:])
            elif line.startswith("event: "):
                current["event"] = line[7:]
            elif line.startswith("data: "):
                current["data"] = json.loads(line[6:])
    return out


def test_same_idempotency_key_and_body_give_the_same_run(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    put_client(api, tokens)
    key = {"Idempotency-Key": "order-42"}
    first = api.post(
        "/v1/runs", json={"client_id": "C-1001"}, headers={**auth(tokens["svc-core"]), **key}
    )
    again = api.post(
        "/v1/runs", json={"client_id": "C-1001"}, headers={**auth(tokens["svc-core"]), **key}
    )
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = api.post(
        "/v1/runs",
        json={"client_id": "C-1001", "request": "more bonds"},
        headers={**auth(tokens["svc-core"]), **key},
    )
    assert other.status_code == 409 and other.json()["error"] == "IdempotencyKeyReused"
    with session_scope(get_engine(settings.database_url)) as session:
        assert session.exec(select(func.count()).select_from(Run)).one() == 1


def test_events_stream_from_the_start_and_resume_after_last_event_id(
    api: TestClient, tokens: dict[str, str]
) -> None:
    put_client(api, tokens)
    run_id = start(api, tokens)
    wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})
    seen = events(api, run_id, tokens["adv-li"])
    names = [e["event"] for e in seen]
    assert names[:3] == ["queued", "running", "node_started"]
    assert names.count("node_started") == 5 and names.count("node_finished") == 4
    assert names.index("review_opened") < names.index("awaiting_approval")
    assert [e["id"] for e in seen] == list(range(len(seen)))
    approval = api.get("/v1/approvals", headers=auth(tokens["adv-li"])).json()["items"][0]
    decided = api.post(
        f"/v1/approvals/{approval['id']}/decision",
        json={"action": "approve", "plan_hash": approval["plan_hash"]},
        headers=auth(tokens["adv-li"]),
    )
    assert decided.status_code == 202 and decided.json()["status"] == "awaiting_approval"
    wait_for(api, run_id, tokens["adv-li"], {"delivered"}, decided=approval["id"])
    rest = events(api, run_id, tokens["adv-li"], **{"Last-Event-ID": str(seen[-1]["id"])})
    assert rest[0]["id"] == seen[-1]["id"] + 1
    assert [e["event"] for e in rest][-1] == "delivered"
    assert {"decision", "node_finished", "delivered"} <= {e["event"] for e in rest}
    assert events(api, run_id, tokens["adv-li"]) == seen + rest  # nothing missed or repeated
    assert api.get(f"/v1/runs/{run_id}/events", headers=auth(tokens["adv-wang"])).status_code == 404


def test_a_followed_stream_ends_when_the_run_ends(api: TestClient, tokens: dict[str, str]) -> None:
    put_client(api, tokens, client_id="C-LT", aum=200000, liquidity_need=20000)
    run_id = start(api, tokens, "C-LT")
    with api.stream("GET", f"/v1/runs/{run_id}/events", headers=auth(tokens["svc-core"])) as r:
        text = "".join(r.iter_text())
    assert "event: delivered" in text


def test_concurrent_approvals_one_wins_and_the_plan_is_delivered_once(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    put_client(api, tokens)
    run_id = start(api, tokens)
    wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})
    approval = api.get("/v1/approvals", headers=auth(tokens["adv-li"])).json()["items"][0]
    body = {"action": "approve", "plan_hash": approval["plan_hash"]}
    barrier, results = threading.Barrier(4), []

    def approve() -> None:
        barrier.wait()
        response = api.post(
            f"/v1/approvals/{approval['id']}/decision", json=body, headers=auth(tokens["adv-li"])
        )
        results.append((response.status_code, response.json().get("error")))

    threads = [threading.Thread(target=approve) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(code for code, _ in results) == [202, 409, 409, 409]
    assert {e for code, e in results if code == 409} == {"ApprovalAlreadyDecided"}
    wait_for(api, run_id, tokens["svc-core"], {"delivered"}, decided=approval["id"])
    with session_scope(get_engine(settings.database_url)) as session:
        count = select(func.count()).select_from(Delivery).where(Delivery.run_id == run_id)
        assert session.exec(count).one() == 1


def test_revise_with_failing_weights_returns_findings_and_is_not_delivered(
    api: TestClient, tokens: dict[str, str]
) -> None:
    put_client(api, tokens)
    run_id = start(api, tokens)
    wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})
    approval = api.get("/v1/approvals", headers=auth(tokens["adv-li"])).json()["items"][0]
    revise = {
        "action": "revise",
        "plan_hash": approval["plan_hash"],
        "weights": {"TW-MM-01": 0.6, "512480": 0.4},
    }
    response = api.post(
        f"/v1/approvals/{approval['id']}/decision", json=revise, headers=auth(tokens["adv-li"])
    )
    assert response.status_code == 202
    run = wait_for(api, run_id, tokens["adv-li"], {"awaiting_approval"}, decided=approval["id"])
    assert run["status"] == "awaiting_approval" and run["delivery"] is None
    rules = {f["rule_id"] for f in run["approval"]["findings"]}
    assert {"CN-MIS-03", "DIV-P-03"} <= rules and run["approval"]["verdict"] == "revise"
    approve = {"action": "approve", "plan_hash": run["approval"]["plan_hash"]}
    refused = api.post(
        f"/v1/approvals/{run['approval']['id']}/decision",
        json=approve,
        headers=auth(tokens["adv-li"]),
    )
    assert refused.status_code == 409 and refused.json()["error"] == "PlanNotApprovable"


def test_decision_body_errors_name_the_field(api: TestClient, tokens: dict[str, str]) -> None:
    put_client(api, tokens)
    run_id = start(api, tokens)
    wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})
    approval = api.get("/v1/approvals", headers=auth(tokens["adv-li"])).json()["items"][0]
    url = f"/v1/approvals/{approval['id']}/decision"
    bad = api.post(
        url, json={"action": "maybe", "plan_hash": "xyz"}, headers=auth(tokens["adv-li"])
    )
    assert bad.status_code == 422
    assert "action" in bad.json()["detail"] and "plan_hash" in bad.json()["detail"]
    no_reason = api.post(
        url,
        json={"action": "reject", "plan_hash": approval["plan_hash"]},
        headers=auth(tokens["adv-li"]),
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    service = api.post(
        url,
        json={"action": "approve", "plan_hash": approval["plan_hash"]},
        headers=auth(tokens["svc-core"]),
    )
    assert service.status_code == 403
    assert api.get(f"/v1/runs/{run_id}", headers=auth(tokens["svc-core"])).json()["status"] == (
        "awaiting_approval"
    )
    missing = api.post(
        "/v1/approvals/apr-nope/decision",
        json={"action": "approve", "plan_hash": "a" * 64},
        headers=auth(tokens["adv-li"]),
    )
    assert missing.status_code == 404 and missing.json()["error"] == "ApprovalNotFound"


def test_feedback_on_a_delivered_plan_is_shown_on_the_run(
    api: TestClient, tokens: dict[str, str]
) -> None:
    put_client(api, tokens, client_id="C-LT", aum=200000, liquidity_need=20000)
    run_id = start(api, tokens, "C-LT")
    wait_for(api, run_id, tokens["svc-core"], {"delivered"})
    url = f"/v1/runs/{run_id}/feedback"
    bad = api.post(url, json={"rating": 6}, headers=auth(tokens["svc-core"]))
    assert bad.status_code == 422 and "rating" in bad.json()["detail"]
    assert api.post(url, json={"rating": 5}, headers=auth(tokens["adv-li"])).status_code == 403
    ok = api.post(url, json={"rating": 4, "comment": "清楚易懂"}, headers=auth(tokens["svc-core"]))
    assert ok.status_code == 201
    shown = api.get(f"/v1/runs/{run_id}", headers=auth(tokens["adv-li"])).json()["feedback"]
    assert [(f["rating"], f["comment"]) for f in shown] == [(4, "清楚易懂")]


def test_feedback_needs_a_delivered_plan(api: TestClient, tokens: dict[str, str]) -> None:
    put_client(api, tokens)
    run_id = start(api, tokens)
    wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})
    response = api.post(
        f"/v1/runs/{run_id}/feedback", json={"rating": 3}, headers=auth(tokens["svc-core"])
    )
    assert response.status_code == 409 and response.json()["error"] == "RunNotDelivered"


def test_bodies_over_one_mebibyte_are_refused(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    body = {"client_id": "C-BIG", "notes": "x" * (1024 * 1024)}
    response = api.put("/v1/clients/C-BIG", json=body, headers=auth(tokens["svc-core"]))
    assert response.status_code == 413 and response.json()["error"] == "PayloadTooLarge"

    def chunks():  # no Content-Length: the limit still holds while streaming
        for _ in range(20):
            yield b"x" * 65536

    streamed = api.put(
        "/v1/clients/C-BIG",
        content=chunks(),
        headers={**auth(tokens["svc-core"]), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413


def test_runs_are_paginated_newest_first(api: TestClient, tokens: dict[str, str]) -> None:
    put_client(api, tokens, client_id="C-LT", aum=200000, liquidity_need=20000)
    ids = [start(api, tokens, "C-LT") for _ in range(5)]
    for run_id in ids:
        wait_for(api, run_id, tokens["svc-core"], {"delivered"})
    headers = auth(tokens["sup-zhao"])
    first = api.get("/v1/runs?limit=2", headers=headers).json()
    second = api.get(f"/v1/runs?limit=2&cursor={first['next']}", headers=headers).json()
    third = api.get(f"/v1/runs?limit=2&cursor={second['next']}", headers=headers).json()
    listed = [r["id"] for page in (first, second, third) for r in page["items"]]
    assert sorted(listed) == sorted(ids) and len(set(listed)) == 5
    assert third["next"] is None
    bad = api.get("/v1/runs?cursor=not-a-cursor", headers=headers)
    assert bad.status_code == 422 and "cursor" in bad.json()["detail"]


def test_products_list_the_shelf(api: TestClient, tokens: dict[str, str]) -> None:
    shelf = api.get("/v1/products", headers=auth(tokens["eng-chen"])).json()["items"]
    assert len(shelf) >= 25
    assert {"code", "name_zh", "name_en", "risk_rating", "lockup_days", "access"} <= set(shelf[0])


def test_no_response_or_log_carries_contact_data(
    api: TestClient, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    notes = "客户手机13912345678，卡号6222021234567894，邮箱w@example.com"
    put_client(api, tokens, client_id="C-LT", aum=200000, liquidity_need=20000, notes=notes)
    run_id = start(api, tokens, "C-LT")
    wait_for(api, run_id, tokens["svc-core"], {"delivered"})
    bodies = [
        api.get(f"/v1/runs/{run_id}", headers=auth(tokens["sup-zhao"])).text,
        api.get("/v1/runs", headers=auth(tokens["sup-zhao"])).text,
        api.get("/v1/clients/C-LT", headers=auth(tokens["sup-zhao"])).text,
        api.get(f"/v1/runs/{run_id}/audit", headers=auth(tokens["sup-zhao"])).text,
        "".join(str(e) for e in events(api, run_id, tokens["sup-zhao"])),
        caplog.text,
    ]
    for text in bodies:
        found = find_sensitive(text)
        assert found == [], (found, text[max(found[0].start - 200, 0) : found[0].end + 50])
        for raw in ("13912345678", "11010519491231002X", "6222021234567894", "w@example.com"):
            assert raw not in text


def test_a_new_advisor_takes_over_open_reviews_and_the_old_one_loses_them(
    api: TestClient, tokens: dict[str, str]
) -> None:
    """The review moves with the client; the letter names the advisor it was drafted for, so
    the new advisor is told why it cannot be approved as it stands, and may reject it."""
    put_client(api, tokens)
    run_id = start(api, tokens)
    wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})
    put_client(api, tokens, advisor_id="adv-wang")
    assert api.get(f"/v1/runs/{run_id}", headers=auth(tokens["adv-li"])).status_code == 404
    queue = api.get("/v1/approvals", headers=auth(tokens["adv-wang"])).json()["items"]
    assert [a["run_id"] for a in queue] == [run_id]
    approval = queue[0]
    url = f"/v1/approvals/{approval['id']}/decision"
    body = {"action": "approve", "plan_hash": approval["plan_hash"]}
    assert approval["client_changes"] == ["advisor adv-li → adv-wang"]
    assert api.post(url, json=body, headers=auth(tokens["adv-li"])).status_code == 404
    refused = api.post(url, json=body, headers=auth(tokens["adv-wang"]))
    assert refused.status_code == 409 and refused.json()["error"] == "ClientChanged"
    assert "advisor adv-li → adv-wang" in refused.json()["detail"]
    reject = {**body, "action": "reject", "comment": "客户已转给新的投资顾问，重新制定方案。"}
    decided = api.post(url, json=reject, headers=auth(tokens["adv-wang"]))
    assert decided.status_code == 202, decided.text
    wait_for(api, run_id, tokens["adv-wang"], {"rejected"}, decided=approval["id"])


def test_free_text_is_masked_before_it_is_stored(api: TestClient, tokens: dict[str, str]) -> None:
    put_client(api, tokens)
    raw = "请回电 13912345678，卡号 6222021234567894"
    created = api.post(
        "/v1/runs", json={"client_id": "C-1001", "request": raw}, headers=auth(tokens["svc-core"])
    )
    run_id = created.json()["id"]
    wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})
    approval = api.get("/v1/approvals", headers=auth(tokens["adv-li"])).json()["items"][0]
    decided = api.post(
        f"/v1/approvals/{approval['id']}/decision",
        headers=auth(tokens["adv-li"]),
        json={
            "action": "approve",
            "plan_hash": approval["plan_hash"],
            "comment": "客户手机13912345678",
        },
    )
    assert decided.status_code == 202, decided.text
    wait_for(api, run_id, tokens["svc-core"], {"delivered"}, decided=approval["id"])
    api.post(
        f"/v1/runs/{run_id}/feedback",
        headers=auth(tokens["svc-core"]),
        json={"rating": 5, "comment": "联系我 w@example.com"},
    )
    texts = [
        api.get(f"/v1/runs/{run_id}", headers=auth(tokens["sup-zhao"])).text,
        api.get(f"/v1/runs/{run_id}/audit", headers=auth(tokens["sup-zhao"])).text,
        json.dumps(events(api, run_id, tokens["sup-zhao"]), ensure_ascii=False),
    ]
    for text in texts:
        for secret in ("13912345678", "6222021234567894", "w@example.com"):
            assert secret not in text
