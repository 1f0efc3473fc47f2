"""Tests for the allocation agent: suitability, hashing, trades, constraints and fallback."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pytest
from factories import AS_OF, make_client
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.allocation import _within_caps, allocate_portfolio
from agents.profiling import profile_client
from core.schemas.client import ClientInput
from core.schemas.plan import Constraint, Plan, plan_hash, seal
from core.schemas.profile import ClientProfile
from core.settings import AllocationPolicy, CompliancePolicy, TierPolicy
from tools.compliance.evaluators.suitability import VOLATILITY_TOLERANCE
from tools.llm.offline import OfflineModel
from tools.market.market_data import MarketData
from tools.market.optimiser import Problem

POLICY = AllocationPolicy()
LEVELS = ["C1", "C2", "C3", "C4", "C5"]
AUMS = [50_000, 850_000, 20_000_000]


def profile(client: ClientInput, market: MarketData) -> ClientProfile:
    return profile_client(
        client,
        as_of=AS_OF,
        model=OfflineModel(),
        market=market,
        tiers=TierPolicy(),
        allocation=POLICY,
        compliance=CompliancePolicy(),
    )


def allocate(
    client: ClientInput,
    market: MarketData,
    constraints: list[Constraint] | None = None,
    policy: AllocationPolicy = POLICY,
) -> tuple[ClientProfile, Plan]:
    p = profile(client, market)
    plan = allocate_portfolio(
        p,
        client.holdings,
        market=market,
        model=OfflineModel(),
        policy=policy,
        constraints=constraints or [],
    )
    return p, plan


def assert_suitable(p: ClientProfile, plan: Plan, market: MarketData) -> None:
    weights = plan.weights()
    assert all(w >= 0 for w in weights.values())
    assert sum(weights.values()) == pytest.approx(1, abs=1e-9)
    limit = 1 if p.lowest_category else p.level_rank
    for code in weights:
        assert market.products[code].risk_rating.rank <= limit, code
        assert market.products[code].lockup_days <= p.max_lockup_days, code


def assert_caps(
    plan: Plan, market: MarketData, level: str, policy: AllocationPolicy = POLICY
) -> None:
    by_class: dict[str, float] = {}
    for code, w in plan.weights().items():
        product = market.products[code]
        by_class[product.asset_class] = by_class.get(product.asset_class, 0.0) + w
        if product.asset_class != "cash":
            assert w <= policy.max_single_product + 1e-9, code
        if not product.diversified:
            assert w <= policy.max_single_non_diversified + 1e-9, code
    for asset_class, cap in policy.asset_class_caps[level].items():  # type: ignore[index]
        assert by_class.get(asset_class, 0.0) <= cap + 1e-9, asset_class


def reserve_weight(plan: Plan, market: MarketData) -> float:
    return sum(
        w for c, w in plan.weights().items() if market.products[c].liquidity_reserve_eligible
    )


def grid_client(level: str, aum: float, **overrides: Any) -> ClientInput:
    return make_client(
        risk_level=level,
        aum=aum,
        liquidity_need=aum * 0.1,
        financial_assets=max(aum, 1_000_000),
        **overrides,
    )


@pytest.mark.parametrize("aum", AUMS)
@pytest.mark.parametrize("level", LEVELS)
def test_plan_invariants_per_level_and_aum(market: MarketData, level: str, aum: float) -> None:
    p, plan = allocate(grid_client(level, aum), market)
    assert_suitable(p, plan, market)
    assert_caps(plan, market, level)
    assert reserve_weight(plan, market) >= p.liquidity_reserve_share - 1e-4
    assert plan.baseline.method == "1/N" and plan.baseline.products > 0
    assert plan.fallback is None
    assert plan.rationale


@pytest.mark.parametrize("aum", AUMS)
@pytest.mark.parametrize("level", LEVELS)
def test_volatility_is_within_target_and_target_within_feasible_range(
    market: MarketData, level: str, aum: float
) -> None:
    _, plan = allocate(grid_client(level, aum), market)
    low, high = plan.feasible_volatility
    assert low <= plan.target_volatility <= high
    assert plan.expected_volatility <= plan.target_volatility + 1e-6


# DESIGN §4, written out: a changed policy default must fail here, not move the expectation.
DESIGN_CEILINGS = {"C1": 0.01, "C2": 0.04, "C3": 0.10, "C4": 0.15, "C5": 0.20}
# Weights on a 1e-4 grid move a plan's volatility by far less than a tenth of a point.
NEAR = 1e-3


FULL_CAPACITY: dict[str, Any] = {
    "goal": "aggressive_growth", "max_drawdown_tolerance_pct": 60, "horizon_years": 20,
    "birth_year": 1995, "aum": 400_000, "annual_income": 400_000, "financial_assets": 2_000_000,
    "liquidity_need": 0, "holdings": [], "trades": [], "notes": "",
}  # fmt: skip


@pytest.mark.parametrize("level", LEVELS)
def test_the_levels_ceiling_binds_at_full_need_and_capacity(market: MarketData, level: str) -> None:
    """aggressive_growth, a 60% drawdown tolerance (30%), 20 years, age 31, income equal to the
    assets here and four fifths of the financial assets elsewhere place the target at the
    level's ceiling, or at the most the shelf allows where that is lower (`reach`): the plan is
    under it, and as near it as the shelf allows."""
    p, plan = allocate(make_client(risk_level=level, **FULL_CAPACITY), market)
    ceiling = DESIGN_CEILINGS[level]
    assert plan.risk_target is not None and plan.risk_target.position == 1
    reach = plan.risk_target.reach
    assert reach is None or reach < ceiling
    assert plan.risk_target.target == pytest.approx(ceiling if reach is None else reach)
    assert plan.expected_volatility <= ceiling + VOLATILITY_TOLERANCE
    assert plan.expected_volatility >= min(ceiling, plan.feasible_volatility[1]) - NEAR
    assert plan.risk_target.shelf_limited == (plan.feasible_volatility[1] < ceiling)
    assert_suitable(p, plan, market)


def test_a_volatility_constraint_lowers_the_target(market: MarketData) -> None:
    """TW-VOL-01's remedy: the next allocation aims under the volatility it names."""
    client = make_client(goal="aggressive_growth", max_drawdown_tolerance_pct=60)
    _, before = allocate(client, market)
    cap = Constraint(kind="max_volatility", value=0.05, rule_id="TW-VOL-01")
    _, after = allocate(client, market, [cap])
    assert before.expected_volatility > 0.05 + NEAR
    assert after.target_volatility <= 0.05 and after.expected_volatility <= 0.05 + 1e-6
    assert after.constraints == [cap]


@pytest.mark.parametrize("aum", AUMS)
def test_lowest_category_holds_r1_only(market: MarketData, aum: float) -> None:
    p, plan = allocate(grid_client("C1", aum, lowest_category=True), market)
    assert {h.risk_rating for h in plan.holdings} == {"R1"}
    assert_suitable(p, plan, market)


def test_plan_hash_is_the_sha256_of_the_canonical_plan(market: MarketData) -> None:
    _, plan = allocate(make_client(), market)
    body = plan.model_dump(mode="json")
    del body["plan_hash"]
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert plan.plan_hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert plan_hash(plan.model_dump(mode="json")) == plan.plan_hash


def test_plan_hash_changes_when_a_weight_changes(market: MarketData) -> None:
    _, plan = allocate(make_client(), market)
    first, second, *rest = plan.holdings
    edited = plan.model_copy(
        update={
            "holdings": [
                first.model_copy(update={"weight": first.weight - 0.01}),
                second.model_copy(update={"weight": second.weight + 0.01}),
                *rest,
            ]
        }
    )
    assert plan_hash(edited.model_dump(mode="json")) != plan.plan_hash
    resealed = seal(edited)
    assert resealed.plan_hash not in ("", plan.plan_hash)
    assert seal(resealed).plan_hash == resealed.plan_hash


@pytest.mark.parametrize(
    "holdings",
    [
        [],
        [{"product_code": "510300", "market_value": 300_000}],
        [
            {"product_code": "510300", "market_value": 200_000},
            {"product_code": "600519", "market_value": 150_000},
            {"product_code": "TW-MM-01", "market_value": 50_000},
        ],
    ],
)
def test_trades_move_current_holdings_to_the_target(
    market: MarketData, holdings: list[dict[str, Any]]
) -> None:
    client = make_client(holdings=holdings)
    _, plan = allocate(client, market)
    position: dict[str, float] = {}
    for h in client.holdings:
        position[h.product_code] = position.get(h.product_code, 0.0) + h.market_value
    sides = [t.side for t in plan.trades]
    assert sides == sorted(sides, key=lambda s: s != "sell")  # sells first
    for t in plan.trades:
        position[t.product_code] = position.get(t.product_code, 0.0) + (
            t.amount if t.side == "buy" else -t.amount
        )
    # Trades reach each holding's amount, whole hundreds of yuan here (no stored closes): within
    # a hundred of it, and of its weight's value.
    target = {h.product_code: h.amount for h in plan.holdings}
    for code in set(position) | set(target):
        assert abs(position.get(code, 0.0) - target.get(code, 0.0)) < POLICY.min_trade_cny, code
    for h in plan.holdings:
        assert h.amount <= h.weight * client.aum < h.amount + 100


def test_exclude_and_cap_constraints_are_honoured(market: MarketData) -> None:
    _, before = allocate(make_client(), market)
    weights = before.weights()
    largest, excluded = sorted(weights, key=weights.__getitem__, reverse=True)[:2]
    constraints = [
        Constraint(kind="exclude", product_code=excluded, rule_id="CN-MIS-03"),
        Constraint(kind="cap", product_code=largest, value=0.05, rule_id="TW-CONC-01"),
    ]
    p, after = allocate(make_client(), market, constraints)
    assert excluded not in after.weights()
    assert after.weights().get(largest, 0.0) <= 0.05 + 1e-9
    assert after.constraints == constraints
    assert_suitable(p, after, market)


def test_min_reserve_constraint_raises_the_reserve(market: MarketData) -> None:
    constraints = [Constraint(kind="min_reserve", value=0.35, rule_id="DIV-P-05")]
    _, plan = allocate(make_client(), market, constraints)
    assert reserve_weight(plan, market) >= 0.35 - 1e-9


@pytest.mark.parametrize("level", ["C1", "C3", "C5"])
def test_infeasible_problem_falls_back_and_says_so(market: MarketData, level: str) -> None:
    cash = [p.code for p in market.shelf if p.asset_class == "cash"]
    constraints = [Constraint(kind="exclude", product_code=c, rule_id="TEST") for c in cash]
    policy = AllocationPolicy(max_single_product=0.01)
    _, plan = allocate(make_client(risk_level=level), market, constraints, policy)
    assert plan.fallback is not None and plan.fallback.reason
    assert plan.method == plan.fallback.method
    # With every money-market product excluded there is nothing safe to fall back to: the plan
    # is empty (and fails TW-PLAN-01), never a default that ignores the exclusions.
    assert plan.weights() == {}
    assert plan.expected_return == plan.expected_volatility == 0
    assert plan.plan_hash


def test_reserve_only_fallback_spreads_over_allowed_money_market_products(
    market: MarketData,
) -> None:
    excluded = "TW-MM-01"
    constraints = [Constraint(kind="exclude", product_code=excluded, rule_id="TEST")]
    policy = AllocationPolicy(max_single_product=0.01)
    _, plan = allocate(make_client(), market, constraints, policy)
    assert plan.fallback is not None and plan.method == "reserve_only"
    assert excluded not in plan.weights()
    assert all(market.products[c].liquidity_reserve_eligible for c in plan.weights())
    assert sum(plan.weights().values()) == pytest.approx(1, abs=1e-9)


def test_a_liquidity_need_near_aum_is_held_in_the_reserve(market: MarketData) -> None:
    p, plan = allocate(make_client(aum=200_000, liquidity_need=199_990), market)
    assert_suitable(p, plan, market)
    assert reserve_weight(plan, market) >= p.liquidity_reserve_share - 1e-4


@settings(max_examples=25, deadline=None)
@given(
    level=st.sampled_from(LEVELS),
    aum=st.floats(10_000, 50_000_000),
    need_share=st.floats(0, 1.5),
    goal=st.sampled_from(["preservation", "income", "balanced", "growth", "aggressive_growth"]),
    horizon=st.floats(0.1, 30),
)
def test_property_weights_are_valid_and_within_level(
    market: MarketData, level: str, aum: float, need_share: float, goal: str, horizon: float
) -> None:
    client = make_client(
        risk_level=level,
        aum=aum,
        liquidity_need=aum * need_share,
        goal=goal,
        horizon_years=horizon,
        holdings=[],
    )
    p, plan = allocate(client, market)
    assert_suitable(p, plan, market)


def test_rounding_never_takes_a_product_or_a_class_over_its_cap() -> None:
    """Largest-remainder rounding can lift a weight sitting at its cap by a unit (a C3 plan came
    out with 40.01% in large caps): the unit moves to the reserve product with most room."""
    problem = Problem(
        mu=np.zeros(4),
        cov=np.eye(4),
        upper=np.array([0.4, 0.4, 0.4, 0.4]),
        reserve_mask=np.array([0.0, 0.0, 1.0, 1.0]),
        reserve_share=0.1,
        groups=["cn_large_cap", "cn_large_cap", "cash", "cash"],
        group_caps={"cn_large_cap": 0.4},
    )
    rounded = np.array([0.2501, 0.15, 0.4001, 0.1998])
    fixed = _within_caps(rounded, problem)
    assert fixed[:2].sum() <= 0.4 + 1e-12 and fixed[2] <= 0.4 + 1e-12
    assert fixed.sum() == pytest.approx(1.0, abs=1e-12)
    assert fixed[3] == pytest.approx(0.2, abs=1e-12)
