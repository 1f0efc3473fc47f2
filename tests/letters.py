"""Hand-built letters in zh-CN and en, with every section filled, for the renderers' tests and
the screenshots: realistic names, lots and long product names, a house product and a request."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.schemas.letter import (
    AnswerLine,
    HoldingLine,
    Lesson,
    Letter,
    NoteLine,
    Signature,
    TradeLine,
)

# (code, zh name, en name, rating, weight, amount, units, price, house product)
HOLDINGS: list[tuple[str, str, str, str, float, float, int | None, float | None, bool]] = [
    (
        "511260",
        "国泰上证10年期国债ETF",
        "Guotai SSE 10-Year Treasury Bond ETF",
        "R2",
        0.28,
        196_000,
        1_500,
        130.412,
        False,
    ),
    (
        "510300",
        "华泰柏瑞沪深300ETF",
        "Huatai-PineBridge CSI 300 ETF",
        "R3",
        0.22,
        154_000,
        38_900,
        3.957,
        False,
    ),
    (
        "TW-SB-01",
        "Tierwise 短债债券基金",
        "Tierwise Short-Term Bond Fund",
        "R2",
        0.18,
        126_000,
        None,
        None,
        True,
    ),
    ("518880", "华安黄金ETF", "Hua An Gold ETF", "R3", 0.12, 84_000, 14_300, 5.873, False),
    (
        "512480",
        "国联安中证全指半导体产品与设备ETF",
        "Guolian An CSI All Share Semiconductor Products & Equipment ETF",
        "R4",
        0.08,
        56_000,
        51_000,
        1.098,
        False,
    ),
    (
        "513500",
        "博时标普500ETF",
        "Bosera S&P 500 ETF (QDII)",
        "R4",
        0.07,
        49_000,
        24_700,
        1.982,
        False,
    ),
    (
        "511990",
        "华宝添益货币ETF",
        "Huabao Tianyi Money Market ETF",
        "R1",
        0.05,
        35_000,
        None,
        None,
        False,
    ),
]


def holdings(locale: str) -> list[HoldingLine]:
    return [
        HoldingLine(
            code=code,
            name=zh if locale == "zh-CN" else en,
            risk_rating=rating,
            weight=weight,
            amount=amount,
            rounding="lots" if units else "hundreds",
            units=units,
            price=price,
            house_product=house,
        )
        for code, zh, en, rating, weight, amount, units, price, house in HOLDINGS
    ]


def zh_letter(**changes: Any) -> Letter:
    letter = Letter(
        locale="zh-CN",
        greeting="尊敬的王秀兰女士：",
        opening=(
            "感谢您对我们的信任。根据您本次更新的风险测评（C3，稳健型）、12年的投资期限和"
            "“子女教育金”这一目标，我们为您拟定了以下配置方案。"
        ),
        holdings=holdings("zh-CN"),
        trades=[
            TradeLine(side="sell", code="512170", name="华宝中证医疗ETF", amount=120_000),
            TradeLine(side="sell", code="159934", name="易方达黄金ETF", amount=60_000),
            TradeLine(side="buy", code="511260", name="国泰上证10年期国债ETF", amount=96_000),
            TradeLine(side="buy", code="TW-SB-01", name="Tierwise 短债债券基金", amount=84_000),
        ],
        rationale=(
            "您的投资期限较长，但希望十二年后教育金的本金不出现大的回撤，因此方案以国债和短债"
            "为压舱石，占比约一半；沪深300与标普500提供长期增长，黄金用于分散风险。"
            "您目前集中持有的医疗行业ETF波动较大，方案将其卖出，降低单一行业的集中度。"
        ),
        answer=[
            "您希望“多配一些黄金”：方案中黄金ETF的占比为12.0%，已达到您风险等级下单一商品类"
            "资产的上限，因此没有进一步提高。",
            "您提到明年可能需要约3万元：方案保留了35,000元的货币ETF，可随时取用。",
        ],
        answers=[
            AnswerLine(
                question="纳指etf适合我吗",
                subject="国泰纳斯达克100ETF",
                lines=[
                    "国泰纳斯达克100ETF是一只投资海外市场的基金，管理人为国泰基金，跟踪美国纳斯达克"
                    "100指数。它在证券交易所上市，像股票一样买卖。",
                    "风险等级：R4（R1最低，R5最高）；高于您的风险承受能力等级（C3）可以购买的范围，"
                    "不适合您。",
                    "本方案没有配置它，因为它的风险等级高于您的风险承受能力等级。",
                    "费用：每年管理费0.50%、托管费0.15%，合计0.65%；在交易所买卖不收申购费和赎回费，"
                    "但需支付券商佣金。",
                ],
            )
        ],
        education=[
            Lesson(
                flag="chasing",
                title="追涨的代价",
                body=(
                    "过去90天里，您有6次买入发生在标的20日涨幅超过15%之后。短期大涨后买入，"
                    "往往买在相对高位；分批、按计划投资可以降低择时带来的风险。"
                ),
                source="中国证监会投资者保护局《投资者教育手册》",
            )
        ],
        research=[
            NoteLine(
                title="十年期国债收益率的区间判断",
                publisher="Tierwise研究所",
                as_of=date(2026, 11, 20),
                summary="利率在低位震荡，中长期国债仍有配置价值，但需承受价格波动。",
            ),
            NoteLine(
                title="黄金：央行购金与实际利率",
                publisher="Tierwise研究所",
                as_of=date(2026, 11, 28),
                summary="央行持续购金为金价提供支撑，黄金在组合中主要承担分散风险的作用。",
            ),
        ],
        disclosures=[
            "本方案由Tierwise智能投顾系统（离线规则模型）辅助生成，并经持牌投资顾问审核。",
            "Tierwise 短债债券基金为本公司关联方管理的产品，本公司可能因此获得管理费收入，"
            "存在利益冲突。",
            "基金的过往业绩不代表其未来表现，投资有风险，入市需谨慎。",
        ],
        signature=Signature(
            name="李明",
            registration="A0150618090001",
            contact="021-6888 8888 · liming@tierwise.example",
            on=date(2026, 12, 7),
        ),
    )
    return Letter.model_validate({**letter.model_dump(), **changes})


def en_letter(**changes: Any) -> Letter:
    letter = Letter(
        locale="en",
        greeting="Dear 王秀兰,",
        opening=(
            "Thank you for your trust. Based on your updated risk assessment (C3, balanced), "
            "your 12-year horizon and your goal of funding your child's education, we propose "
            "the plan below."
        ),
        holdings=holdings("en"),
        trades=[
            TradeLine(
                side="sell", code="512170", name="Huabao CSI Medical Service ETF", amount=120_000
            ),
            TradeLine(side="sell", code="159934", name="E Fund Gold ETF", amount=60_000),
            TradeLine(
                side="buy",
                code="511260",
                name="Guotai SSE 10-Year Treasury Bond ETF",
                amount=96_000,
            ),
            TradeLine(
                side="buy", code="TW-SB-01", name="Tierwise Short-Term Bond Fund", amount=84_000
            ),
        ],
        rationale=(
            "Your horizon is long, but you want the education fund not to fall far in value, so "
            "government and short-term bonds anchor about half of the plan; CSI 300 and S&P 500 "
            "funds provide long-term growth and gold spreads the risk. The healthcare ETF you "
            "hold today swings widely, so the plan sells it to reduce the weight of one sector."
        ),
        answer=[
            "You asked for more gold: the plan holds 12.0% in a gold ETF, the most your risk "
            "level allows in a single commodity, so it goes no higher.",
            "You may need about 30,000 CNY next year: the plan keeps 35,000 CNY in a money "
            "market ETF that you can withdraw at any time.",
        ],
        answers=[
            AnswerLine(
                question="is the nasdaq etf a good idea for me",
                subject="Guotai Nasdaq-100 ETF (QDII)",
                lines=[
                    "Guotai Nasdaq-100 ETF (QDII) is a fund that invests abroad, managed by Guotai "
                    "Asset Management; it tracks the Nasdaq-100 index.",
                    "Risk level: R4 (R1 is the lowest, R5 the highest). That is above what your "
                    "risk tolerance level (C3) allows, so it is not suitable for you.",
                    "This plan does not hold it, because its risk level is above your risk "
                    "tolerance level.",
                    "Fees: 0.50% a year for management and 0.15% for custody, 0.65% a year in all.",
                ],
            )
        ],
        education=[
            Lesson(
                flag="chasing",
                title="The cost of chasing rises",
                body=(
                    "In the last 90 days, 6 of your buys came after a 20-day rise of 15% or more. "
                    "Buying after a sharp rise often means buying high; investing in steps, to a "
                    "plan, lowers the risk of bad timing."
                ),
                source="CSRC Investor Protection Bureau, Investor Education Handbook",
            )
        ],
        research=[
            NoteLine(
                title="Where 10-year government bond yields may range",
                publisher="Tierwise Research",
                as_of=date(2026, 11, 20),
                summary="Rates hover near lows; longer bonds still earn their place in a plan, "
                "with price swings to accept.",
            ),
            NoteLine(
                title="Gold: central-bank buying and real rates",
                publisher="Tierwise Research",
                as_of=date(2026, 11, 28),
                summary="Central-bank purchases support gold, whose role in a plan is to "
                "spread risk.",
            ),
        ],
        disclosures=[
            "This plan was prepared with the help of Tierwise's advice system (an offline, "
            "rule-based model) and reviewed by a licensed investment advisor.",
            "Tierwise Short-Term Bond Fund is managed by an affiliate of the firm, which may "
            "earn fees from it: a conflict of interest.",
            "Past performance does not guarantee future results. Investing involves risk.",
        ],
        signature=Signature(
            name="Li Ming",
            registration="A0150618090001",
            contact="+86 21 6888 8888 · liming@tierwise.example",
            on=date(2026, 12, 7),
        ),
    )
    return Letter.model_validate({**letter.model_dump(), **changes})
