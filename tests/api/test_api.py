"""The HTTP API through the app: auth, scoping, runs, decisions, audit and errors."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from apihelp import auth, put_client, wait_for
from factories import client_data
from fastapi.testclient import TestClient
from sqlalchemy import update

from core.database import get_engine, session_scope
from core.settings import Settings
from core.tables import AuditEvent

PAST_TRADE = {"date": "2026-10-08", "product_code": "510300", "side": "buy", "amount": 1000}
TOMORROW = (date.today() + timedelta(days=1)).isoformat()
FUTURE = [PAST_TRADE, PAST_TRADE, PAST_TRADE, {**PAST_TRADE, "date": TOMORROW}]


def test_health_and_docs_need_no_token(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok", "database": "ok"}
    assert api.get("/openapi.json").status_code == 200


@pytest.mark.parametrize(
    "path", ["/v1/products", "/v1/runs", "/v1/approvals", "/v1/clients/C-1001"]
)
def test_everything_else_needs_a_valid_token(api: TestClient, path: str) -> None:
    missing = api.get(path)
    wrong = api.get(path, headers=auth("tw_not-a-token"))
    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["error"] == "Unauthorized"


def test_client_contact_is_masked_and_scoped(api: TestClient, tokens: dict[str, str]) -> None:
    shown = put_client(api, tokens)
    assert shown["contact"] == {
        "phone": "139****5678",
        "id_number": "110105********002X",
        "email": "w***@example.com",
    }
    own = api.get("/v1/clients/C-1001", headers=auth(tokens["adv-li"]))
    assert own.status_code == 200 and "13912345678" not in own.text
    other = api.get("/v1/clients/C-1001", headers=auth(tokens["adv-wang"]))
    assert other.status_code == 404 and other.json()["error"] == "ClientNotFound"
    assert api.get("/v1/clients/C-1001", headers=auth(tokens["eng-chen"])).status_code == 403


def test_a_mask_longer_than_the_value_it_hides_is_still_served(
    api: TestClient, tokens: dict[str, str]
) -> None:
    """A one-letter local part is padded when masked: a 254-character email grows past the
    input's limit, and the client must still be stored and shown, never a 500."""
    email = "a@" + "b" * 248 + ".com"
    assert len(email) == 254
    data = client_data(client_id="C-LONG", contact={"email": email})
    put = api.put("/v1/clients/C-LONG", json=data, headers=auth(tokens["svc-core"]))
    assert put.status_code == 200, put.text
    shown = api.get("/v1/clients/C-LONG", headers=auth(tokens["adv-li"]))
    assert shown.status_code == 200
    masked = shown.json()["contact"]["email"]
    assert len(masked) > 254 and masked.endswith("b" * 248 + ".com") and email not in shown.text


def test_bad_client_gets_422_naming_each_field_and_stores_nothing(
    api: TestClient, tokens: dict[str, str]
) -> None:
    body = client_data(client_id="C-BAD", aum=-1, locale="fr")
    body["risk_assessment"]["level"] = "C9"
    response = api.put("/v1/clients/C-BAD", json=body, headers=auth(tokens["svc-core"]))
    assert response.status_code == 422
    detail = response.json()["detail"]
    for field in ("aum", "locale", "risk_assessment.level"):
        assert field in detail
    assert api.get("/v1/clients/C-BAD", headers=auth(tokens["sup-zhao"])).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"assessed_on": "2099-01-01"}, ["risk_assessment.assessed_on"]),
        ({"birth_year": 2100}, ["birth_year"]),
        ({"birth_year": date.today().year - 6}, ["birth_year"]),  # a minor
        ({"birth_year": date.today().year - 121}, ["birth_year"]),
        (
            {"assessed_on": TOMORROW, "trades": FUTURE},
            ["risk_assessment.assessed_on", "trades.3.date"],
        ),
    ],
    ids=["assessed-2099", "born-2100", "aged-6", "aged-121", "tomorrow-and-trade"],
)
def test_impossible_dates_get_422_naming_each_field_and_store_nothing(
    api: TestClient, tokens: dict[str, str], overrides: dict[str, Any], fields: list[str]
) -> None:
    body = client_data(client_id="C-DATES", **overrides)
    response = api.put("/v1/clients/C-DATES", json=body, headers=auth(tokens["svc-core"]))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [part.split(":")[0] for part in detail.split("; ")] == fields
    assert api.get("/v1/clients/C-DATES", headers=auth(tokens["sup-zhao"])).status_code == 404


def test_mid_tier_run_through_the_api_is_delivered_after_approval(
    api: TestClient, tokens: dict[str, str]
) -> None:
    put_client(api, tokens)
    created = api.post("/v1/runs", json={"client_id": "C-1001"}, headers=auth(tokens["svc-core"]))
    assert created.status_code == 202 and created.json()["status"] == "queued"
    run = wait_for(api, created.json()["id"], tokens["svc-core"], {"awaiting_approval"})
    queue = api.get("/v1/approvals", headers=auth(tokens["adv-li"])).json()["items"]
    assert [a["run_id"] for a in queue] == [run["id"]]
    assert api.get("/v1/approvals", headers=auth(tokens["adv-wang"])).json()["items"] == []
    approval = queue[0]
    url = f"/v1/approvals/{approval['id']}/decision"
    stale = api.post(
        url, json={"action": "approve", "plan_hash": "0" * 64}, headers=auth(tokens["adv-li"])
    )
    assert stale.status_code == 409 and stale.json()["error"] == "PlanHashMismatch"
    good = {"action": "approve", "plan_hash": approval["plan_hash"], "comment": "ok"}
    assert api.post(url, json=good, headers=auth(tokens["adv-wang"])).status_code == 404
    assert api.post(url, json=good, headers=auth(tokens["eng-chen"])).status_code == 403
    decided = api.post(url, json=good, headers=auth(tokens["adv-li"]))
    assert decided.status_code == 202, decided.text
    assert decided.json()["status"] == "awaiting_approval"  # answered once committed
    assert decided.json()["approval"]["status"] == "approved"
    done = wait_for(api, run["id"], tokens["adv-li"], {"delivered"}, decided=approval["id"])
    assert done["delivery"]["approved_by"] == "adv-li"
    again = api.post(url, json=good, headers=auth(tokens["adv-li"]))
    assert again.status_code == 409 and again.json()["error"] == "ApprovalAlreadyDecided"


def test_audit_verifies_and_tampering_breaks_it(
    api: TestClient, tokens: dict[str, str], settings: Settings
) -> None:
    put_client(api, tokens, client_id="C-LT", aum=200000, liquidity_need=20000)
    created = api.post("/v1/runs", json={"client_id": "C-LT"}, headers=auth(tokens["svc-core"]))
    run = wait_for(api, created.json()["id"], tokens["svc-core"], {"delivered"})
    url = f"/v1/runs/{run['id']}/audit"
    assert api.get(url, headers=auth(tokens["adv-li"])).status_code == 403
    trail = api.get(url, headers=auth(tokens["eng-chen"])).json()
    assert trail["verified"] is True and len(trail["events"]) >= 6
    with session_scope(get_engine(settings.database_url)) as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.run_id == run["id"], AuditEvent.seq == 2)
            .values(actor="someone-else")
        )
    broken = api.get(url, headers=auth(tokens["sup-zhao"])).json()
    assert broken["verified"] is False and broken["broken_at"] == 2


def test_unknown_ids_are_404(api: TestClient, tokens: dict[str, str]) -> None:
    headers = auth(tokens["sup-zhao"])
    assert api.get("/v1/runs/run-nope", headers=headers).json()["error"] == "RunNotFound"
    missing = api.post("/v1/runs", json={"client_id": "C-NOPE"}, headers=auth(tokens["svc-core"]))
    assert missing.status_code == 404 and missing.json()["error"] == "ClientNotFound"
