"""What the rules know about a client and a plan, shared by evaluators and disclosures."""

from __future__ import annotations

from core.schemas.plan import Constraint
from core.settings import CompliancePolicy
from tools.compliance.engine import RuleContext
from tools.market.shelf import Product

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
