"""Why this plan, in the client's terms: the rationale speaks of their goal, horizon, the money
they need at hand and their request, from the plan's figures only; the figures check accepts
every amount and weight the letter prints and still catches a figure the plan does not hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from factories import AS_OF, make_client

from agents.plan import build_plan
from agents.profiling import profile_client
from core.schemas.client import ClientInput, Holding
from core.schemas.plan import Plan
from core.schemas.profile import ClientProfile
from core.settings import AllocationPolicy, CompliancePolicy, TierPolicy
from tools.letter.text import money, percent
from tools.llm.offline import OfflineModel
from tools.llm.port import LanguageModel
from tools.market.intent import parse_request
from tools.market.market_data import MarketData

WEIGHTS = {"TW-MM-01": 0.2, "511260": 0.3, "510300": 0.35, "518880": 0.15}


def profile(market: MarketData, request: str | None = None, **overrides: Any) -> ClientProfile:
    client: ClientInput = make_client(**overrides)
    return profile_client(
        client, as_of=AS_OF, model=OfflineModel(), market=market, tiers=TierPolicy(),
        allocation=AllocationPolicy(), compliance=CompliancePolicy(),
        intent=parse_request(request, market) if request else None,
    )  # fmt: skip


def plan(prof: ClientProfile, market: MarketData, model: LanguageModel | None = None) -> Plan:
    holdings = [Holding(product_code="510300", market_value=100_000)]
    return build_plan(
        WEIGHTS, prof, holdings, market=market, model=model or OfflineModel(),
        policy=AllocationPolicy(), method="test", target=0.08, span=(0.01, 0.2),
    )  # fmt: skip


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_the_offline_rationale_speaks_of_the_clients_goal_horizon_and_reserve(
    market: MarketData, locale: str
) -> None:
    prof = profile(market, locale=locale, goal="growth", horizon_years=8)
    text = plan(prof, market).rationale
    zh = locale == "zh-CN"
    assert ("资产增值" if zh else "growth") in text
    assert ("约8年" if zh else "about 8 years") in text
    assert money(prof.liquidity_reserve, locale).replace("元", "") in text  # the reserve
    assert percent(0.35) in text  # equities: 510300, in the client's terms
    equal_mix = "您可投资产品的等权组合" if zh else "an equal mix of the products you could hold"
    assert equal_mix in text
    assert "1/N" not in text


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_short_horizon_says_why_equities_are_few(market: MarketData, locale: str) -> None:
    text = plan(profile(market, locale=locale, horizon_years=2), market).rationale
    assert ("投资期限只有约2年" if locale == "zh-CN" else "only about 2 years") in text


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_request_is_named_in_the_rationale(market: MarketData, locale: str) -> None:
    request = "希望稳一点" if locale == "zh-CN" else "A bit safer, please."
    text = plan(profile(market, request, locale=locale), market).rationale
    assert ("关于您的要求" if locale == "zh-CN" else "About your request") in text
    assert "关于您的要求" not in plan(profile(market, locale="zh-CN"), market).rationale


def test_a_model_rationale_quoting_the_plans_amounts_and_weights_is_kept(
    market: MarketData, scripted: Callable[..., Any]
) -> None:
    """Every figure the letter prints (each holding's weight and amount, the reserve, the
    broad kinds' shares) may stand in the model's own words."""
    prof = profile(market)
    offline = plan(prof, market)
    figures = [
        f"{h.product_code}占{percent(h.weight)}，金额{money(h.amount, 'zh-CN')}"
        for h in offline.holdings
    ]
    words = (
        "；".join(figures) + f"。随时可取用{money(prof.liquidity_reserve, 'zh-CN')}；"
        f"股票类约{percent(0.35)}，债券类约{percent(0.3)}。以上均为模型估计，不代表实际收益。"
    )
    model = scripted({"rationale": [words]})
    kept = plan(prof, market, model)
    model.assert_done()
    assert kept.rationale == words


@pytest.mark.parametrize(
    "words",
    ["本方案预计年化收益15.3%。", "建议您投入123,456元。", "与等权组合（1/N）相比更稳。"],
    ids=["percent", "amount", "1/N"],
)
def test_a_model_rationale_with_a_figure_not_in_the_plan_is_replaced(
    market: MarketData, scripted: Callable[..., Any], words: str
) -> None:
    prof = profile(market)
    model = scripted({"rationale": [words]})
    replaced = plan(prof, market, model)
    model.assert_done()
    assert replaced.rationale == plan(prof, market).rationale
    assert [c.outcome for c in model.calls] == ["ok", "fallback"]
