"""/openapi.json describes every success response, and real responses match what it says."""

from __future__ import annotations

import json
import time
from typing import Any, get_args

import jsonschema_rs
import pytest
from apihelp import auth, put_client, wait_for
from factories import client_data
from fastapi.testclient import TestClient

from core.schemas.request import Route

EVAL_FINAL = {"done", "failed"}
EVAL_BOUND_SECONDS = 300  # a hang guard, not a timing assertion


@pytest.fixture
def doc(api: TestClient) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _typed(schema: dict[str, Any]) -> bool:
    """A schema that says something: a reference, or a type with what it holds."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "object":
        return bool(schema.get("properties"))
    if schema.get("type") == "array":
        return _typed(schema.get("items", {}))
    return schema.get("type") in ("string", "integer", "number", "boolean")


def _successes(doc: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        (method, path, code, response)
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
        for code, response in operation["responses"].items()
        if code.startswith("2")
    ]


def test_every_operation_documents_a_typed_success_response(doc: dict[str, Any]) -> None:
    operations = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    documented = {(m, p) for m, p, _, _ in _successes(doc)}
    assert len(operations) >= 14
    assert documented == operations, f"no 2xx response: {sorted(operations - documented)}"
    for method, path, code, response in _successes(doc):
        where = f"{method.upper()} {path} {code}"
        content = response.get("content")
        assert content, f"{where}: no content"
        for media, body in content.items():
            assert _typed(body.get("schema", {})), f"{where} {media}: untyped {body}"


def test_the_event_stream_documents_each_event_s_data(doc: dict[str, Any]) -> None:
    stream = doc["paths"]["/v1/runs/{run_id}/events"]["get"]["responses"]["200"]["content"]
    item = stream["text/event-stream"]["itemSchema"]
    assert {"id", "event", "data"} <= set(item["required"])
    data = item["properties"]["data"]
    assert data["contentMediaType"] == "application/json"
    assert {"seq", "kind", "at"} <= set(data["contentSchema"]["properties"])


def _validator(doc: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Validator:
    # The document's components ride along, so its "#/components/schemas/..." refs resolve.
    root = {**schema, "components": doc["components"]}
    return jsonschema_rs.Draft202012Validator(root, validate_formats=True)


def _check(doc: dict[str, Any], method: str, path: str, response: Any) -> Any:
    """The response's JSON, once it matches the schema the document declares for its status."""
    declared = doc["paths"][path][method]["responses"][str(response.status_code)]
    schema = declared["content"]["application/json"]["schema"]
    body = response.json()
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in _validator(doc, schema).iter_errors(body)
    ]
    assert not errors, f"{method.upper()} {path} {response.status_code}: {errors}"
    return body


def _events(text: str) -> list[dict[str, str]]:
    """The events of a text/event-stream body, each as its fields."""
    out = []
    for block in text.replace("\r\n", "\n").strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if fields:
            out.append(fields)
    return out


def test_a_run_s_responses_match_their_schemas(
    api: TestClient, doc: dict[str, Any], tokens: dict[str, str]
) -> None:
    svc, adv, sup = (auth(tokens[n]) for n in ("svc-core", "adv-li", "sup-zhao"))
    put_client(api, tokens)
    created = api.post("/v1/runs", json={"client_id": "C-1001"}, headers=svc)
    assert created.status_code == 202, created.text
    run_id = _check(doc, "post", "/v1/runs", created)["id"]
    wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})
    waiting = _check(doc, "get", "/v1/runs/{run_id}", api.get(f"/v1/runs/{run_id}", headers=adv))
    assert waiting["approval"]["status"] == "pending"

    queue = _check(doc, "get", "/v1/approvals", api.get("/v1/approvals", headers=adv))
    assert [a["run_id"] for a in queue["items"]] == [run_id] and queue["next"] is None
    approval = queue["items"][0]
    decision = {"action": "approve", "plan_hash": approval["plan_hash"], "comment": "ok"}
    decided = api.post(f"/v1/approvals/{approval['id']}/decision", json=decision, headers=adv)
    assert decided.status_code == 202, decided.text
    body = _check(doc, "post", "/v1/approvals/{approval_id}/decision", decided)
    assert body["status"] == "awaiting_approval" and body["approval"]["status"] == "approved"
    wait_for(api, run_id, tokens["adv-li"], {"delivered"}, decided=approval["id"])
    done = _check(doc, "get", "/v1/runs/{run_id}", api.get(f"/v1/runs/{run_id}", headers=adv))
    assert done["delivery"]["approved_by"] == "adv-li"

    rated = api.post(f"/v1/runs/{run_id}/feedback", json={"rating": 5}, headers=svc)
    assert rated.status_code == 201, rated.text
    assert _check(doc, "post", "/v1/runs/{run_id}/feedback", rated)["feedback"][0]["rating"] == 5
    page = _check(doc, "get", "/v1/runs", api.get("/v1/runs", headers=sup))
    assert [r["id"] for r in page["items"]] == [run_id]
    trail = api.get(f"/v1/runs/{run_id}/audit", headers=sup)
    assert _check(doc, "get", "/v1/runs/{run_id}/audit", trail)["verified"] is True

    stream = api.get(f"/v1/runs/{run_id}/events", params={"follow": "false"}, headers=adv)
    assert stream.headers["content-type"].startswith("text/event-stream")
    content = doc["paths"]["/v1/runs/{run_id}/events"]["get"]["responses"]["200"]["content"]
    item = content["text/event-stream"]["itemSchema"]
    data_schema = _validator(doc, item["properties"]["data"]["contentSchema"])
    events = _events(stream.text)
    assert events
    for event in events:
        assert set(item["required"]) <= set(event)
        data_schema.validate(json.loads(event["data"]))


def _component(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(doc["components"]["schemas"][name])


def _refs(schema: dict[str, Any]) -> set[str]:
    """The components a property may hold: its own $ref, or those in its anyOf."""
    options = schema.get("anyOf", [schema])
    return {o["$ref"].rsplit("/", 1)[-1] for o in options if "$ref" in o}


def _nullable(schema: dict[str, Any]) -> bool:
    return {"type": "null"} in schema.get("anyOf", [])


def test_the_client_s_request_is_documented_on_runs_and_approvals(doc: dict[str, Any]) -> None:
    run = _component(doc, "RunPublic")
    assert {"request", "intent"} <= set(run["required"])  # always there, null without one
    request, intent = run["properties"]["request"], run["properties"]["intent"]
    assert {"type": "string"} in request["anyOf"] and _nullable(request)
    assert "masked" in request["description"]
    assert _refs(intent) == {"RequestIntent"} and _nullable(intent) and intent["description"]
    for name in ("ApprovalPublic", "ApprovalQueueItem"):
        approval = _component(doc, name)
        assert "request" in approval["required"], name
        field = approval["properties"]["request"]
        assert _refs(field) == {"ApprovalRequest"} and _nullable(field), name
        assert "null without one" in field["description"], name
    wrapper = _component(doc, "ApprovalRequest")
    assert set(wrapper["required"]) == {"text", "review"}
    assert "masked" in wrapper["properties"]["text"]["description"]
    assert _refs(wrapper["properties"]["review"]) == {"RequestReviewPublic"}
    review = _component(doc, "RequestReviewPublic")
    assert set(review["required"]) == {"intent", "routes", "warnings"}
    assert _refs(review["properties"]["intent"]) == {"RequestIntent"}
    assert _refs(review["properties"]["routes"]["items"]) == {"WishRoute"}
    assert "不适当警示" in review["properties"]["warnings"]["description"]
    understood = _component(doc, "RequestIntent")["properties"]
    assert {"wishes", "cash_needs", "horizon_years", "risk", "not_understood"} <= set(understood)
    assert _refs(understood["wishes"]["items"]) == {"Wish"}
    assert _refs(understood["cash_needs"]["items"]) == {"CashNeed"}
    wish = _component(doc, "Wish")["properties"]
    assert set(wish["direction"]["enum"]) == {"more", "less", "buy", "sell", "avoid"}
    assert {"kind", "target", "share", "amount", "phrase"} <= set(wish)
    route = _component(doc, "WishRoute")["properties"]["route"]
    assert set(route["enum"]) == set(get_args(Route))


def test_a_run_with_a_request_s_responses_match_their_schemas(
    api: TestClient, doc: dict[str, Any], tokens: dict[str, str]
) -> None:
    svc, adv = auth(tokens["svc-core"]), auth(tokens["adv-li"])
    overrides = {"aum": 200000, "liquidity_need": 20000, "goal": "income"}
    put_client(api, tokens, client_id="C-LT", risk_level="C2", **overrides)
    body = {"client_id": "C-LT", "request": "能不能帮我买点黄金ETF？我的电话13912345678。"}
    created = api.post("/v1/runs", json=body, headers=svc)
    assert created.status_code == 202, created.text
    assert _check(doc, "post", "/v1/runs", created)["request"].endswith("139****5678。")
    run_id = created.json()["id"]
    wait_for(api, run_id, tokens["svc-core"], {"awaiting_approval"})
    waiting = _check(doc, "get", "/v1/runs/{run_id}", api.get(f"/v1/runs/{run_id}", headers=adv))
    assert waiting["intent"]["wishes"] and waiting["approval"]["request"]["review"]["warnings"]
    queue = _check(doc, "get", "/v1/approvals", api.get("/v1/approvals", headers=adv))
    approval = queue["items"][0]
    assert {r["route"] for r in approval["request"]["review"]["routes"]} == {"above_level"}
    decision = {"action": "approve", "plan_hash": approval["plan_hash"], "comment": "警示书已签"}
    decided = api.post(f"/v1/approvals/{approval['id']}/decision", json=decision, headers=adv)
    assert decided.status_code == 202, decided.text
    body = _check(doc, "post", "/v1/approvals/{approval_id}/decision", decided)
    assert body["approval"]["request"] == approval["request"]
    wait_for(api, run_id, tokens["adv-li"], {"delivered"}, decided=approval["id"])
    done = _check(doc, "get", "/v1/runs/{run_id}", api.get(f"/v1/runs/{run_id}", headers=adv))
    assert done["status"] == "delivered" and done["approval"]["request"] == approval["request"]
    page = _check(doc, "get", "/v1/runs", api.get("/v1/runs", headers=auth(tokens["sup-zhao"])))
    assert [r["intent"] for r in page["items"]] == [done["intent"]]


def test_client_product_and_health_responses_match_their_schemas(
    api: TestClient, doc: dict[str, Any], tokens: dict[str, str]
) -> None:
    body = client_data()
    stored = api.put("/v1/clients/C-1001", json=body, headers=auth(tokens["svc-core"]))
    assert _check(doc, "put", "/v1/clients/{client_id}", stored)["contact"]["phone"] == (
        "139****5678"
    )
    shown = api.get("/v1/clients/C-1001", headers=auth(tokens["adv-li"]))
    assert _check(doc, "get", "/v1/clients/{client_id}", shown) == stored.json()
    shelf = api.get("/v1/products", headers=auth(tokens["eng-chen"]))
    products = _check(doc, "get", "/v1/products", shelf)
    assert products["items"] and products["next"] is None
    health = _check(doc, "get", "/healthz", api.get("/healthz"))
    assert health == {"status": "ok", "database": "ok"}


def test_an_eval_run_s_responses_match_their_schemas(
    api: TestClient, doc: dict[str, Any], tokens: dict[str, str]
) -> None:
    engineer = auth(tokens["eng-chen"])
    started = api.post("/v1/evals", json={"suite": "smoke"}, headers=engineer)
    assert started.status_code == 202, started.text
    eval_id = _check(doc, "post", "/v1/evals", started)["id"]
    bound = time.monotonic() + EVAL_BOUND_SECONDS
    while True:
        read = api.get(f"/v1/evals/{eval_id}", headers=engineer)
        body = _check(doc, "get", "/v1/evals/{eval_id}", read)
        if body["status"] in EVAL_FINAL:
            break
        assert time.monotonic() < bound, f"eval {eval_id} never ended: {body}"
        time.sleep(0.05)
    assert body["status"] == "done", body["error"]
    assert body["scenarios"] and body["summary"] and body["gate"]
