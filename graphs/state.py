"""Graph state, the run-scoped dependencies, and the advisor's resume value."""

from __future__ import annotations

import operator
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.engine import Engine

from core.schemas.vocabulary import DecisionAction, RunStatus, Tier
from core.settings import Settings
from tools.compliance.engine import Evaluators, RuleSet
from tools.llm.port import LanguageModel
from tools.market.market_data import MarketData

NODES = (
    "profile_client",
    "research_products",
    "allocate_portfolio",
    "check_compliance",
    "advisor_review",
    "deliver_plan",
    "block_plan",
    "close_rejected",
)


class AdvisoryState(TypedDict, total=False):
    """What the graph checkpoints: JSON-ready dicts, no contact data."""

    run_id: str
    client: dict[str, Any]
    request: str | None
    as_of: str
    tier: Tier
    profile: dict[str, Any]
    research: dict[str, Any]
    plan: dict[str, Any]
    compliance: dict[str, Any]
    revisions: int
    constraints: list[dict[str, Any]]
    review_round: int
    decision: dict[str, Any] | None
    # The special-care record of a run made by accepting an offer (core/schemas/special_care.py)
    special_care: dict[str, Any] | None
    status: RunStatus
    trajectory: Annotated[list[str], operator.add]


@dataclass
class Deps:
    """Run-scoped dependencies, passed as LangGraph's runtime context; never checkpointed."""

    settings: Settings
    market: MarketData
    rules: RuleSet
    evaluators: Evaluators
    model: LanguageModel
    engine: Engine
    fallback_model: LanguageModel


# Letters that render as nothing: Hangul fillers and the braille blank.
_BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def visible(text: str) -> bool:
    """True if the text shows something: not only spaces, controls, zero-width characters,
    lone combining marks or blank letters."""
    return any(unicodedata.category(ch)[0] not in "ZCM" and ch not in _BLANK_LETTERS for ch in text)


class AdvisorDecision(BaseModel):
    """The resume value of advisor_review; validated before it can change anything."""

    model_config = ConfigDict(extra="forbid")
    approval_id: str
    action: DecisionAction
    plan_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    advisor: str = Field(min_length=1, max_length=64)
    comment: str | None = Field(default=None, max_length=2000)
    weights: dict[str, float] | None = None
    decided_on: date | None = None  # the decision date, which staleness is judged on
    # For a client with no advisor: the on-duty advisor who claimed the review (the service
    # sets it from the review, never the caller).
    claimed_by: str | None = Field(default=None, max_length=64)

    @field_validator("weights")
    @classmethod
    def _weights_valid(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return None
        if not value or any(not (0 <= w <= 1) for w in value.values()):
            raise ValueError("weights must be between 0 and 1")
        if abs(sum(value.values()) - 1) > 1e-6:
            raise ValueError(f"weights must sum to 1, got {sum(value.values()):.6f}")
        return {code: w for code, w in value.items() if w > 0}

    @model_validator(mode="after")
    def _action_has_what_it_needs(self) -> AdvisorDecision:
        if self.action == "revise" and not self.weights:
            raise ValueError("a revise decision needs weights")
        if self.action == "reject" and not visible(self.comment or ""):
            raise ValueError("a reject decision needs a reason in comment (visible text)")
        return self
