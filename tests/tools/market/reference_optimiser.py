"""The optimiser as it was before problems were compiled once per shape: a new PyPortfolioOpt
EfficientFrontier per solve. Tests and the allocation benchmark hold the new solver to it."""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
from pypfopt import EfficientFrontier, objective_functions
from pypfopt.exceptions import OptimizationError

from tools.market.optimiser import Infeasible, Method, Problem


def _scale(problem: Problem) -> float:
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
        k = problem.cost * (scale if method == "min_volatility" else 1.0)
        ef.add_objective(objective_functions.transaction_cost, w_prev=problem.current, k=k)
    return ef


def reference_solve(problem: Problem, method: Method, target: float = 0.0) -> np.ndarray:
    """One solve with a fresh PyPortfolioOpt frontier."""
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
    raw = np.array([ef.weights[i] for i in range(len(problem.mu))], dtype=np.float64)
    return np.clip(raw, 0.0, None)


def objective(problem: Problem, method: Method, w: np.ndarray) -> float:
    """The value a solve minimises (scaled variance or negative return, plus the trading cost),
    at weights w: how two solvers' answers to one problem compare."""
    scale = _scale(problem)
    cost = 0.0
    if problem.current is not None and problem.cost > 0:
        k = problem.cost * (scale if method == "min_volatility" else 1.0)
        cost = k * float(np.abs(w - problem.current).sum())
    if method == "min_volatility":
        return float(w @ problem.cov @ w) * scale + cost
    return -float(problem.mu @ w) + cost
