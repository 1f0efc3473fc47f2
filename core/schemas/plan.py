"""The plan contract (DESIGN §3): holdings, figures, trades, how it was built, and its hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.schemas.request import RequestShaping
from core.schemas.special_care import SpecialCareOffer


class PlanHolding(BaseModel):
    """One target holding: its weight, and the amount in CNY a client can actually buy."""

    product_code: str
    weight: float = Field(ge=0, le=1)
    risk_rating: str
    asset_class: str
    amount: float = Field(default=0.0, ge=0)  # CNY, rounded as `rounding` says
    rounding: Literal["lots", "hundreds"] = "hundreds"
    units: int | None = Field(default=None, ge=0)  # exchange units, in lots of 100
    price: float | None = Field(default=None, gt=0)  # the last stored close the units are at


class Trade(BaseModel):
    """One order from today's holdings to the plan: in CNY, and in whole lots where the holding
    is bought in lots (units at price make the amount)."""

    product_code: str
    side: Literal["buy", "sell"]
    amount: float = Field(gt=0)
    units: int | None = Field(default=None, gt=0)
    price: float | None = Field(default=None, gt=0)


class Doubled(BaseModel):
    """Two or more products on one tracked index in one plan, and why nothing else would do:
    the index's share is above what one product may hold (`product_cap`); no plan within the
    limits exists with one of them alone (`no_single_plan`: minimum positions and investments,
    the product limit); or the plan is the last-resort spread over the money-market products
    (`reserve_only`)."""

    tracks: str
    product_codes: list[str]
    share: float
    cap: float  # the most the first of them may hold alone
    reason: Literal["product_cap", "no_single_plan", "reserve_only"]


class ShelfChoice(BaseModel):
    """How the plan chose among look-alikes: the house-product policy in force, and for each
    tracked index with more than one candidate, the candidates in the order they were ranked
    (the first is held; the others only if a cap forced it, see Plan.doubled)."""

    house_products: Literal["preferred", "neutral", "excluded"] = "neutral"
    ranked: dict[str, list[str]] = Field(default_factory=dict)


class Baseline(BaseModel):
    method: Literal["1/N"] = "1/N"
    products: int
    expected_return: float
    expected_volatility: float


class Fallback(BaseModel):
    reason: str
    method: Literal["min_volatility", "reserve_only"]


class Constraint(BaseModel):
    """A limit the compliance agent asks the next allocation to respect: leave a product out,
    cap its weight, hold at least a reserve share, or aim at most at a volatility."""

    kind: Literal["exclude", "cap", "min_reserve", "max_volatility"]
    product_code: str | None = None
    value: float | None = None
    rule_id: str


# What a client's capacity to bear risk is scored on (README "Allocation").
CapacityFactor = Literal["horizon", "age", "liquidity", "income", "elsewhere"]
# What may lower a target below where need and capacity place it in the band.
Lowering = Literal["drawdown", "preservation", "constraint"]


class RiskTarget(BaseModel):
    """How the plan's volatility target was set (agents/risk_target.py): the level's band,
    where the goal and the client's capacity place the plan in it, and what lowered it."""

    band: tuple[float, float]  # the level's (floor, ceiling)
    need: tuple[float, float]  # the goal's range of positions in the band
    capacity: float  # the weighted mean of the scores, in [0, 1]
    scores: dict[CapacityFactor, float]
    position: float  # where in the band: 0 the floor, 1 the ceiling
    placed: float  # the volatility at that position
    lowered_by: list[Lowering] = Field(default_factory=list)
    target: float  # the volatility aimed at: `placed`, or lower
    # The most volatile plan the shelf and the caps allow (the optimiser's max-return portfolio)
    # when it is below the level's ceiling: the client is placed between the floor and it.
    reach: float | None = None
    # The shelf and the caps stop below the level's ceiling (`reach` is set): the plan says so.
    shelf_limited: bool = False


class Plan(BaseModel):
    """The plan contract of DESIGN §3, plus how it was built."""

    holdings: list[PlanHolding]
    expected_return: float
    expected_volatility: float
    baseline: Baseline
    trades: list[Trade]
    rationale: str
    plan_hash: str = ""
    source: Literal["allocation", "advisor"] = "allocation"
    method: str
    target_volatility: float
    feasible_volatility: tuple[float, float]
    fallback: Fallback | None = None
    constraints: list[Constraint] = Field(default_factory=list)
    cma_version: str
    request: RequestShaping | None = None  # what the client's request changed, if they made one
    risk_target: RiskTarget | None = None  # how the target volatility was set
    shelf: ShelfChoice = Field(default_factory=ShelfChoice)
    doubled: list[Doubled] = Field(default_factory=list)
    # The R4/R5 sleeve offered beside a plan capped at R3 (special care, CN-MIS-07 procedure).
    offer: SpecialCareOffer | None = None

    def weights(self) -> dict[str, float]:
        return {h.product_code: h.weight for h in self.holdings}


def plan_hash(plan: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a plan, without its own hash."""
    body = {k: v for k, v in plan.items() if k != "plan_hash"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def seal(plan: Plan) -> Plan:
    """The plan with its plan_hash filled in."""
    return plan.model_copy(update={"plan_hash": plan_hash(plan.model_dump(mode="json"))})
