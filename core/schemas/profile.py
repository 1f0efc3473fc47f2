"""The client profile contract: what the profiling agent computes and every later step reads."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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


class EducationTopic(BaseModel):
    zh: str
    en: str


class BehaviourFlag(BaseModel):
    """A trading pattern worth an investor-education conversation."""

    flag: Flag
    evidence: str
    topics: list[EducationTopic]


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
