"""What special care's `procedure` mode costs the allocation (issue 28 part 1).

A seeded long-tail book (C1-C5, ordinary investors, AUM under 500k) is allocated as the graph's
allocation node does it, today (`advisor` mode: one optimisation) and with the procedure
(agents/special_care.plan_with_care: the full plan, then, only when it holds R4/R5, the core plan
a second time), each mode in a fresh process. Prints, by level: the clients, how many got an
offer, optimisations per client and the time per client in both modes.

Prices are not read from a database here (no exchange lots), as the eval suite allocates too.

python benchmarks/bench_special_care.py [clients_per_level]
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from factories import client_data  # noqa: E402

from agents.allocation import allocate_portfolio  # noqa: E402
from agents.profiling import profile_client  # noqa: E402
from agents.special_care import plan_with_care  # noqa: E402
from core.schemas.client import ClientInput  # noqa: E402
from core.schemas.plan import Constraint, Plan  # noqa: E402
from core.schemas.profile import ClientProfile  # noqa: E402
from core.settings import Settings, SpecialCarePolicy  # noqa: E402
from tools.llm.offline import OfflineModel  # noqa: E402
from tools.market.market_data import MarketData, load_market  # noqa: E402

AS_OF = date(2026, 11, 25)
GOALS = {
    "C1": ["preservation", "income"],
    "C2": ["income", "balanced"],
    "C3": ["balanced", "growth"],
    "C4": ["growth", "aggressive_growth", "balanced"],
    "C5": ["aggressive_growth", "growth"],
}


def book(per_level: int, seed: int = 28) -> list[ClientInput]:
    rng = random.Random(seed)
    out = []
    for level, goals in GOALS.items():
        for i in range(per_level):
            aum = rng.randrange(30_000, 480_000, 1_000)
            out.append(
                ClientInput.model_validate(
                    client_data(
                        client_id=f"B-{level}-{i:03d}",
                        advisor_id=None,
                        risk_level=level,
                        goal=rng.choice(goals),
                        horizon_years=rng.choice([3, 5, 7, 10]),
                        max_drawdown_tolerance_pct=rng.choice([10, 15, 20, 30, 40]),
                        aum=aum,
                        financial_assets=aum + rng.randrange(0, 300_000, 1_000),
                        liquidity_need=rng.randrange(0, aum // 4 + 1, 1_000),
                        holdings=[],
                        trades=[],
                        notes="",
                    )
                )
            )
    return out


def _profile(client: ClientInput, market: MarketData, settings: Settings) -> ClientProfile:
    return profile_client(
        client,
        as_of=AS_OF,
        model=OfflineModel(),
        market=market,
        tiers=settings.tiers,
        allocation=settings.allocation,
        compliance=settings.compliance,
    )


def allocate(
    profile: ClientProfile, market: MarketData, settings: Settings, calls: list[int]
) -> Plan:
    """The allocation node's work for one client under these settings; counts optimisations."""
    model = OfflineModel()

    def once(extra: list[Constraint]) -> Plan:
        calls.append(1)
        return allocate_portfolio(
            profile, [], market=market, model=model, policy=settings.allocation,
            constraints=extra, offline=model,
        )  # fmt: skip

    return plan_with_care(profile, once, market=market, settings=settings)


def run_mode(mode: str, per_level: int) -> dict[str, dict[str, float]]:
    """The whole book in one mode, in this (fresh) process: by level, clients, offers,
    optimisations and seconds."""
    market = load_market()
    settings = Settings(environment="test", special_care=SpecialCarePolicy(mode=mode))  # type: ignore[arg-type]
    out: dict[str, dict[str, float]] = {}
    for client in book(per_level):
        profile = _profile(client, market, settings)
        assert profile.tier == "long_tail", profile.tier
        calls: list[int] = []
        start = time.perf_counter()
        plan = allocate(profile, market, settings, calls)
        took = time.perf_counter() - start
        r = out.setdefault(profile.risk_level, {"n": 0, "offers": 0, "allocs": 0, "s": 0.0})
        r["n"] += 1
        r["offers"] += plan.offer is not None
        r["allocs"] += len(calls)
        r["s"] += took
    return out


def main(per_level: int) -> None:
    """Each mode in a process of its own, so neither answers from the other's warm optimiser."""
    results = {}
    for mode in ("advisor", "procedure"):
        done = subprocess.run(
            [sys.executable, __file__, str(per_level), mode], capture_output=True, check=True
        )
        results[mode] = json.loads(done.stdout)
    today, now = results["advisor"], results["procedure"]
    print(f"{'level':5} {'clients':>7} {'offers':>6} {'allocs/client':>13} "
          f"{'ms/client today':>15} {'ms/client now':>13} {'extra':>7}")  # fmt: skip
    for level in sorted(now):
        t, n = today[level], now[level]
        ms_t, ms_n = t["s"] / t["n"] * 1000, n["s"] / n["n"] * 1000
        print(f"{level:5} {n['n']:>7.0f} {n['offers']:>6.0f} "
              f"{t['allocs'] / t['n']:>5.2f} → {n['allocs'] / n['n']:<5.2f} "
              f"{ms_t:>15.1f} {ms_n:>13.1f} {(ms_n - ms_t) / ms_t:>+7.0%}")  # fmt: skip
    total_t = sum(r["s"] for r in today.values())
    total_n = sum(r["s"] for r in now.values())
    print(f"whole book: {total_t:.2f} s today, {total_n:.2f} s with the procedure "
          f"({(total_n - total_t) / total_t:+.0%})")  # fmt: skip


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    if len(sys.argv) > 2:
        print(json.dumps(run_mode(sys.argv[2], size)))
    else:
        main(size)
