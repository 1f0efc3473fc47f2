"""Tests for the optimiser: PyPortfolioOpt golden results (ALLOCATION.md §1.2) and invariants."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from reference_optimiser import objective, reference_solve

from tools.market import optimiser
from tools.market.optimiser import (
    Infeasible,
    Method,
    Problem,
    optimise,
    portfolio_performance,
    round_weights,
)

EFFICIENT_RISK_019 = (0.2552422849133517, 0.19)
MIN_VOLATILITY = (0.15056821399482578, 0.15915084514118694)


@pytest.fixture(scope="module")
def stock_problem(shared_data: Path) -> Problem:
    """ALLOCATION §1.1: CAGR mu per asset on its own history, pairwise sample covariance × 252."""
    path = shared_data / "pypfopt_stock_prices.csv"
    prices = pd.read_csv(path, parse_dates=True, index_col="date")
    rets = prices.pct_change(fill_method=None).dropna(how="all")
    mu = (1 + rets).prod() ** (252 / rets.count()) - 1
    cov = rets.cov() * 252
    return Problem(mu=mu.to_numpy(), cov=cov.to_numpy(), upper=np.ones(len(mu)))


def test_inputs_match_the_published_mean_historical_returns(stock_problem: Problem) -> None:
    # GOOG, AMZN, SHLD, MA from test_mean_historical_returns (6 decimals).
    picks = stock_problem.mu[[0, 4, 12, 16]]
    np.testing.assert_allclose(picks, [0.247967, 0.371327, -0.0792602, 0.388665], atol=1e-6)


def test_desired_vol_019_reproduces_efficient_risk(stock_problem: Problem) -> None:
    solution = optimise(stock_problem, 0.19)
    assert solution.method == "efficient_risk"
    np.testing.assert_allclose(solution.performance(stock_problem), EFFICIENT_RISK_019, rtol=1e-4)
    assert solution.weights.min() >= 0
    assert solution.weights.sum() == pytest.approx(1, abs=1e-6)


def test_desired_vol_zero_clamps_to_min_volatility(stock_problem: Problem) -> None:
    solution = optimise(stock_problem, 0.0)
    assert solution.method == "min_volatility"
    np.testing.assert_allclose(solution.performance(stock_problem), MIN_VOLATILITY, rtol=1e-4)
    assert solution.target_volatility == pytest.approx(MIN_VOLATILITY[1], rel=1e-4)
    assert solution.min_volatility == pytest.approx(MIN_VOLATILITY[1], rel=1e-4)


def test_desired_vol_above_the_frontier_clamps_to_max_return(stock_problem: Problem) -> None:
    solution = optimise(stock_problem, 5.0)
    best = int(np.argmax(stock_problem.mu))  # MA, 0.388665: long-only max return is all-in
    assert solution.method == "max_return"
    assert solution.weights[best] == pytest.approx(1, abs=1e-4)
    expected_vol = float(np.sqrt(stock_problem.cov[best, best]))
    assert solution.max_return_volatility == pytest.approx(expected_vol, rel=1e-4)
    assert solution.min_volatility <= 0.19 <= solution.max_return_volatility


def test_portfolio_performance_of_equal_weights() -> None:
    mu = np.array([0.1, 0.2])
    cov = np.array([[0.04, 0.0], [0.0, 0.09]])
    ret, vol = portfolio_performance(np.array([0.5, 0.5]), mu, cov)
    assert ret == pytest.approx(0.15)
    assert vol == pytest.approx(np.sqrt(0.25 * 0.04 + 0.25 * 0.09))


def _problem(upper: list[float], **kwargs: Any) -> Problem:
    n = len(upper)
    return Problem(
        mu=np.linspace(0.01, 0.05, n), cov=np.eye(n) * 0.01, upper=np.array(upper), **kwargs
    )


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        (_problem([0.3, 0.3, 0.3]), "caps sum"),
        (
            _problem([1.0, 0.3, 0.3], reserve_mask=np.array([0.0, 1.0, 0.0]), reserve_share=0.5),
            "reserve",
        ),
        (
            _problem([1.0, 1.0, 0.2], groups=["gold", "gold", "cash"], group_caps={"gold": 0.5}),
            "asset-class caps",
        ),
    ],
)
def test_check_rejects_infeasible_problems(problem: Problem, message: str) -> None:
    with pytest.raises(Infeasible, match=message):
        problem.check()
    with pytest.raises(Infeasible):
        optimise(problem, 0.1)


def test_check_accepts_caps_that_sum_to_exactly_one() -> None:
    _problem([0.5, 0.25, 0.25]).check()


weight_vectors = arrays(
    np.float64,
    st.integers(1, 40),
    elements=st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
).filter(lambda w: w.sum() > 1e-6)


@settings(max_examples=300, deadline=None)
@given(weight_vectors, st.integers(2, 6))
def test_round_weights_sums_to_one_on_the_grid(weights: np.ndarray, decimals: int) -> None:
    unit = 10**decimals
    rounded = round_weights(weights, decimals)
    units = np.rint(rounded * unit)
    assert units.sum() == unit  # exactly 1 on the grid
    assert np.abs(rounded * unit - units).max() < 1e-6
    assert rounded.min() >= 0
    assert abs(rounded.sum() - 1) < 1e-12
    # Largest remainder: no weight moves by a grid step or more.
    assert np.abs(rounded - weights / weights.sum()).max() < 1 / unit + 1e-12


def test_round_weights_handles_a_negative_solver_artefact() -> None:
    # Solvers return tiny negatives; the clip must not push the total above 1.
    rounded = round_weights(np.array([0.5, 0.5001, -0.0001]))
    assert rounded.min() >= 0
    assert rounded.sum() == pytest.approx(1, abs=1e-12)


# --- Compiled once per shape (issue 15): the same answers as PyPortfolioOpt, from memory too ---


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    """Long-only problems with every kind of constraint the allocation uses."""
    n = draw(st.integers(2, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    exposure = rng.normal(size=(n, 3))
    cov = (exposure @ exposure.T + np.diag(rng.uniform(0.01, 0.2, n))) * 0.01
    upper = np.full(n, draw(st.sampled_from([0.4, 0.6, 1.0])))
    mask = np.zeros(n)
    mask[0] = 1.0
    groups = [draw(st.sampled_from(["equity", "bond", "cash"])) for _ in range(n)]
    current = rng.dirichlet(np.ones(n)) if draw(st.booleans()) else None
    tilts = []
    if draw(st.booleans()):
        tilts.append((np.eye(n)[1], draw(st.sampled_from([0.0, 0.1])), 1.0))
    if draw(st.booleans()):
        tilts.append((np.eye(n)[n - 1], 0.0, draw(st.sampled_from([0.05, 1.0]))))
    return Problem(
        mu=rng.uniform(0.0, 0.1, n), cov=cov, upper=upper, reserve_mask=mask,
        reserve_share=draw(st.sampled_from([0.0, 0.05, 0.2])), groups=groups,
        group_caps={"equity": 0.7} if draw(st.booleans()) else {}, current=current,
        cost=0.002 if current is not None else 0.0, tilts=tilts,
    )  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(problems(), st.sampled_from(["min_volatility", "max_return", "efficient_risk"]))
def test_a_compiled_solve_is_as_good_as_pypfopts(problem: Problem, method: Method) -> None:
    """Every solve reaches PyPortfolioOpt's optimum (a fresh frontier per solve, cvxpy's default
    solvers) or better, within its constraints; weights agree where the optimum is unique."""
    try:
        problem.check()
        low = reference_solve(problem, "min_volatility")
        target = float(np.sqrt(low @ problem.cov @ low)) * 1.2
        expected = reference_solve(problem, method, target)
    except Infeasible:
        return  # the reference cannot solve it either; infeasibility is tested above
    optimiser.forget_solutions()
    found = optimiser._solve(problem, method, target)
    assert found.sum() == pytest.approx(1, abs=1e-6)
    assert (found <= problem.upper + 1e-6).all()
    assert found @ problem.reserve_mask >= problem.reserve_share - 1e-6
    for vector, lower, upper in problem.tilts:
        assert lower - 1e-6 <= vector @ found <= upper + 1e-6
    if method == "efficient_risk":
        assert np.sqrt(found @ problem.cov @ found) <= target * (1 + 1e-5)
    ours, theirs = objective(problem, method, found), objective(problem, method, expected)
    # OSQP, cvxpy's default for the reference's QPs, may stop 1e-5 outside the constraints,
    # a little below the true optimum; no closer than that is asked of the compiled solve.
    assert ours <= theirs + 1e-5 * max(1.0, abs(theirs))
    if method == "min_volatility" and problem.current is None:  # strictly convex: one optimum
        np.testing.assert_allclose(found, expected, atol=1e-4)


def test_the_golden_results_hold_when_answered_from_memory(stock_problem: Problem) -> None:
    optimiser.forget_solutions()
    first = optimise(stock_problem, 0.19)
    again = optimise(stock_problem, 0.19)  # remembered
    np.testing.assert_array_equal(first.weights, again.weights)
    np.testing.assert_allclose(again.performance(stock_problem), EFFICIENT_RISK_019, rtol=1e-4)
    again.weights[:] = 0  # a caller changing its copy changes nothing remembered
    np.testing.assert_array_equal(optimise(stock_problem, 0.19).weights, first.weights)


def test_an_answer_never_depends_on_the_problem_solved_before(stock_problem: Problem) -> None:
    """No warm start: the same problem, solved cold after another of the same shape, gives the
    same weights bit for bit."""
    other = replace(stock_problem, mu=stock_problem.mu[::-1].copy())
    optimiser.forget_solutions()
    first = optimise(stock_problem, 0.19).weights
    optimise(other, 0.19)
    optimiser.forget_solutions()
    np.testing.assert_array_equal(optimise(stock_problem, 0.19).weights, first)


def _variants(base: Problem) -> list[Problem]:
    n = len(base.mu)
    return [
        replace(base, mu=base.mu * 1.5),
        replace(base, cov=base.cov * 2.0),
        replace(base, upper=np.full(n, 0.3)),
        replace(base, reserve_mask=np.eye(n)[0], reserve_share=0.3),
        replace(base, groups=["a"] * 2 + ["b"] * (n - 2), group_caps={"a": 0.1}),
        replace(base, current=np.eye(n)[n - 1], cost=0.05),
        replace(base, tilts=[(np.eye(n)[0], 0.25, 1.0)]),
    ]


def test_a_remembered_answer_is_keyed_by_everything_it_depends_on() -> None:
    base = Problem(mu=np.array([0.02, 0.05, 0.08, 0.1]), cov=np.diag([0.01, 0.02, 0.05, 0.09]),
                   upper=np.ones(4))  # fmt: skip
    asks = [("max_return", 0.0), ("min_volatility", 0.0), ("efficient_risk", 0.1),
            ("efficient_risk", 0.2)]  # fmt: skip
    keys = {optimiser._key(base, method, target) for method, target in asks}
    keys |= {optimiser._key(v, "max_return", 0.0) for v in _variants(base)}
    assert len(keys) == 4 + len(_variants(base))
    for method in ("min_volatility", "max_return"):
        for variant in _variants(base):
            optimiser.forget_solutions()
            cold = optimiser._solve(variant, method)
            optimiser.forget_solutions()
            optimiser._solve(base, method)  # remembered; the variant is not answered with it
            np.testing.assert_array_equal(optimiser._solve(variant, method), cold)


def test_threads_solving_at_once_get_each_problems_own_answer(stock_problem: Problem) -> None:
    """Each thread compiles its own problems: answers never mix across threads."""
    variants = [replace(stock_problem, upper=np.full(len(stock_problem.mu), cap))
                for cap in (0.1, 0.15, 0.2, 0.3, 0.5, 1.0)]  # fmt: skip
    optimiser.forget_solutions()
    alone = [optimise(v, 0.19).weights for v in variants]

    def solve(i: int) -> np.ndarray:
        optimiser.forget_solutions()
        return optimise(variants[i % len(variants)], 0.19).weights

    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(solve, range(4 * len(variants))))
    for i, weights in enumerate(together):
        np.testing.assert_allclose(weights, alone[i % len(variants)], atol=1e-7)


@pytest.mark.parametrize(
    "change",
    [
        {"upper": np.array([1.0, -0.1, 1.0])},
        {"group_caps": {"gold": -0.5}, "groups": ["gold", "cash", "cash"]},
        {"reserve_share": float("nan")},
        {"cost": -0.01, "current": np.ones(3) / 3},
    ],
)
def test_a_negative_or_missing_limit_is_infeasible_not_a_crash(change: dict[str, Any]) -> None:
    """A bad setting (a negative cap) is a recorded fallback, never a failed allocation."""
    problem = replace(_problem([1.0, 1.0, 1.0]), **change)
    with pytest.raises(Infeasible, match="finite and >= 0"):
        optimise(problem, 0.1)
