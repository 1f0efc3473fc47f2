"""The risk target (agents/risk_target.py): placed in the level's band by need and capacity,
monotone in each, only ever lowered by drawdown, preservation and compliance; and C5 above C4."""

from __future__ import annotations

from typing import Any

import pytest
from factories import AS_OF, make_client
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agents.allocation import allocate_portfolio
from agents.profiling import profile_client
from agents.risk_target import PRESERVATION_CAP, risk_target
from core.schemas.plan import Constraint
from core.schemas.profile import ClientProfile
from core.settings import AllocationPolicy, CompliancePolicy, RiskTargetPolicy, TierPolicy
from tools.llm.offline import OfflineModel
from tools.market.market_data import load_market

POLICY = AllocationPolicy()
MARKET = load_market()
LEVELS = ["C1", "C2", "C3", "C4", "C5"]
GOALS = ["preservation", "income", "balanced", "growth", "aggressive_growth"]
BASE = profile_client(
    make_client(notes=""), as_of=AS_OF, model=OfflineModel(), market=MARKET, tiers=TierPolicy(),
    allocation=POLICY, compliance=CompliancePolicy(),
)  # fmt: skip

PROFILES = st.fixed_dictionaries(
    {
        "risk_level": st.sampled_from(LEVELS),
        "goal": st.sampled_from(GOALS),
        "horizon_years": st.floats(0.1, 50),
        "age": st.integers(18, 110),
        "aum": st.floats(1_000, 1e9),
        "liquidity_reserve_share": st.floats(0.0, 1.0),
        "income_3y": st.floats(0, 1e8),
        "financial_assets": st.floats(0, 2e9),
        "max_drawdown_pct": st.floats(0, 100),
    }
)


def profile(**fields: Any) -> ClientProfile:
    return BASE.model_copy(update=fields)


def target(p: ClientProfile, constraints: list[Constraint] | None = None) -> float:
    return risk_target(p, POLICY, constraints).target


# Each capacity input, and a change of it that can only add capacity.
MORE_CAPACITY = {
    "horizon_years": lambda v, d: v + d * 20,
    "age": lambda v, d: max(18, v - int(d * 40)),
    "liquidity_reserve_share": lambda v, d: v * (1 - d),
    "income_3y": lambda v, d: v * (1 + d * 10),
    "financial_assets": lambda v, d: v * (1 + d * 10),
}


@settings(max_examples=200, deadline=None)
@given(fields=PROFILES, factor=st.sampled_from(sorted(MORE_CAPACITY)), step=st.floats(0, 1))
def test_property_more_horizon_or_capacity_never_lowers_the_target(
    fields: dict[str, Any], factor: str, step: float
) -> None:
    before = profile(**fields)
    after = profile(**{**fields, factor: MORE_CAPACITY[factor](fields[factor], step)})
    a, b = risk_target(before, POLICY), risk_target(after, POLICY)
    assert b.placed >= a.placed - 1e-12
    assert b.target >= a.target - 1e-12
    floor, ceiling = POLICY.band(before.risk_level)
    assert floor - 1e-12 <= a.placed <= ceiling + 1e-12


@settings(max_examples=200, deadline=None)
@given(fields=PROFILES, lower=st.integers(0, 4), higher=st.integers(0, 4))
def test_property_goal_order_is_respected(fields: dict[str, Any], lower: int, higher: int) -> None:
    lower, higher = sorted((lower, higher))
    less = target(profile(**{**fields, "goal": GOALS[lower]}))
    more = target(profile(**{**fields, "goal": GOALS[higher]}))
    assert more >= less - 1e-12


@settings(max_examples=200, deadline=None)
@given(fields=PROFILES, lower=st.integers(0, 4), higher=st.integers(0, 4))
def test_property_a_higher_level_never_gives_a_lower_band_or_target(
    fields: dict[str, Any], lower: int, higher: int
) -> None:
    lower, higher = sorted((lower, higher))
    low, high = LEVELS[lower], LEVELS[higher]
    assert all(a <= b for a, b in zip(POLICY.band(low), POLICY.band(high), strict=True))  # type: ignore[arg-type]
    placed_low = risk_target(profile(**{**fields, "risk_level": low}), POLICY).placed
    placed_high = risk_target(profile(**{**fields, "risk_level": high}), POLICY).placed
    assert placed_high >= placed_low - 1e-12


@settings(max_examples=200, deadline=None)
@given(
    fields=PROFILES,
    drawdown=st.floats(0, 100),
    preservation=st.booleans(),
    cap=st.none() | st.floats(0.001, 0.5),
)
def test_property_drawdown_preservation_and_compliance_only_lower_it(
    fields: dict[str, Any], drawdown: float, preservation: bool, cap: float | None
) -> None:
    plain = profile(**{**fields, "max_drawdown_pct": 100})
    free = risk_target(plain, POLICY)
    facts = plain.facts.model_copy(update={"wants_capital_preservation": preservation})
    lowered = plain.model_copy(update={"max_drawdown_pct": drawdown, "facts": facts})
    constraints = [Constraint(kind="max_volatility", value=cap, rule_id="TW-VOL-01")] if cap else []
    got = risk_target(lowered, POLICY, constraints)
    assert got.placed == free.placed  # none of them moves where the client is placed
    assert got.target <= free.target
    assert got.target <= drawdown / 100 / 2
    assert not preservation or got.target <= PRESERVATION_CAP
    assert cap is None or got.target <= cap
    assert got.target <= CompliancePolicy().volatility_ceiling[lowered.risk_level]
    assert bool(got.lowered_by) == (got.target < got.placed)


def test_the_formula_as_written() -> None:
    """A worked example of the docstring's formula: C3 balanced, 5 years, aged 46, reserve
    100k of 850k, income 360k, 1.2M financial assets."""
    got = risk_target(BASE, POLICY)
    scores = {
        "horizon": (5 - 1) / (15 - 1),
        "age": (80 - 46) / (80 - 35),
        "liquidity": 1 - (100_000 / 850_000 - 0.05) / 0.45,
        "income": min(360_000 / 850_000 / 0.5, 1.0),
        "elsewhere": (1 - 850_000 / 1_200_000) / 0.75,
    }
    assert got.scores == pytest.approx(scores, abs=1e-6)
    capacity = 0.4 * scores["horizon"] + 0.15 * (sum(scores.values()) - scores["horizon"])
    assert got.capacity == pytest.approx(capacity, abs=1e-6)
    assert got.position == pytest.approx(0.25 + 0.45 * capacity, abs=1e-6)
    assert got.placed == pytest.approx(0.03 + got.position * 0.07, abs=1e-6)
    assert got.placed < 0.075  # under half the 15% drawdown tolerance: nothing lowers it
    assert got.lowered_by == [] and got.target == got.placed


def test_two_and_twelve_years_give_different_plans() -> None:
    """Issue 27: within a level and goal, a 2-year and a 12-year horizon got the same plan."""
    plans = []
    for years in (2, 12):
        client = make_client(horizon_years=years, holdings=[], max_drawdown_tolerance_pct=30)
        p = profile_client(
            client, as_of=AS_OF, model=OfflineModel(), market=MARKET, tiers=TierPolicy(),
            allocation=POLICY, compliance=CompliancePolicy(),
        )  # fmt: skip
        plan = allocate_portfolio(
            p, [], market=MARKET, model=OfflineModel(), policy=POLICY, constraints=[]
        )
        plans.append(plan)
    short, long = plans
    assert long.expected_volatility > short.expected_volatility + 0.005
    assert long.weights() != short.weights()


@pytest.mark.parametrize("aum", [300_000, 8_000_000])
def test_c5_takes_more_risk_than_c4_at_the_same_goal(aum: float) -> None:
    """Issue 27: a C5 aggressive-growth client got a C4 growth client's plan (13.55%). The caps
    widen with the level, so the C5 shelf reaches further, and the plan says where it stops."""
    vols, tops = [], []
    for level in ("C4", "C5"):
        client = make_client(
            risk_level=level, goal="aggressive_growth", max_drawdown_tolerance_pct=60,
            horizon_years=20, birth_year=1995, aum=aum, annual_income=aum,
            financial_assets=aum * 5, liquidity_need=0, holdings=[], trades=[], notes="",
        )  # fmt: skip
        p = profile_client(
            client, as_of=AS_OF, model=OfflineModel(), market=MARKET, tiers=TierPolicy(),
            allocation=POLICY, compliance=CompliancePolicy(),
        )  # fmt: skip
        plan = allocate_portfolio(
            p, [], market=MARKET, model=OfflineModel(), policy=POLICY, constraints=[]
        )
        assert plan.risk_target is not None
        # Placed at the level's ceiling, which this shelf cannot reach: recorded on the plan.
        assert plan.risk_target.shelf_limited
        assert plan.expected_volatility == pytest.approx(plan.feasible_volatility[1], abs=1e-3)
        vols.append(plan.expected_volatility)
        tops.append(plan.feasible_volatility[1])
    assert vols[1] > vols[0] + 0.01 and tops[1] > tops[0]


def test_a_plan_within_reach_is_not_marked_shelf_limited() -> None:
    client = make_client(risk_level="C3", goal="balanced", holdings=[], notes="")
    p = profile_client(
        client, as_of=AS_OF, model=OfflineModel(), market=MARKET, tiers=TierPolicy(),
        allocation=POLICY, compliance=CompliancePolicy(),
    )  # fmt: skip
    plan = allocate_portfolio(p, [], market=MARKET, model=OfflineModel(), policy=POLICY,
                              constraints=[])  # fmt: skip
    assert plan.risk_target is not None and not plan.risk_target.shelf_limited
    assert plan.expected_volatility == pytest.approx(plan.risk_target.target, abs=1e-3)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"volatility_floor": {"C1": 0, "C2": 0.01, "C3": 0.03, "C4": 0.02, "C5": 0.07}},
         "C4 (0.02) is below C3 (0.03)"),
        ({"volatility_floor": {"C1": 0, "C2": 0.05, "C3": 0.05, "C4": 0.05, "C5": 0.07}},
         "C2 0.05 > 0.04"),
        ({"asset_class_caps": {**POLICY.asset_class_caps,
                               "C5": {**POLICY.asset_class_caps["C5"], "gold": 0.1}}},
         "C5 gold (0.1) is below C4 (0.15)"),
        ({"risk_target": {"goal_range": {**RiskTargetPolicy().goal_range, "growth": (0.2, 0.9)}}},
         "growth (0.2, 0.9) is below balanced (0.25, 0.7)"),
        ({"risk_target": {"weights": {"horizon": 0.5, "age": 0.5, "liquidity": 0.5,
                                      "income": 0, "elsewhere": 0}}},
         "weights sum to 1.5"),
    ],
    ids=["floor-falling", "floor-above-ceiling", "caps-narrowing", "goal-falling", "weights"],
)  # fmt: skip
def test_a_band_or_target_policy_that_makes_no_sense_is_refused(
    change: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError, match=named.replace("(", r"\(").replace(")", r"\)")):
        AllocationPolicy.model_validate(change)
