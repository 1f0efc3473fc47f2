"""Special care end to end through the real graph (issue 28, part 1): a long-tail C4 client is
delivered an R3-capped plan at once with the R4/R5 part offered; after the cooling-off the
firm's channel accepts for them, and a linked run delivers the plan with the sleeve, checked
again on the day against the client as they are then."""

from __future__ import annotations

from typing import Any

from apihelp import auth, put_client, wait_for
from fastapi.testclient import TestClient
from specialcarehelp import backdate

from core.database import get_engine, session_scope
from core.settings import Settings
from tools.market.market_data import MarketData

ACK = {"acknowledgement": "我已阅读各产品的风险提示，冷静期后自愿接受较高风险部分。"}


def _ranks(run: dict[str, Any], market: MarketData) -> dict[str, int]:
    return {
        h["product_code"]: market.products[h["product_code"]].risk_rating.rank
        for h in run["plan"]["holdings"]
        if h["weight"] > 0
    }


def _offered_run(api: TestClient, tokens: dict[str, str], client_id: str) -> dict[str, Any]:
    put_client(api, tokens, client_id=client_id, aum=200000, risk_level="C4", advisor_id=None)
    created = api.post("/v1/runs", json={"client_id": client_id}, headers=auth(tokens["svc-core"]))
    assert created.status_code == 202, created.text
    return wait_for(api, created.json()["id"], tokens["svc-core"], {"delivered"})


def _accept(api: TestClient, tokens: dict[str, str], settings: Settings, run_id: str) -> Any:
    with session_scope(get_engine(settings.database_url)) as session:
        backdate(session, run_id, settings.compliance.cooling_off_hours)
    return api.post(
        f"/v1/runs/{run_id}/special-care/accept", json=ACK, headers=auth(tokens["svc-core"])
    )


def test_offer_accept_and_the_linked_plan_delivered_holding_only_what_was_offered(
    api: TestClient, tokens: dict[str, str], settings: Settings, market: MarketData
) -> None:
    offer_run = _offered_run(api, tokens, "C-SC1")
    # Delivered at once, without a person, holding nothing above R3; the sleeve is offered.
    assert offer_run["trajectory"][-1] == "deliver_plan"
    assert max(_ranks(offer_run, market).values()) <= 3
    offer = offer_run["plan"]["offer"]
    offered = {h["product_code"] for h in offer["holdings"]}
    assert offered and all(market.products[c].risk_rating.rank >= 4 for c in offered)
    letter = api.get(f"/v1/runs/{offer_run['id']}/letter", headers=auth(tokens["sup-zhao"]))
    assert letter.status_code == 200
    for code in offered:
        assert market.products[code].name("zh-CN") in letter.text

    # Too early: the cooling-off runs from the delivery.
    early = api.post(
        f"/v1/runs/{offer_run['id']}/special-care/accept",
        json=ACK,
        headers=auth(tokens["svc-core"]),
    )
    assert early.status_code == 409 and early.json()["error"] == "CoolingOffNotOver"

    accepted = _accept(api, tokens, settings, offer_run["id"])
    assert accepted.status_code == 201, accepted.text
    linked = wait_for(api, accepted.json()["id"], tokens["svc-core"], {"delivered"})
    assert linked["parent_run_id"] == offer_run["id"]
    held = _ranks(linked, market)
    high = {c for c, rank in held.items() if rank >= 4}
    assert high and high <= offered  # the sleeve, and nothing the letter did not offer
    assert linked["plan"].get("offer") is None  # a linked run makes no new offer
    # The procedure's record is complete: CN-MIS-07 holds nothing back and nobody had to sign.
    assert "advisor_review" not in linked["trajectory"]
    assert not [f for f in linked["compliance"]["findings"] if f["rule_id"] == "CN-MIS-07"]
    for run_id, kind in (
        (offer_run["id"], "special_care_accepted"),
        (linked["id"], "special_care_linked"),
    ):
        trail = api.get(f"/v1/runs/{run_id}/audit", headers=auth(tokens["sup-zhao"])).json()
        assert kind in {e["kind"] for e in trail["events"]}


def test_a_client_reassessed_lower_since_the_offer_gets_nothing_above_their_level(
    api: TestClient, tokens: dict[str, str], settings: Settings, market: MarketData
) -> None:
    offer_run = _offered_run(api, tokens, "C-SC2")
    assert offer_run["plan"]["offer"]
    # The client is reassessed at C3 before accepting: the linked run is checked against that.
    put_client(api, tokens, client_id="C-SC2", aum=200000, risk_level="C3", advisor_id=None)
    accepted = _accept(api, tokens, settings, offer_run["id"])
    assert accepted.status_code == 201, accepted.text
    linked = wait_for(
        api, accepted.json()["id"], tokens["svc-core"], {"delivered", "awaiting_approval"}
    )
    assert linked["profile"]["risk_level"] == "C3"
    assert max(_ranks(linked, market).values()) <= 3
