"""Market data the agents read: the product shelf, market assumptions and research corpus."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DATA_DIR = Path(__file__).resolve().parent / "data"

AssetClassId = Literal[
    "cash", "credit", "cn_gov_bond", "cn_large_cap", "cn_mid_cap", "us_equity", "us_tech", "gold"
]
Category = Literal[
    "money_market",
    "short_bond",
    "bond",
    "convertible",
    "balanced",
    "broad_index",
    "sector",
    "gold",
    "qdii",
    "structured_note",
    "private_fund",
    "asset_management",
]


class RiskRating(StrEnum):
    """Product risk level, R1 (low) to R5 (high)."""

    R1 = "R1"
    R2 = "R2"
    R3 = "R3"
    R4 = "R4"
    R5 = "R5"

    @property
    def rank(self) -> int:
        return int(self.value[1])


class Access(StrEnum):
    """Who may buy a product at all, before suitability matching."""

    NONE = "none"
    QUALIFIED_INVESTOR = "qualified_investor"
    PROFESSIONAL_INVESTOR = "professional_investor"


class Fees(BaseModel):
    """Annual and one-off fees, as fractions."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    management: float = Field(ge=0, le=0.05)
    custody: float = Field(ge=0, le=0.01)
    subscription: float = Field(ge=0, le=0.05)
    redemption: float = Field(ge=0, le=0.05)

    @property
    def annual(self) -> float:
        return self.management + self.custody


class Product(BaseModel):
    """One product on the firm's shelf."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str = Field(min_length=1)
    name_zh: str
    name_en: str
    issuer: str
    category: Category
    asset_class: AssetClassId
    exposures: dict[AssetClassId, float]
    idio_vol: float = Field(ge=0, le=0.5)
    risk_rating: RiskRating
    redemption_days: int = Field(ge=0)
    lockup_days: int = Field(ge=0)
    min_investment: float = Field(gt=0)
    fees: Fees
    access: Access
    diversified: bool
    sector: str | None = None
    single_security: bool = False
    leverage: bool = False

    @model_validator(mode="after")
    def _exposures_sum_to_one(self) -> Product:
        total = sum(self.exposures.values())
        if abs(total - 1.0) > 1e-9 or min(self.exposures.values()) < 0:
            raise ValueError(
                f"{self.code}: exposures must be non-negative and sum to 1, got {total}"
            )
        return self

    @property
    def daily_liquid(self) -> bool:
        """Cash within a day and no lock-up."""
        return self.redemption_days <= 1 and self.lockup_days == 0

    @property
    def liquidity_reserve_eligible(self) -> bool:
        """May hold the client's liquidity reserve: daily-liquid and R1 (money-market like)."""
        return self.daily_liquid and self.risk_rating is RiskRating.R1

    @property
    def house_product(self) -> bool:
        """Issued or managed by the firm itself: a conflict of interest to disclose."""
        return self.code.startswith("TW-") and self.issuer.startswith("Tierwise")

    def name(self, locale: str) -> str:
        return self.name_zh if locale == "zh-CN" else self.name_en


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
    """Asset-class assumptions with their provenance, as shipped in tools/data/cma.json."""

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

    def covariance(self) -> np.ndarray:
        """Annualised covariance matrix in the order of `ids`."""
        vols = np.array([a.volatility for a in self.asset_classes])
        corr = np.array([[self.correlation[i][j] for j in self.ids] for i in self.ids])
        return np.outer(vols, vols) * corr

    def returns(self) -> np.ndarray:
        return np.array([a.expected_return for a in self.asset_classes])


class ResearchNote(BaseModel):
    """A house view or product note in the research corpus."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    publisher: str
    as_of: date
    locale: Literal["zh-CN", "en"]
    kind: Literal["house_view", "product_note"]
    title: str
    summary: str
    asset_classes: list[AssetClassId] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class MarketData:
    """Everything an agent needs to know about the market, loaded once and passed in."""

    shelf: tuple[Product, ...]
    cma: CapitalMarketAssumptions
    corpus: tuple[ResearchNote, ...]

    @cached_property
    def products(self) -> dict[str, Product]:
        return {p.code: p for p in self.shelf}

    def product_returns_and_covariance(self, codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Expected returns (net of annual fees) and covariance of products from their exposures."""
        ids = self.cma.ids
        exposure = np.array(
            [[self.products[c].exposures.get(i, 0.0) for i in ids] for c in codes]  # type: ignore[call-overload]
        )
        mu = exposure @ self.cma.returns() - np.array([self.products[c].fees.annual for c in codes])
        idio = np.array([self.products[c].idio_vol for c in codes])
        cov = exposure @ self.cma.covariance() @ exposure.T + np.diag(idio**2)
        return mu, cov


def load_shelf(path: Path = DATA_DIR / "products.yaml") -> tuple[Product, ...]:
    """Read and validate the product shelf; codes must be unique."""
    products = tuple(Product.model_validate(row) for row in yaml.safe_load(path.read_text("utf-8")))
    codes = [p.code for p in products]
    if len(set(codes)) != len(codes):
        raise ValueError(f"duplicate product codes in {path}")
    return products


def load_cma(path: Path = DATA_DIR / "cma.json") -> CapitalMarketAssumptions:
    return CapitalMarketAssumptions.model_validate(json.loads(path.read_text("utf-8")))


def load_corpus(path: Path = DATA_DIR / "research.yaml") -> tuple[ResearchNote, ...]:
    notes = tuple(
        ResearchNote.model_validate(row) for row in yaml.safe_load(path.read_text("utf-8"))
    )
    ids = [n.id for n in notes]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate note ids in {path}")
    return notes


def load_market(data_dir: Path = DATA_DIR) -> MarketData:
    """Load the shipped shelf, assumptions and corpus, cross-checking references."""
    market = MarketData(
        shelf=load_shelf(data_dir / "products.yaml"),
        cma=load_cma(data_dir / "cma.json"),
        corpus=load_corpus(data_dir / "research.yaml"),
    )
    known = set(market.cma.ids)
    for product in market.shelf:
        if not set(product.exposures) <= known:
            raise ValueError(f"{product.code}: exposure to an asset class without assumptions")
    for note in market.corpus:
        missing = [c for c in note.products if c not in market.products]
        if missing:
            raise ValueError(f"note {note.id} cites products not on the shelf: {missing}")
    return market
