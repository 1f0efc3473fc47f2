"""Allocation agent: target weights over shelf products, trades, risk and return beside 1/N."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from agents.profiling import ClientProfile
from agents.research import eligible_products
from core.schemas import Holding
from core.settings import AllocationPolicy
from tools.llm import LanguageModel, Prompt
from tools.market import MarketData, Product
from tools.optimiser import (
    Infeasible,
    Problem,
    Solution,
    optimise,
    portfolio_performance,
    round_weights,
)

RATIONALE_PROMPT = """Explain this portfolio to a {risk_level} client in {locale}, in plain words.
Goal: {goal}; horizon {horizon_years} years. Use only these figures, and promise nothing:
{figures}"""

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


class PlanHolding(BaseModel):
    product_code: str
    weight: float = Field(ge=0, le=1)
    risk_rating: str
    asset_class: str


class Trade(BaseModel):
    product_code: str
    side: Literal["buy", "sell"]
    amount: float = Field(gt=0)


class Baseline(BaseModel):
    method: Literal["1/N"] = "1/N"
    products: int
    expected_return: float
    expected_volatility: float


class Fallback(BaseModel):
    reason: str
    method: Literal["min_volatility", "reserve_only"]


class Constraint(BaseModel):
    """A limit the compliance agent asks the next allocation to respect."""

    kind: Literal["exclude", "cap", "min_reserve"]
    product_code: str | None = None
    value: float | None = None
    rule_id: str


class Plan(BaseModel):
    """The plan contract of DESIGN §3, plus how it was built."""

    holdings: list[PlanHolding]
    expected_return: float
    expected_volatility: float
    baseline: Baseline
    trades: list[Trade]
    rationale: str
    plan_hash: str = ""
    source: Literal["allocation", "advisor"] = "allocation"
    method: str
    target_volatility: float
    feasible_volatility: tuple[float, float]
    fallback: Fallback | None = None
    constraints: list[Constraint] = Field(default_factory=list)
    cma_version: str

    def weights(self) -> dict[str, float]:
        return {h.product_code: h.weight for h in self.holdings}


def plan_hash(plan: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a plan, without its own hash."""
    body = {k: v for k, v in plan.items() if k != "plan_hash"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def seal(plan: Plan) -> Plan:
    """The plan with its plan_hash filled in."""
    return plan.model_copy(update={"plan_hash": plan_hash(plan.model_dump(mode="json"))})


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


def trades_for(
    weights: dict[str, float], holdings: list[Holding], aum: float, min_trade: float
) -> list[Trade]:
    """Trades that move current holdings to the target weights; sells first."""
    current: dict[str, float] = {}
    for h in holdings:
        current[h.product_code] = current.get(h.product_code, 0.0) + h.market_value
    trades = []
    for code in sorted(set(current) | set(weights)):
        delta = weights.get(code, 0.0) * aum - current.get(code, 0.0)
        if abs(delta) >= max(min_trade, 0.01):
            trades.append(
                Trade(
                    product_code=code,
                    side="buy" if delta > 0 else "sell",
                    amount=round(abs(delta), 2),
                )
            )
    return sorted(trades, key=lambda t: (t.side != "sell", t.product_code))


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
    return min(math.ceil(share * 10**WEIGHT_DECIMALS - 1e-6) / 10**WEIGHT_DECIMALS, 1.0)


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
) -> Plan:
    """Build the target portfolio for the profile; infeasible problems fall back and say so."""
    products = _candidates(profile, market, constraints, policy)
    target = desired_volatility(profile, policy)
    fallback = None
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
        constraints=constraints,
    )


def _performance(market: MarketData, weights: dict[str, float]) -> tuple[float, float]:
    """Expected return and volatility of shelf-product weights; zero for an empty plan."""
    if not weights:
        return 0.0, 0.0
    mu, cov = market.product_returns_and_covariance(list(weights))
    return portfolio_performance(np.array(list(weights.values())), mu, cov)


def build_plan(
    weights: dict[str, float],
    profile: ClientProfile,
    holdings: list[Holding],
    *,
    market: MarketData,
    model: LanguageModel,
    policy: AllocationPolicy,
    method: str,
    target: float,
    span: tuple[float, float],
    fallback: Fallback | None = None,
    constraints: list[Constraint] | None = None,
    source: Literal["allocation", "advisor"] = "allocation",
) -> Plan:
    """A sealed plan from target weights: performance, 1/N baseline, trades and rationale."""
    known = [c for c in weights if c in market.products]
    exp_return, exp_vol = _performance(market, {c: weights[c] for c in known})
    universe = [p.code for p in eligible_products(profile, market)] or known
    base_return, base_vol = _performance(market, {c: 1 / len(universe) for c in universe})
    plan_holdings = [
        PlanHolding(
            product_code=code,
            weight=weight,
            risk_rating=market.products[code].risk_rating.value
            if code in market.products
            else "unknown",
            asset_class=market.products[code].asset_class if code in market.products else "unknown",
        )
        for code, weight in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    figures = {
        "holdings": [
            {
                "code": h.product_code,
                "weight": h.weight,
                "risk_rating": h.risk_rating,
                "asset_class": h.asset_class,
                "name": market.products[h.product_code].name(profile.locale)
                if h.product_code in market.products
                else h.product_code,
            }
            for h in plan_holdings
        ],
        "expected_return": round(exp_return, 4),
        "expected_volatility": round(exp_vol, 4),
        "baseline_return": round(base_return, 4),
        "baseline_volatility": round(base_vol, 4),
        "target_volatility": round(target, 4),
        "reserve_share": round(profile.liquidity_reserve_share, 4),
        "fallback": fallback.reason if fallback else None,
        "source": source,
    }
    prompt = Prompt(
        "rationale",
        RATIONALE_PROMPT,
        {
            "risk_level": profile.risk_level,
            "locale": profile.locale,
            "goal": profile.goal,
            "horizon_years": profile.horizon_years,
            "figures": json.dumps(figures, ensure_ascii=False),
            "data": figures,
        },
    )
    plan = Plan(
        holdings=plan_holdings,
        expected_return=round(exp_return, 6),
        expected_volatility=round(exp_vol, 6),
        baseline=Baseline(
            products=len(universe),
            expected_return=round(base_return, 6),
            expected_volatility=round(base_vol, 6),
        ),
        trades=trades_for(weights, holdings, profile.aum, policy.min_trade_cny),
        rationale=model.text(prompt),
        source=source,
        method=method,
        target_volatility=round(target, 6),
        feasible_volatility=(round(span[0], 6), round(span[1], 6)),
        fallback=fallback,
        constraints=constraints or [],
        cma_version=market.cma.version,
    )
    return seal(plan)
