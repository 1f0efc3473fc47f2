"""/v1/principals: who I am, and a supervisor keeping advisors' names, registration numbers and
contacts; a bad value is refused naming the field, and the document says all of it."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import jsonschema_rs
import pytest
from apihelp import auth, put_client, wait_for
from fastapi.testclient import TestClient

from core.services import demo

LI = demo.DEMO_PEOPLE["adv-li"]


def _valid(doc: dict[str, Any], schema: dict[str, Any], body: Any) -> None:
    root = {**schema, "components": doc["components"]}
    jsonschema_rs.Draft202012Validator(root).validate(body)


def test_me_is_the_caller_as_a_person_and_never_the_token(
    api: TestClient, tokens: dict[str, str]
) -> None:
    me = api.get("/v1/principals/me", headers=auth(tokens["adv-li"]))
    assert me.status_code == 200
    assert me.json() | {"created_at": None} == {
        "name": "adv-li",
        "role": "advisor",
        **LI,
        "on_duty": False,
        "created_at": None,
    }
    engineer = api.get("/v1/principals/me", headers=auth(tokens["eng-chen"])).json()
    assert engineer["display_name"] is None and "token" not in str(engineer)


def test_a_supervisor_sets_and_clears_an_advisors_fields(
    api: TestClient, tokens: dict[str, str]
) -> None:
    sup = auth(tokens["sup-zhao"])
    changed = api.patch(
        "/v1/principals/adv-wang",
        json={"registration": " s0980 1210 50009 ", "contact": None},
        headers=sup,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["registration"] == "S0980121050009" and body["contact"] is None
    assert body["display_name"] == demo.DEMO_PEOPLE["adv-wang"]["display_name"]  # left out: kept
    assert api.get("/v1/principals/adv-wang", headers=sup).json() == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"registration": "0980120010001"}, "registration"),
        ({"contact": "手机 139 1234 5678"}, "contact"),
        ({"display_name": "   "}, "display_name"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field_and_nothing_changes(
    api: TestClient, tokens: dict[str, str], body: dict[str, str], field: str
) -> None:
    sup = auth(tokens["sup-zhao"])
    refused = api.patch(
        "/v1/principals/adv-li", json={"display_name": "李小明", **body}, headers=sup
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "InvalidPrincipal"
    assert refused.json()["detail"].startswith(field) and "1234" not in refused.text
    assert api.get("/v1/principals/adv-li", headers=sup).json()["display_name"] == "李明"


def test_only_a_supervisor_reads_or_changes_another_principal(
    api: TestClient, tokens: dict[str, str]
) -> None:
    for caller in ("adv-li", "svc-core", "eng-chen"):
        headers = auth(tokens[caller])
        assert api.patch(
            "/v1/principals/adv-li", json={"display_name": "假名"}, headers=headers
        ).status_code == 403  # fmt: skip
        assert api.get("/v1/principals/adv-wang", headers=headers).status_code == 403
    sup = auth(tokens["sup-zhao"])
    missing = api.patch("/v1/principals/adv-nobody", json={"display_name": "某人"}, headers=sup)
    assert missing.status_code == 404 and missing.json()["error"] == "PrincipalNotFound"
    extra = api.patch("/v1/principals/adv-li", json={"role": "supervisor"}, headers=sup)
    assert extra.status_code == 422
    assert api.get("/v1/principals/me").status_code == 401


def test_the_document_describes_principals_and_the_signed_letter(
    api: TestClient, tokens: dict[str, str]
) -> None:
    doc = api.get("/openapi.json").json()
    patch = doc["paths"]["/v1/principals/{name}"]["patch"]
    request = patch["requestBody"]["content"]["application/json"]["schema"]
    fields = doc["components"]["schemas"]["PrincipalUpdate"]["properties"]
    assert request == {"$ref": "#/components/schemas/PrincipalUpdate"}
    assert {"display_name", "registration", "contact"} == set(fields)
    assert "13 digits" in str(fields["registration"])
    assert {"403", "404", "422"} <= set(patch["responses"])
    delivery = doc["components"]["schemas"]["DeliveryPublic"]["properties"]
    assert "Letter" in str(delivery["document"])
    ok = patch["responses"]["200"]["content"]["application/json"]["schema"]
    me = api.get("/v1/principals/me", headers=auth(tokens["adv-li"])).json()
    _valid(doc, ok, me)


def test_an_advisor_approves_only_once_registered_and_the_letter_is_signed(
    api: TestClient, tokens: dict[str, str]
) -> None:
    put_client(api, tokens)
    created = api.post("/v1/runs", json={"client_id": "C-1001"}, headers=auth(tokens["svc-core"]))
    run = wait_for(api, created.json()["id"], tokens["svc-core"], {"awaiting_approval"})
    sup, li = auth(tokens["sup-zhao"]), auth(tokens["adv-li"])
    assert api.patch("/v1/principals/adv-li", json={"registration": None}, headers=sup).is_success
    approval = run["approval"]
    url = f"/v1/approvals/{approval['id']}/decision"
    good = {"action": "approve", "plan_hash": approval["plan_hash"]}
    refused = api.post(url, json=good, headers=li)
    assert refused.status_code == 403 and refused.json()["error"] == "AdvisorUnregistered"
    assert "registration" in refused.json()["detail"]
    again = {"registration": LI["registration"]}
    assert api.patch("/v1/principals/adv-li", json=again, headers=sup).is_success
    assert api.post(url, json=good, headers=li).status_code == 202
    done = wait_for(api, run["id"], tokens["adv-li"], {"delivered"}, decided=approval["id"])
    text = done["delivery"]["text"]
    block = (
        f"投资顾问：李明（执业证书编号：{LI['registration']}）\n联系方式：{LI['contact']}\n日期："
    )
    signed = re.search(rf"{re.escape(block)}(\d{{4}}-\d{{2}}-\d{{2}})$", text)
    assert signed is not None  # decided today: the day, not the time, so midnight may pass
    assert date.fromisoformat(signed[1]) in {date.today(), date.today() - timedelta(days=1)}
    assert "adv-li" not in text and "document" in done["delivery"]
