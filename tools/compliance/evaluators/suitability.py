"""Suitability checks: levels and the C/R matrix, access, requests, profile quality, controls."""

from __future__ import annotations

import math

from core.schemas.client import ADULT_AGE
from core.schemas.plan import Constraint
from core.schemas.special_care import HIGH_RISK_RANK
from tools.compliance.engine import Hit, Registry, RuleContext
from tools.compliance.facts import (
    asked,
    eu_professional_criteria,
    exclude,
    held,
    is_professional,
    max_rank,
    route_wishes,
)

CONVERSION_ASSETS = 3_000_000  # Measures Art 11: an ordinary investor may apply above these
CONVERSION_INCOME = 300_000
# A plan's volatility is stored to 6 decimals and the optimiser meets its target to 1e-7: what
# lies within a thousandth of a percentage point of the ceiling is at it (the inbox shows 0.01%).
VOLATILITY_TOLERANCE = 1e-5
EVALUATORS = Registry()


@EVALUATORS.rule("CN-CLS-03")
def professional_claim_not_verified(ctx: RuleContext, rule_id: str) -> list[Hit]:
    p = ctx.profile
    if p.investor_type_claimed == "professional" and not p.professional:
        return [Hit("Measures Art 8(5) criteria not met: treated as ordinary")]
    return []


@EVALUATORS.rule("CN-CLS-05")
def may_apply_for_professional(ctx: RuleContext, rule_id: str) -> list[Hit]:
    p = ctx.profile
    if p.professional or p.investor_type_claimed != "professional":
        return []
    wealthy = p.financial_assets >= CONVERSION_ASSETS or p.income_3y >= CONVERSION_INCOME
    if wealthy and p.experience_years >= 1:
        return [Hit("meets the Art 11 thresholds (assets >= 3M or income >= 300k, 1 year)")]
    return []


@EVALUATORS.rule("EU-CLS-01")
def mifid_professional(ctx: RuleContext, rule_id: str) -> list[Hit]:
    met = eu_professional_criteria(ctx)
    if ctx.profile.professional and met < 2:
        return [Hit(f"{met} of 3 criteria met: treated as retail")]
    return []


@EVALUATORS.rule("CN-C-04")
def stale_assessment(ctx: RuleContext, rule_id: str) -> list[Hit]:
    p = ctx.profile
    if not p.assessment_stale:
        return []
    if p.assessment_age_months < 0:
        return [Hit(f"assessed on {p.assessed_on.isoformat()}, after the date of this advice")]
    return [Hit(f"assessed on {p.assessed_on.isoformat()}, {p.assessment_age_months} months ago")]


@EVALUATORS.rule("CN-R-04")
def unknown_product(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return [Hit(f"{code} is not on the shelf") for code, _, p in held(ctx) if p is None]


@EVALUATORS.rule("CN-R-03")
def service_level(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """The plan as a service is graded on its overall (weighted) risk (Measures Art 16, 18)."""
    graded = [(w, p.risk_rating.rank) for _, w, p in held(ctx) if p is not None]
    total = sum(w for w, _ in graded)
    if not graded or total <= 0:
        return []
    level = math.ceil(sum(w * r for w, r in graded) / total - 1e-9)
    limit = max_rank(ctx)
    return [Hit(f"plan risk level R{level} > allowed R{limit}")] if level > limit else []


@EVALUATORS.rule("TW-VOL-01")
def volatility_ceiling(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """The plan's expected volatility against the ceiling of the client's effective level,
    from the gate's own policy; the remedy has the next allocation aim under it."""
    level, vol = ctx.profile.risk_level, ctx.plan.expected_volatility
    ceiling = ctx.policy.volatility_ceiling[level]
    if vol <= ceiling + VOLATILITY_TOLERANCE:
        return []
    remedy = Constraint(kind="max_volatility", value=ceiling, rule_id=rule_id)
    return [Hit(f"expected volatility {vol:.2%} > {level} ceiling {ceiling:.2%}", remedy)]


@EVALUATORS.rule("CN-MIS-05")
def lowest_category(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """Above R1 in the plan blocks it. A request for more is refused in the letter, whoever
    insists (Art 19, 22(5)), and the refusal goes to the advisor with the plan."""
    if not ctx.profile.lowest_category:
        return []
    hits = [
        Hit(f"{code} is {p.risk_rating.value}")
        for code, _, p in held(ctx)
        if p is not None and p.risk_rating.rank > 1
    ]
    refused = [r for r in route_wishes(ctx) if r.route == "lowest_category"]
    return hits + [
        Hit(
            f"request refused: {asked(r, ctx)}; lowest category may hold R1 only",
            verdict="escalate",
        )
        for r in refused
    ]


@EVALUATORS.rule("CN-MIS-03")
def level_mismatch(ctx: RuleContext, rule_id: str) -> list[Hit]:
    if ctx.profile.lowest_category:
        return []  # CN-MIS-05 blocks these outright
    limit = max_rank(ctx)
    return [
        Hit(f"{code} is {p.risk_rating.value} > {ctx.profile.risk_level}", exclude(code, rule_id))
        for code, _, p in held(ctx)
        if p is not None and p.risk_rating.rank > limit
    ]


@EVALUATORS.rule("CN-MIS-01")
def access_requirement(ctx: RuleContext, rule_id: str) -> list[Hit]:
    hits = []
    for code, _, p in held(ctx):
        if p is None:
            continue
        qualified = p.access == "qualified_investor" and not ctx.profile.qualified_investor
        professional = p.access == "professional_investor" and not is_professional(ctx)
        if qualified or professional:
            hits.append(Hit(f"{code} requires {p.access.value}", exclude(code, rule_id)))
    return hits


@EVALUATORS.rule("CN-MIS-07")
def high_risk_for_ordinary(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """R4/R5 for an ordinary investor needs special care: an advisor's, or the dedicated
    procedure's (issue 28), which passes only when its record has every step for exactly the
    R4/R5 products the plan holds (the offer, the cooling-off, the acknowledgement)."""
    if is_professional(ctx):
        return []
    high = {
        code: (p.risk_rating.value, weight)
        for code, weight, p in held(ctx)
        if p is not None and p.risk_rating.rank >= HIGH_RISK_RANK
    }
    if not high:
        return []
    listed = "high-risk products: " + ", ".join(f"{c} ({r})" for c, (r, _) in high.items())
    if ctx.special_care is None:
        return [Hit(listed)]
    missing = ctx.special_care.missing({c: w for c, (_, w) in high.items()})
    return (
        [Hit(f"{listed}; special-care procedure incomplete: {'; '.join(missing)}")]
        if missing
        else []
    )


@EVALUATORS.rule("CN-IA-01")
def registered_advisor(ctx: RuleContext, rule_id: str) -> list[Hit]:
    if ctx.profile.tier != "long_tail" and not ctx.profile.advisor_id:
        return [Hit(f"{ctx.profile.tier} client without an assigned advisor")]
    return []


@EVALUATORS.rule("CN-IA-02")
def contradictory_information(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """Contradictory answers, and a minor (the contract refuses one; a backdated run may not)."""
    hits = [Hit(item) for item in ctx.profile.inconsistencies]
    if ctx.profile.age < ADULT_AGE:
        hits.append(Hit(f"the client is {ctx.profile.age}, under {ADULT_AGE}"))
    return hits


@EVALUATORS.rule("CN-AI-04")
def kill_switch(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return [Hit("TIERWISE_COMPLIANCE__KILL_SWITCH is on")] if ctx.policy.kill_switch else []


@EVALUATORS.rule("EU-SUIT-05")
def nothing_suitable(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return [] if held(ctx) else [Hit("the plan holds no product")]


@EVALUATORS.rule("EU-SUIT-09")
def sustainability_preferences(ctx: RuleContext, rule_id: str) -> list[Hit]:
    missing = not (ctx.profile.sustainability_preference or "").strip()
    return [Hit("objectives.sustainability_preference is empty")] if missing else []


@EVALUATORS.rule("TW-PLAN-01")
def weights_valid(ctx: RuleContext, rule_id: str) -> list[Hit]:
    weights = [h.weight for h in ctx.plan.holdings]
    total = sum(weights)
    hits = []
    if any(w < 0 for w in weights):
        hits.append(Hit("negative weight"))
    if not weights or abs(total - 1) > ctx.policy.weight_tolerance:
        hits.append(Hit(f"weights sum to {total:.6f}"))
    return hits


@EVALUATORS.rule("TW-ALLOC-01")
def allocation_fallback(ctx: RuleContext, rule_id: str) -> list[Hit]:
    fallback = ctx.plan.fallback
    return [Hit(f"{fallback.method}: {fallback.reason}")] if fallback else []
