"""Evaluators for the rules in tools/data/rules.yaml; each returns the hits it finds."""

from __future__ import annotations

from agents.plan import Constraint
from tools.market import Product
from tools.rules import Hit, RuleContext, evaluator

ILLIQUID_LOCKUP_DAYS = 365
ILLIQUID_CATEGORIES = {"private_fund", "structured_note"}


def _held(ctx: RuleContext) -> list[tuple[str, float, Product | None]]:
    return [
        (h.product_code, h.weight, ctx.market.products.get(h.product_code))
        for h in ctx.plan.holdings
    ]


def _exclude(code: str, rule_id: str) -> Constraint:
    return Constraint(kind="exclude", product_code=code, rule_id=rule_id)


def _max_rank(ctx: RuleContext) -> int:
    if ctx.profile.lowest_category:
        return 1
    return 5 if ctx.profile.professional else ctx.profile.level_rank


@evaluator("CN-C-04")
def stale_assessment(ctx: RuleContext, rule_id: str) -> list[Hit]:
    p = ctx.profile
    if not p.assessment_stale:
        return []
    return [Hit(f"assessed on {p.assessed_on.isoformat()}, {p.assessment_age_months} months ago")]


@evaluator("CN-R-04")
def unknown_product(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return [Hit(f"{code} is not on the shelf") for code, w, p in _held(ctx) if p is None and w > 0]


@evaluator("CN-MIS-05")
def lowest_category(ctx: RuleContext, rule_id: str) -> list[Hit]:
    if not ctx.profile.lowest_category:
        return []
    return [
        Hit(f"{code} is {p.risk_rating.value}")
        for code, w, p in _held(ctx)
        if p is not None and w > 0 and p.risk_rating.rank > 1
    ]


@evaluator("CN-MIS-03")
def level_mismatch(ctx: RuleContext, rule_id: str) -> list[Hit]:
    if ctx.profile.lowest_category:
        return []  # CN-MIS-05 blocks these outright
    limit = _max_rank(ctx)
    return [
        Hit(f"{code} is {p.risk_rating.value} > {ctx.profile.risk_level}", _exclude(code, rule_id))
        for code, w, p in _held(ctx)
        if p is not None and w > 0 and p.risk_rating.rank > limit
    ]


@evaluator("CN-MIS-01")
def access_requirement(ctx: RuleContext, rule_id: str) -> list[Hit]:
    hits = []
    for code, w, p in _held(ctx):
        if p is None or w <= 0:
            continue
        qualified = p.access == "qualified_investor" and not ctx.profile.qualified_investor
        professional = p.access == "professional_investor" and not ctx.profile.professional
        if qualified or professional:
            hits.append(Hit(f"{code} requires {p.access.value}", _exclude(code, rule_id)))
    return hits


@evaluator("CN-MIS-06")
def client_request_above_level(ctx: RuleContext, rule_id: str) -> list[Hit]:
    limit = _max_rank(ctx)
    return [
        Hit(f"client asked for {code} ({ctx.market.products[code].risk_rating.value})")
        for code in ctx.requested_products
        if code in ctx.market.products and ctx.market.products[code].risk_rating.rank > limit
    ]


@evaluator("CN-MIS-07")
def high_risk_for_ordinary(ctx: RuleContext, rule_id: str) -> list[Hit]:
    if ctx.profile.professional:
        return []
    high = [
        f"{code} ({p.risk_rating.value})"
        for code, w, p in _held(ctx)
        if p is not None and w > 0 and p.risk_rating.rank >= 4
    ]
    return [Hit("high-risk products: " + ", ".join(high))] if high else []


@evaluator("TW-PLAN-01")
def weights_valid(ctx: RuleContext, rule_id: str) -> list[Hit]:
    weights = [h.weight for h in ctx.plan.holdings]
    total = sum(weights)
    hits = []
    if any(w < 0 for w in weights):
        hits.append(Hit("negative weight"))
    if not weights or abs(total - 1) > ctx.policy.weight_tolerance:
        hits.append(Hit(f"weights sum to {total:.6f}"))
    return hits


def _caps(ctx: RuleContext, rule_id: str, diversified: bool) -> list[Hit]:
    hits = []
    for code, w, p in _held(ctx):
        if p is None or p.diversified != diversified:
            continue
        cap = (
            ctx.policy.max_single_product if diversified else ctx.policy.max_single_non_diversified
        )
        if w > cap + 1e-9:
            remedy = Constraint(kind="cap", product_code=code, value=cap, rule_id=rule_id)
            hits.append(Hit(f"{code} is {w:.2%} > {cap:.0%}", remedy))
    return hits


@evaluator("TW-CONC-01")
def single_product_cap(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return _caps(ctx, rule_id, diversified=True)


@evaluator("DIV-P-03")
def non_diversified_cap(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return _caps(ctx, rule_id, diversified=False)


@evaluator("DIV-P-05")
def liquidity_reserve(ctx: RuleContext, rule_id: str) -> list[Hit]:
    held = sum(w for _, w, p in _held(ctx) if p is not None and p.liquidity_reserve_eligible)
    need = min(ctx.profile.liquidity_reserve_share, 1.0)
    if held + 1e-6 >= need:
        return []
    remedy = Constraint(kind="min_reserve", value=need, rule_id=rule_id)
    return [Hit(f"R1 daily-liquid {held:.2%} < reserve {need:.2%}", remedy)]


@evaluator("DIV-P-06")
def lockup_beyond_horizon(ctx: RuleContext, rule_id: str) -> list[Hit]:
    limit = ctx.profile.max_lockup_days
    return [
        Hit(f"{code} locks up {p.lockup_days} days > {limit} days", _exclude(code, rule_id))
        for code, w, p in _held(ctx)
        if p is not None and w > 0 and p.lockup_days > limit
    ]


def is_illiquid(product: Product) -> bool:
    return product.category in ILLIQUID_CATEGORIES or product.lockup_days >= ILLIQUID_LOCKUP_DAYS


@evaluator("DIV-P-07")
def illiquid_share(ctx: RuleContext, rule_id: str) -> list[Hit]:
    if ctx.profile.professional:
        return []
    illiquid = [
        (code, w) for code, w, p in _held(ctx) if p is not None and w > 0 and is_illiquid(p)
    ]
    total = sum(w for _, w in illiquid)
    cap = ctx.policy.max_illiquid_share
    if total <= cap + 1e-9:
        return []
    return [
        Hit(
            f"illiquid products {total:.2%} > {cap:.0%}",
            Constraint(kind="cap", product_code=code, value=cap * w / total, rule_id=rule_id),
        )
        for code, w in illiquid
    ]


@evaluator("TW-ALLOC-01")
def allocation_fallback(ctx: RuleContext, rule_id: str) -> list[Hit]:
    fallback = ctx.plan.fallback
    return [Hit(f"{fallback.method}: {fallback.reason}")] if fallback else []
