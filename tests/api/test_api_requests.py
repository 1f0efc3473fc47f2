"""A client's own request over HTTP (issue 14): the run shows it masked with its reading, and the
advisor's approval carries the rules' routing and the unsuitability warning (不适当警示)."""

from __future__ import annotations

from typing import Any

from apihelp import auth, put_client, wait_for
from fastapi.testclient import TestClient

PHONE, MASKED = "13912345678", "139****5678"
GOLD = f"能不能帮我买点黄金ETF？我的电话{PHONE}。"  # both gold ETFs are R3, above a C2 client
GOLD_ETFS = {"518880", "159934"}


def long_tail(api: TestClient, tokens: dict[str, str], level: str, **kw: Any) -> str:
    """A long-tail client of adv-li's at `level`; its id."""
    body = put_client(
        api, tokens, client_id="C-LT", aum=200000, liquidity_need=20000, risk_level=level, **kw
    )
    return str(body["client_id"])


def run_with(
    api: TestClient, tokens: dict[str, str], client_id: str, request: str | None, until: str
) -> dict[str, Any]:
    body: dict[str, Any] = {"client_id": client_id}
    if request is not None:
        body["request"] = request
    created = api.post("/v1/runs", json=body, headers=auth(tokens["svc-core"]))
    assert created.status_code == 202, created.text
    run_id = created.json()["id"]
    wait_for(api, run_id, tokens["svc-core"], {until})
    return {"id": run_id, "request": created.json()["request"]}


def queued(api: TestClient, token: str, run_id: str) -> dict[str, Any]:
    items = api.get("/v1/approvals", headers=auth(token)).json()["items"]
    found = [a for a in items if a["run_id"] == run_id]
    assert len(found) == 1, items
    return dict(found[0])


def test_a_request_above_the_level_is_shown_masked_with_its_routes_and_warning(
    api: TestClient, tokens: dict[str, str]
) -> None:
    client_id = long_tail(api, tokens, "C2", goal="income")
    run_id = run_with(api, tokens, client_id, GOLD, "awaiting_approval")["id"]
    response = api.get(f"/v1/runs/{run_id}", headers=auth(tokens["adv-li"]))
    assert response.status_code == 200
    assert PHONE not in response.text  # nowhere in the run: request, intent, approval, letter
    run = response.json()
    assert run["request"] == GOLD.replace(PHONE, MASKED)
    wishes = run["intent"]["wishes"]
    assert {(w["direction"], w["kind"], w["target"]) for w in wishes} == {
        ("buy", "product", code) for code in GOLD_ETFS
    }
    assert run["intent"]["not_understood"] == []
    assert not GOLD_ETFS & {h["product_code"] for h in run["plan"]["holdings"]}

    queue = api.get("/v1/approvals", headers=auth(tokens["adv-li"]))
    assert PHONE not in queue.text
    approval = queued(api, tokens["adv-li"], run_id)
    request = approval["request"]
    assert request["text"] == run["request"]
    review = request["review"]
    assert review["intent"] == run["intent"]
    routes = review["routes"]
    assert [r["route"] for r in routes] == ["above_level"] * len(wishes)
    assert {code for r in routes for code in r["above"]} == GOLD_ETFS
    assert [r["wish"] for r in routes] == wishes  # one route per wish, in the intent's order
    warnings = review["warnings"]
    assert len(warnings) == len(GOLD_ETFS)
    for warning in warnings:
        assert warning["rule_id"] == "CN-MIS-06"
        assert "不适当警示" in warning["zh-CN"] and "特别风险警示书" in warning["zh-CN"]
        assert "Unsuitability warning" in warning["en"]
    assert {code for code in GOLD_ETFS if any(code in w["zh-CN"] for w in warnings)} == GOLD_ETFS
    # The run's latest approval is the same round, and so is a supervisor's queue.
    assert run["approval"]["id"] == approval["id"]
    assert run["approval"]["request"] == request
    assert queued(api, tokens["sup-zhao"], run_id)["request"] == request
    assert api.get("/v1/approvals", headers=auth(tokens["adv-wang"])).json()["items"] == []
    rules = {f["rule_id"]: f["verdict"] for f in approval["findings"]}
    assert rules["CN-MIS-06"] == "escalate"


def test_a_run_without_a_request_shows_none(api: TestClient, tokens: dict[str, str]) -> None:
    put_client(api, tokens)  # a mid-tier client: every plan waits for an advisor
    run_id = run_with(api, tokens, "C-1001", None, "awaiting_approval")["id"]
    run = api.get(f"/v1/runs/{run_id}", headers=auth(tokens["adv-li"])).json()
    assert run["request"] is None and run["intent"] is None
    assert run["approval"]["request"] is None
    assert queued(api, tokens["adv-li"], run_id)["request"] is None
    flagged = {f["rule_id"] for f in run["approval"]["findings"] if f["verdict"] != "pass"}
    assert not flagged & {"CN-MIS-06", "TW-REQ-01"}


def test_a_suitable_request_is_delivered_with_its_outcomes(
    api: TestClient, tokens: dict[str, str]
) -> None:
    client_id = long_tail(api, tokens, "C3", locale="en")
    text = "More bonds and fewer stocks, please."
    run_id = run_with(api, tokens, client_id, text, "delivered")["id"]
    run = api.get(f"/v1/runs/{run_id}", headers=auth(tokens["adv-li"])).json()
    assert run["request"] == text
    asked = {(w["direction"], w["target"]) for w in run["intent"]["wishes"]}
    assert asked == {("more", "bond"), ("less", "equity")}
    assert run["approval"] is None and run["delivery"] is not None
    outcomes = {o["wish"]["target"]: o for o in run["plan"]["request"]["wishes"]}
    assert set(outcomes) == {"bond", "equity"}
    assert {o["done"] for o in outcomes.values()} == {"done"}
    assert outcomes["bond"]["after"] > outcomes["bond"]["before"]
    assert outcomes["equity"]["after"] < outcomes["equity"]["before"]
    assert ". About your request\n" in run["compliance"]["client_text"]


def test_a_request_is_masked_before_the_run_is_created(
    api: TestClient, tokens: dict[str, str]
) -> None:
    client_id = long_tail(api, tokens, "C2", goal="income")
    created = api.post(
        "/v1/runs", json={"client_id": client_id, "request": GOLD}, headers=auth(tokens["svc-core"])
    )
    assert created.status_code == 202 and PHONE not in created.text
    assert created.json()["request"] == GOLD.replace(PHONE, MASKED)
    assert created.json()["intent"] is None  # read once the profile is built
