"""CN-MIS-07 on the special-care procedure's record, TW-OFFER-01 on the offer's wording, and
TW-NUM-01 on the offer's figures (issue 28 part 1)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest
from compliance_helpers import client, context, fill, fired, plan, profile_of

from core.schemas.plan import Plan, seal
from core.schemas.profile import ClientProfile
from core.schemas.special_care import SleeveHolding, SpecialCareOffer, SpecialCareRecord
from tools.compliance.engine import RuleContext
from tools.compliance.rulebook import shipped_rules
from tools.market.market_data import MarketData, load_market

RULES = shipped_rules()
MARKET = load_market()
C5 = {"risk_level": "C5", "goal": "growth", "max_drawdown_tolerance_pct": 30}
SLEEVE = {"513100": 0.2, "512480": 0.1}
OFFERED_AT = datetime(2026, 11, 25, 9, 0)


def _profile(locale: str = "zh-CN") -> ClientProfile:
    return profile_of(client(aum=200_000, liquidity_need=20_000, locale=locale, **C5), MARKET)


def _record(**overrides: Any) -> SpecialCareRecord:
    values: dict[str, Any] = {
        "offer_run_id": "run-offer",
        "offered": sorted(SLEEVE),
        "offered_weights": dict(SLEEVE),
        "offered_at": OFFERED_AT,
        "accepted_at": OFFERED_AT + timedelta(hours=25),
        "acknowledgement_hash": "b" * 64,
        "cooling_off_hours": 24,
    }
    return SpecialCareRecord.model_validate(values | overrides)


def _linked(record: SpecialCareRecord | None) -> RuleContext:
    """A plan holding the sleeve, as a linked run's, with (or without) the record."""
    prof = _profile()
    ctx = context(prof, plan(fill(SLEEVE), prof, MARKET), MARKET)
    return dataclasses.replace(ctx, special_care=record)


def test_the_profile_is_a_long_tail_ordinary_c5() -> None:
    prof = _profile()
    assert (prof.tier, prof.risk_level, prof.professional) == ("long_tail", "C5", False)


def test_cn_mis_07_passes_on_a_complete_record() -> None:
    assert "CN-MIS-07" not in fired(RULES, _linked(_record()))


@pytest.mark.parametrize(
    "overrides",
    [
        {"acknowledgement_hash": ""},
        {"accepted_at": OFFERED_AT + timedelta(hours=23)},
        {"offered": ["513100"]},  # 512480 is held but was never offered
        {"offered_weights": {c: w / 2 for c, w in SLEEVE.items()}},  # more held than offered
        {"offered_weights": {}},  # the shares the letter showed are not recorded
    ],
    ids=[
        "no acknowledgement",
        "cooling-off not over",
        "a product not offered",
        "more than offered",
        "shares not recorded",
    ],
)
def test_cn_mis_07_escalates_on_an_incomplete_record(overrides: dict[str, Any]) -> None:
    assert "CN-MIS-07" in fired(RULES, _linked(_record(**overrides)))


def test_cn_mis_07_escalates_without_a_record() -> None:
    assert "CN-MIS-07" in fired(RULES, _linked(None))


def offered(market: MarketData, locale: str) -> RuleContext:
    """A core plan (R3 at most) with the sleeve offered beside it, its letter composed."""
    prof = _profile(locale)
    core = plan(fill({"510300": 0.3}), prof, market)
    offer = SpecialCareOffer(
        holdings=[
            SleeveHolding(product_code=c, risk_rating="R4", weight=w, amount=round(w * prof.aum))
            for c, w in SLEEVE.items()
        ],
        weights=fill({"510300": 0.15, **SLEEVE}),
        expected_return=0.0731,
        expected_volatility=0.1432,
        cooling_off_hours=24,
    )
    with_offer = seal(core.model_copy(update={"offer": offer}))
    return context(prof, with_offer, market)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_an_offer_in_the_letter_passes_every_rule(locale: str) -> None:
    ctx = offered(MARKET, locale)
    assert fired(RULES, ctx) == set()


def test_tw_num_01_accepts_the_offers_figures_in_the_prose() -> None:
    ctx = offered(MARKET, "zh-CN")
    assert isinstance(ctx.plan, Plan) and ctx.plan.offer is not None
    prose = "加入较高风险部分后，预期年化收益约7.3%，预期波动约14.3%，须经24小时冷静期。"
    quoted = dataclasses.replace(ctx, letter=ctx.letter + "\n" + prose)
    assert "TW-NUM-01" not in fired(RULES, quoted)
    # The same prose beside the same plan without the offer has no source for its figures.
    unoffered = dataclasses.replace(quoted, plan=ctx.plan.model_copy(update={"offer": None}))
    assert "TW-NUM-01" in fired(RULES, unoffered)
