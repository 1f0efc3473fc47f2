"""Derive tools/market/data/cma.json from the shared ETF prices: python scripts/derive_cma.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.market.derive import (  # noqa: E402
    PRIOR_SHARPE,
    RISK_FREE_RATE,
    SHRINKAGE,
    derive_assumptions,
    load_prices,
    to_json,
)

DEFAULT_PRICES = ROOT.parent / "shared" / "data" / "allweather_cn_etf_prices_7etf.csv"
DEFAULT_OUT = ROOT / "tools" / "market" / "data" / "cma.json"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, derive the assumptions, write the JSON and print a summary table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prices", type=Path, default=DEFAULT_PRICES, help="adjusted-close CSV")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write cma.json")
    parser.add_argument("--risk-free-rate", type=float, default=RISK_FREE_RATE)
    parser.add_argument("--prior-sharpe", type=float, default=PRIOR_SHARPE)
    parser.add_argument("--shrinkage", type=float, default=SHRINKAGE)
    args = parser.parse_args(argv)

    cma = derive_assumptions(
        load_prices(args.prices),
        risk_free_rate=args.risk_free_rate,
        prior_sharpe=args.prior_sharpe,
        shrinkage=args.shrinkage,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_json(cma), encoding="utf-8")

    print(f"wrote {args.out} ({cma.window['start']}..{cma.window['end']}, {cma.version})")
    for row in cma.data_quality:
        print(f"repaired {row['series']} {row['date']}: {row['value']} -> {row['replacement']}")
    print(f"{'class':<14}{'basis':<9}{'E[r]':>8}{'vol':>8}{'CAGR':>8}{'s.vol':>8}")
    for a in cma.asset_classes:
        cagr = "" if a.sample_cagr is None else f"{a.sample_cagr:.2%}"
        svol = "" if a.sample_volatility is None else f"{a.sample_volatility:.2%}"
        print(
            f"{a.id:<14}{a.basis:<9}{a.expected_return:>8.2%}{a.volatility:>8.2%}{cagr:>8}{svol:>8}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
