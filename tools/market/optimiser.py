"""Long-only mean-variance optimisation with PyPortfolioOpt, clamped to the feasible range."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import cvxpy as cp
import numpy as np
from numpy.typing import NDArray
from pypfopt import EfficientFrontier, objective_functions
from pypfopt.exceptions import OptimizationError

Method = Literal["efficient_risk", "min_volatility", "max_return"]


class Infeasible(Exception):
    """No long-only portfolio meets the constraints."""


@dataclass(frozen=True)
class Problem:
    """A long-only problem: returns, covariance, per-asset caps and a minimum share in a subset."""

    mu: np.ndarray
    cov: np.ndarray
    upper: np.ndarray
    reserve_mask: np.ndarray = field(default_factory=lambda: np.zeros(0))
    reserve_share: float = 0.0
    groups: list[str] = field(default_factory=list)
    group_caps: dict[str, float] = field(default_factory=dict)
    current: np.ndarray | None = None
    cost: float = 0.0
    # (vector, lower, upper): lower <= vector @ w <= upper, e.g. a client's "more bonds"
    tilts: list[tuple[np.ndarray, float, float]] = field(default_factory=list)

    def check(self) -> None:
        """Cheap feasibility checks before calling a solver."""
        if self.upper.sum() < 1 - 1e-9:
            raise Infeasible(f"caps sum to {self.upper.sum():.3f} < 1")
        if (
            self.reserve_share > 0
            and (self.upper * self.reserve_mask).sum() < self.reserve_share - 1e-9
        ):
            raise Infeasible("reserve-eligible caps are below the required reserve share")
        room = sum(
            min(self.group_caps.get(g, 1.0), float(self.upper[[x == g for x in self.groups]].sum()))
            for g in set(self.groups)
        )
        if self.groups and room < 1 - 1e-9:
            raise Infeasible(f"asset-class caps leave room for only {room:.3f} of the portfolio")
        for vector, lower, _ in self.tilts:
            if float(np.clip(vector, 0, None) @ self.upper) < lower - 1e-9:
                raise Infeasible(
                    f"caps leave room for only {vector @ self.upper:.3f} < {lower:.3f}"
                )


@dataclass(frozen=True)
class Solution:
    weights: np.ndarray
    method: Method
    target_volatility: float
    min_volatility: float
    max_return_volatility: float
    fallback_reason: str | None = None

    def performance(self, problem: Problem) -> tuple[float, float]:
        return portfolio_performance(self.weights, problem.mu, problem.cov)


def portfolio_performance(
    weights: np.ndarray, mu: np.ndarray, cov: np.ndarray
) -> tuple[float, float]:
    """Expected return and volatility of a weight vector."""
    return float(weights @ mu), float(np.sqrt(max(weights @ cov @ weights, 0.0)))


def _scale(problem: Problem) -> float:
    """Solvers lose precision on tiny variances (money-market only plans): work near unit scale."""
    return 1.0 / float(np.mean(np.diag(problem.cov)))


def _frontier(problem: Problem, method: Method) -> EfficientFrontier:
    bounds = [(0.0, float(u)) for u in problem.upper]
    scale = _scale(problem)
    ef = EfficientFrontier(problem.mu, problem.cov * scale, weight_bounds=bounds)
    if problem.reserve_share > 0:
        mask, share = problem.reserve_mask, problem.reserve_share
        ef.add_constraint(lambda w: mask @ w >= share)
    if problem.group_caps:
        mapper = dict(enumerate(problem.groups))
        caps = {g: problem.group_caps.get(g, 1.0) for g in set(problem.groups)}
        ef.add_sector_constraints(mapper, {g: 0.0 for g in caps}, caps)
    for vector, lower, upper in problem.tilts:
        if lower > 0:
            ef.add_constraint(lambda w, v=vector, lo=lower: v @ w >= lo)
        if upper < 1:
            ef.add_constraint(lambda w, v=vector, hi=upper: v @ w <= hi)
    if problem.current is not None and problem.cost > 0:
        # Min-volatility trades cost against scaled variance, so the cost is scaled with it.
        k = problem.cost * (scale if method == "min_volatility" else 1.0)
        ef.add_objective(objective_functions.transaction_cost, w_prev=problem.current, k=k)
    return ef


def _weights(ef: EfficientFrontier, n: int) -> np.ndarray:
    raw = np.array([ef.weights[i] for i in range(n)], dtype=np.float64)
    return np.clip(raw, 0.0, None)


def _solve(problem: Problem, method: Method, target: float = 0.0) -> np.ndarray:
    ef = _frontier(problem, method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if method == "min_volatility":
                ef.min_volatility()
            elif method == "max_return":
                ef.convex_objective(
                    objective_functions.portfolio_return, expected_returns=problem.mu
                )
            else:
                ef.efficient_risk(target * np.sqrt(_scale(problem)))
        except (OptimizationError, cp.error.SolverError) as exc:
            raise Infeasible(f"{method} failed: {exc}") from exc
    return _weights(ef, len(problem.mu))


def optimise(problem: Problem, desired_volatility: float) -> Solution:
    """Maximise return at the desired volatility, clamped into [min-vol, max-return vol]."""
    problem.check()
    low_w = _solve(problem, "min_volatility")
    high_w = _solve(problem, "max_return")
    low = portfolio_performance(low_w, problem.mu, problem.cov)[1]
    high = max(portfolio_performance(high_w, problem.mu, problem.cov)[1], low)
    target = min(max(desired_volatility, low), high)
    if target <= low * (1 + 1e-4):
        return Solution(low_w, "min_volatility", low, low, high)
    if target >= high * (1 - 1e-4):
        return Solution(high_w, "max_return", high, low, high)
    try:
        weights = _solve(problem, "efficient_risk", target)
    except Infeasible as exc:
        # Solvers can fail just inside the boundary; the min-vol portfolio is the safe answer.
        return Solution(low_w, "min_volatility", low, low, high, fallback_reason=str(exc))
    return Solution(weights, "efficient_risk", target, low, high)


def round_weights(weights: np.ndarray, decimals: int = 4) -> np.ndarray:
    """Round to a grid of 10^-decimals summing exactly to 1 (largest-remainder method)."""
    unit: int = 10**decimals  # typeshed: an int power may be a float; decimals is never negative
    clipped = np.clip(weights, 0, None)
    scaled = clipped / clipped.sum() * unit
    floored: NDArray[np.float64] = np.floor(scaled + 1e-9)
    missing = round(unit - floored.sum())
    order = np.argsort(-(scaled - floored), kind="stable")
    floored[order[:missing]] += 1
    return floored / unit
