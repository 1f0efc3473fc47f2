"""The letter's special-care offer (CN-MIS-07 procedure, issue 28): the higher-risk part of the
plan, offered beside a core plan capped at R3, never imposed.

Each product with its risk level, its share of the plan with the offer and its amount, and its
particular risk points (data/risk_points.yaml: its category's, then its own); both plans'
expected return and volatility; the cooling-off; and how to accept. Figures come from the plan
(`Plan.offer`), words from code and data, in the client's language. `OfferSection.lines`: what
the offer is first (the text sets the products under it), then the figures, the cooling-off and
how to accept.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from core.schemas.letter import OfferLine, OfferSection
from core.schemas.plan import Plan
from core.schemas.special_care import SpecialCareOffer
from tools.market.market_data import MarketData
from tools.market.shelf import Product

RISK_POINTS = Path(__file__).resolve().parent / "data" / "risk_points.yaml"


@cache
def _points() -> dict[str, dict[str, dict[str, list[str]]]]:
    data: dict[str, dict[str, dict[str, list[str]]]] = yaml.safe_load(
        RISK_POINTS.read_text(encoding="utf-8")
    )
    return data


def risk_points(product: Product, locale: str) -> list[str]:
    """The product's particular risk points: its category's, then its own; empty if none."""
    data = _points()
    by_category = data.get("categories", {}).get(product.category, {}).get(locale, [])
    own = data.get("products", {}).get(product.code, {}).get(locale, [])
    return [*by_category, *own]


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def cooling_off_line(hours: int, locale: str) -> str:
    """The cooling-off, as the offer states it (TW-OFFER-01 looks for exactly this line)."""
    if locale == "zh-CN":
        return (
            f"冷静期：收到本函后，您至少有{hours}小时的冷静期，可以仔细考虑以上风险；"
            "冷静期内不能确认加入。"
        )
    return (
        f"Cooling-off: after you receive this letter you have at least {hours} hours to think "
        "these risks over; you cannot accept during that time."
    )


def accept_line(locale: str) -> str:
    """How to accept (TW-OFFER-01 looks for exactly this line)."""
    if locale == "zh-CN":
        return (
            "如何确认：冷静期结束后，如您决定加入这部分配置，请通过本公司的官方服务渠道明确回复确认，"
            "并说明您已阅读并理解上述风险。我们收到确认后，会按您当时的情况重新核对，"
            "再将包含这部分配置的方案发送给您。如您不回复，以上方案保持不变。"
        )
    return (
        "How to accept: once the cooling-off is over, if you decide to add this part, reply "
        "through the firm's official service channel to say so and that you have read and "
        "understood the risks above. When we receive it, we check everything again against your "
        "situation at that time and then send you the plan that includes this part. If you do "
        "not reply, the plan above stays as it is."
    )


def _figures_line(plan: Plan, offer: SpecialCareOffer, locale: str) -> str:
    """Both plans' expected return and volatility, with the caveat in the same line (LANG-06)."""
    core_r, core_v = _pct(plan.expected_return), _pct(plan.expected_volatility)
    full_r, full_v = _pct(offer.expected_return), _pct(offer.expected_volatility)
    if locale == "zh-CN":
        return (
            f"加入后，方案的预期年化收益率为{full_r}，预期波动率为{full_v}；"
            f"以上方案分别为{core_r}和{core_v}。预期收益不代表实际收益，您可能损失本金；"
            "这部分产品的风险等级为R4或R5，高于以上方案中的任何产品（R3及以下）。"
        )
    return (
        f"With it, the plan's expected annual return is {full_r} and its expected volatility "
        f"{full_v}; for the plan above they are {core_r} and {core_v}. Expected returns are not "
        "actual returns, and you may lose money; these products are rated R4 or R5, above every "
        "product in the plan above (R3 or lower)."
    )


def _intro_line(locale: str) -> str:
    if locale == "zh-CN":
        return (
            "以上方案只包含风险等级在R3及以下的产品。如您愿意承担更高的风险，可以另行选择加入下面这部分"
            "较高风险的配置。加入后整个方案会重新配置，其他产品及其占比也会随之变化，"
            "下文的比例和金额是按今天的情况测算的。这部分不是必需的，是否加入完全由您决定。"
        )
    return (
        "The plan above holds only products rated R3 or lower. If you are willing to take more "
        "risk, you may choose to add the higher-risk part below. With it the whole plan is built "
        "again, so the other products and their shares change too; the shares and amounts below "
        "are worked out as of today. You do not need it: whether to add it is entirely your "
        "decision."
    )


def offer_wording(plan: Plan, market: MarketData, locale: str) -> list[str]:
    """What an offer must state, line for line (TW-OFFER-01): each product's risk points, the
    cooling-off and how to accept; nothing for a plan that offers nothing."""
    if plan.offer is None:
        return []
    points = [
        point
        for h in plan.offer.holdings
        for point in risk_points(market.products[h.product_code], locale)
    ]
    hours = plan.offer.cooling_off_hours
    return [*dict.fromkeys(points), cooling_off_line(hours, locale), accept_line(locale)]


def offer_section(plan: Plan, market: MarketData, locale: str) -> OfferSection | None:
    """The offer as the letter shows it; None for a plan that offers nothing."""
    offer = plan.offer
    if offer is None:
        return None
    products = []
    for h in sorted(offer.holdings, key=lambda h: (-h.weight, h.product_code)):
        product = market.products[h.product_code]
        products.append(
            OfferLine(
                code=h.product_code,
                name=product.name(locale),
                risk_rating=h.risk_rating,
                weight=h.weight,
                amount=h.amount,
                risk_points=risk_points(product, locale),
            )
        )
    return OfferSection(
        products=products,
        core_return=plan.expected_return,
        core_volatility=plan.expected_volatility,
        expected_return=offer.expected_return,
        expected_volatility=offer.expected_volatility,
        cooling_off_hours=offer.cooling_off_hours,
        lines=[
            _intro_line(locale),
            _figures_line(plan, offer, locale),
            cooling_off_line(offer.cooling_off_hours, locale),
            accept_line(locale),
        ],
    )
