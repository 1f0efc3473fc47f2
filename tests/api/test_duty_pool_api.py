"""The duty pool over HTTP: going on duty, the pool's queue with what waits past the target, a
claim (the first wins), and the claimant's decision carrying the real run to its delivery."""

from __future__ import annotations

from typing import Any

import pytest
from apihelp import auth, put_client, wait_for
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import DutyPolicy, Settings

POOLED = {
    "client_id": "C-POOL",
    "advisor_id": None,
    "aum": 200000,
    "liquidity_need": 20000,
    "risk_level": "C1",
    "lowest_category": True,
    "goal": "preservation",
}


def _pool_run(api: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    """A long-tail client in the lowest category (whose plan an advisor always signs off) with
    no advisor, run to its review: today's dead end, now a review in the duty pool."""
    put_client(api, tokens, **POOLED)
    started = api.post("/v1/runs", json={"client_id": "C-POOL"}, headers=auth(tokens["svc-core"]))
    assert started.status_code == 202, started.text
    return wait_for(api, started.json()["id"], tokens["svc-core"], {"awaiting_approval"})


def _duty(api: TestClient, token: str, name: str, on: bool) -> Any:
    return api.put(f"/v1/principals/{name}/duty", json={"on_duty": on}, headers=auth(token))


def test_duty_is_an_advisors_own_or_a_supervisors_to_set(
    api: TestClient, tokens: dict[str, str]
) -> None:
    mine = _duty(api, tokens["adv-li"], "adv-li", True)
    assert mine.status_code == 200 and mine.json()["on_duty"] is True
    assert _duty(api, tokens["adv-li"], "adv-wang", True).status_code == 403
    assert _duty(api, tokens["svc-core"], "adv-wang", True).status_code == 403
    assert _duty(api, tokens["sup-zhao"], "adv-wang", True).json()["on_duty"] is True
    refused = _duty(api, tokens["sup-zhao"], "sup-zhao", True)
    assert refused.status_code == 422 and "only advisors go on duty" in refused.json()["detail"]
    assert _duty(api, tokens["sup-zhao"], "adv-nobody", True).status_code == 404
    bad = api.put(
        "/v1/principals/adv-li/duty", json={"on_duty": "yes"}, headers=auth(tokens["adv-li"])
    )
    assert bad.status_code == 422
    me = api.get("/v1/principals/me", headers=auth(tokens["adv-li"])).json()
    assert me["on_duty"] is True


def test_the_first_advisor_on_duty_claims_and_decides_and_the_plan_is_delivered(
    api: TestClient, tokens: dict[str, str]
) -> None:
    run = _pool_run(api, tokens)
    review = run["approval"]
    assert review["advisor_id"] is None and review["claimed_by"] is None
    li, wang, sup = (auth(tokens[n]) for n in ("adv-li", "adv-wang", "sup-zhao"))
    off = api.get("/v1/approvals/pool", headers=li)
    assert off.status_code == 403 and "go on duty first" in off.json()["detail"]
    # Nobody decides a pool review unclaimed: not even an advisor on duty.
    _duty(api, tokens["adv-li"], "adv-li", True)
    _duty(api, tokens["adv-wang"], "adv-wang", True)
    body = {"action": "approve", "plan_hash": review["plan_hash"]}
    early = api.post(f"/v1/approvals/{review['id']}/decision", json=body, headers=li)
    assert early.status_code == 403 and "duty pool" in early.json()["detail"]
    pool = api.get("/v1/approvals/pool", headers=li).json()
    assert [i["id"] for i in pool["items"]] == [review["id"]]
    assert pool["items"][0]["overdue"] is False and pool["next"] is None
    assert (pool["total"], pool["overdue"], pool["on_duty"]) == (1, 0, ["adv-li", "adv-wang"])
    assert api.get("/v1/approvals/pool", headers=sup).json()["total"] == 1
    assert api.get("/v1/approvals/pool", headers=auth(tokens["svc-core"])).status_code == 403
    claimed = api.post(f"/v1/approvals/{review['id']}/claim", headers=wang)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["claimed_by"] == "adv-wang" == claimed.json()["advisor_id"]
    second = api.post(f"/v1/approvals/{review['id']}/claim", headers=li)
    assert second.status_code == 409 and second.json()["error"] == "ReviewAlreadyClaimed"
    assert api.get("/v1/approvals/pool", headers=sup).json()["total"] == 0
    assert [i["id"] for i in api.get("/v1/approvals", headers=wang).json()["items"]] == [
        review["id"]
    ]
    taken = api.post(f"/v1/approvals/{review['id']}/decision", json=body, headers=li)
    assert taken.status_code == 404  # adv-wang's now: as a missing one to adv-li
    decided = api.post(f"/v1/approvals/{review['id']}/decision", json=body, headers=wang)
    assert decided.status_code == 202, decided.text
    done = wait_for(api, run["id"], tokens["adv-wang"], {"delivered"}, decided=review["id"])
    assert done["delivery"]["approved_by"] == "adv-wang"
    assert done["approval"]["claimed_by"] == "adv-wang"
    trail = api.get(f"/v1/runs/{run['id']}/audit", headers=sup).json()
    kinds = [e["kind"] for e in trail["events"]]
    assert kinds.index("review_claimed") < kinds.index("decision") and trail["verified"]
    decision = next(e for e in trail["events"] if e["kind"] == "decision")
    assert decision["payload"]["claimed_by"] == "adv-wang"


@pytest.fixture
def becomes(settings: Settings) -> Settings:
    return settings.model_copy(update={"duty": DutyPolicy(claimant_becomes_advisor=True)})


def test_with_the_firms_setting_the_claimant_becomes_the_clients_advisor(
    becomes: Settings, tokens: dict[str, str]
) -> None:
    with TestClient(create_app(becomes)) as api:
        run = _pool_run(api, tokens)
        review = run["approval"]
        wang = auth(tokens["adv-wang"])
        _duty(api, tokens["adv-wang"], "adv-wang", True)
        assert api.post(f"/v1/approvals/{review['id']}/claim", headers=wang).status_code == 200
        client = api.get("/v1/clients/C-POOL", headers=wang)
        assert client.status_code == 200 and client.json()["advisor_id"] == "adv-wang"
        # The claim is not a change to the client the plan was drafted for: it is approvable.
        queue = api.get("/v1/approvals", headers=wang).json()["items"]
        assert [(i["id"], i["client_changes"]) for i in queue] == [(review["id"], [])]
        body = {"action": "approve", "plan_hash": review["plan_hash"]}
        decided = api.post(f"/v1/approvals/{review['id']}/decision", json=body, headers=wang)
        assert decided.status_code == 202, decided.text
        done = wait_for(api, run["id"], tokens["adv-wang"], {"delivered"}, decided=review["id"])
        assert done["delivery"]["approved_by"] == "adv-wang"
