"""Special care (CN-MIS-07, 适当性办法 Art 20, issue 28): the plan side of the procedure.

A long-tail ordinary investor whose plan would hold R4/R5 products is not queued for an advisor
when the firm's mode is `procedure`: they get the core plan, built with every R4/R5 product left
out, delivered like any clean long-tail plan, and the R4/R5 part of the plan the optimiser would
have made is offered beside it (`Plan.offer`). Only a run made by accepting that offer (its
state carries the procedure's record) may hold R4/R5, and then only the products offered.
"""

from __future__ import annotations

from collections.abc import Callable

from core.schemas.plan import Constraint, Plan, PlanHolding, seal
from core.schemas.profile import ClientProfile
from core.schemas.special_care import (
    HIGH_RISK_RANK,
    SleeveHolding,
    SpecialCareOffer,
    SpecialCareRecord,
)
from core.settings import Settings
from tools.market.eligibility import eligible_products
from tools.market.market_data import MarketData

RULE = "CN-MIS-07"  # the rule whose procedure these constraints follow
Allocate = Callable[[list[Constraint]], Plan]  # one allocation, with extra constraints


def applies(profile: ClientProfile, settings: Settings) -> bool:
    """The procedure serves an ordinary long-tail investor in a CN firm set to `procedure`;
    mid-tier and HNW clients keep their advisor, and `advisor` mode keeps today's queue."""
    return (
        settings.special_care.mode == "procedure"
        and settings.compliance.jurisdiction == "CN"
        and profile.tier == "long_tail"
        and not profile.professional
        and not profile.lowest_category
    )


def high_risk(holding: PlanHolding) -> bool:
    return holding.weight > 0 and int(holding.risk_rating.removeprefix("R")) >= HIGH_RISK_RANK


def leave_out(
    profile: ClientProfile, market: MarketData, allowed: frozenset[str] = frozenset()
) -> list[Constraint]:
    """Every R4/R5 product the client could be given, but those allowed, left out (CN-MIS-07)."""
    return [
        Constraint(kind="exclude", product_code=p.code, rule_id=RULE)
        for p in eligible_products(profile, market)
        if p.risk_rating.rank >= HIGH_RISK_RANK and p.code not in allowed
    ]


def offer_of(full: Plan, cooling_off_hours: int) -> SpecialCareOffer | None:
    """The R4/R5 part of the full plan, with the full plan's weights and figures; None when it
    holds no R4/R5 product."""
    sleeve = [h for h in full.holdings if high_risk(h)]
    if not sleeve:
        return None
    return SpecialCareOffer(
        holdings=[
            SleeveHolding(
                product_code=h.product_code,
                risk_rating=h.risk_rating,
                weight=h.weight,
                amount=h.amount,
            )
            for h in sleeve
        ],
        weights={h.product_code: h.weight for h in full.holdings if h.weight > 0},
        expected_return=full.expected_return,
        expected_volatility=full.expected_volatility,
        cooling_off_hours=cooling_off_hours,
    )


def plan_with_care(
    profile: ClientProfile,
    allocate: Allocate,
    *,
    market: MarketData,
    settings: Settings,
    record: SpecialCareRecord | None = None,
) -> Plan:
    """The plan to check and deliver.

    A linked run (its record given) may hold R4/R5 only among the products the letter offered,
    and makes no new offer. A client the procedure serves gets the core plan and the offer when
    their plan would hold R4/R5: the full plan is optimised first (for everyone), the core plan
    a second time only then. Everyone else: today's plan.
    """
    if record is not None:
        # What was offered, and no more of it than the letter showed: the client accepted that.
        caps = [
            Constraint(kind="cap", product_code=code, value=weight, rule_id=RULE)
            for code, weight in sorted(record.offered_weights.items())
        ]
        return allocate([*leave_out(profile, market, frozenset(record.offered)), *caps])
    full = allocate([])
    if not applies(profile, settings):
        return full
    offer = offer_of(full, settings.compliance.cooling_off_hours)
    if offer is None:
        return full
    core = allocate(leave_out(profile, market))
    return seal(core.model_copy(update={"offer": offer}))


def record_of(raw: object) -> SpecialCareRecord | None:
    """The procedure's record from a run's state (None on any run not made by accepting)."""
    return SpecialCareRecord.model_validate(raw) if raw else None
