"""The special-care contract (CN-MIS-07, 适当性办法 Art 20, issue 28).

A long-tail ordinary investor at C4/C5 is served by a dedicated procedure instead of a queue:
their plan is capped at R3 (the core plan, delivered as any clean long-tail plan), and the
R4/R5 part the optimiser would add is offered in the letter (`Plan.offer`) with its figures, each
product's particular risk points and the cooling-off. The client accepts explicitly after the
cooling-off; the acceptance is recorded (`SpecialCareRecord`) and a second, linked run delivers
the plan with the sleeve, re-checked by the gate on the day of acceptance. CN-MIS-07 passes on a
plan holding R4/R5 for an ordinary investor only when every step of that record is there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

HIGH_RISK_RANK = 4  # R4 and R5
# A linked plan's share of an offered product may differ from the offer's by the weights'
# rounding, never by more: the client accepted that share (the allocation caps it there).
WEIGHT_TOLERANCE = 1e-4


class SleeveHolding(BaseModel):
    """One R4/R5 product of the offer: its weight and amount in the plan with the sleeve."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    product_code: str
    risk_rating: str
    weight: float = Field(gt=0, le=1)
    amount: float = Field(ge=0)  # CNY


class SpecialCareOffer(BaseModel):
    """The R4/R5 sleeve offered beside a core plan capped at R3: offered, never held.

    `weights` is the whole plan the client would hold after accepting (core rebalanced plus the
    sleeve), with its expected return and volatility, so the letter can set both plans' figures
    side by side."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    holdings: list[SleeveHolding] = Field(min_length=1)
    weights: dict[str, float]
    expected_return: float
    expected_volatility: float = Field(ge=0)
    cooling_off_hours: int = Field(ge=0)

    def codes(self) -> list[str]:
        return sorted(h.product_code for h in self.holdings)


class SpecialCareRecord(BaseModel):
    """The procedure's steps as recorded when a client accepts an offer: what CN-MIS-07 reads
    on the linked run. `missing` names each step that is not there."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    offer_run_id: str = Field(min_length=1)
    offered: list[str]  # the product codes the delivered letter offered
    # each offered product's share of the plan, as the letter showed it: the most the linked
    # plan may hold of it (the client accepted that, not more)
    offered_weights: dict[str, float] = Field(default_factory=dict)
    offered_at: datetime  # when that letter was delivered
    accepted_at: datetime
    acknowledgement_hash: str = Field(default="", max_length=64)  # empty: not acknowledged
    cooling_off_hours: int = Field(ge=0)

    def missing(self, held_high_risk: Mapping[str, float]) -> list[str]:
        """The steps the record lacks for a plan holding these R4/R5 products (code: share of
        the plan); empty when the procedure is complete for them."""
        steps = []
        if not self.acknowledgement_hash:
            steps.append("the client's acknowledgement is not recorded")
        ends = self.offered_at + timedelta(hours=self.cooling_off_hours)
        if self.accepted_at < ends:
            steps.append(f"accepted before the cooling-off ended ({ends.isoformat()})")
        beyond = sorted(set(held_high_risk) - set(self.offered))
        if beyond:
            steps.append(f"not offered in the letter: {', '.join(beyond)}")
        for code, weight in sorted(held_high_risk.items()):
            offered = self.offered_weights.get(code)
            if code in self.offered and offered is None:
                steps.append(f"the share offered of {code} is not recorded")
            elif offered is not None and weight > offered + WEIGHT_TOLERANCE:
                steps.append(f"{code} at {weight:.2%}, above the {offered:.2%} offered")
        return steps
