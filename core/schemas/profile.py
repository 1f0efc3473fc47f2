"""The client profile contract: what the profiling agent computes and every later step reads."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.schemas.request import RequestIntent
from core.schemas.vocabulary import Goal, InvestorType, Locale, RiskLevel, Tier

Flag = Literal["overtrading", "chasing_rallies", "panic_selling", "concentration", "leverage"]


class LiquidityEvent(BaseModel):
    """A future cash need the notes mention."""

    model_config = ConfigDict(extra="ignore")
    purpose: Literal["house", "education", "medical", "retirement", "other"]
    within_years: float | None = Field(default=None, gt=0, le=50)
    amount: float | None = Field(default=None, ge=0)


class NoteFacts(BaseModel):
    """Facts a model may extract from free-text notes; nothing here can raise a risk level."""

    model_config = ConfigDict(extra="ignore")
    liquidity_events: list[LiquidityEvent] = Field(default_factory=list, max_length=10)
    wants_capital_preservation: bool = False
    other_facts: list[str] = Field(default_factory=list, max_length=10)


class OvertradingEvidence(BaseModel):
    """How often the client traded: trades in the recent window and the year's turnover."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    flag: Literal["overtrading"] = "overtrading"
    trades: int = Field(ge=0)  # trades in the last window_days
    window_days: int = Field(gt=0)
    trades_limit: int = Field(gt=0)  # the count in the window at which the flag fires
    turnover: float = Field(ge=0)  # traded amount over the year, as a multiple of AUM
    turnover_limit: float = Field(gt=0)  # the turnover at which the flag fires


class MoveEvidence(BaseModel):
    """Trades that followed a sharp move: buys after a rise (chasing_rallies) or sells after a
    fall (panic_selling), over the window, and the largest one's size."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    flag: Literal["chasing_rallies", "panic_selling"]
    trades: int = Field(ge=0)  # buys after the rise, or sells after the fall
    window_days: int = Field(gt=0)  # the period the trades were counted over
    move_days: int = Field(gt=0)  # the move was measured over this many days before each trade
    move: float = Field(gt=0)  # the size of the rise or fall, as a fraction (0.15 = 15%)
    trades_limit: int = Field(gt=0)  # the count at which the flag fires
    largest_share: float = Field(ge=0)  # the largest such trade, as a share of AUM
    share_limit: float = Field(gt=0)  # one trade this large fires the flag on its own


class ConcentratedPosition(BaseModel):
    """One holding above the concentration limit: its share of the client's assets here."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    product_code: str
    share: float = Field(gt=0)  # market value over AUM
    limit: float = Field(gt=0)  # 30% for a shelf product, 10% for one the firm does not grade


class ConcentrationEvidence(BaseModel):
    """Every holding above its limit, largest first."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    flag: Literal["concentration"] = "concentration"
    positions: list[ConcentratedPosition] = Field(min_length=1)

    @property
    def largest(self) -> ConcentratedPosition:
        return max(self.positions, key=lambda p: p.share)


class LeverageEvidence(BaseModel):
    """Margin buys and short sales over the window."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    flag: Literal["leverage"] = "leverage"
    trades: int = Field(gt=0)
    margin_buys: int = Field(ge=0)
    short_sells: int = Field(ge=0)
    window_days: int = Field(gt=0)


FlagEvidence = Annotated[
    OvertradingEvidence | MoveEvidence | ConcentrationEvidence | LeverageEvidence,
    Field(discriminator="flag"),
]


class BehaviourFlag(BaseModel):
    """A trading pattern worth an investor-education conversation: what the test measured, as
    numbers a lesson cites in either language, and an English summary for advisors' pages."""

    flag: Flag
    evidence: str
    # None only on profiles stored before issue 27, which no lesson is written from.
    measured: FlagEvidence | None = None

    @model_validator(mode="after")
    def _measured_is_this_flag(self) -> BehaviourFlag:
        if self.measured is not None and self.measured.flag != self.flag:
            raise ValueError(f"a {self.flag} flag carries {self.measured.flag} measurements")
        return self


class ClientProfile(BaseModel):
    """Everything the other agents need to know about the client, computed by code."""

    client_id: str
    locale: Locale
    advisor_id: str | None
    tier: Tier
    aum: float
    age: int
    risk_level: RiskLevel
    lowest_category: bool
    assessed_on: date
    assessment_age_months: int
    assessment_stale: bool
    investor_type_claimed: InvestorType
    professional: bool
    professional_basis: list[str]
    qualified_investor: bool
    goal: Goal
    max_drawdown_pct: float
    horizon_years: float
    max_lockup_days: int
    liquidity_reserve: float
    liquidity_reserve_share: float
    constraints: list[str]
    behaviour_flags: list[BehaviourFlag]
    facts: NoteFacts
    experience_years: float = 0.0
    income_3y: float = 0.0
    turnover_12m: float = 0.0
    avg_trades_per_quarter: float = 0.0
    financial_assets: float = 0.0
    inconsistencies: list[str] = Field(default_factory=list)
    sustainability_preference: str | None = None
    # The client's own request as understood, and the cash needs and horizon it stated.
    request_intent: RequestIntent | None = None
    request_events: list[LiquidityEvent] = Field(default_factory=list)

    @property
    def level_rank(self) -> int:
        return int(self.risk_level[1])
