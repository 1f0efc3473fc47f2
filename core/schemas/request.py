"""The request contract: what a client asked for in their own words, as the system understood it.

A run's `request` is free text (zh-CN or en). `RequestIntent` is what the profiling step read
from it: the products and themes named, what the client wants done with each, any cash need or
horizon, and the parts that were not understood. The rules route on it (CN-MIS-05/06, TW-REQ-01)
and the allocation shapes the plan with it; the letter answers it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Direction = Literal["more", "less", "buy", "sell", "avoid"]
TargetKind = Literal["product", "theme"]
Reader = Literal["lexicon", "model"]
RiskWish = Literal["lower", "higher"]
# What became of one wish: shaped the plan, could not, or was routed by a rule.
Route = Literal[
    "shaped", "above_level", "lowest_category", "no_access", "horizon", "not_offered", "not_planned"
]
UP: frozenset[Direction] = frozenset({"more", "buy"})
DOWN: frozenset[Direction] = frozenset({"less", "sell", "avoid"})
PHRASE_CHARS = 120
MAX_WISHES, MAX_NEEDS, MAX_DOUBTS, MAX_QUESTIONS = 40, 10, 20, 5
MAX_AMOUNT = 1e13  # CNY
Done = Literal["done", "partly", "not_done"]
# Why a wish was not (fully) done. The four limits a plan is built under, each named when
# relaxing it alone would have let the wish through in full: a single product's cap
# (`product_cap`), an asset class's cap for the level (`class_cap`), the liquidity reserve
# (`reserve`) and the volatility the plan aims under (`volatility`); `limits` when no one of
# them alone would. The rest: `already` (the plan did it anyway), `unconfirmed` (a person
# confirms it first), `minimum` (a product's minimum investment) and `not_eligible` (the
# level's rating cap, access or lock-up: the rules route it).
Reason = Literal[
    "already", "unconfirmed", "minimum", "not_eligible",
    "product_cap", "class_cap", "reserve", "volatility", "limits",
]  # fmt: skip


class Wish(BaseModel):
    """One thing the client asked for: a direction on a shelf product or a theme."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    direction: Direction
    kind: TargetKind
    target: str = Field(min_length=1, max_length=64)  # a shelf code, or a theme id
    share: float | None = Field(default=None, gt=0, le=1)  # of the portfolio, from 一半 or 30%
    amount: float | None = Field(default=None, gt=0, le=MAX_AMOUNT)  # CNY, from 10万 or 5k yuan
    phrase: str = Field(default="", max_length=PHRASE_CHARS)  # the masked words it came from
    term: str = Field(default="", max_length=PHRASE_CHARS)  # the words that named the target
    source: Reader = "lexicon"
    # False when read from words that also hold a doubt, or read by the model alone: it is
    # routed (an unsure wish above the level still escalates) but shapes no plan until a
    # person confirms it.
    sure: bool = True

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.direction, self.kind, self.target)

    @property
    def up(self) -> bool:
        return self.direction in UP


class Question(BaseModel):
    """A question about one product or theme on the shelf (纳指ETF适合我吗, "is the Nasdaq ETF a
    good idea for me?"): answered in the letter from the shelf and the rules (what it is and
    tracks, its risk level against the client's, whether the plan holds it and why, fees and
    liquidity), never with a forecast. It is not a wish: it shapes no plan. A question about
    anything else, or about the client's situation beyond the record, stays a doubt."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: TargetKind
    target: str = Field(min_length=1, max_length=64)  # a shelf code, or a theme id
    phrase: str = Field(default="", max_length=PHRASE_CHARS)  # the masked words it came from
    term: str = Field(default="", max_length=PHRASE_CHARS)  # the words that named the target

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.target)


class CashNeed(BaseModel):
    """Money the client says they will need: becomes part of the liquidity reserve."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    amount: float | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    within_months: float | None = Field(default=None, gt=0, le=600)
    phrase: str = Field(default="", max_length=PHRASE_CHARS)
    source: Reader = "lexicon"


class RequestIntent(BaseModel):
    """The client's request as understood; `not_understood` holds what was not (masked)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    wishes: list[Wish] = Field(default_factory=list, max_length=MAX_WISHES)
    cash_needs: list[CashNeed] = Field(default_factory=list, max_length=MAX_NEEDS)
    horizon_years: float | None = Field(default=None, gt=0, le=50)
    risk: RiskWish | None = None  # 稳一点 / "safer" → lower; 收益高一点 / "higher returns" → higher
    not_understood: list[str] = Field(default_factory=list, max_length=MAX_DOUBTS)
    questions: list[Question] = Field(default_factory=list, max_length=MAX_QUESTIONS)
    readers: list[Reader] = Field(default_factory=list)
    lexicon: str = ""  # the version of the lexicon that read it (request_lexicon.yaml)

    @property
    def understood(self) -> bool:
        return not self.not_understood

    @property
    def empty(self) -> bool:
        """Nothing to act on (a greeting, contact details); doubts are not counted here."""
        return not (self.wishes or self.cash_needs or self.horizon_years or self.risk)

    def products(self) -> list[str]:
        return sorted({w.target for w in self.wishes if w.kind == "product"})


class WishRoute(BaseModel):
    """The rules' reading of one wish: which products it means and where it went."""

    model_config = ConfigDict(extra="forbid")
    wish: Wish
    route: Route
    products: list[str] = Field(default_factory=list)  # the shelf products the wish means
    above: list[str] = Field(default_factory=list)  # those above the client's level


class WishOutcome(BaseModel):
    """What the allocation did with one suitable wish, measured on the plan (numbers by code)."""

    model_config = ConfigDict(extra="forbid")
    wish: Wish
    done: Done
    before: float | None = None  # the share without the request
    after: float | None = None  # the share in this plan
    reason: Reason | None = None  # why not (fully) done: the letter's wording looks it up

    @property
    def against(self) -> float:
        """How far the plan moved the wish's share the other way from what was asked (more of
        it asked and it fell, or less of it and it rose); 0 or less when it did not."""
        if self.before is None or self.after is None:
            return 0.0
        moved = self.after - self.before
        return -moved if self.wish.up else moved


class RequestShaping(BaseModel):
    """How a request shaped one plan: each suitable wish's outcome and the volatility it ran at."""

    model_config = ConfigDict(extra="forbid")
    wishes: list[WishOutcome] = Field(default_factory=list)
    volatility_before: float  # the plan's volatility without the request
    volatility_after: float
    risk: Done | None = None  # the answer to a `risk` wish


def conflicts(wishes: list[Wish]) -> list[str]:
    """Targets asked for both up and down (多配债券，少配债券): for a person to settle."""
    up = {(w.kind, w.target) for w in wishes if w.up}
    down = {(w.kind, w.target) for w in wishes if not w.up}
    return [f"{target}: asked for more and for less" for _, target in sorted(up & down)]


def merge(lexicon: RequestIntent, model: RequestIntent | None) -> RequestIntent:
    """The model may only add: every lexicon detection stays, and so does every doubt."""
    if model is None:
        return lexicon
    known = {w.key for w in lexicon.wishes}
    added = [w for w in model.wishes if w.key not in known]
    figures = {(n.amount, n.within_months) for n in lexicon.cash_needs}
    needs = [n for n in model.cash_needs if (n.amount, n.within_months) not in figures]
    wishes = [*lexicon.wishes, *added]
    horizons = [h for h in (lexicon.horizon_years, model.horizon_years) if h]
    # What only the model read is shown and routed, and a person confirms it: the model can
    # raise a doubt, never settle one, so its additions never go out unseen.
    doubts = [
        *lexicon.not_understood,
        *model.not_understood,
        *(f"model read: {w.direction} {w.target}" for w in added),
        *(f"model read: cash need {n.amount} in {n.within_months} months" for n in needs),
        *(
            [f"model read: horizon {model.horizon_years} years"]
            if model.horizon_years and model.horizon_years != lexicon.horizon_years
            else []
        ),
        *([f"model read: risk {model.risk}"] if model.risk and model.risk != lexicon.risk else []),
        *conflicts(wishes),
    ]
    return RequestIntent(
        wishes=wishes[:MAX_WISHES],
        cash_needs=[*lexicon.cash_needs, *needs][:MAX_NEEDS],
        horizon_years=min(horizons) if horizons else None,
        # Only the lexicon's risk wish shapes a plan; the model's is a doubt (above).
        risk=lexicon.risk,
        not_understood=list(dict.fromkeys(d[:PHRASE_CHARS] for d in doubts))[:MAX_DOUBTS],
        readers=list(dict.fromkeys([*lexicon.readers, *model.readers])),
        questions=lexicon.questions,  # only the lexicon's: an answer is built from facts
        lexicon=lexicon.lexicon,
    )
