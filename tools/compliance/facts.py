"""What the rules know about a client and a plan, shared by evaluators and disclosures."""

from __future__ import annotations

from core.schemas.plan import Constraint
from core.schemas.request import Route, Wish, WishRoute
from core.settings import CompliancePolicy
from tools.compliance.engine import RuleContext
from tools.market.eligibility import eligible_products
from tools.market.intent import lexicon_for, theme_members
from tools.market.shelf import Product

NEAR_TERM_MONTHS = 36  # a need within three years is held in the reserve (agents/profiling.py)
MIFID_PROFESSIONAL_PORTFOLIO_EUR = 500_000
MIFID_PROFESSIONAL_TRADES_PER_QUARTER = 10


def held(ctx: RuleContext) -> list[tuple[str, float, Product | None]]:
    """(code, weight, shelf product or None) for every position with a weight."""
    return [
        (h.product_code, h.weight, ctx.market.products.get(h.product_code))
        for h in ctx.plan.holdings
        if h.weight > 0
    ]


def exclude(code: str, rule_id: str) -> Constraint:
    return Constraint(kind="exclude", product_code=code, rule_id=rule_id)


def eu_professional_criteria(ctx: RuleContext) -> int:
    """MiFID II Annex II criteria met: trades a quarter, portfolio size (finance work unknown)."""
    portfolio_eur = ctx.profile.financial_assets / ctx.policy.eur_cny
    return int(ctx.profile.avg_trades_per_quarter >= MIFID_PROFESSIONAL_TRADES_PER_QUARTER) + int(
        portfolio_eur > MIFID_PROFESSIONAL_PORTFOLIO_EUR
    )


def is_professional(ctx: RuleContext) -> bool:
    """Professional under the Measures, and also under MiFID's 2-of-3 test for EU clients."""
    if not ctx.profile.professional:
        return False
    return ctx.policy.jurisdiction != "EU" or eu_professional_criteria(ctx) >= 2


def max_rank(ctx: RuleContext) -> int:
    """The highest product level this client may hold (the C/R matrix)."""
    if ctx.profile.lowest_category:
        return 1
    return 5 if is_professional(ctx) else ctx.profile.level_rank


def owes_signoff(tier: str, lowest_category: bool, policy: CompliancePolicy) -> bool:
    """True when even a passing plan needs an advisor's approval (DESIGN §2, SYS-02)."""
    return tier != "long_tail" or (lowest_category and policy.lowest_category_signoff)


def _blocked(p: Product, ctx: RuleContext) -> Route | None:
    """Why this client may not hold a product at their level, if they may not."""
    if p.access == "qualified_investor" and not ctx.profile.qualified_investor:
        return "no_access"
    if p.access == "professional_investor" and not is_professional(ctx):
        return "no_access"
    if p.lockup_days > ctx.profile.max_lockup_days:
        return "horizon"
    return None


def route_wish(wish: Wish, ctx: RuleContext, eligible: set[str]) -> WishRoute:
    """Where one wish goes (DESIGN §2): shaped if any product it means is suitable; above the
    client's level (CN-MIS-06), or for the lowest category refused (CN-MIS-05), if none is."""
    if wish.kind == "product":
        product = ctx.market.products.get(wish.target)
        members = [product] if product is not None else []
    else:
        members = theme_members(lexicon_for(ctx.market).themes[wish.target], ctx.market)
    codes = [p.code for p in members]
    limit = max_rank(ctx)
    above = [p.code for p in members if p.risk_rating.rank > limit]
    if not members:
        return WishRoute(wish=wish, route="not_offered")
    if not wish.up:  # less, sell or avoid: never above anyone's level
        return WishRoute(wish=wish, route="shaped", products=codes)
    within = [p for p in members if p.risk_rating.rank <= limit]
    if not within:
        route: Route = "lowest_category" if ctx.profile.lowest_category else "above_level"
        return WishRoute(wish=wish, route=route, products=codes, above=above)
    # Shaped only if the allocation may use one of them: the same eligibility it plans with.
    if any(p.code in eligible for p in within):
        return WishRoute(wish=wish, route="shaped", products=codes, above=above)
    reasons = [_blocked(p, ctx) for p in within]
    blocked: Route = (
        "no_access" if "no_access" in reasons else "horizon" if "horizon" in reasons else
        "not_planned"  # a professional's wish above the level they were assessed at
    )  # fmt: skip
    return WishRoute(wish=wish, route=blocked, products=codes, above=above)


def route_wishes(ctx: RuleContext) -> list[WishRoute]:
    """Every wish of the client's request, routed; none without a request."""
    if ctx.intent is None:
        return []
    eligible = {p.code for p in eligible_products(ctx.profile, ctx.market)}
    return [route_wish(w, ctx, eligible) for w in ctx.intent.wishes]


def asked(route: WishRoute, ctx: RuleContext) -> str:
    """The wish for a finding's evidence: what, which products, at what levels."""
    ratings = ", ".join(
        f"{c} {ctx.market.products[c].risk_rating.value}" for c in (route.above or route.products)
    )
    name = route.wish.term or route.wish.target
    return f"{route.wish.direction} {name} ({ratings})"


def plan_cash(ctx: RuleContext) -> float:
    """CNY the plan holds in reserve-eligible products (daily-liquid R1)."""
    held_cash = sum(w for _, w, p in held(ctx) if p is not None and p.liquidity_reserve_eligible)
    return ctx.profile.aum * held_cash


def near_term_cash(ctx: RuleContext) -> float:
    """CNY the client's request says they need within three years (or without a date)."""
    if ctx.intent is None:
        return 0.0
    return sum(
        n.amount
        for n in ctx.intent.cash_needs
        if n.amount and (n.within_months is None or n.within_months <= NEAR_TERM_MONTHS)
    )
