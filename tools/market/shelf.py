"""The product shelf: what the firm sells, each product's risk rating, access and costs.

`tracks` names the exposure a product gives, so that two products giving the same one are
known as look-alikes and a plan holds one of them (agents/allocation.py `choose_look_alikes`):

- an index product tracks its index, in short: `CSI300`, `SSE50`, `CSI500`, `CGB10Y`,
  `SP500`, `NDX100`, `CSI-SEMICONDUCTOR`; a gold product tracks `gold` (the SGE spot price);
- a money-market product tracks `cash`, and only a money-market product does;
- an actively managed public fund tracks `active-<category>` (`active-short_bond`,
  `active-balanced`): one manager per category, since two such funds compete for one place;
- a product on terms of its own (a structured note, a private fund, an asset-management plan)
  tracks its own code, and so has no look-alike.

Look-alikes share their asset class, so holding one instead of another never moves a cap.
"""

from __future__ import annotations

import re
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


EXCHANGE_CODE = re.compile(r"\d{6}")


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
    tracks: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
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

    @model_validator(mode="after")
    def _cash_is_money_market(self) -> Product:
        if (self.tracks == "cash") != (self.category == "money_market"):
            raise ValueError(
                f"{self.code}: a money-market product tracks 'cash', and only one does "
                f"(category {self.category}, tracks {self.tracks})"
            )
        return self

    @property
    def exchange_traded(self) -> bool:
        """Bought on an exchange in lots of 100 units: a six-digit exchange code (TW- products
        are sold over the counter, in yuan)."""
        return EXCHANGE_CODE.fullmatch(self.code) is not None

    @property
    def total_fee(self) -> float:
        """What a year of holding costs, one-off fees included: how look-alikes are compared."""
        return self.fees.annual + self.fees.subscription + self.fees.redemption

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
    check_look_alikes(products)
    return products


def check_look_alikes(products: tuple[Product, ...]) -> None:
    """Products that track one thing share an asset class, or swapping them would move a cap."""
    classes: dict[str, set[str]] = {}
    for p in products:
        classes.setdefault(p.tracks, set()).add(p.asset_class)
    mixed = {t: sorted(c) for t, c in classes.items() if len(c) > 1}
    if mixed:
        raise ValueError(f"look-alikes in different asset classes: {mixed}")
