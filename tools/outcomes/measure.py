"""The outcome of a delivered plan (DESIGN §5.5): numbers from code, on stored prices.

A paper portfolio of the delivered weights is bought at the closes known on the run's `as_of`
and held, untouched, to `to`. With no flows in or out, its time-weighted return is its
cumulative return. The same is done, on the same days, for two baselines: the client's holdings
before the plan ("do nothing", the part of the assets not held in products kept as cash), and
the plan's 1/N baseline (equal weights over the products the client could hold).

Only what has prices is measured. A product without a close on or shortly before `as_of`, or
whose closes stop well before `to`, is missing: it is named with its weight, and the portfolio
is measured over the rest (renormalised), with `coverage` saying what share that is. Nothing is
filled in silently. Money-market products and uninvested cash, which have no traded price, grow
at the stated cash yield of the capital-market assumptions, and the outcome says so.

Display rules (the CSRC's draft rules on showing performance, and the rules' ban on promises):
nothing is annualised for a period under one year (volatility then covers the period itself);
volatility is always given beside return; a figure may be shown to a client only for a period
of six months or more; and every figure carries the past-performance disclosure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import numpy as np

from core.calendar import months_between

TRADING_DAYS = 252  # per year, for annualised volatility from daily returns
STALE_DAYS = 10  # a close this many days old still prices a product (a long holiday)
CASH = "cash"  # the part of a client's assets not held in any product


@dataclass(frozen=True)
class Pricing:
    """What the portfolios are measured on."""

    series: Mapping[str, list[tuple[date, float]]]  # code -> closes in date order
    cash_codes: frozenset[str]  # priced at the stated cash yield instead (money market, cash)
    cash_rate: float
    cash_basis: str  # where the yield comes from, e.g. "CMA 2026.11-1, cash"

    @cached_property
    def arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per code: day ordinals and closes, built once for every portfolio measured."""
        return {
            code: (
                np.array([day.toordinal() for day, _ in closes], dtype=np.int64),
                np.array([close for _, close in closes], dtype=float),
            )
            for code, closes in self.series.items()
            if closes
        }

    @cached_property
    def last_day(self) -> date | None:
        """The latest close of any code here."""
        ends = [stamps[-1] for stamps, _ in self.arrays.values()]
        return date.fromordinal(int(max(ends))) if ends else None


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    @property
    def months(self) -> int:
        """Whole calendar months, a month ending on the last day of a shorter month counting
        (31 August to 29 February is six)."""
        months = months_between(self.start, self.end)
        month_end = (self.end + timedelta(days=1)).month != self.end.month
        return months + 1 if month_end and self.start.day > self.end.day else months

    @property
    def annualised(self) -> bool:
        return self.months >= 12

    @property
    def client_facing(self) -> bool:
        return self.months >= 6

    @property
    def years(self) -> float:
        return (self.end - self.start).days / 365.25


def _priced(pricing: Pricing, code: str, window: Window) -> bool:
    """True when the code's closes cover the window: one on or shortly before its start, and
    one on or shortly before its end (a close carries over days without one, up to STALE_DAYS;
    a suspension that spans the end makes the product missing, not flat)."""
    arrays = pricing.arrays.get(code)
    if arrays is None:
        return False
    stamps = arrays[0]
    start, end = window.start.toordinal(), window.end.toordinal()
    first = int(np.searchsorted(stamps, start, side="right")) - 1
    last = int(np.searchsorted(stamps, end, side="right")) - 1
    return first >= 0 and bool(
        start - stamps[first] <= STALE_DAYS and end - stamps[last] <= STALE_DAYS
    )


def grid(pricing: Pricing, codes: set[str], window: Window) -> np.ndarray:
    """Day ordinals: the start, then every day in (start, end] any of the codes has a close;
    with none of them priced, the start and the end (a portfolio at the cash yield alone)."""
    start, end = window.start.toordinal(), window.end.toordinal()
    found = [
        stamps[(stamps > start) & (stamps <= end)]
        for stamps, _ in (pricing.arrays[c] for c in sorted(codes) if c in pricing.arrays)
    ]
    days = np.unique(np.concatenate(found)) if found else np.array([], dtype=np.int64)
    if not len(days):
        return np.array([start, end], dtype=np.int64)
    return np.concatenate([np.array([start], dtype=np.int64), days])


def _path(pricing: Pricing, code: str, days: np.ndarray, cash: bool) -> np.ndarray:
    """Growth of 1 invested at the start, on each day of the grid: at the stated cash yield
    (compounded by calendar day), or along the code's closes, each carried over days without."""
    if cash:
        elapsed = (days - days[0]).astype(float)
        return np.asarray(np.power(1.0 + pricing.cash_rate, elapsed / 365.0), dtype=float)
    stamps, closes = pricing.arrays[code]
    prices = closes[np.searchsorted(stamps, days, side="right") - 1]
    return np.asarray(prices / prices[0], dtype=float)


def figures(path: np.ndarray, window: Window) -> dict[str, float | None]:
    """Return, volatility and maximum drawdown of a value path that starts at 1."""
    cumulative = float(path[-1] - 1.0)
    returns = path[1:] / path[:-1] - 1.0
    if len(returns) >= 2:
        scale = TRADING_DAYS if window.annualised else len(returns)
        volatility: float | None = float(np.std(returns, ddof=1) * math.sqrt(scale))
    else:
        volatility = None
    drawdown = float(np.max(1.0 - path / np.maximum.accumulate(path)))
    annual = (1.0 + cumulative) ** (1.0 / window.years) - 1.0 if window.annualised else None
    if not all(math.isfinite(v) for v in (cumulative, drawdown, volatility or 0, annual or 0)):
        raise ValueError("the prices give figures that are not finite")
    return {
        "return": cumulative,
        "annualised_return": annual,
        "volatility": volatility,
        "max_drawdown": drawdown,
    }


def portfolio(
    weights: Mapping[str, float],
    pricing: Pricing,
    window: Window,
    days: np.ndarray | None = None,
) -> dict[str, Any]:
    """One portfolio's figures on `days` (by default the grid of its own priced codes), with
    what was priced, what grew at the cash yield and what had no prices."""
    total = sum(w for w in weights.values() if w > 0)
    priced, cash, missing = {}, {}, {}
    for code, weight in sorted(weights.items()):
        if weight <= 0:
            continue
        if _priced(pricing, code, window):
            priced[code] = weight
        elif code in pricing.cash_codes:
            cash[code] = weight
        else:
            missing[code] = weight
    covered = {**priced, **cash}
    base: dict[str, Any] = {
        "coverage": min(1.0, sum(covered.values()) / total) if total > 0 else 0.0,
        "priced": sorted(priced),
        "cash_yield": sorted(cash),
        "missing": [{"code": c, "weight": w / total} for c, w in missing.items()],
    }
    if not covered:
        return {
            "return": None,
            "annualised_return": None,
            "volatility": None,
            "max_drawdown": None,
            **base,
        }
    days = days if days is not None else grid(pricing, set(priced), window)
    weight = sum(covered.values())
    path = sum(w / weight * _path(pricing, code, days, code in cash) for code, w in covered.items())
    return {**figures(np.asarray(path, dtype=float), window), **base}


def _excess(plan: dict[str, Any], baseline: dict[str, Any]) -> float | None:
    if plan["return"] is None or baseline["return"] is None:
        return None
    return float(plan["return"] - baseline["return"])


def outcome(
    *,
    run_id: str,
    plan: Mapping[str, float],
    holdings: Mapping[str, float],
    equal_weight: Mapping[str, float],
    tolerance_pct: float,
    pricing: Pricing,
    window: Window,
    disclosure: str,
) -> dict[str, Any]:
    """The outcome document of DESIGN §5.5 (fractions, not percents)."""
    # One grid for all three, so they are measured on the same days, ending on the last
    # close in the window.
    every = set(plan) | set(holdings) | set(equal_weight)
    days = grid(pricing, {c for c in every if _priced(pricing, c, window)}, window)
    window = Window(window.start, date.fromordinal(int(days[-1])))
    mine = portfolio(plan, pricing, window, days)
    base = {
        "holdings": portfolio(holdings, pricing, window, days),
        "equal_weight": portfolio(equal_weight, pricing, window, days),
    }
    tolerance = tolerance_pct / 100.0
    drawdown = mine["max_drawdown"]
    used = sorted({c for p in (mine, *base.values()) for c in p["cash_yield"]})
    return {
        "run_id": run_id,
        "from": window.start.isoformat(),
        "to": window.end.isoformat(),
        "months": window.months,
        "coverage": mine["coverage"],
        "annualised": window.annualised,
        "client_facing": window.client_facing,
        "plan": mine,
        "baselines": base,
        "excess": {name: _excess(mine, b) for name, b in base.items()},
        "tolerance": tolerance,
        "drawdown_breach": drawdown is not None and drawdown > tolerance + 1e-12,
        "cash_yield": {"rate": pricing.cash_rate, "basis": pricing.cash_basis, "codes": used}
        if used
        else None,
        "disclosure": disclosure,
    }


def measurable_window(start: date, last_price: date | None, to: date | None) -> Window | None:
    """From the run's as_of to `to` (or the last price day); None when that is not after it."""
    end = min(to, last_price) if to is not None and last_price is not None else (to or last_price)
    if end is None or end <= start:
        return None
    return Window(start, end)
