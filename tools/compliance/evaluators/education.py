"""Education rules: a lesson never sits beside a plan that does what the lesson warns against.

Every behaviour flag the client has gets its lesson in the letter (tools/education), so a flag
is the lesson's presence. A concentration lesson beside a plan that raises the same holding
(TW-EDU-01) caps that holding at the client's current share; a leverage lesson beside a
leveraged product (TW-EDU-02) leaves the product out. Both remedies go to the next allocation.
"""

from __future__ import annotations

import math

from core.schemas.plan import Constraint
from core.schemas.profile import ConcentrationEvidence
from tools.compliance.engine import Hit, Registry, RuleContext
from tools.compliance.facts import exclude, held

STEPS = 10_000  # plan weights are on a 1e-4 grid
GRID = 1 / STEPS  # a weight within one step of the share is not raised

EVALUATORS = Registry()


def _floor(share: float) -> float:
    """The share on the weight grid, rounded down: the cap never lets the weight rise."""
    return math.floor(share * STEPS + 1e-9) / STEPS


@EVALUATORS.rule("TW-EDU-01")
def concentration_raised(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """A concentrated holding whose weight in the plan is above its share of assets today."""
    weights, hits = ctx.plan.weights(), []
    for flag in ctx.profile.behaviour_flags:
        if not isinstance(flag.measured, ConcentrationEvidence):
            continue
        for position in flag.measured.positions:
            code, share = position.product_code, position.share
            weight = weights.get(code, 0.0)
            if weight > share + GRID:
                cap = Constraint(
                    kind="cap", product_code=code, value=_floor(share), rule_id=rule_id
                )
                evidence = (
                    f"{code}: the lesson cites {share:.1%} of assets; the plan holds {weight:.1%}"
                )
                hits.append(Hit(evidence, cap))
    return hits


@EVALUATORS.rule("TW-EDU-02")
def leverage_beside_leverage(ctx: RuleContext, rule_id: str) -> list[Hit]:
    """A leveraged product in the plan of a client whose letter teaches the risk of leverage."""
    if not any(f.flag == "leverage" for f in ctx.profile.behaviour_flags):
        return []
    return [
        Hit(f"{code} is leveraged beside the leverage lesson", exclude(code, rule_id))
        for code, _, p in held(ctx)
        if p is not None and p.leverage
    ]
