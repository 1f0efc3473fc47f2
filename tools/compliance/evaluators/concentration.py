"""Concentration, liquidity, horizon, age, leverage and turnover checks (COMPLIANCE.md §8.2)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from core.schemas.plan import Constraint
from tools.compliance.engine import Hit, Registry, RuleContext
from tools.compliance.facts import exclude, held, is_professional
from tools.market.shelf import Product

ILLIQUID_LOCKUP_DAYS = 365
ILLIQUID_CATEGORIES = {"private_fund", "structured_note"}


def is_illiquid(product: Product) -> bool:
    return product.category in ILLIQUID_CATEGORIES or product.lockup_days >= ILLIQUID_LOCKUP_DAYS


def _cap(code: str, value: float, rule_id: str) -> Constraint:
    return Constraint(kind="cap", product_code=code, value=value, rule_id=rule_id)


EVALUATORS = Registry()


def _single_caps(ctx: RuleContext, rule_id: str, diversified: bool) -> list[Hit]:
    cap = ctx.policy.max_single_product if diversified else ctx.policy.max_single_non_diversified
    return [
        Hit(f"{code} is {w:.2%} > {cap:.0%}", _cap(code, cap, rule_id))
        for code, w, p in held(ctx)
        if p is not None and p.diversified == diversified and w > cap + 1e-9
    ]


@EVALUATORS.rule("TW-CONC-01")
def single_product_cap(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return _single_caps(ctx, rule_id, diversified=True)


@EVALUATORS.rule("DIV-P-03")
def non_diversified_cap(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return _single_caps(ctx, rule_id, diversified=False)


@EVALUATORS.rule("DIV-P-01")
def single_security(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """Over 10% escalates; over 20% blocks unless the client is a professional investor."""
    policy, hits = ctx.policy, []
    for code, w, p in held(ctx):
        if p is None or not p.single_security or w <= policy.single_security_escalate + 1e-9:
            continue
        blocks = w > policy.single_security_block + 1e-9 and not is_professional(ctx)
        hits.append(Hit(f"{code} is {w:.2%}", verdict="block" if blocks else None))
    return hits


def _group_caps(
    ctx: RuleContext, rule_id: str, group: Callable[[Product], str | None], cap: float
) -> list[Hit]:
    """Weights summed per group (an issuer, a sector) against a cap; the remedy scales each
    member down in proportion."""
    groups: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for code, w, p in held(ctx):
        if p is not None and (key := group(p)):
            groups[key].append((code, w))
    hits: list[Hit] = []
    for key, items in groups.items():
        total = sum(w for _, w in items)
        if total > cap + 1e-9:
            hits.extend(
                Hit(f"{key}: {total:.2%} > {cap:.0%}", _cap(code, cap * w / total, rule_id))
                for code, w in items
            )
    return hits


@EVALUATORS.rule("DIV-P-02")
def single_issuer(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """Credit exposure to one issuer through its own securities (notes), summed across them."""
    issuer = lambda p: p.issuer if p.single_security else None  # noqa: E731
    return _group_caps(ctx, rule_id, issuer, ctx.policy.max_single_issuer)


@EVALUATORS.rule("DIV-P-04")
def single_sector(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return _group_caps(ctx, rule_id, lambda p: p.sector, ctx.policy.max_single_sector)


@EVALUATORS.rule("DIV-P-05")
def liquidity_reserve(ctx: RuleContext, rule_id: str) -> list[Hit]:
    reserve = sum(w for _, w, p in held(ctx) if p is not None and p.liquidity_reserve_eligible)
    need = min(ctx.profile.liquidity_reserve_share, 1.0)
    if reserve + 1e-4 >= need:  # weights are on a 1e-4 grid
        return []
    remedy = Constraint(kind="min_reserve", value=need, rule_id=rule_id)
    return [Hit(f"R1 daily-liquid {reserve:.2%} < reserve {need:.2%}", remedy)]


@EVALUATORS.rule("DIV-P-06")
def lockup_beyond_horizon(ctx: RuleContext, rule_id: str) -> list[Hit]:
    limit = ctx.profile.max_lockup_days
    return [
        Hit(f"{code} locks up {p.lockup_days} days > {limit} days", exclude(code, rule_id))
        for code, _, p in held(ctx)
        if p is not None and p.lockup_days > limit
    ]


@EVALUATORS.rule("DIV-P-07")
def illiquid_share(ctx: RuleContext, rule_id: str) -> list[Hit]:
    if is_professional(ctx):
        return []
    illiquid = [(code, w) for code, w, p in held(ctx) if p is not None and is_illiquid(p)]
    total, cap = sum(w for _, w in illiquid), ctx.policy.max_illiquid_share
    if total <= cap + 1e-9:
        return []
    return [
        Hit(f"illiquid products {total:.2%} > {cap:.0%}", _cap(code, cap * w / total, rule_id))
        for code, w in illiquid
    ]


@EVALUATORS.rule("DIV-P-08")
def age(ctx: RuleContext, rule_id: str) -> list[Hit]:
    policy, age_now, hits = ctx.policy, ctx.profile.age, []
    products = [(code, w, p) for code, w, p in held(ctx) if p is not None]
    if age_now >= policy.senior_age:
        high = [code for code, _, p in products if p.risk_rating.rank >= 4]
        illiquid = sum(w for _, w, p in products if is_illiquid(p))
        if high or illiquid > policy.senior_max_illiquid_share + 1e-9:
            hits.append(Hit(f"age {age_now}: R4/R5 {high}, illiquid {illiquid:.0%}"))
    if age_now >= policy.elderly_age:
        long = [
            code for code, _, p in products if p.lockup_days > policy.elderly_max_lockup_years * 365
        ]
        if long:
            years = policy.elderly_max_lockup_years
            hits.append(Hit(f"age {age_now}: lock-up beyond {years:g} years: {long}"))
    return hits


@EVALUATORS.rule("DIV-P-09")
def leverage(ctx: RuleContext, rule_id: str) -> list[Hit]:
    if ctx.profile.level_rank > 3:
        return []
    return [
        Hit(f"{code} is leveraged; client is {ctx.profile.risk_level}", exclude(code, rule_id))
        for code, _, p in held(ctx)
        if p is not None and p.leverage
    ]


@EVALUATORS.rule("DIV-P-10")
def turnover(ctx: RuleContext, rule_id: str) -> list[Hit]:
    plan_turnover = sum(t.amount for t in ctx.plan.trades) / max(ctx.profile.aum, 1.0)
    total = ctx.profile.turnover_12m + plan_turnover
    if total > ctx.policy.max_turnover:
        return [
            Hit(
                f"12-month turnover {ctx.profile.turnover_12m:.1f}x + this plan "
                f"{plan_turnover:.1f}x > {ctx.policy.max_turnover:g}x"
            )
        ]
    return []
