"""The volatility a plan aims at: a place in the level's band set by need and capacity.

The firm's assessment (C1-C5) is the client's risk tolerance, and it sets the band; inside it,
the plan's place follows the two other inputs the suitability literature separates from
tolerance: the *need* to take risk (the goal) and the *capacity* to bear it (the horizon, age,
liquidity need, income, and the wealth held elsewhere). See CFA Institute, "Managing Individual
Investor Portfolios" (risk tolerance = willingness and ability); FINRA Rule 2111.05 and CSRC
《证券期货投资者适当性管理办法》 Art. 6 (the inputs a suitability profile must cover); Bodie,
Merton & Samuelson (1992) on human capital (younger investors, with more earnings ahead, can
hold more risk); and the horizon argument behind target-date glide paths. Written out:

    capacity  = sum of weight_f * score_f over f in horizon, age, liquidity, income, elsewhere
      horizon   = clip((horizon_years - 1) / (full_horizon_years - 1))
      age       = clip((no_capacity_age - age) / (no_capacity_age - full_capacity_age))
      liquidity = 1 - clip((reserve_share - emergency_reserve_share) / no_capacity_reserve)
      income    = clip(income_3y / aum / full_capacity_income)
      elsewhere = clip((1 - aum / financial_assets) / full_capacity_elsewhere)
    position  = low_goal + (high_goal - low_goal) * capacity    (the goal's range of the band)
    placed    = floor_level + position * (top - floor_level)
      top     = ceiling_level, or the most volatile plan the shelf and caps allow (`reach`, the
                optimiser's max-return portfolio) when that is lower and above the floor
    target    = min(placed, max_drawdown / 2, 2% if the notes ask for capital preservation,
                    any max_volatility a compliance finding set)

Every score rises with capacity and every weight is non-negative, so more horizon or capacity
never lowers `placed`; goal ranges rise with the goal, bands with the level; the caps only lower.
Placing within the reachable part of the band keeps clients of different capacity apart where
the shelf stops short of the ceiling, instead of all aiming above what it can give.
The ceiling is AllocationPolicy.volatility_ceiling, never above the gate's (TW-VOL-01).
"""

from __future__ import annotations

from core.schemas.plan import CapacityFactor, Constraint, Lowering, RiskTarget
from core.schemas.profile import ClientProfile
from core.settings import AllocationPolicy

PRESERVATION_CAP = 0.02  # the notes say the client cannot accept losses


def _clip(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def capacity_scores(
    profile: ClientProfile, policy: AllocationPolicy
) -> dict[CapacityFactor, float]:
    """Each capacity factor scored in [0, 1], 1 the most capacity."""
    t = policy.risk_target
    beyond = profile.liquidity_reserve_share - policy.emergency_reserve_share
    aum = profile.aum
    return {
        "horizon": _clip((profile.horizon_years - 1) / (t.full_horizon_years - 1)),
        "age": _clip((t.no_capacity_age - profile.age) / (t.no_capacity_age - t.full_capacity_age)),
        "liquidity": 1 - _clip(beyond / t.no_capacity_reserve),
        "income": _clip(profile.income_3y / aum / t.full_capacity_income) if aum > 0 else 1.0,
        "elsewhere": _clip((1 - aum / profile.financial_assets) / t.full_capacity_elsewhere)
        if profile.financial_assets
        else 0.0,
    }


def risk_target(
    profile: ClientProfile,
    policy: AllocationPolicy,
    constraints: list[Constraint] | None = None,
    reach: float | None = None,
) -> RiskTarget:
    """The target volatility and how it was set (the module docstring's formula); `reach` is
    the most volatile plan the client's candidates allow, when the allocation knows it."""
    scores = capacity_scores(profile, policy)
    capacity = sum(policy.risk_target.weights[f] * s for f, s in scores.items())
    low, high = policy.risk_target.goal_range[profile.goal]
    position = low + (high - low) * capacity
    floor, ceiling = policy.band(profile.risk_level)
    narrowed = reach is not None and floor < reach < ceiling
    top = reach if narrowed and reach is not None else ceiling
    placed = floor + position * (top - floor)
    caps: list[tuple[Lowering, float]] = [("drawdown", profile.max_drawdown_pct / 100 / 2)]
    if profile.facts.wants_capital_preservation:
        caps.append(("preservation", PRESERVATION_CAP))
    caps += [
        ("constraint", c.value)
        for c in constraints or []
        if c.kind == "max_volatility" and c.value is not None
    ]
    target = min([placed, *(v for _, v in caps)])
    lowered = sorted({name for name, v in caps if v < placed})
    return RiskTarget(
        band=(floor, ceiling),
        need=(low, high),
        capacity=capacity,
        scores=scores,
        position=position,
        placed=placed,
        lowered_by=lowered,
        target=target,
        reach=top if narrowed else None,
    )
