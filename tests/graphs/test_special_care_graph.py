"""Special care, the plan side (issue 28 part 1): a long-tail ordinary investor whose plan would
hold R4/R5 gets the core plan at once, with the sleeve offered; a run made by accepting the offer
holds only what was offered, and only with every step of the procedure recorded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from factories import hnw_client, long_tail_client, make_client
from test_graph import row, start

from core.database import session_scope
from core.schemas.client import ClientInput
from core.schemas.plan import Plan
from core.schemas.special_care import HIGH_RISK_RANK, SpecialCareRecord
from core.services import deliveries, runs
from core.settings import Settings, SpecialCarePolicy
from graphs.runner import Runner, open_runner
from tools.market.market_data import MarketData

GROWTH = {"goal": "growth", "max_drawdown_tolerance_pct": 30}


def _high(plan: dict[str, Any], market: MarketData) -> set[str]:
    return {
        h["product_code"]
        for h in plan["holdings"]
        if h["weight"] > 0 and market.products[h["product_code"]].risk_rating.rank >= 4
    }


def _failing(r: dict[str, Any]) -> set[str]:
    return {f["rule_id"] for f in r["compliance"]["findings"] if f["verdict"] != "pass"}


def _text(runner: Runner, run_id: str) -> str:
    with session_scope(runner.engine) as session:
        delivery = deliveries.get(session, run_id)
        assert delivery is not None
        return delivery.text


@pytest.mark.parametrize(("level", "locale"), [("C4", "zh-CN"), ("C5", "en")])
def test_a_long_tail_c4_or_c5_client_gets_the_core_plan_at_once_and_the_sleeve_offered(
    runner: Runner, market: MarketData, level: str, locale: str
) -> None:
    client = long_tail_client(client_id=f"C-{level}", risk_level=level, locale=locale, **GROWTH)
    run_id = start(runner, client)
    r = row(runner, run_id)
    assert r["status"] == "delivered"
    assert "advisor_review" not in r["trajectory"]
    assert r["delivery"]["channel"] == "direct"
    assert _high(r["plan"], market) == set()  # capped at R3
    assert not _failing(r)
    plan = Plan.model_validate(r["plan"])
    assert plan.offer is not None
    sleeve = set(plan.offer.codes())
    assert sleeve and all(market.products[c].risk_rating.rank >= HIGH_RISK_RANK for c in sleeve)
    # The offer's weights are the whole plan with the sleeve: it sums to one and holds it.
    assert sum(plan.offer.weights.values()) == pytest.approx(1.0, abs=1e-3)
    assert sleeve <= set(plan.offer.weights)
    left_out = {c.product_code for c in plan.constraints if c.rule_id == "CN-MIS-07"}
    assert sleeve <= left_out
    text = _text(runner, run_id)
    for code in sleeve:
        assert code in text and market.products[code].name(locale) in text
    assert str(plan.offer.cooling_off_hours) in text


def test_a_mid_tier_c5_client_keeps_their_advisor(runner: Runner, market: MarketData) -> None:
    run_id = start(runner, make_client(client_id="C-MID5", risk_level="C5", **GROWTH))
    r = row(runner, run_id)
    assert r["status"] == "awaiting_approval"
    assert r["plan"]["offer"] is None
    assert _high(r["plan"], market)  # today's plan, R4/R5 and all, for the advisor
    assert "CN-MIS-07" in _failing(r)


def test_an_hnw_client_keeps_their_advisor(runner: Runner) -> None:
    run_id = start(runner, hnw_client(risk_level="C5", **GROWTH))
    r = row(runner, run_id)
    assert r["status"] == "awaiting_approval"
    assert r["plan"]["offer"] is None


@pytest.fixture
def advisor_mode(settings: Settings) -> Iterator[Runner]:
    mode = settings.model_copy(update={"special_care": SpecialCarePolicy(mode="advisor")})
    with open_runner(mode) as r:
        yield r


def test_mode_advisor_keeps_todays_queue(advisor_mode: Runner, market: MarketData) -> None:
    client = long_tail_client(client_id="C-ADV", risk_level="C5", **GROWTH)
    r = row(advisor_mode, start(advisor_mode, client))
    assert r["status"] == "awaiting_approval"
    assert r["plan"]["offer"] is None
    assert _high(r["plan"], market)
    assert "CN-MIS-07" in _failing(r)


def _offered(runner: Runner, client: ClientInput) -> tuple[str, Plan]:
    run_id = start(runner, client)
    plan = Plan.model_validate(row(runner, run_id)["plan"])
    assert plan.offer is not None
    return run_id, plan


def _linked(runner: Runner, client: ClientInput, record: SpecialCareRecord) -> str:
    """A run made as an acceptance makes it: the client, the procedure's record, the link."""
    run = runner.create(client, as_of=record.accepted_at.date())
    with session_scope(runner.engine) as session:
        stored = runs.get(session, run.id)
        stored.parent_run_id = record.offer_run_id
        stored.special_care = record.model_dump(mode="json")
        session.add(stored)
    runner.execute(run.id)
    return run.id


def _record(run_id: str, plan: Plan, **overrides: Any) -> SpecialCareRecord:
    assert plan.offer is not None
    offered_at = datetime(2026, 11, 25, 9, 0)
    values: dict[str, Any] = {
        "offer_run_id": run_id,
        "offered": plan.offer.codes(),
        "offered_weights": {h.product_code: h.weight for h in plan.offer.holdings},
        "offered_at": offered_at,
        "accepted_at": offered_at + timedelta(hours=plan.offer.cooling_off_hours + 1),
        "acknowledgement_hash": "a" * 64,
        "cooling_off_hours": plan.offer.cooling_off_hours,
    }
    return SpecialCareRecord.model_validate(values | overrides)


def test_a_linked_run_with_a_complete_record_is_delivered_holding_the_sleeve(
    runner: Runner, market: MarketData
) -> None:
    client = long_tail_client(client_id="C-ACC", risk_level="C5", **GROWTH)
    offer_run, plan = _offered(runner, client)
    assert plan.offer is not None
    linked = _linked(runner, client, _record(offer_run, plan))
    r = row(runner, linked)
    assert r["status"] == "delivered", _failing(r)
    assert r["delivery"]["channel"] == "direct"
    held = _high(r["plan"], market)
    assert held and held <= set(plan.offer.codes())
    # No more of each than the letter showed: the client accepted that share, not more.
    offered = {h.product_code: h.weight for h in plan.offer.holdings}
    weights = {h["product_code"]: h["weight"] for h in r["plan"]["holdings"]}
    assert all(weights[c] <= offered[c] + 1e-4 for c in held), (weights, offered)
    assert r["plan"]["offer"] is None  # no new offer
    assert not _failing(r)
    mis07 = [f for f in r["compliance"]["findings"] if f["rule_id"] == "CN-MIS-07"]
    assert mis07 == []
    assert "R4" in _text(runner, linked)


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"acknowledgement_hash": ""}, "acknowledgement"),
        ({"accepted_at": datetime(2026, 11, 25, 20, 0)}, "cooling-off"),
    ],
    ids=["no acknowledgement", "cooling-off not over"],
)
def test_a_linked_run_with_an_incomplete_record_goes_to_a_person(
    runner: Runner, overrides: dict[str, Any], why: str
) -> None:
    client = long_tail_client(client_id="C-INC", risk_level="C5", **GROWTH)
    offer_run, plan = _offered(runner, client)
    linked = _linked(runner, client, _record(offer_run, plan, **overrides))
    r = row(runner, linked)
    assert r["status"] == "awaiting_approval"
    assert r["deliveries"] == 0
    mis07 = [f for f in r["compliance"]["findings"] if f["rule_id"] == "CN-MIS-07"]
    assert [f["verdict"] for f in mis07] == ["escalate"]
    assert why in mis07[0]["evidence"]


def test_a_linked_run_holds_no_r4_r5_product_the_letter_did_not_offer(
    runner: Runner, market: MarketData
) -> None:
    client = long_tail_client(client_id="C-ONE", risk_level="C5", **GROWTH)
    offer_run, plan = _offered(runner, client)
    assert plan.offer is not None and len(plan.offer.codes()) >= 2
    only = plan.offer.codes()[:1]
    linked = _linked(runner, client, _record(offer_run, plan, offered=only))
    r = row(runner, linked)
    assert _high(r["plan"], market) <= set(only)
    assert r["plan"]["offer"] is None


@pytest.mark.parametrize(
    ("level", "locale", "request_text", "code"),
    [
        ("C4", "zh-CN", "我想买纳指ETF", "513100"),
        ("C5", "en", "I'd like to buy the Nasdaq-100 ETF please", "513100"),
    ],
)
def test_a_wish_for_an_offered_product_is_answered_with_the_offer(
    runner: Runner, level: str, locale: str, request_text: str, code: str
) -> None:
    """Not "its minimum is too high": the answer says the product waits in the offer below."""
    client = long_tail_client(client_id=f"C-W{level}", risk_level=level, locale=locale, **GROWTH)
    run_id = start(runner, client, request_text)
    r = row(runner, run_id)
    assert r["status"] == "delivered"
    assert code in r["plan"]["offer"]["weights"]
    answer = r["compliance"]["document"]["answer"]
    offered = "可选：较高风险的配置部分" if locale == "zh-CN" else "optional higher-risk part"
    assert any(offered in line for line in answer), answer
    assert not any("起投金额" in line or "minimum investment" in line for line in answer)
