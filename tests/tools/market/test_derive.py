"""Tests for the capital-market-assumption derivation and the shipped tools/market/data/cma.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tools.market.assumptions import CapitalMarketAssumptions, load_cma
from tools.market.derive import (
    ORDER,
    STATED,
    Stated,
    derive_assumptions,
    find_spikes,
    load_prices,
    repair_spikes,
    to_json,
)

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "tools" / "market" / "data" / "cma.json"


@pytest.fixture(scope="module")
def prices(shared_data: Path) -> pd.DataFrame:
    return load_prices(shared_data / "allweather_cn_etf_prices_7etf.csv")


@pytest.fixture(scope="module")
def shipped() -> CapitalMarketAssumptions:
    return load_cma(SHIPPED)


def test_detector_finds_exactly_the_known_bad_row(prices: pd.DataFrame) -> None:
    spikes = find_spikes(prices)
    found = sorted((s.series, f"{s.date:%Y-%m-%d}") for s in spikes)
    # The known bad 159941.SZ close, and a +14.3% close of 510500.SH (impossible under the ±10%
    # daily limit) that reverts the next day.
    assert found == [("159941.SZ", "2022-07-04"), ("510500.SH", "2022-08-26")]
    bad = next(s for s in spikes if s.series == "159941.SZ")
    assert bad.value == pytest.approx(2.384)
    assert 0.59 < bad.replacement < 0.61


def test_repair_removes_the_spike_without_mutating_input(prices: pd.DataFrame) -> None:
    repaired = repair_spikes(prices, find_spikes(prices))
    for series in ("159941.SZ", "510500.SH"):
        assert repaired[series].pct_change().abs().max() < 0.11
    assert prices.loc["2022-07-04", "159941.SZ"] == pytest.approx(2.384)
    untouched = ["159941.SZ", "510500.SH"]
    assert (repaired.drop(columns=untouched) == prices.drop(columns=untouched)).all().all()


def test_shipped_file_equals_a_fresh_derivation(
    prices: pd.DataFrame, shipped: CapitalMarketAssumptions
) -> None:
    fresh = derive_assumptions(prices)
    assert fresh == shipped
    assert SHIPPED.read_text("utf-8") == to_json(fresh)


def test_shipped_file_shape(shipped: CapitalMarketAssumptions) -> None:
    assert shipped.ids == list(ORDER)
    assert shipped.window["rows"] == 2062
    repaired = sorted((r["series"], r["date"]) for r in shipped.data_quality)
    assert repaired == [("159941.SZ", "2022-07-04"), ("510500.SH", "2022-08-26")]
    stated = {a.id for a in shipped.asset_classes if a.basis == "stated"}
    assert stated == {"cash", "credit"}
    assert all(shipped.correlation["cash"][j] == 0 for j in shipped.ids if j != "cash")
    assert shipped.correlation["credit"]["cn_gov_bond"] == 0.5


def test_correlation_is_symmetric_psd_and_rounded(shipped: CapitalMarketAssumptions) -> None:
    corr = np.array([[shipped.correlation[i][j] for j in shipped.ids] for i in shipped.ids])
    assert np.array_equal(corr, corr.T)
    assert np.array_equal(np.diag(corr), np.ones(len(corr)))
    assert np.linalg.eigvalsh(corr).min() >= 0
    assert np.array_equal(corr, corr.round(4))
    assert np.linalg.eigvalsh(shipped.covariance()).min() >= 0


def test_expected_returns_are_shrunk_toward_the_prior(shipped: CapitalMarketAssumptions) -> None:
    """Each derived mu sits between its sample CAGR and the common-Sharpe prior.

    Where the sample beat the prior (bonds, US equity, US tech, gold) that means rf < mu < CAGR;
    the A-share CAGRs (4.7%, 5.4%) fall short of the prior, so their mu sits above the CAGR.
    """
    rf = shipped.risk_free_rate
    for a in shipped.asset_classes:
        if a.basis != "derived":
            continue
        assert a.sample_cagr is not None
        prior = rf + 0.30 * a.volatility
        low, high = sorted((a.sample_cagr, prior))
        assert low - 1e-4 <= a.expected_return <= high + 1e-4, a.id
        if a.sample_cagr > prior:
            assert rf < a.expected_return < a.sample_cagr, a.id
    beat = {
        a.id
        for a in shipped.asset_classes
        if a.sample_cagr is not None and a.sample_cagr > rf + 0.30 * a.volatility
    }
    assert beat == {"cn_gov_bond", "us_equity", "us_tech", "gold"}


def test_gold_and_us_tech_are_well_below_their_sample_cagr(
    shipped: CapitalMarketAssumptions,
) -> None:
    for a in shipped.asset_classes:
        if a.id in {"gold", "us_tech"}:
            assert a.sample_cagr is not None and a.sample_cagr > 0.17
            assert a.expected_return < a.sample_cagr - 0.06
            assert a.expected_return < 0.12


def test_volatility_is_the_sample_volatility(shipped: CapitalMarketAssumptions) -> None:
    """The constant-correlation Ledoit-Wolf target leaves each variance at its sample value."""
    for a in shipped.asset_classes:
        if a.basis == "derived":
            assert a.volatility == pytest.approx(a.sample_volatility, abs=1e-4)


def _synthetic() -> pd.DataFrame:
    dates = pd.bdate_range("2024-01-01", periods=8)
    return pd.DataFrame(
        {
            "spike_up": [1.0, 1.01, 1.0, 3.0, 1.02, 1.03, 1.02, 1.01],
            "spike_down": [10.0, 10.1, 10.2, 4.0, 10.1, 10.0, 10.1, 10.2],
            "level_shift": [1.0, 1.0, 1.0, 1.4, 1.4, 1.41, 1.4, 1.42],
            "crash_recovery": [1.0, 1.0, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0],
            "edge": [5.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0],
        },
        index=dates,
    )


def test_synthetic_spikes_found_and_repaired() -> None:
    prices = _synthetic()
    original = prices.copy()
    spikes = find_spikes(prices)
    found = {(s.series, s.date) for s in spikes}
    day = prices.index[3]
    assert found == {("spike_up", day), ("spike_down", day)}
    by_series = {s.series: s for s in spikes}
    assert by_series["spike_up"].value == 3.0
    assert by_series["spike_up"].replacement == pytest.approx(np.sqrt(1.0 * 1.02))
    assert by_series["spike_down"].replacement == pytest.approx(np.sqrt(10.2 * 10.1))

    repaired = repair_spikes(prices, spikes)
    pd.testing.assert_frame_equal(prices, original)
    assert repaired.loc[day, "spike_up"] == pytest.approx(np.sqrt(1.02))
    assert repaired[["spike_up", "spike_down"]].pct_change().abs().max().max() < 0.05
    pd.testing.assert_frame_equal(
        repaired.drop(columns=["spike_up", "spike_down"]),
        original.drop(columns=["spike_up", "spike_down"]),
    )


def test_threshold_and_tolerance_are_respected() -> None:
    prices = _synthetic()
    assert find_spikes(prices, threshold=2.5) == []
    assert {s.series for s in find_spikes(prices, tolerance=0.0)} == set()


def test_inconsistent_stated_correlations_are_fixed(prices: pd.DataFrame) -> None:
    """Credit cannot be +0.95 with large caps and -0.95 with mid caps that move together."""
    bad = {**STATED, "credit": Stated(0.03, 0.02, {"cn_large_cap": 0.95, "cn_mid_cap": -0.95})}
    with pytest.warns(UserWarning, match="non positive semidefinite"):
        cma = derive_assumptions(prices, stated=bad)
    assert "not positive semi-definite" in cma.method[-1]
    corr = np.array([[cma.correlation[i][j] for j in cma.ids] for i in cma.ids])
    assert np.linalg.eigvalsh(corr).min() >= -1e-10
    assert np.allclose(np.diag(corr), 1.0)
