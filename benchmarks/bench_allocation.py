"""Allocation before and after problems were compiled once per shape, on every scenario of the
full eval suite: time per allocation, and whether the plans are the same.

"Before" is the previous optimiser: a new PyPortfolioOpt frontier per solve, with cvxpy's
default solvers (tests/tools/market/reference_optimiser.py). "After" is tools/market/optimiser:
one compiled problem per shape, solved by Clarabel, cold (nothing remembered) and warm (the
same problem answered from memory, as for clients who share it).

Plan equality: each scenario's first allocation (no compliance remedy yet) under both, the
largest weight difference, and for every solve the objective of each against a tight
reference solve, which tells an optimiser that moved the plan from one that found a better
optimum along a nearly flat direction (products that track one index).

python benchmarks/bench_allocation.py
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import cvxpy as cp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "tools" / "market")]

from reference_optimiser import objective, reference_solve  # noqa: E402

from agents.allocation import allocate_portfolio  # noqa: E402
from agents.profiling import profile_client  # noqa: E402
from core.schemas.plan import Plan  # noqa: E402
from core.settings import Settings  # noqa: E402
from evals.schema import Scenario, load_suite  # noqa: E402
from tools.llm.offline import OfflineModel  # noqa: E402
from tools.market import optimiser  # noqa: E402
from tools.market.intent import parse_request  # noqa: E402
from tools.market.market_data import MarketData, load_market  # noqa: E402
from tools.market.optimiser import Method, Problem  # noqa: E402

Solve = tuple[Problem, Method, float]


def _tight(problem: Problem, method: Method, target: float) -> np.ndarray | None:
    """The same problem written out plainly and solved to 1e-10: the yardstick."""
    scale = optimiser._scale(problem)
    w = cp.Variable(len(problem.mu))
    cons = [w >= 0, w <= problem.upper, cp.sum(w) == 1]
    if problem.reserve_share > 0:
        cons.append(problem.reserve_mask @ w >= problem.reserve_share)
    for group in set(problem.groups) if problem.group_caps else ():
        members = np.array([1.0 if g == group else 0.0 for g in problem.groups])
        cons.append(members @ w <= problem.group_caps.get(group, 1.0))
    for vector, lower, upper in problem.tilts:
        cons += [vector @ w >= lower] if lower > 0 else []
        cons += [vector @ w <= upper] if upper < 1 else []
    cost: Any = 0.0
    if problem.current is not None and problem.cost > 0:
        k = problem.cost * (scale if method == "min_volatility" else 1.0)
        cost = k * cp.norm(w - problem.current, 1)
    variance = cp.quad_form(w, problem.cov * scale, assume_PSD=True)
    objective = variance + cost if method == "min_volatility" else -(problem.mu @ w) + cost
    if method == "efficient_risk":
        cons.append(variance <= target**2 * scale)
    tol = {"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
    found = cp.Problem(cp.Minimize(objective), cons)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tight solve cvxpy calls inaccurate is left out below
        found.solve(solver="CLARABEL", **tol)
    if found.status != "optimal":
        return None  # the shaping tried a tilt the limits cannot meet
    return np.clip(np.asarray(w.value), 0.0, None)


def _allocate(scenario: Scenario, market: MarketData, settings: Settings, as_of: date) -> Plan:
    intent = parse_request(scenario.request, market) if scenario.request else None
    profile = profile_client(
        scenario.client, as_of=as_of, model=OfflineModel(), market=market,
        tiers=settings.tiers, allocation=settings.allocation, compliance=settings.compliance,
        intent=intent,
    )  # fmt: skip
    return allocate_portfolio(
        profile, scenario.client.holdings, market=market, model=OfflineModel(),
        policy=settings.allocation, constraints=[], intent=intent,
    )  # fmt: skip


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def main() -> None:
    suite, scenarios, _ = load_suite("full")
    as_of = date.fromisoformat(suite.as_of)
    market, settings = load_market(), Settings(environment="test")
    new_solve = optimiser._solve
    solves: list[Solve] = []

    def capturing(problem: Problem, method: Method, target: float = 0.0) -> np.ndarray:
        solves.append((problem, method, target))
        return reference_solve(problem, method, target)

    before: dict[str, Plan] = {}
    times_before, times_cold, times_warm = [], [], []
    optimiser._solve = capturing  # type: ignore[assignment]
    try:
        for s in scenarios:
            before[s.id], seconds = _timed(lambda s=s: _allocate(s, market, settings, as_of))
            times_before.append(seconds)
    finally:
        optimiser._solve = new_solve  # type: ignore[assignment]
    after: dict[str, Plan] = {}
    for s in scenarios:  # the shapes compile on first use; time the second pass, cold
        _allocate(s, market, settings, as_of)
    for s in scenarios:
        optimiser.forget_solutions()
        after[s.id], seconds = _timed(lambda s=s: _allocate(s, market, settings, as_of))
        times_cold.append(seconds)
    for s in scenarios:
        _, seconds = _timed(lambda s=s: _allocate(s, market, settings, as_of))
        times_warm.append(seconds)

    def ms(samples: list[float]) -> str:
        p95 = statistics.quantiles(samples, n=20)[-1]
        return f"median {statistics.median(samples) * 1e3:7.1f} ms   p95 {p95 * 1e3:7.1f} ms"

    print(f"allocation, {len(scenarios)} scenarios of the full eval suite")
    print(f"  before (PyPortfolioOpt, a new problem per solve)   {ms(times_before)}")
    print(f"  after, cold (compiled shapes, nothing remembered)  {ms(times_cold)}")
    print(f"  after, warm (the same problems remembered)         {ms(times_warm)}")

    diffs = {}
    for sid, plan in before.items():
        a, b = plan.weights(), after[sid].weights()
        diffs[sid] = max(abs(a.get(c, 0.0) - b.get(c, 0.0)) for c in set(a) | set(b))
    within = sum(d <= 1e-4 + 1e-12 for d in diffs.values())
    print(f"plan equality: {within}/{len(diffs)} plans within 1e-4 of before; "
          f"largest difference {max(diffs.values()):.4f}")  # fmt: skip
    gaps_new, gaps_old = [], []
    for problem, method, target in solves:
        exact = _tight(problem, method, target)
        if exact is None:
            continue
        tight = objective(problem, method, exact)
        optimiser.forget_solutions()
        try:
            mine = new_solve(problem, method, target)
            old = reference_solve(problem, method, target)
        except optimiser.Infeasible:
            continue
        gaps_new.append(objective(problem, method, mine) - tight)
        gaps_old.append(objective(problem, method, old) - tight)
    print(f"objective above a 1e-10 solve, over {len(gaps_new)} feasible solves:")
    print(f"  before: worst {max(gaps_old):.1e}   after: worst {max(gaps_new):.1e}")
    moved = sorted((d, sid) for sid, d in diffs.items() if d > 1e-4 + 1e-12)
    for d, sid in moved[-5:]:
        print(f"  moved {d:.4f}: {sid}")


if __name__ == "__main__":
    main()
