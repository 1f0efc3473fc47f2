"""The client contract (DESIGN §5.1): what the firm's systems send about a client."""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core.schemas.vocabulary import Goal, InvestorType, Locale, RiskLevel

Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
ProductCode = Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]
# PRC Civil Code Art 17: adults are 18 or older. Ages count calendar years (as_of.year -
# birth_year, as the profile does): the contract carries only the year of birth.
ADULT_AGE = 18
MAX_AGE = 120


STORED = {"stored": True}  # validation context for a record read back, not received


def _received(info: ValidationInfo) -> bool:
    """True when validating input as received; a stored record was checked on its way in, and
    its dates and age must not turn it invalid as the calendar moves on."""
    return not (info.context or {}).get("stored")


def not_in_future(day: date) -> date:
    """Refuse a date after today, the clock the API gives a run's as_of."""
    if day > date.today():
        raise ValueError(f"{day.isoformat()} is in the future")
    return day


class RiskAssessment(BaseModel):
    """The firm's official risk-tolerance assessment; the C level is an input, never computed."""

    model_config = ConfigDict(extra="forbid")
    level: RiskLevel
    lowest_category: bool = False
    assessed_on: date

    @field_validator("assessed_on")
    @classmethod
    def _not_in_future(cls, day: date, info: ValidationInfo) -> date:
        return not_in_future(day) if _received(info) else day

    @model_validator(mode="after")
    def _lowest_is_c1(self) -> RiskAssessment:
        if self.lowest_category and self.level != "C1":
            raise ValueError("lowest_category applies only to level C1")
        return self


class Objectives(BaseModel):
    """What the client wants from the money."""

    model_config = ConfigDict(extra="forbid")
    goal: Goal
    horizon_years: float = Field(gt=0, le=50)
    liquidity_need: Money  # required: a missing cash need is not a zero one (CN-C-05)
    max_drawdown_tolerance_pct: float = Field(ge=0, le=100)
    sustainability_preference: str | None = Field(default=None, max_length=200)


class Holding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_code: ProductCode
    market_value: Money


class Trade(BaseModel):
    """One past trade; prior_return_20d is the product's return over the 20 trading days before."""

    model_config = ConfigDict(extra="forbid")
    date: dt.date  # the field's name hides the type inside this class
    product_code: ProductCode
    side: Literal["buy", "sell", "margin_buy", "short_sell"]
    amount: float = Field(gt=0, allow_inf_nan=False)
    prior_return_20d: float | None = Field(default=None, ge=-1, le=10)

    @field_validator("date")
    @classmethod
    def _not_in_future(cls, day: dt.date, info: ValidationInfo) -> dt.date:
        return not_in_future(day) if _received(info) else day


class Contact(BaseModel):
    """Sensitive: stored, masked in every response, never sent to a model or a log."""

    model_config = ConfigDict(extra="forbid")
    phone: str | None = Field(default=None, max_length=32)
    id_number: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)


class ClientInput(BaseModel):
    """A client as the firm's systems describe it (PUT /v1/clients, scenarios, demo data)."""

    model_config = ConfigDict(extra="forbid")
    client_id: ClientId
    name: str = Field(min_length=1, max_length=100)
    locale: Locale = "zh-CN"
    advisor_id: str | None = Field(default=None, max_length=64)
    investor_type: InvestorType = "ordinary"
    birth_year: int  # the client is an adult and at most MAX_AGE this year
    annual_income: Money
    avg_annual_income_3y: Money | None = None
    financial_assets: Money
    aum: Money
    investment_experience_years: float = Field(ge=0, le=100)
    risk_assessment: RiskAssessment
    objectives: Objectives
    holdings: list[Holding] = Field(default_factory=list, max_length=500)
    trades: list[Trade] = Field(default_factory=list, max_length=5000)
    notes: str = Field(default="", max_length=10_000)
    contact: Contact = Field(default_factory=Contact)

    @field_validator("birth_year")
    @classmethod
    def _adult(cls, year: int, info: ValidationInfo) -> int:
        if not _received(info):
            return year
        age = date.today().year - year
        if age < 0:
            raise ValueError(f"{year} is in the future")
        if age < ADULT_AGE:
            raise ValueError(f"the client would be {age} this year, not an adult ({ADULT_AGE}+)")
        if age > MAX_AGE:
            raise ValueError(f"the client would be {age} this year, over {MAX_AGE}")
        return year

    @model_validator(mode="after")
    def _holdings_within_aum(self) -> ClientInput:
        held = sum(h.market_value for h in self.holdings)
        if held > self.aum * (1 + 1e-9) + 0.01:
            raise ValueError(f"holdings total {held:,.2f} exceeds aum {self.aum:,.2f}")
        return self
