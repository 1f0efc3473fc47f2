"""Required wording (REQ-01..05, REQ-07): composed per locale, then checked by its own rules."""

from __future__ import annotations

from dataclasses import dataclass

from agents.plan import Plan
from agents.profiling import ClientProfile
from tools.market import MarketData
from tools.rules import Hit, RuleContext, evaluator

AI_MARKER = {
    "zh-CN": "本方案由算法模型辅助生成",
    "en": "This plan was prepared with the help of algorithms",
}
RISK_WARNING = {
    "zh-CN": "投资有风险，入市需谨慎。",
    "en": "Investing involves risk; invest with care.",
}
NO_GUARANTEE = {
    "zh-CN": "本建议不构成收益承诺，本公司不以任何方式向您做出不受损失或者取得最低收益的承诺。",
    "en": "This advice is not a promise of returns; the firm does not promise in any way that you "
    "will not suffer a loss or will earn a minimum return.",
}
RESTRICTIONS = {"zh-CN": "产品风险与限制：", "en": "Product risks and restrictions:"}
SOURCES = {"zh-CN": "数据与研究来源：", "en": "Data and research sources:"}


@dataclass(frozen=True)
class DisclosureInput:
    """What the required wording is built from."""

    profile: ClientProfile
    plan: Plan
    market: MarketData
    model_name: str
    sources: list[tuple[str, str, str]]
    reviewer: str | None


def max_rating(plan: Plan) -> str:
    ratings = [
        h.risk_rating for h in plan.holdings if h.weight > 0 and h.risk_rating.startswith("R")
    ]
    return max(ratings, default="R1")


def suitability_opinion(profile: ClientProfile, plan: Plan) -> str:
    kind_zh = "专业投资者" if profile.professional else "普通投资者"
    kind_en = "professional investor" if profile.professional else "ordinary investor"
    ry = max_rating(plan)
    if profile.locale == "zh-CN":
        return (
            f"适当性匹配意见：您的风险承受能力等级为{profile.risk_level}（{kind_zh}），"
            f"本方案所含产品最高风险等级为{ry}，经评估本方案与您的风险承受能力相匹配。"
        )
    return (
        f"Suitability opinion: your risk tolerance level is {profile.risk_level} ({kind_en}); "
        f"the highest product risk level in this plan is {ry}; we assessed this plan as "
        f"matching your risk tolerance."
    )


def _restriction(code: str, market: MarketData, locale: str) -> str:
    p = market.products[code]
    zh = locale == "zh-CN"
    lockup = (
        (f"锁定期{p.lockup_days}天" if p.lockup_days else "无锁定期")
        if zh
        else (f"lock-up {p.lockup_days} days" if p.lockup_days else "no lock-up")
    )
    if zh:
        return (
            f"【{code}】{p.name_zh}（{p.risk_rating.value}）：可能导致本金亏损；"
            f"赎回资金约T+{p.redemption_days}到账；{lockup}；起投金额{p.min_investment:,.0f}元。"
        )
    return (
        f"[{code}] {p.name_en} ({p.risk_rating.value}): you may lose principal; redemption "
        f"proceeds in about T+{p.redemption_days}; {lockup}; minimum {p.min_investment:,.0f} CNY."
    )


def ai_statement(d: DisclosureInput) -> str:
    cma = d.market.cma
    end = str(cma.window.get("end", ""))
    locale = d.profile.locale
    if locale == "zh-CN":
        text = (
            f"{AI_MARKER[locale]}（模型：{d.model_name}），配置方法为均值-方差优化（PyPortfolioOpt），"
            f"依据资本市场假设{cma.version}（价格数据截至{end}）。预期收益与波动是基于历史数据的模型估计，"
            "不代表实际收益；模型存在固有缺陷和使用风险，市场环境变化可能使估计失效。"
        )
        if d.reviewer:
            text += f"本方案须经注册投资顾问（{d.reviewer}）复核后发送。"
        return text
    text = (
        f"{AI_MARKER[locale]} (model: {d.model_name}) using mean-variance optimisation "
        f"(PyPortfolioOpt) on capital-market assumptions {cma.version} (prices up to {end}). "
        "Expected return and volatility are model estimates from historical data, not actual "
        "returns; the model has inherent defects and usage risks, and changing markets can "
        "make its estimates wrong."
    )
    if d.reviewer:
        text += f" A registered advisor ({d.reviewer}) reviews this plan before it is sent."
    return text


def compose(d: DisclosureInput) -> str:
    """The disclosures block appended to every client-facing text."""
    locale = d.profile.locale
    lines = [
        suitability_opinion(d.profile, d.plan),
        RISK_WARNING[locale],
        NO_GUARANTEE[locale],
        RESTRICTIONS[locale],
        *[
            _restriction(h.product_code, d.market, locale)
            for h in d.plan.holdings
            if h.product_code in d.market.products
        ],
        ai_statement(d),
        SOURCES[locale],
        *[f"[{sid}] {publisher}, {as_of}" for sid, publisher, as_of in d.sources],
    ]
    return "\n".join(lines)


def _missing(condition: bool, evidence: str) -> list[Hit]:
    return [Hit(evidence)] if condition else []


@evaluator("REQ-01")
def has_suitability_opinion(ctx: RuleContext, rule_id: str) -> list[Hit]:
    expected = suitability_opinion(ctx.profile, ctx.plan)
    return _missing(expected not in ctx.client_text, f"expected: {expected}")


@evaluator("REQ-02")
def has_risk_warning(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return _missing(RISK_WARNING[ctx.profile.locale] not in ctx.client_text, "risk warning absent")


@evaluator("REQ-03")
def has_no_guarantee(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return _missing(NO_GUARANTEE[ctx.profile.locale] not in ctx.client_text, "no-guarantee absent")


@evaluator("REQ-04")
def has_restrictions(ctx: RuleContext, rule_id: str) -> list[Hit]:
    zh = ctx.profile.locale == "zh-CN"
    missing = [
        h.product_code
        for h in ctx.plan.holdings
        if (f"【{h.product_code}】" if zh else f"[{h.product_code}]") not in ctx.client_text
    ]
    return _missing(bool(missing), f"no restrictions listed for {missing}")


@evaluator("REQ-05")
def has_ai_statement(ctx: RuleContext, rule_id: str) -> list[Hit]:
    end = str(ctx.market.cma.window.get("end", ""))
    present = AI_MARKER[ctx.profile.locale] in ctx.client_text and end in ctx.client_text
    return _missing(not present, "AI-assistance statement or data date absent")


@evaluator("REQ-07")
def has_research_attribution(ctx: RuleContext, rule_id: str) -> list[Hit]:
    missing = [
        sid
        for sid, publisher, as_of in ctx.sources
        if f"[{sid}] {publisher}, {as_of}" not in ctx.client_text
    ]
    return _missing(bool(missing), f"sources without publisher and date: {missing}")
