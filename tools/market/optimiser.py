"""Long-only mean-variance optimisation (PyPortfolioOpt's formulation, compiled once per problem
shape with cvxpy parameters), clamped to the feasible range."""

from __future__ import annotations

import hashlib
import json
import threading
import warnings
from dataclasses import dataclass, field
from typing import Literal

import cvxpy as cp
import numpy as np
from cvxpy.atoms.affine.sum import sum as total
from cvxpy.atoms.sum_squares import sum_squares
from numpy.typing import NDArray

from core.lru import Lru

Method = Literal["efficient_risk", "min_volatility", "max_return"]
COMPILED_SHAPES = 256  # per thread; a shape is a method, a size and which constraints it has
REMEMBERED_SOLUTIONS = 4096  # per process; clients with the same problem share its solution
SOLVER = "CLARABEL"


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
        caps = [*self.upper, *self.group_caps.values(), self.reserve_share, self.cost]
        if any(not np.isfinite(c) or c < 0 for c in caps):
            raise Infeasible("caps, the reserve share and the cost must be finite and >= 0")
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


def _factor(cov: np.ndarray) -> np.ndarray:
    """F with F.T @ F == cov: the Cholesky factor, or from the eigen-decomposition when the
    covariance is singular (two products that track one index)."""
    try:
        return np.linalg.cholesky(cov).T
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh((cov + cov.T) / 2)
        factor: np.ndarray = np.sqrt(np.clip(values, 0.0, None))[:, None] * vectors.T
        return factor


@dataclass(frozen=True)
class _Shape:
    """What the compiled problem's structure depends on; every number is a Parameter."""

    method: Method
    n: int
    groups: int
    lower_tilts: int
    upper_tilts: int
    reserve: bool
    cost: bool


class _Compiled:
    """One problem shape, compiled once (cvxpy DPP): a solve only sets parameter values.

    The formulation is PyPortfolioOpt's: weights in [0, cap] summing to one, the reserve, the
    asset-class caps and the tilts as linear constraints, an L1 transaction cost against the
    current weights; min-volatility minimises the (scaled) variance, max-return the negative
    return, efficient-risk the negative return under a variance ceiling. The variance is
    ||F w||^2 with F a Parameter, which keeps the problem DPP where quad_form(w, P) is not.
    """

    def __init__(self, shape: _Shape) -> None:
        n = shape.n
        self.w = w = cp.Variable(n)
        self.upper = cp.Parameter(n, nonneg=True)
        self.factor = cp.Parameter((n, n))
        self.mu = cp.Parameter(n)
        constraints = [w >= 0, w <= self.upper]
        if shape.reserve:
            self.mask = cp.Parameter(n, nonneg=True)
            self.share = cp.Parameter(nonneg=True)
            constraints.append(self.mask @ w >= self.share)
        if shape.groups:
            self.members = cp.Parameter((shape.groups, n), nonneg=True)
            self.caps = cp.Parameter(shape.groups, nonneg=True)
            constraints.append(self.members @ w <= self.caps)
        if shape.lower_tilts:
            self.lower_vectors = cp.Parameter((shape.lower_tilts, n))
            self.lower_bounds = cp.Parameter(shape.lower_tilts)
            constraints.append(self.lower_vectors @ w >= self.lower_bounds)
        if shape.upper_tilts:
            self.upper_vectors = cp.Parameter((shape.upper_tilts, n))
            self.upper_bounds = cp.Parameter(shape.upper_tilts)
            constraints.append(self.upper_vectors @ w <= self.upper_bounds)
        variance = sum_squares(self.factor @ w)
        objective = variance if shape.method == "min_volatility" else -(self.mu @ w)
        if shape.cost:
            # k * ||w - current||_1, with the absolute trades as a variable: a parameter times
            # a norm of a parameter is not DPP, a parameter times a variable is.
            self.current = cp.Parameter(n)
            self.k = cp.Parameter(nonneg=True)
            trades = cp.Variable(n, nonneg=True)
            constraints += [trades >= w - self.current, trades >= self.current - w]
            objective = objective + self.k * total(trades)
        if shape.method == "efficient_risk":
            self.limit = cp.Parameter(nonneg=True)
            constraints.append(variance <= self.limit)
        constraints.append(total(w) == 1)
        self.problem = cp.Problem(cp.Minimize(objective), constraints)

    def solve(self, problem: Problem, method: Method, target: float) -> np.ndarray:
        scale = _scale(problem)
        self.upper.value = np.asarray(problem.upper, dtype=float)
        self.factor.value = _factor(problem.cov * scale)
        self.mu.value = np.asarray(problem.mu, dtype=float)
        if problem.reserve_share > 0:
            self.mask.value = np.asarray(problem.reserve_mask, dtype=float)
            self.share.value = problem.reserve_share
        names = _group_names(problem)
        if names:
            self.members.value = np.array(
                [[1.0 if g == name else 0.0 for g in problem.groups] for name in names]
            )
            self.caps.value = np.array([problem.group_caps.get(g, 1.0) for g in names])
        lower = [(v, lo) for v, lo, _ in problem.tilts if lo > 0]
        upper = [(v, hi) for v, _, hi in problem.tilts if hi < 1]
        if lower:
            self.lower_vectors.value = np.array([v for v, _ in lower], dtype=float)
            self.lower_bounds.value = np.array([b for _, b in lower], dtype=float)
        if upper:
            self.upper_vectors.value = np.array([v for v, _ in upper], dtype=float)
            self.upper_bounds.value = np.array([b for _, b in upper], dtype=float)
        if _has_cost(problem):
            assert problem.current is not None
            self.current.value = np.asarray(problem.current, dtype=float)
            # Min-volatility trades cost against scaled variance, so the cost is scaled with it.
            self.k.value = problem.cost * (scale if method == "min_volatility" else 1.0)
        if method == "efficient_risk":
            self.limit.value = target**2 * scale
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                # warm_start=False: an answer never depends on the problem solved before it.
                self.problem.solve(solver=SOLVER, warm_start=False)  # type: ignore[no-untyped-call]
            except cp.error.SolverError as exc:
                raise Infeasible(f"{method} failed: {exc}") from exc
        if self.problem.status not in ("optimal", "optimal_inaccurate") or self.w.value is None:
            raise Infeasible(f"{method} failed: solver status {self.problem.status}")
        return np.clip(np.asarray(self.w.value, dtype=np.float64), 0.0, None)


def _group_names(problem: Problem) -> list[str]:
    return sorted(set(problem.groups)) if problem.group_caps else []


def _has_cost(problem: Problem) -> bool:
    return problem.current is not None and problem.cost > 0


def _shape(problem: Problem, method: Method) -> _Shape:
    return _Shape(
        method=method,
        n=len(problem.mu),
        groups=len(_group_names(problem)),
        lower_tilts=sum(1 for _, lo, _ in problem.tilts if lo > 0),
        upper_tilts=sum(1 for _, _, hi in problem.tilts if hi < 1),
        reserve=problem.reserve_share > 0,
        cost=_has_cost(problem),
    )


class _Cache(threading.local):
    """Each thread's compiled problems (a cvxpy problem's parameters are not thread-safe), the
    most recently used kept."""

    def __init__(self) -> None:
        self.compiled: Lru[_Shape, _Compiled] = Lru(COMPILED_SHAPES)


_compiled = _Cache()
_solutions: Lru[bytes, np.ndarray] = Lru(REMEMBERED_SOLUTIONS)


def _compiled_for(shape: _Shape) -> _Compiled:
    found = _compiled.compiled.get(shape)
    if found is None:
        found = _Compiled(shape)
        _compiled.compiled.put(shape, found)
    return found


def _key(problem: Problem, method: Method, target: float) -> bytes:
    """Everything a solution depends on, hashed; each part named and sized, so no two problems
    run together into the same bytes."""
    digest = hashlib.sha256()

    def part(name: str, data: bytes) -> None:
        digest.update(f"{name}:{len(data)}:".encode())
        digest.update(data)

    def array(name: str, values: np.ndarray | None) -> None:
        if values is None:
            part(name, b"none")
            return
        values = np.ascontiguousarray(values, dtype=np.float64)
        part(name, repr(values.shape).encode() + values.tobytes())

    part("ask", json.dumps([method, target, problem.reserve_share, problem.cost]).encode())
    array("mu", problem.mu)
    array("cov", problem.cov)
    array("upper", problem.upper)
    array("reserve_mask", problem.reserve_mask)
    array("current", problem.current)
    part("groups", json.dumps([problem.groups, sorted(problem.group_caps.items())]).encode())
    for i, (vector, lower, upper) in enumerate(problem.tilts):
        array(f"tilt{i}", vector)
        part(f"tilt{i}:bounds", json.dumps([lower, upper]).encode())
    return digest.digest()


def _solve(problem: Problem, method: Method, target: float = 0.0) -> np.ndarray:
    """The weights of one solve; the same problem solved before is answered from memory (a
    copy each way, so no caller can change what is remembered)."""
    key = _key(problem, method, target)
    known = _solutions.get(key)
    if known is not None:
        return known.copy()
    weights = _compiled_for(_shape(problem, method)).solve(problem, method, target)
    _solutions.put(key, weights.copy())
    return weights


def forget_solutions() -> None:
    """Drop remembered solutions (a benchmark times cold solves this way)."""
    _solutions.clear()


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
