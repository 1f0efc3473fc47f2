"""Derive capital-market assumptions from ETF prices: spike repair, Ledoit-Wolf, shrunk means."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pypfopt.risk_models import CovarianceShrinkage, cov_to_corr, fix_nonpositive_semidefinite

from tools.market.assumptions import AssetClassAssumption, AssetClassId, CapitalMarketAssumptions

TRADING_DAYS = 252
RISK_FREE_RATE = 0.018
PRIOR_SHARPE = 0.30
SHRINKAGE = 0.25
# Constant-correlation keeps each sample variance; the pypfopt default (constant variance) pulls
# every variance toward the average, which lifted the 10y bond's 2.7% volatility to 3.4%.
SHRINKAGE_TARGET = "constant_correlation"
VERSION = "2026.11-1"
SOURCE = {
    "file": "allweather_cn_etf_prices_7etf.csv",
    "upstream": "dafu-zhu/all-weather data/etf_prices_7etf.csv",
    "commit": "9ed520b5f92098df346df75b2f4ab42158fa50bb",
    "licence": "Raw prices are test fixtures and are not shipped; only derived statistics are.",
}
NAMES: dict[AssetClassId, tuple[str, str]] = {
    "cash": ("现金管理", "Cash management"),
    "credit": ("信用债", "Investment-grade credit"),
    "cn_gov_bond": ("中国国债", "China government bonds"),
    "cn_large_cap": ("A股大盘", "China large cap (CSI 300)"),
    "cn_mid_cap": ("A股中盘", "China mid cap (CSI 500)"),
    "us_equity": ("美股", "US equities (S&P 500, QDII)"),
    "us_tech": ("美股科技", "US technology (Nasdaq-100, QDII)"),
    "gold": ("黄金", "Gold"),
}
ORDER: tuple[AssetClassId, ...] = tuple(NAMES)
SERIES: dict[AssetClassId, tuple[str, ...]] = {
    "cn_gov_bond": ("511260.SH",),
    "cn_large_cap": ("510300.SH",),
    "cn_mid_cap": ("510500.SH",),
    "us_equity": ("513500.SH",),
    "us_tech": ("513100.SH", "159941.SZ"),
    "gold": ("518880.SH",),
}


@dataclass(frozen=True)
class Spike:
    """A one-day spike-and-revert error in one price series."""

    series: str
    date: pd.Timestamp
    value: float
    replacement: float


@dataclass(frozen=True)
class Stated:
    """A house assumption for a class not in the price file; unlisted correlations are zero."""

    expected_return: float
    volatility: float
    correlation: Mapping[str, float] = field(default_factory=dict)


_CREDIT_CORR = {
    "cn_gov_bond": 0.5,
    "cn_large_cap": 0.15,
    "cn_mid_cap": 0.15,
    "us_equity": 0.05,
    "us_tech": 0.05,
    "gold": 0.05,
}
STATED = {"cash": Stated(0.018, 0.003), "credit": Stated(0.030, 0.020, _CREDIT_CORR)}


def load_prices(path: Path | str) -> pd.DataFrame:
    """Read the price CSV with a sorted date index; refuse NaNs and duplicate dates."""
    prices = pd.read_csv(path, parse_dates=["Date"], index_col="Date").sort_index()
    if prices.isna().to_numpy().any() or prices.index.has_duplicates:
        raise ValueError(f"{path}: prices must have no NaNs and unique dates")
    return prices


# These ETFs trade on the SSE/SZSE main boards with a ±10% daily price limit, so a close more
# than 11% from the previous one that reverts the next day cannot be a real trade.
SPIKE_THRESHOLD = 0.11


def find_spikes(
    prices: pd.DataFrame, threshold: float = SPIKE_THRESHOLD, tolerance: float = 0.05
) -> list[Spike]:
    """One-day moves beyond ±threshold (log-symmetric) whose next close returns near the prior."""
    spikes: list[Spike] = []
    for name, x in prices.items():
        before, after = x.shift(1), x.shift(-1)
        jump = x / before - 1
        big = (jump > threshold) | (jump < -threshold / (1 + threshold))
        reverts = (after / before - 1).abs() <= tolerance
        for day in x.index[big & reverts]:
            fix = float(np.sqrt(before[day] * after[day]))
            spikes.append(Spike(str(name), day, float(x[day]), fix))
    return spikes


def repair_spikes(prices: pd.DataFrame, spikes: list[Spike]) -> pd.DataFrame:
    """Return a copy with each spike replaced by the geometric mean of its neighbours."""
    repaired = prices.copy()
    for spike in spikes:
        repaired.loc[spike.date, spike.series] = spike.replacement
    return repaired


def _class_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Daily simple returns per derived asset class; multi-listing classes are equal-weighted."""
    returns = prices.pct_change().iloc[1:]
    return pd.DataFrame({c: returns[list(s)].mean(axis=1) for c, s in SERIES.items()})


def _correlation(derived: pd.DataFrame, stated: Mapping[str, Stated]) -> tuple[pd.DataFrame, bool]:
    """Full correlation in ORDER from derived and stated parts, spectrally fixed if not PSD."""
    corr = pd.DataFrame(np.eye(len(ORDER)), index=list(ORDER), columns=list(ORDER))
    corr.loc[derived.index, derived.columns] = derived
    for cls, assumption in stated.items():
        for other, rho in assumption.correlation.items():
            corr.loc[cls, other] = corr.loc[other, cls] = rho
    if np.linalg.eigvalsh(corr.to_numpy()).min() >= 0:
        return corr, False
    return cov_to_corr(fix_nonpositive_semidefinite(corr, fix_method="spectral")), True


def derive_assumptions(
    prices: pd.DataFrame,
    *,
    risk_free_rate: float = RISK_FREE_RATE,
    prior_sharpe: float = PRIOR_SHARPE,
    shrinkage: float = SHRINKAGE,
    stated: Mapping[str, Stated] = STATED,
    spike_threshold: float = SPIKE_THRESHOLD,
    shrinkage_target: str = SHRINKAGE_TARGET,
    version: str = VERSION,
) -> CapitalMarketAssumptions:
    """Repair spikes, estimate Ledoit-Wolf risk and shrunk returns, and add the stated classes."""
    spikes = find_spikes(prices, spike_threshold)
    returns = _class_returns(repair_spikes(prices, spikes))
    lw = CovarianceShrinkage(returns, returns_data=True, frequency=TRADING_DAYS)
    cov = lw.ledoit_wolf(shrinkage_target=shrinkage_target)
    vol = pd.Series(np.sqrt(np.diag(cov)), index=cov.index)
    years = (prices.index[-1] - prices.index[0]).days / 365.25
    cagr = (1 + returns).prod() ** (1 / years) - 1
    sample_vol = returns.std() * np.sqrt(TRADING_DAYS)
    mu = risk_free_rate + shrinkage * (cagr - risk_free_rate) + (1 - shrinkage) * prior_sharpe * vol
    corr, fixed = _correlation(cov_to_corr(cov), stated)

    classes = []
    for cls in ORDER:
        row: dict[str, object] = {"id": cls, "name_zh": NAMES[cls][0], "name_en": NAMES[cls][1]}
        if cls in stated:
            row |= {"expected_return": stated[cls].expected_return, "basis": "stated"}
            row["volatility"] = stated[cls].volatility
        else:
            row |= {"expected_return": mu[cls], "volatility": vol[cls], "basis": "derived"}
            row |= {"sample_cagr": cagr[cls], "sample_volatility": sample_vol[cls]}
            row = {k: round(float(v), 4) if isinstance(v, float) else v for k, v in row.items()}
            row["series"] = list(SERIES[cls])
        classes.append(AssetClassAssumption.model_validate(row))
    rounded = corr.round(4)
    if np.linalg.eigvalsh(rounded.to_numpy()).min() < -1e-10:
        raise ValueError("correlation matrix is not PSD after rounding to 4 dp")
    cells = rounded.to_dict(orient="index")  # row -> column -> value
    method = [
        f"Scanned every series for one-day spikes (a move beyond +{spike_threshold:.0%} or "
        f"-{spike_threshold / (1 + spike_threshold):.0%} whose next close returns within 5% of the "
        f"prior close; the exchange daily limit for these ETFs is ±10%) and replaced "
        f"{len(spikes)} bad close(s) by the geometric mean of the "
        "neighbouring closes; see data_quality.",
        "Daily simple returns per asset class; us_tech is the equal-weighted daily return of the "
        "two Nasdaq-100 QDII listings 513100.SH and 159941.SZ.",
        f"Covariance: Ledoit-Wolf shrinkage toward the {shrinkage_target.replace('_', ' ')} target "
        f"(PyPortfolioOpt CovarianceShrinkage, intensity {lw.delta:.4f}) on daily returns, "
        f"annualised with {TRADING_DAYS} trading days; volatility is the square root of its "
        "diagonal. The constant-correlation target keeps each sample variance, where the "
        "constant-variance target would pull the bond's small variance toward the equities'.",
        "Sample CAGR is the compounded growth of the asset-class daily returns over calendar "
        f"years ({years:.2f}); sample volatility is the daily standard deviation times "
        f"sqrt({TRADING_DAYS}).",
        "Expected return shrinks the sample CAGR toward a common-Sharpe prior: "
        f"mu = rf + {shrinkage} * (CAGR - rf) + {1 - shrinkage:g} * {prior_sharpe} * volatility, "
        f"rf = {risk_free_rate}; the {years:.1f}-year sample CAGR is a poor forecast, so it gets "
        f"{shrinkage:.0%} of the weight and the prior the rest.",
        "Cash and credit are stated house assumptions, not estimated from the data, with stated "
        "correlations (cash 0 with everything).",
        "The 8x8 correlation matrix was not positive semi-definite; negative eigenvalues were "
        "clipped to zero (pypfopt fix_nonpositive_semidefinite) and the diagonal rescaled to 1."
        if fixed
        else "The 8x8 correlation matrix was checked positive semi-definite; no fix was needed.",
    ]
    return CapitalMarketAssumptions(
        version=version,
        source=SOURCE,
        window={
            "start": f"{prices.index[0]:%Y-%m-%d}",
            "end": f"{prices.index[-1]:%Y-%m-%d}",
            "rows": len(prices),
            "return_days": len(returns),
            "trading_days_per_year": TRADING_DAYS,
        },
        method=method,
        data_quality=[
            {
                "series": s.series,
                "date": f"{s.date:%Y-%m-%d}",
                "value": round(s.value, 6),
                "replacement": round(s.replacement, 6),
                "action": "replaced by the geometric mean of the previous and next closes",
            }
            for s in spikes
        ],
        risk_free_rate=risk_free_rate,
        asset_classes=classes,
        correlation={i: {j: float(cells[i][j]) for j in ORDER} for i in ORDER},
    )


def to_json(cma: CapitalMarketAssumptions) -> str:
    """Serialise as shipped: UTF-8 text, two-space indent, trailing newline."""
    return json.dumps(cma.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"
