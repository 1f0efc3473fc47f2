"""Request rules: what a client asked for in their own words (DESIGN §2).

Above the client's level → CN-MIS-06, escalated to an advisor with the unsuitability warning;
for the lowest category CN-MIS-05 refuses instead (suitability.py). Anything not understood goes
to an advisor (TW-REQ-01), and so does a plan that moved strongly against a wish (TW-REQ-04),
read from the outcomes the allocation recorded on the plan. A cash need or horizon in the
request is part of the profile, so the liquidity and horizon rules see it like any other.
"""

from __future__ import annotations

from tools.compliance.engine import Hit, Registry, RuleContext
from tools.compliance.facts import asked, near_term_cash, plan_cash, route_wishes

EVALUATORS = Registry()


@EVALUATORS.rule("CN-MIS-06")
def client_request_above_level(ctx: RuleContext, rule_id: str) -> list[Hit]:
    return [
        Hit(f"client asked: {asked(r, ctx)} > {ctx.profile.risk_level}")
        for r in route_wishes(ctx)
        if r.route == "above_level"
    ]


@EVALUATORS.rule("TW-REQ-01")
def request_not_understood(ctx: RuleContext, rule_id: str) -> list[Hit]:
    if ctx.intent is None:
        return []
    return [Hit(f"not understood: {fragment}") for fragment in ctx.intent.not_understood]


@EVALUATORS.rule("TW-REQ-03")
def cash_need_not_covered(ctx: RuleContext, rule_id: str) -> list[Hit]:
    needed, cash = near_term_cash(ctx), plan_cash(ctx)
    if needed <= cash + 1.0:  # a yuan of rounding
        return []
    return [Hit(f"cash needs of {needed:,.0f} within 3 years > {cash:,.0f} held in cash")]


@EVALUATORS.rule("TW-REQ-04")
def plan_against_request(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """Each wish whose share the plan moved the other way by more than the policy's
    request_against_max, read from the outcomes the allocation recorded on the plan."""
    shaping = ctx.plan.request
    if shaping is None:  # no request, or weights the optimiser did not shape (an advisor's)
        return []
    limit = ctx.policy.request_against_max
    found = [
        f"asked {o.wish.direction} {o.wish.term or o.wish.target}: its share went from "
        f"{o.before:.1%} to {o.after:.1%} (more than {limit:.1%} the other way)"
        for o in shaping.wishes
        if o.before is not None and o.after is not None and o.against > limit
    ]
    return [Hit(evidence) for evidence in dict.fromkeys(found)]  # a name's products: once
