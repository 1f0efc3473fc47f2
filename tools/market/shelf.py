"""The product shelf: what the firm sells, each product's risk rating, access and costs."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.schemas.vocabulary import RiskRating
from tools.market.assumptions import AssetClassId

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


def load_shelf(path: Path) -> tuple[Product, ...]:
    """Read and validate the product shelf; codes must be unique."""
    products = tuple(Product.model_validate(row) for row in yaml.safe_load(path.read_text("utf-8")))
    codes = [p.code for p in products]
    if len(set(codes)) != len(codes):
        raise ValueError(f"duplicate product codes in {path}")
    return products
