"""The letter's answer to a wish not met names the one limit that bound (WishOutcome.reason),
in the client's language; several at once keep the partly / not-done lines."""

from __future__ import annotations

import pytest
from compliance_helpers import context, plan, profile

from core.schemas.request import RequestShaping, WishOutcome
from tools.compliance.disclosures import request_answer
from tools.market.intent import parse_request
from tools.market.market_data import load_market

MARKET = load_market()
WEIGHTS = {"TW-MM-01": 0.10, "511260": 0.40, "518880": 0.15, "510300": 0.25, "511010": 0.10}
# What each reason's line says, and nothing else's does.
SAYS = {
    "product_cap": ("单一产品在方案中的占比有上限", "no single product may take more"),
    "class_cap": ("同一类资产在方案中的占比不能超过", "no one asset class may take more"),
    "volatility": ("预期波动率超过", "expected volatility above"),
    "reserve": ("作为流动性储备", "as its liquidity reserve"),
    "limits": ("集中度限制和方案波动率上限", "the concentration limits and the plan's volatility"),
}


def answer(reason: str, locale: str, done: str = "not_done") -> str:
    prof = profile(MARKET, risk_level="C3", locale=locale)
    request = "三成放到黄金里"
    (wish,) = parse_request(request, MARKET).wishes
    after = 0.15 if done == "not_done" else 0.2
    outcome = WishOutcome(wish=wish, done=done, before=0.15, after=after, reason=reason)  # type: ignore[arg-type]
    shaping = RequestShaping(wishes=[outcome], volatility_before=0.05, volatility_after=0.05)
    ctx = context(prof, plan(WEIGHTS, prof, MARKET, request=shaping), MARKET, request=request)
    return "\n".join(request_answer(ctx))


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("reason", sorted(SAYS))
def test_the_answer_names_the_limit_that_bound_and_no_other(reason: str, locale: str) -> None:
    text = answer(reason, locale)
    index = 0 if locale == "zh-CN" else 1
    assert SAYS[reason][index] in text
    others = [r for r in SAYS if r != reason and SAYS[r][index] in text]
    assert others == []
    # The shares are quoted: 15.0% in this plan, and without the request.
    assert "15.0%" in text


@pytest.mark.parametrize("reason", ["product_cap", "class_cap", "volatility", "reserve"])
def test_a_wish_partly_met_quotes_both_shares(reason: str) -> None:
    text = answer(reason, "en", done="partly")
    assert "20.0%" in text and "15.0%" in text and SAYS[reason][1] in text
