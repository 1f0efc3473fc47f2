"""Tests for the optimiser: PyPortfolioOpt golden results (ALLOCATION.md §1.2) and invariants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tools.market.optimiser import (
    Infeasible,
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
