"""Capital-market assumptions: expected return, volatility and correlation per asset class."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

AssetClassId = Literal[
    "cash", "credit", "cn_gov_bond", "cn_large_cap", "cn_mid_cap", "us_equity", "us_tech", "gold"
]


class AssetClassAssumption(BaseModel):
    """Expected return and volatility of one asset class, annualised fractions."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: AssetClassId
    name_zh: str
    name_en: str
    expected_return: float
    volatility: float = Field(gt=0)
    basis: Literal["derived", "stated"]
    series: list[str] = Field(default_factory=list)
    sample_cagr: float | None = None
    sample_volatility: float | None = None


class CapitalMarketAssumptions(BaseModel):
    """Asset-class assumptions with their provenance, as shipped in tools/market/data/cma.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    source: dict[str, str]
    window: dict[str, str | int]
    method: list[str]
    data_quality: list[dict[str, str | float]]
    risk_free_rate: float
    asset_classes: list[AssetClassAssumption]
    correlation: dict[str, dict[str, float]]

    @model_validator(mode="after")
    def _correlation_is_valid(self) -> CapitalMarketAssumptions:
        ids = [a.id for a in self.asset_classes]
        matrix = np.array([[self.correlation[i][j] for j in ids] for i in ids])
        if not np.allclose(matrix, matrix.T) or not np.allclose(np.diag(matrix), 1.0):
            raise ValueError("correlation matrix must be symmetric with a unit diagonal")
        if np.linalg.eigvalsh(matrix).min() < -1e-10:
            raise ValueError("correlation matrix must be positive semi-definite")
        return self

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.asset_classes]

    @property
    def first_day(self) -> date:
        """The first day of the price window the assumptions were estimated on."""
        return date.fromisoformat(str(self.window["start"]))

    def covariance(self) -> np.ndarray:
        """Annualised covariance matrix in the order of `ids`."""
        vols = np.array([a.volatility for a in self.asset_classes], dtype=np.float64)
        corr = np.array(
            [[self.correlation[i][j] for j in self.ids] for i in self.ids], dtype=np.float64
        )
        return np.outer(vols, vols) * corr

    def returns(self) -> np.ndarray:
        return np.array([a.expected_return for a in self.asset_classes])


def load_cma(path: Path) -> CapitalMarketAssumptions:
    return CapitalMarketAssumptions.model_validate(json.loads(path.read_text("utf-8")))


# The broad kinds a client reads a plan by: each asset class belongs to one.
SLEEVES: dict[str, str] = {
    "cash": "cash",
    "credit": "bonds",
    "cn_gov_bond": "bonds",
    "cn_large_cap": "equities",
    "cn_mid_cap": "equities",
    "us_equity": "equities",
    "us_tech": "equities",
    "gold": "gold",
}


def sleeve_weights(weights: Iterable[tuple[str, float]]) -> dict[str, float]:
    """The plan's weight in each broad kind, from (asset class, weight) pairs, in SLEEVES order;
    an unknown class counts nowhere."""
    out = dict.fromkeys(dict.fromkeys(SLEEVES.values()), 0.0)
    for asset_class, weight in weights:
        if asset_class in SLEEVES:
            out[SLEEVES[asset_class]] += weight
    return {k: round(w, 6) for k, w in out.items() if w > 0}
