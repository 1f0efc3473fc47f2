"""Plans that differ with the client (issue 27): a generated book of varied clients, profiled and
allocated offline (no graph, no database), and what came back.

It prints, beside the issue's goals:
- distinct plans (weights rounded to 1%), as a count and a share of the book;
- median expected volatility by level x goal x horizon band, as a table and a text bar chart
  (and the same chart as an SVG, written to artifacts/personalisation.svg or --svg);
- the cells where C5 > C4 > C3 in median volatility at equal goal and horizon band;
- plans holding two products that track the same index (the shelf's `tracks`): those the plan
  does not record as forced (the goal), and those it does (`plan.doubled`: a cap, usually the
  single-product cap on a large money-market reserve, leaves no other way);
- positions under the minimum position size (AllocationPolicy.min_weight).

python benchmarks/bench_personalisation.py [--clients 1200] [--seed 27] [--svg PATH]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import date
from html import escape
from itertools import combinations
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from agents.allocation import allocate_portfolio  # noqa: E402
from agents.profiling import profile_client  # noqa: E402
from core.schemas.client import ClientInput  # noqa: E402
from core.schemas.plan import Plan  # noqa: E402
from core.settings import Settings  # noqa: E402
from tools.llm.offline import OfflineModel  # noqa: E402
from tools.market.market_data import MarketData, load_market  # noqa: E402

AS_OF = date(2026, 11, 25)
LEVELS = ("C1", "C2", "C3", "C4", "C5")
GOALS = ("preservation", "income", "balanced", "growth", "aggressive_growth")
BANDS = ((1, 3), (4, 7), (8, 12), (13, 20))  # horizon bands, years
# A client's stated loss tolerance goes with the level the firm assessed (percent).
DRAWDOWN = {"C1": (1, 5), "C2": (5, 12), "C3": (10, 25), "C4": (20, 40), "C5": (30, 60)}
# Used only while the shelf records no `tracks`: the look-alikes the issue found together.
GOALS_MET = {"distinct": 0.60, "pairs": 0, "slivers": 0}


def client(rng: random.Random, number: int, market: MarketData) -> ClientInput:
    """One varied client: level, goal, horizon, age, assets here and elsewhere, income, cash
    need, loss tolerance, locale, and current holdings for about half of them."""
    level = rng.choice(LEVELS)
    aum = round(10 ** rng.uniform(4.699, 7.0), -2)  # 50k to 10M, log-uniform
    share_here = rng.uniform(0.15, 1.0)
    low, high = DRAWDOWN[level]
    holdings: list[dict[str, Any]] = []
    if rng.random() < 0.5:
        codes = rng.sample([p.code for p in market.shelf if p.access == "none"], rng.randint(1, 3))
        held = rng.uniform(0.2, 0.9) * aum
        holdings = [{"product_code": c, "market_value": round(held / len(codes), 2)} for c in codes]
    return ClientInput.model_validate(
        {
            "client_id": f"B-{number:05d}",
            "name": f"Client {number}",
            "locale": rng.choice(("zh-CN", "en")),
            "advisor_id": "adv-li",
            "birth_year": AS_OF.year - rng.randint(22, 80),
            "annual_income": round(10 ** rng.uniform(4.5, 6.5), -3),
            "financial_assets": round(aum / share_here, -2),
            "aum": aum,
            "investment_experience_years": rng.randint(0, 25),
            "risk_assessment": {
                "level": level,
                "lowest_category": level == "C1" and rng.random() < 0.2,
                "assessed_on": "2026-03-02",
            },
            "objectives": {
                "goal": rng.choice(GOALS),
                "horizon_years": rng.randint(1, 20),
                "liquidity_need": round(aum * rng.choice((0.0, 0.05, 0.1, 0.2, 0.4)), -2),
                "max_drawdown_tolerance_pct": rng.uniform(low, high),
            },
            "holdings": holdings,
        }
    )


def allocate(c: ClientInput, market: MarketData, settings: Settings) -> Plan:
    profile = profile_client(
        c, as_of=AS_OF, model=OfflineModel(), market=market, tiers=settings.tiers,
        allocation=settings.allocation, compliance=settings.compliance,
    )  # fmt: skip
    return allocate_portfolio(
        profile, c.holdings, market=market, model=OfflineModel(), policy=settings.allocation,
        constraints=[],
    )  # fmt: skip


def band_of(years: float) -> str:
    return next(f"{lo}-{hi}y" for lo, hi in BANDS if years <= hi)


def same_index_pairs(plan: Plan, market: MarketData) -> list[tuple[str, str]]:
    """Pairs of held products that track one index."""
    codes = sorted(plan.weights())
    tracks = {c: market.products[c].tracks for c in codes}
    return [(a, b) for a, b in combinations(codes, 2) if tracks[a] == tracks[b]]


def _forced(plan: Plan, pair: tuple[str, str]) -> bool:
    """The plan records this pair as held together because nothing else would do."""
    return any(set(pair) <= set(d.product_codes) for d in plan.doubled)


def bar(value: float, scale: float, width: int = 40) -> str:
    return "█" * round(value / scale * width) if scale else ""


def svg(cells: dict[tuple[str, str, str], float], path: Path) -> None:
    """Grouped bars: one group per goal and horizon band, one bar per level."""
    shades = ("#9ecae1", "#6baed6", "#3182bd", "#e6550d", "#a50f15")
    colours = dict(zip(LEVELS, shades, strict=True))
    groups = [(g, band_of(hi)) for g in GOALS for _, hi in BANDS]
    top = max(cells.values(), default=0.2) or 0.2
    w, h, left, bottom, bw = 60 + len(groups) * 56, 360, 50, 300, 9
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        'font-family="sans-serif" font-size="10">',
        '<text x="10" y="14" font-size="12">Median expected volatility by level x goal x horizon'
        "</text>",
    ]
    for tick in range(0, int(top * 100) + 1, 5):
        y = bottom - tick / 100 / top * 250
        parts.append(f'<line x1="{left}" x2="{w - 5}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 28}" y="{y + 3:.1f}">{tick}%</text>')
    for i, (goal, band) in enumerate(groups):
        x0 = left + 6 + i * 56
        for j, level in enumerate(LEVELS):
            v = cells.get((level, goal, band))
            if v is None:
                continue
            bh = v / top * 250
            parts.append(
                f'<rect x="{x0 + j * bw}" y="{bottom - bh:.1f}" width="{bw - 1}" height="{bh:.1f}" '
                f'fill="{colours[level]}"><title>{level} {escape(goal)} {band}: {v:.2%}</title>'
                "</rect>"
            )
        parts.append(f'<text x="{x0}" y="{bottom + 12}">{band}</text>')
        if band == band_of(BANDS[0][1]):
            parts.append(f'<text x="{x0}" y="{bottom + 26}">{escape(goal)}</text>')
    for j, level in enumerate(LEVELS):
        parts.append(f'<rect x="{left + j * 50}" y="{h - 20}" width="10" height="10" '
                     f'fill="{colours[level]}"/><text x="{left + j * 50 + 14}" y="{h - 11}">'
                     f"{level}</text>")  # fmt: skip
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=27)
    parser.add_argument("--svg", type=Path, default=ROOT / "artifacts" / "personalisation.svg")
    args = parser.parse_args()
    market, settings = load_market(), Settings(environment="test")
    rng = random.Random(args.seed)
    book = [client(rng, n, market) for n in range(args.clients)]
    started = time.perf_counter()
    plans = [allocate(c, market, settings) for c in book]
    seconds = time.perf_counter() - started

    keys = {tuple(sorted((c, round(w, 2)) for c, w in p.weights().items() if round(w, 2)))
            for p in plans}  # fmt: skip
    distinct = len(keys) / len(plans)
    vols: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for c, p in zip(book, plans, strict=True):
        cell = (c.risk_assessment.level, c.objectives.goal, band_of(c.objectives.horizon_years))
        vols[cell].append(p.expected_volatility)
    medians = {k: statistics.median(v) for k, v in vols.items()}
    pairs = [(c.client_id, pair, _forced(p, pair)) for c, p in zip(book, plans, strict=True)
             for pair in same_index_pairs(p, market)]  # fmt: skip
    # A pair the plan records as forced (plan.doubled: a cap leaves no other way) is allowed;
    # the goal counts the others.
    paired = [(c, pair) for c, pair, forced in pairs if not forced]
    forced = [(c, pair) for c, pair, f in pairs if f]
    minimum = settings.allocation.min_weight
    slivers = [(c.client_id, code, w) for c, p in zip(book, plans, strict=True)
               for code, w in p.weights().items() if 0 < w < minimum]  # fmt: skip

    each = seconds / len(book) * 1e3
    print(f"personalisation: {len(book)} generated clients (seed {args.seed}), profiled and "
          f"allocated offline in {seconds:.1f}s ({each:.0f} ms each)")  # fmt: skip
    print(f"distinct plans (weights to 1%): {len(keys)} = {distinct:.1%}   goal >= 60%")
    print("\nmedian expected volatility, level x goal x horizon band (n in brackets)")
    print(f"{'goal':<18}{'horizon':<8}" + "".join(f"{lv:>13}" for lv in LEVELS) + "  C5>C4>C3")
    ordered, cells = 0, 0
    for goal in GOALS:
        for _, hi in BANDS:
            band = band_of(hi)
            row = ""
            for level in LEVELS:
                v = vols.get((level, goal, band), [])
                row += f"{statistics.median(v):>8.2%} ({len(v):>2})" if v else f"{'-':>13}"
            c3, c4, c5 = (medians.get((lv, goal, band)) for lv in ("C3", "C4", "C5"))
            ok = None not in (c3, c4, c5) and c5 > c4 > c3  # type: ignore[operator]
            ordered, cells = ordered + ok, cells + 1
            print(f"{goal:<18}{band:<8}{row}  {'yes' if ok else 'NO'}")
    print(f"C5 > C4 > C3 at equal goal and horizon: {ordered}/{cells} cells   goal {cells}/{cells}")
    print("\nthe same medians as bars (one █ per 0.5%)")
    for goal in GOALS:
        for _, hi in BANDS:
            band = band_of(hi)
            for level in LEVELS:
                if (v := medians.get((level, goal, band))) is not None:
                    print(f"{goal:<18}{band:<7}{level} {bar(v, 0.2):<40} {v:6.2%}")
    print(f"\nplans holding two products on one index, not forced: {len({c for c, _ in paired})}"
          f"/{len(plans)} ({len(paired)} pairs)   goal 0")  # fmt: skip
    for pair, n in sorted(_count(p for _, p in paired).items(), key=lambda kv: -kv[1])[:5]:
        print(f"  {'+'.join(pair)}: {n} plans")
    print(f"plans holding two on one index because a cap forces it (plan.doubled says why): "
          f"{len({c for c, _ in forced})}/{len(plans)}")  # fmt: skip
    for pair, n in sorted(_count(p for _, p in forced).items(), key=lambda kv: -kv[1])[:3]:
        print(f"  {'+'.join(pair)}: {n} plans")
    print(f"positions under the minimum ({minimum:.0%}): {len(slivers)} in "
          f"{len({c for c, _, _ in slivers})} plans   goal 0")  # fmt: skip
    met = [
        distinct >= GOALS_MET["distinct"],
        not paired,
        not slivers,
        ordered == cells,
    ]
    print(f"goals met: {sum(met)}/4 (distinct, same-index pairs, slivers, C5 > C4 > C3)")
    svg(medians, args.svg)
    print(f"chart: {args.svg}")


def _count(items: Any) -> dict[Any, int]:
    out: dict[Any, int] = defaultdict(int)
    for item in items:
        out[item] += 1
    return out


if __name__ == "__main__":
    main()
