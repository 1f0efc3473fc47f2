"""Allocation agent: target weights over shelf products, optimised, with a recorded fallback."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from agents.plan import build_plan
from core.schemas.client import Holding
from core.schemas.plan import Constraint, Fallback, Plan
from core.schemas.profile import ClientProfile
from core.settings import AllocationPolicy
from tools.llm.port import LanguageModel
from tools.market.eligibility import eligible_products
from tools.market.market_data import MarketData
from tools.market.optimiser import (
    Infeasible,
    Problem,
    Solution,
    optimise,
    portfolio_performance,
    round_weights,
)
from tools.market.shelf import Product

GOAL_VOLATILITY_CAP = {
    "preservation": 0.02,
    "income": 0.05,
    "balanced": 0.10,
    "growth": 0.15,
    "aggressive_growth": 0.20,
}
PRESERVATION_CAP = 0.02
MAX_REAIMS = 3
VOL_TOLERANCE = 1e-7
WEIGHT_DECIMALS = 4


def desired_volatility(profile: ClientProfile, policy: AllocationPolicy) -> float:
    """The level's ceiling, lowered (never raised) by goal, drawdown tolerance and the notes."""
    caps = [
        policy.volatility_ceiling[profile.risk_level],
        GOAL_VOLATILITY_CAP[profile.goal],
        profile.max_drawdown_pct / 100 / 2,
    ]
    if profile.facts.wants_capital_preservation:
        caps.append(PRESERVATION_CAP)
    return min(caps)


def _caps(
    products: list[Product], policy: AllocationPolicy, constraints: list[Constraint]
) -> np.ndarray:
    caps = []
    for p in products:
        cap = policy.max_single_product
        if not p.diversified:
            cap = min(cap, policy.max_single_non_diversified)
        for c in constraints:
            if c.kind == "cap" and c.product_code == p.code and c.value is not None:
                cap = min(cap, c.value)
        caps.append(cap)
    return np.array(caps)


def _reserve_share(profile: ClientProfile, constraints: list[Constraint]) -> float:
    """The reserve share, rounded up to the weight precision so rounding never falls short."""
    asked = [c.value for c in constraints if c.kind == "min_reserve" and c.value is not None]
    share = max([profile.liquidity_reserve_share, *asked])
    scale = 10.0**WEIGHT_DECIMALS
    return min(math.ceil(share * scale - 1e-6) / scale, 1.0)


def _top_up_reserve(weights: np.ndarray, problem: Problem) -> np.ndarray:
    """Move any rounding shortfall of the reserve from the largest other weight to the reserve."""
    short = round(problem.reserve_share - float(weights @ problem.reserve_mask), WEIGHT_DECIMALS)
    if short <= 0:
        return weights
    out = weights.copy()
    out[int(np.argmax(weights * (1 - problem.reserve_mask)))] -= short
    out[int(np.argmax(weights * problem.reserve_mask))] += short
    return np.round(out, WEIGHT_DECIMALS)


def _current_weights(products: list[Product], holdings: list[Holding], aum: float) -> np.ndarray:
    held: dict[str, float] = {}
    for h in holdings:
        held[h.product_code] = held.get(h.product_code, 0.0) + h.market_value
    return np.array([held.get(p.code, 0.0) / aum if aum else 0.0 for p in products])


def _candidates(
    profile: ClientProfile,
    market: MarketData,
    constraints: list[Constraint],
    policy: AllocationPolicy,
) -> list[Product]:
    excluded = {c.product_code for c in constraints if c.kind == "exclude"}
    budget = profile.aum * policy.max_single_product
    return [
        p
        for p in eligible_products(profile, market)
        if p.code not in excluded
        and (p.min_investment <= max(budget, 1.0) or p.asset_class == "cash")
    ]


def _reserve_only(products: list[Product]) -> dict[str, float]:
    """The last resort: money-market products the client may hold, spread evenly; else nothing."""
    cash = [p for p in products if p.liquidity_reserve_eligible]
    return {p.code: 1.0 / len(cash) for p in cash}


def _problem(
    active: list[Product],
    profile: ClientProfile,
    holdings: list[Holding],
    market: MarketData,
    policy: AllocationPolicy,
    constraints: list[Constraint],
) -> Problem:
    mu, cov = market.product_returns_and_covariance([p.code for p in active])
    return Problem(
        mu=mu,
        cov=cov,
        upper=_caps(active, policy, constraints),
        reserve_mask=np.array([1.0 if p.liquidity_reserve_eligible else 0.0 for p in active]),
        reserve_share=_reserve_share(profile, constraints),
        groups=[p.asset_class for p in active],
        group_caps=policy.asset_class_caps,
        current=_current_weights(active, holdings, profile.aum),
        cost=policy.transaction_cost,
    )


def _solve_rounded(problem: Problem, target: float) -> tuple[np.ndarray, Solution]:
    """Solve and round; if rounding lifted volatility above the target, aim a little lower."""
    first = solution = optimise(problem, target)
    aim = target
    for _ in range(MAX_REAIMS):
        weights = _top_up_reserve(round_weights(solution.weights, WEIGHT_DECIMALS), problem)
        vol = portfolio_performance(weights, problem.mu, problem.cov)[1]
        excess = vol - first.target_volatility
        if excess <= VOL_TOLERANCE or solution.method == "min_volatility":
            break
        aim = min(aim, solution.target_volatility) - excess - VOL_TOLERANCE
        solution = optimise(problem, aim)
    return weights, replace(solution, target_volatility=first.target_volatility)


def _optimise_products(
    products: list[Product],
    profile: ClientProfile,
    holdings: list[Holding],
    market: MarketData,
    policy: AllocationPolicy,
    constraints: list[Constraint],
    target: float,
) -> tuple[dict[str, float], Solution]:
    """Optimise, then drop positions below the minimum weight or investment and solve again."""
    active = list(products)
    while active:
        problem = _problem(active, profile, holdings, market, policy, constraints)
        weights, solution = _solve_rounded(problem, target)
        too_small = {
            p.code
            for p, w in zip(active, weights, strict=True)
            if 0 < w * profile.aum < p.min_investment
            or (0 < w < policy.min_weight and not p.liquidity_reserve_eligible)
        }
        if not too_small:
            chosen = {p.code: float(w) for p, w in zip(active, weights, strict=True) if w > 0}
            return chosen, solution
        active = [p for p in active if p.code not in too_small]
    raise Infeasible("no eligible product meets the constraints")


def allocate_portfolio(
    profile: ClientProfile,
    holdings: list[Holding],
    *,
    market: MarketData,
    model: LanguageModel,
    policy: AllocationPolicy,
    constraints: list[Constraint],
    offline: LanguageModel | None = None,
) -> Plan:
    """Build the target portfolio for the profile; infeasible problems fall back and say so."""
    products = _candidates(profile, market, constraints, policy)
    target = desired_volatility(profile, policy)
    fallback = None
    method: str  # the optimiser's method, or reserve_only when it has none
    try:
        weights, solution = _optimise_products(
            products, profile, holdings, market, policy, constraints, target
        )
        method, target_used = solution.method, solution.target_volatility
        span = (solution.min_volatility, solution.max_return_volatility)
        if solution.fallback_reason:
            fallback = Fallback(reason=solution.fallback_reason, method="min_volatility")
    except Infeasible as exc:
        weights = _reserve_only(products)
        method, target_used, span = "reserve_only", 0.0, (0.0, 0.0)
        fallback = Fallback(reason=str(exc), method="reserve_only")
    return build_plan(
        weights,
        profile,
        holdings,
        market=market,
        model=model,
        policy=policy,
        method=method,
        target=target_used,
        span=span,
        fallback=fallback,
        offline=offline,
        constraints=constraints,
    )
