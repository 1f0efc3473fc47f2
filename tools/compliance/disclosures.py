"""Required wording: rendered from compliance/data/wording.yaml per jurisdiction and locale, then
checked on the final text by the rules of the same ids."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from core.schemas.plan import Plan
from tools.compliance.engine import DATA_DIR, RuleContext
from tools.compliance.facts import held, is_professional, owes_signoff
from tools.compliance.text_checks import past_figures
from tools.market.shelf import Product

GOALS_ZH = {
    "preservation": "保值",
    "income": "收益",
    "balanced": "平衡",
    "growth": "成长",
    "aggressive_growth": "积极成长",
}


@cache
def load_wording() -> dict[str, Any]:
    return dict(yaml.safe_load((DATA_DIR / "wording.yaml").read_text("utf-8")))


def say(key: str, ctx: RuleContext, **values: Any) -> str:
    """The template for this key, jurisdiction (else ALL) and locale, filled in."""
    variants = load_wording()[key]
    template = variants.get(ctx.policy.jurisdiction) or variants["ALL"]
    return str(template[ctx.profile.locale]).format(**values)


def _held(ctx: RuleContext) -> list[Product]:
    """The shelf products the plan holds (unknown codes are CN-R-04's business)."""
    return [p for _, _, p in held(ctx) if p is not None]


def max_rating(plan: Plan) -> str:
    ratings = [h.risk_rating for h in plan.holdings if h.weight > 0 and h.risk_rating[:1] == "R"]
    return max(ratings, default="R1")


def _restriction(p: Product, ctx: RuleContext) -> str:
    lockup = (
        say("REQ-04-LOCKUP", ctx, days=p.lockup_days)
        if p.lockup_days
        else say("REQ-04-NO-LOCKUP", ctx)
    )
    return say(
        "REQ-04",
        ctx,
        code=p.code,
        name=p.name(ctx.profile.locale),
        rating=p.risk_rating.value,
        redemption_days=p.redemption_days,
        lockup=lockup,
        minimum=f"{p.min_investment:,.0f}",
    )


def _reviewer(ctx: RuleContext) -> str | None:
    """The advisor who signs a passing plan off, if anyone must (DESIGN §2, SYS-02)."""
    p = ctx.profile
    return p.advisor_id if owes_signoff(p.tier, p.lowest_category, ctx.policy) else None


def _ai_statement(ctx: RuleContext) -> str:
    cma = ctx.market.cma
    text = say(
        "REQ-05",
        ctx,
        model=ctx.model_name,
        cma_version=cma.version,
        cma_end=cma.window.get("end", ""),
    )
    reviewer = _reviewer(ctx)
    separator = "" if ctx.profile.locale == "zh-CN" else " "
    return text + (separator + say("REQ-05-REVIEWER", ctx, reviewer=reviewer) if reviewer else "")


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _reg_bi(ctx: RuleContext) -> str:
    held = {p.code: p for p in _held(ctx)}
    weights = ctx.plan.weights()
    fee = sum(weights[c] * p.fees.annual for c, p in held.items())
    house = sorted(c for c, p in held.items() if p.house_product)
    conflicts = (
        say("REQ-08-CONFLICTS", ctx, codes=", ".join(house))
        if house
        else say("REQ-08-NO-CONFLICTS", ctx)
    )
    return say("REQ-08", ctx, fee_pct=f"{fee * 100:.2f}%", conflicts=conflicts)


def _suitability_report(ctx: RuleContext) -> str:
    p = ctx.profile
    zh = p.locale == "zh-CN"
    disadvantages = [("锁定期" if zh else "lock-ups") for x in _held(ctx) if x.lockup_days][:1]
    disadvantages.append("产品费用会降低收益" if zh else "product fees reduce returns")
    goal = GOALS_ZH[p.goal] if zh else p.goal.replace("_", " ")
    return say(
        "REQ-09",
        ctx,
        goal=goal,
        horizon=f"{p.horizon_years:g}",
        experience=f"{p.experience_years:g}",
        level=p.risk_level,
        drawdown=f"{p.max_drawdown_pct:g}",
        disadvantages="、".join(disadvantages) if zh else "; ".join(disadvantages),
    )


def _switching(ctx: RuleContext) -> str | None:
    sells = [t for t in ctx.plan.trades if t.side == "sell"]
    if not sells:
        return None
    products, aum = ctx.market.products, ctx.profile.aum
    cost = sum(
        t.amount * (products[t.product_code].fees.redemption if t.product_code in products else 0.0)
        for t in sells
    )
    cost += sum(
        t.amount * products[t.product_code].fees.subscription
        for t in ctx.plan.trades
        if t.side == "buy" and t.product_code in products
    )
    signed = {t.product_code: (t.amount if t.side == "buy" else -t.amount) for t in ctx.plan.trades}
    before = {c: (w * aum - signed.get(c, 0.0)) / aum for c, w in ctx.plan.weights().items()}
    for t in sells:
        before.setdefault(t.product_code, t.amount / aum)
    known = {c: w for c, w in before.items() if c in products and w > 0}
    before_return = 0.0
    if known:
        mu, _ = ctx.market.product_returns_and_covariance(list(known))
        before_return = float(sum(w * m for w, m in zip(known.values(), mu, strict=True)))
    return say(
        "EU-SUIT-06",
        ctx,
        sold=f"{sum(t.amount for t in sells):,.0f}",
        cost=f"{cost:,.0f}",
        before=_pct(before_return),
        after=_pct(ctx.plan.expected_return),
    )


def required_wording(ctx: RuleContext) -> dict[str, list[str]]:
    """Each wording rule's required lines for this plan; an empty list means not applicable."""
    held = _held(ctx)
    j, locale = ctx.policy.jurisdiction, ctx.profile.locale
    kind = {
        "zh-CN": ("专业投资者", "普通投资者"),
        "en": ("professional investor", "ordinary investor"),
    }
    hours = ctx.policy.cooling_off_hours
    ordinary_high = not is_professional(ctx) and any(p.risk_rating.rank >= 4 for p in held)
    house = sorted(p.code for p in held if p.house_product)
    switching = _switching(ctx) if j == "EU" else None
    return {
        "REQ-01": [
            say(
                "REQ-01",
                ctx,
                level=ctx.profile.risk_level,
                max_rating=max_rating(ctx.plan),
                kind=kind[locale][0 if is_professional(ctx) else 1],
            )
        ],
        "REQ-02": [say("REQ-02", ctx)],
        "REQ-03": [say("REQ-03", ctx)],
        "REQ-04": [say("REQ-04-HEADER", ctx)] + [_restriction(p, ctx) for p in held],
        "REQ-05": [_ai_statement(ctx)],
        "REQ-06": [say("REQ-06", ctx)] if past_figures(ctx.letter) else [],
        "REQ-07": [say("REQ-07-HEADER", ctx)]
        + [say("REQ-07", ctx, id=sid, publisher=pub, as_of=day) for sid, pub, day in ctx.sources],
        "REQ-08": [_reg_bi(ctx)] if j == "US" else [],
        "REQ-09": [_suitability_report(ctx)] if j == "EU" else [],
        "CN-DIS-02": [say("CN-DIS-02", ctx, code=p.code) for p in held if p.leverage],
        "CN-COOL-01": [say("CN-COOL-01", ctx, hours=hours)]
        if j == "CN" and any(p.category == "private_fund" for p in held)
        else [],
        "CN-COOL-02": [say("CN-COOL-02", ctx)]
        if j == "CN" and any(p.category == "asset_management" for p in held)
        else [],
        "CN-COOL-03": [say("CN-COOL-03", ctx, hours=hours)] if j == "CN" and ordinary_high else [],
        "US-BI-04": [say("US-BI-04", ctx, codes=", ".join(house))] if j == "US" and house else [],
        "EU-SUIT-06": [switching] if switching else [],
    }


ORDER = [
    "REQ-01",
    "REQ-02",
    "REQ-03",
    "REQ-06",
    "CN-COOL-03",
    "CN-COOL-01",
    "CN-COOL-02",
    "REQ-04",
    "CN-DIS-02",
    "REQ-05",
    "REQ-08",
    "US-BI-04",
    "REQ-09",
    "EU-SUIT-06",
    "REQ-07",
]


def compose(ctx: RuleContext) -> str:
    """The disclosures block appended to every client-facing text, in a fixed order."""
    required = required_wording(ctx)
    return "\n".join(line for rule_id in ORDER for line in required[rule_id])
