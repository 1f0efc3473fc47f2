"""Tests for the outcome maths (tools/outcomes/measure.py) on the real Chinese ETF prices, each
figure checked against an independent pandas computation and, for drawdown and volatility,
against empyrical; and for the three portfolios a delivered run is measured on (service.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import empyrical
import numpy as np
import pandas as pd
import pytest
from factories import AS_OF, make_client
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.profiling import profile_client
from core.settings import AllocationPolicy, CompliancePolicy, TierPolicy
from core.tables import Run
from tools.llm.offline import OfflineModel
from tools.market.eligibility import eligible_products
from tools.market.market_data import MarketData
from tools.outcomes.measure import (
    CASH,
    STALE_DAYS,
    Pricing,
    Window,
    outcome,
    portfolio,
)
from tools.outcomes.service import portfolios

PRICES = "allweather_cn_etf_prices_7etf.csv"
START, END = date(2023, 6, 30), date(2026, 2, 26)  # the plan's as_of, and the file's last day
WEIGHTS = {"510300": 0.4, "511260": 0.4, "518880": 0.2}
RATE = 0.018  # a stated cash yield
MONEY_MARKET = "511990"  # on the shelf, not in the file
NO_PRICES = "TW-BD-01"  # on the shelf, never priced
DISCLOSURE = "Past performance does not indicate future results."


# ---- the independent computation (pandas only) ---------------------------------------------


@pytest.fixture(scope="module")
def frame(shared_data: Path) -> pd.DataFrame:
    """The file as pandas reads it, with the exchange suffix dropped from each column."""
    table = pd.read_csv(shared_data / PRICES, index_col=0, parse_dates=True)
    table.columns = [str(name).split(".")[0] for name in table.columns]
    return table


def pricing_of(table: pd.DataFrame, cash_codes: frozenset[str] = frozenset()) -> Pricing:
    series = {}
    for code in table.columns:
        column = table[code].dropna()
        stamps = pd.DatetimeIndex(column.index)
        series[str(code)] = [
            (stamp.date(), float(value))
            for stamp, value in zip(stamps, column.to_numpy(dtype=float), strict=True)
        ]
    return Pricing(series, cash_codes, RATE, "test assumptions, cash")


def close(table: pd.DataFrame, day: date, code: str) -> float:
    value: Any = table.at[pd.Timestamp(day), code]
    return float(value)


@pytest.fixture(scope="module")
def pricing(frame: pd.DataFrame) -> Pricing:
    return pricing_of(frame, frozenset({MONEY_MARKET, CASH}))


def value_path(
    table: pd.DataFrame,
    weights: Mapping[str, float],
    start: date,
    end: date,
    cash: Mapping[str, float] | None = None,
    days: pd.DatetimeIndex | None = None,
) -> pd.Series:
    """Buy and hold, by pandas: the closes known on the start day, then each later day (those
    given, or every day any of the products has a close) carried forward; `cash` weights grow
    at RATE by calendar day. The weights are renormalised to sum to 1."""
    codes = list(weights)
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    known = table[codes].loc[:first].ffill().iloc[[-1]].set_axis(pd.DatetimeIndex([first]))
    later = table[codes].loc[first + pd.Timedelta(days=1) : last].dropna(how="all")
    if days is not None:
        later = later.reindex(days[(days > first) & (days <= last)])
    closes = pd.concat([known, later]).ffill()
    growth = closes / closes.iloc[0]
    for code in cash or {}:
        elapsed = np.array([(pd.Timestamp(day) - first).days for day in growth.index], float)
        growth[code] = (1.0 + RATE) ** (elapsed / 365.0)
    mix = pd.Series({**weights, **(cash or {})}, dtype=float)
    return growth[list(mix.index)] @ (mix / mix.sum())


def reference(path: pd.Series, annualised: bool) -> dict[str, Any]:
    returns = path.pct_change().dropna()
    scale = 252 if annualised else len(returns)  # trading days a year
    years = (path.index[-1] - path.index[0]).days / 365.25
    return {
        "return": path.iloc[-1] / path.iloc[0] - 1.0,
        "volatility": returns.std() * math.sqrt(scale),
        "max_drawdown": (1.0 - path / path.cummax()).max(),
        "annualised_return": (path.iloc[-1] / path.iloc[0]) ** (1.0 / years) - 1.0
        if annualised
        else None,
        "returns": returns,
    }


def assert_figures(found: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
    for name in ("return", "volatility", "max_drawdown", "annualised_return"):
        if expected[name] is None:
            assert found[name] is None, name
        else:
            assert found[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-12), name


# ---- the real prices -----------------------------------------------------------------------


def test_the_file_is_the_one_the_tests_expect(frame: pd.DataFrame) -> None:
    assert len(frame) == 2062
    assert frame.index[0] == pd.Timestamp("2017-08-04")
    assert frame.index[-1] == pd.Timestamp(END)
    assert pd.Timestamp(START) in frame.index


def test_a_plan_over_several_years_matches_pandas(frame: pd.DataFrame, pricing: Pricing) -> None:
    window = Window(START, END)
    assert window.months == 31
    assert window.annualised and window.client_facing
    found = portfolio(WEIGHTS, pricing, window)
    expected = reference(value_path(frame, WEIGHTS, START, END), annualised=True)
    assert_figures(found, expected)
    assert found["coverage"] == 1.0
    assert found["priced"] == sorted(WEIGHTS)
    assert found["cash_yield"] == [] and found["missing"] == []
    # buy and hold: the return is the weighted sum of each product's own return
    own = {c: close(frame, END, c) / close(frame, START, c) - 1 for c in WEIGHTS}
    assert found["return"] == pytest.approx(sum(w * own[c] for c, w in WEIGHTS.items()), rel=1e-12)
    years = (END - START).days / 365.25
    assert found["annualised_return"] == pytest.approx((1 + found["return"]) ** (1 / years) - 1)


def test_drawdown_and_volatility_agree_with_empyrical(
    frame: pd.DataFrame, pricing: Pricing
) -> None:
    found = portfolio(WEIGHTS, pricing, Window(START, END))
    returns = value_path(frame, WEIGHTS, START, END).pct_change().dropna()
    assert len(returns) > 600  # daily returns, one per trading day
    assert found["max_drawdown"] > 0
    assert empyrical.max_drawdown(returns) == pytest.approx(-found["max_drawdown"], rel=1e-9)
    assert empyrical.annual_volatility(returns) == pytest.approx(found["volatility"], rel=1e-9)


def test_a_single_product_is_its_own_price_ratio(frame: pd.DataFrame, pricing: Pricing) -> None:
    found = portfolio({"510300": 1.0}, pricing, Window(START, END))
    assert found["return"] == pytest.approx(4.735000133514404 / 3.6227028369903564 - 1, rel=1e-12)
    closes = frame.loc[pd.Timestamp(START) : pd.Timestamp(END), "510300"]
    assert found["max_drawdown"] == pytest.approx(
        float(np.max(1 - closes / np.maximum.accumulate(closes))), rel=1e-12
    )


def test_a_period_under_a_year_is_not_annualised(frame: pd.DataFrame, pricing: Pricing) -> None:
    start = date(2025, 6, 30)
    window = Window(start, END)
    assert window.months == 7
    assert not window.annualised and window.client_facing
    found = portfolio(WEIGHTS, pricing, window)
    expected = reference(value_path(frame, WEIGHTS, start, END), annualised=False)
    assert found["annualised_return"] is None
    assert_figures(found, expected)
    # period volatility: the daily std scaled by the number of returns, not by 252
    returns = expected["returns"]
    assert found["volatility"] == pytest.approx(returns.std() * math.sqrt(len(returns)))
    assert found["volatility"] != pytest.approx(empyrical.annual_volatility(returns))


@pytest.mark.parametrize(
    ("start", "end", "months", "annualised", "client_facing"),
    [
        (date(2025, 6, 30), date(2025, 11, 30), 5, False, False),
        (date(2025, 6, 30), date(2025, 12, 29), 5, False, False),
        (date(2025, 6, 30), date(2025, 12, 30), 6, False, True),
        (date(2023, 6, 30), date(2024, 6, 29), 11, False, True),
        (date(2023, 6, 30), date(2024, 6, 30), 12, True, True),
        (date(2024, 2, 29), date(2025, 3, 1), 12, True, True),
    ],
)
def test_window_months_and_display_rules(
    start: date, end: date, months: int, annualised: bool, client_facing: bool
) -> None:
    window = Window(start, end)
    assert window.months == months
    assert window.annualised is annualised
    assert window.client_facing is client_facing


@pytest.mark.parametrize(
    ("end", "client_facing"), [(date(2025, 12, 29), False), (date(2025, 12, 30), True)]
)
def test_a_figure_is_client_facing_from_six_months(
    pricing: Pricing, end: date, client_facing: bool
) -> None:
    doc = measure_outcome(pricing, Window(date(2025, 6, 30), end), plan=WEIGHTS)
    assert doc["to"] == end.isoformat()
    assert doc["client_facing"] is client_facing
    assert doc["annualised"] is False
    assert doc["plan"]["annualised_return"] is None


def test_a_product_without_prices_is_missing_and_the_rest_renormalised(
    pricing: Pricing,
) -> None:
    window = Window(START, END)
    weights = {**{c: w * 0.75 for c, w in WEIGHTS.items()}, NO_PRICES: 0.25}
    found = portfolio(weights, pricing, window)
    assert found["missing"] == [{"code": NO_PRICES, "weight": pytest.approx(0.25)}]
    assert found["coverage"] == pytest.approx(0.75)
    assert found["priced"] == sorted(WEIGHTS)
    assert_figures(found, portfolio(WEIGHTS, pricing, window))


def test_missing_weights_are_shares_of_the_whole_portfolio(pricing: Pricing) -> None:
    found = portfolio({"510300": 2.0, NO_PRICES: 1.0, "XYZ": 1.0}, pricing, Window(START, END))
    assert found["coverage"] == pytest.approx(0.5)
    assert found["missing"] == [
        {"code": NO_PRICES, "weight": pytest.approx(0.25)},
        {"code": "XYZ", "weight": pytest.approx(0.25)},
    ]


def test_nothing_priced_gives_no_figures(pricing: Pricing) -> None:
    found = portfolio({NO_PRICES: 1.0}, pricing, Window(START, END))
    assert found["coverage"] == 0.0
    assert found["return"] is None and found["volatility"] is None
    assert found["max_drawdown"] is None and found["annualised_return"] is None


def test_a_product_listed_after_the_start_is_missing(frame: pd.DataFrame) -> None:
    late = frame.copy()
    late.loc[: pd.Timestamp("2023-12-31"), "513100"] = np.nan  # first close 2024-01-02
    pricing = pricing_of(late)
    weights = {**{c: w * 0.8 for c, w in WEIGHTS.items()}, "513100": 0.2}
    found = portfolio(weights, pricing, Window(START, END))
    assert found["missing"] == [{"code": "513100", "weight": pytest.approx(0.2)}]
    assert found["coverage"] == pytest.approx(0.8)
    assert_figures(found, reference(value_path(frame, WEIGHTS, START, END), annualised=True))


def test_a_product_whose_prices_stop_early_is_missing(frame: pd.DataFrame) -> None:
    stopped = frame.copy()
    stopped.loc[pd.Timestamp("2025-06-01") :, "513100"] = np.nan
    found = portfolio({"510300": 0.5, "513100": 0.5}, pricing_of(stopped), Window(START, END))
    assert found["priced"] == ["510300"]
    assert found["missing"] == [{"code": "513100", "weight": pytest.approx(0.5)}]


def test_a_suspension_spanning_the_end_makes_a_product_missing(frame: pd.DataFrame) -> None:
    """Closes that stop inside the window and resume after its end: the product is not carried
    flat across the gap to the end (a suspended fund's value is not known there)."""
    suspended = frame.copy()
    suspended.loc[pd.Timestamp("2024-03-30") : pd.Timestamp("2024-08-31"), "513100"] = np.nan
    window = Window(START, date(2024, 7, 31))
    found = portfolio({"510300": 0.5, "513100": 0.5}, pricing_of(suspended), window)
    assert found["priced"] == ["510300"]
    assert found["missing"] == [{"code": "513100", "weight": pytest.approx(0.5)}]
    later = portfolio({"513100": 1.0}, pricing_of(suspended), Window(START, END))
    assert later["priced"] == ["513100"]  # a gap inside the window is carried, as a holder sees


def test_a_money_market_product_grows_at_the_cash_yield(
    frame: pd.DataFrame, pricing: Pricing
) -> None:
    window = Window(START, END)
    found = portfolio({"510300": 0.5, MONEY_MARKET: 0.5}, pricing, window)
    assert found["priced"] == ["510300"]
    assert found["cash_yield"] == [MONEY_MARKET]
    assert found["coverage"] == 1.0 and found["missing"] == []
    grown = (1 + RATE) ** ((END - START).days / 365) - 1
    own = close(frame, END, "510300") / close(frame, START, "510300") - 1
    assert found["return"] == pytest.approx(0.5 * own + 0.5 * grown, rel=1e-12)
    path = value_path(frame, {"510300": 0.5}, START, END, cash={MONEY_MARKET: 0.5})
    assert_figures(found, reference(path, annualised=True))


def test_a_portfolio_all_at_the_cash_yield_grows_at_it(pricing: Pricing) -> None:
    found = portfolio({MONEY_MARKET: 1.0}, pricing, Window(START, END))
    assert found["cash_yield"] == [MONEY_MARKET]
    assert found["coverage"] == 1.0
    assert found["return"] == pytest.approx((1 + RATE) ** ((END - START).days / 365) - 1)
    assert found["max_drawdown"] == 0.0


def test_a_money_market_product_with_prices_is_measured_on_them(frame: pd.DataFrame) -> None:
    table = frame.rename(columns={"511260": MONEY_MARKET})
    found = portfolio(
        {MONEY_MARKET: 1.0}, pricing_of(table, frozenset({MONEY_MARKET})), Window(START, END)
    )
    assert found["priced"] == [MONEY_MARKET] and found["cash_yield"] == []
    assert_figures(
        found, reference(value_path(table, {MONEY_MARKET: 1.0}, START, END), annualised=True)
    )


# ---- the outcome document --------------------------------------------------------------------


def measure_outcome(
    pricing: Pricing,
    window: Window,
    *,
    plan: Mapping[str, float],
    holdings: Mapping[str, float] | None = None,
    equal_weight: Mapping[str, float] | None = None,
    tolerance_pct: float = 15.0,
) -> dict[str, Any]:
    return outcome(
        run_id="run-1",
        plan=plan,
        holdings=holdings if holdings is not None else {"510300": 1.0},
        equal_weight=equal_weight if equal_weight is not None else {"510300": 1.0},
        tolerance_pct=tolerance_pct,
        pricing=pricing,
        window=window,
        disclosure=DISCLOSURE,
    )


def test_the_outcome_measures_plan_and_baselines_alike(
    frame: pd.DataFrame, pricing: Pricing
) -> None:
    holdings = {"510300": 0.3, CASH: 0.7}
    codes = ["510300", "510500", "513500", "511260", "518880", "513100"]
    equal = {c: 1 / len(codes) for c in codes}
    doc = measure_outcome(
        pricing, Window(START, END), plan=WEIGHTS, holdings=holdings, equal_weight=equal
    )
    assert (doc["from"], doc["to"], doc["months"]) == (START.isoformat(), END.isoformat(), 31)
    assert doc["annualised"] is True and doc["client_facing"] is True
    assert doc["coverage"] == 1.0
    assert doc["disclosure"] == DISCLOSURE
    assert_figures(doc["plan"], reference(value_path(frame, WEIGHTS, START, END), True))
    kept = value_path(frame, {"510300": 0.3}, START, END, cash={CASH: 0.7})
    assert_figures(doc["baselines"]["holdings"], reference(kept, True))
    assert_figures(
        doc["baselines"]["equal_weight"], reference(value_path(frame, equal, START, END), True)
    )
    for name in ("holdings", "equal_weight"):
        assert doc["excess"][name] == pytest.approx(
            doc["plan"]["return"] - doc["baselines"][name]["return"]
        )
    assert doc["cash_yield"] == {
        "rate": RATE,
        "basis": "test assumptions, cash",
        "codes": [CASH],
    }


def test_no_cash_yield_is_named_when_none_was_used(pricing: Pricing) -> None:
    assert measure_outcome(pricing, Window(START, END), plan=WEIGHTS)["cash_yield"] is None


def test_holdings_all_in_cash_grow_at_the_cash_yield(pricing: Pricing) -> None:
    doc = measure_outcome(pricing, Window(START, END), plan=WEIGHTS, holdings={CASH: 1.0})
    held = doc["baselines"]["holdings"]
    assert held["cash_yield"] == [CASH] and held["coverage"] == 1.0
    grown = (1 + RATE) ** ((END - START).days / 365) - 1
    assert held["return"] == pytest.approx(grown)
    assert doc["excess"]["holdings"] == pytest.approx(doc["plan"]["return"] - grown)


def test_a_window_ending_on_a_day_without_prices_ends_on_the_last_close(
    pricing: Pricing,
) -> None:
    doc = measure_outcome(pricing, Window(START, date(2026, 3, 1)), plan=WEIGHTS)
    assert doc["to"] == END.isoformat()


@pytest.mark.parametrize(("shift", "breach"), [(-0.01, True), (0.0, False), (0.01, False)])
def test_drawdown_breach_around_the_tolerance(pricing: Pricing, shift: float, breach: bool) -> None:
    drawdown = portfolio(WEIGHTS, pricing, Window(START, END))["max_drawdown"]
    tolerance_pct = drawdown * 100 + shift
    doc = measure_outcome(pricing, Window(START, END), plan=WEIGHTS, tolerance_pct=tolerance_pct)
    assert doc["plan"]["max_drawdown"] == pytest.approx(drawdown)
    assert doc["tolerance"] == pytest.approx(tolerance_pct / 100)
    assert doc["drawdown_breach"] is breach


def test_no_breach_without_a_measured_plan(pricing: Pricing) -> None:
    doc = measure_outcome(pricing, Window(START, END), plan={NO_PRICES: 1.0}, tolerance_pct=0)
    assert doc["plan"]["max_drawdown"] is None
    assert doc["drawdown_breach"] is False
    assert doc["coverage"] == 0.0


# ---- synthetic prices: carry-forward, staleness and the shared grid ------------------------

D0 = date(2024, 1, 1)  # a Monday


def weekdays(first: date, count: int) -> list[date]:
    days: list[date] = []
    day = first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def wave(days: list[date], base: float, step: float) -> list[tuple[date, float]]:
    """A deterministic, bumpy series (up and down, so volatility and drawdown are not zero)."""
    return [(d, base * (1 + step * math.sin(i * 1.3) + 0.002 * i)) for i, d in enumerate(days)]


def table_of(series: Mapping[str, list[tuple[date, float]]]) -> pd.DataFrame:
    columns = {
        code: pd.Series({pd.Timestamp(d): c for d, c in closes}) for code, closes in series.items()
    }
    return pd.DataFrame(columns).sort_index()


def test_a_product_without_a_close_carries_its_last_one_forward() -> None:
    every = weekdays(D0, 60)
    series = {"A": wave(every, 1.0, 0.02), "B": wave(every[::3], 5.0, 0.05)}
    pricing = Pricing(series, frozenset(), RATE, "x")
    window = Window(D0, every[-1])
    assert not window.annualised
    found = portfolio({"A": 0.6, "B": 0.4}, pricing, window)
    path = value_path(table_of(series), {"A": 0.6, "B": 0.4}, D0, every[-1])
    assert len(path) == 60  # A's days: B is carried over the two days in three it has none
    assert_figures(found, reference(path, annualised=False))


def test_a_close_up_to_ten_days_old_prices_the_start() -> None:
    later = weekdays(D0 + timedelta(days=12), 30)
    fresh = [(D0, 2.0), *wave(later, 2.0, 0.03)]
    stale = [(D0 - timedelta(days=1), 2.0), *wave(later, 2.0, 0.03)]
    pricing = Pricing({"A": fresh, "B": stale}, frozenset(), RATE, "x")
    start = D0 + timedelta(days=STALE_DAYS)
    found = portfolio({"A": 0.5, "B": 0.5}, pricing, Window(start, later[-1]))
    assert found["priced"] == ["A"]
    assert found["missing"] == [{"code": "B", "weight": 0.5}]
    assert found["return"] == pytest.approx(fresh[-1][1] / 2.0 - 1)  # bought at the old close


def test_a_close_up_to_ten_days_before_the_end_prices_it() -> None:
    days = weekdays(D0, 40)
    end = days[-1] + timedelta(days=STALE_DAYS)
    series = {"A": wave(days, 1.0, 0.02), "B": wave(days[:-1], 1.0, 0.02)}
    found = portfolio(
        {"A": 0.5, "B": 0.5}, Pricing(series, frozenset(), RATE, "x"), Window(D0, end)
    )
    # B's last close is days[-2], which is more than ten days before the end
    assert (end - days[-2]).days > STALE_DAYS
    assert found["priced"] == ["A"]
    assert [m["code"] for m in found["missing"]] == ["B"]


def test_all_three_portfolios_are_measured_on_one_grid() -> None:
    """B trades every other day, A every day: all three are measured on A's days (B carried
    over the days it has no close), so their figures compare like with like."""
    every = weekdays(D0, 300)
    series = {"A": wave(every, 1.0, 0.02), "B": wave(every[::2], 3.0, 0.04)}
    pricing = Pricing(series, frozenset({CASH}), RATE, "x")
    window = Window(D0, every[-1])
    assert window.annualised
    doc = outcome(
        run_id="run-grid",
        plan={"B": 1.0},
        holdings={"A": 1.0},
        equal_weight={"A": 0.5, "B": 0.5},
        tolerance_pct=10,
        pricing=pricing,
        window=window,
        disclosure=DISCLOSURE,
    )
    table = table_of(series)
    grid = pd.DatetimeIndex([pd.Timestamp(d) for d in every])  # every day any of them trades
    wrong = {}
    for name, figures, weights in (
        ("plan", doc["plan"], {"B": 1.0}),
        ("holdings", doc["baselines"]["holdings"], {"A": 1.0}),
        ("equal_weight", doc["baselines"]["equal_weight"], {"A": 0.5, "B": 0.5}),
    ):
        path = value_path(table, weights, D0, every[-1], days=grid)
        assert len(path) == len(every), name
        expected = reference(path, annualised=True)
        if figures["volatility"] != pytest.approx(expected["volatility"], rel=1e-9):
            wrong[name] = (figures["volatility"], expected["volatility"])
        assert figures["return"] == pytest.approx(expected["return"], rel=1e-9), name
        assert figures["max_drawdown"] == pytest.approx(expected["max_drawdown"], rel=1e-9), name
    assert wrong == {}, "volatility (found, on the shared grid)"


# ---- properties ------------------------------------------------------------------------------

closes_strategy = st.lists(
    st.floats(min_value=0.05, max_value=50.0, allow_nan=False, allow_infinity=False),
    min_size=2,
    max_size=80,
)


@settings(max_examples=60, deadline=None)
@given(closes=closes_strategy)
def test_a_single_product_returns_last_over_first(closes: list[float]) -> None:
    days = weekdays(D0, len(closes))
    pricing = Pricing({"A": list(zip(days, closes, strict=True))}, frozenset(), RATE, "x")
    found = portfolio({"A": 1.0}, pricing, Window(days[0], days[-1]))
    assert found["return"] == pytest.approx(closes[-1] / closes[0] - 1, rel=1e-9, abs=1e-12)
    assert 0.0 <= found["max_drawdown"] < 1.0
    peak = np.maximum.accumulate(closes)
    assert found["max_drawdown"] == pytest.approx(
        float(np.max(1 - np.array(closes) / peak)), abs=1e-12
    )
    if len(closes) >= 3:
        assert found["volatility"] is not None and found["volatility"] >= 0


@settings(max_examples=60, deadline=None)
@given(
    weights=st.dictionaries(
        st.sampled_from(["A", "B", "C", "X", "Y"]),
        st.floats(min_value=0.01, max_value=1.0),
        min_size=1,
    ),
    closes=st.lists(st.floats(min_value=0.5, max_value=2.0), min_size=3, max_size=30),
)
def test_coverage_is_the_priced_share_of_the_weights(
    weights: dict[str, float], closes: list[float]
) -> None:
    days = weekdays(D0, len(closes))
    series = {
        "A": list(zip(days, closes, strict=True)),
        "B": list(zip(days, reversed(closes), strict=True)),
        "C": list(zip(days[::2], closes[::2], strict=True)),
    }
    found = portfolio(weights, Pricing(series, frozenset(), RATE, "x"), Window(days[0], days[-1]))
    total = sum(weights.values())
    priced = sum(w for c, w in weights.items() if c in series)
    assert 0.0 <= found["coverage"] <= 1.0
    assert found["coverage"] == pytest.approx(priced / total)
    assert sum(m["weight"] for m in found["missing"]) == pytest.approx(1 - priced / total)
    if priced:
        assert 0.0 <= found["max_drawdown"] < 1.0
    else:
        assert found["return"] is None


# ---- the portfolios of a delivered run (service.portfolios) ---------------------------------


def test_portfolios_are_the_plan_the_holdings_with_cash_and_one_over_n(
    market: MarketData,
) -> None:
    client = make_client()  # aum 850,000 with 300,000 in 510300
    profile = profile_client(
        client,
        as_of=AS_OF,
        model=OfflineModel(),
        market=market,
        tiers=TierPolicy(),
        allocation=AllocationPolicy(),
        compliance=CompliancePolicy(),
    )
    run = Run(
        id="run-portfolios",
        client_id=client.client_id,
        status="delivered",
        locale=client.locale,
        as_of=AS_OF.isoformat(),
        client_snapshot=client.model_dump(mode="json"),
        profile=profile.model_dump(mode="json"),
        plan={
            "holdings": [
                {"product_code": "510300", "weight": 0.5},
                {"product_code": "511260", "weight": 0.5},
            ]
        },
    )
    found = portfolios(run, market)
    assert found["plan"] == {"510300": 0.5, "511260": 0.5}
    assert found["holdings"] == pytest.approx(
        {"510300": 300_000 / 850_000, CASH: 550_000 / 850_000}
    )
    universe = [p.code for p in eligible_products(profile, market)]
    assert universe
    assert found["equal_weight"] == pytest.approx({c: 1 / len(universe) for c in universe})
