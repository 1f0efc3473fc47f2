"""The client letter contract (issue 27): a document in sections, not a text blob.

Prose comes from the model (the opening and the reasons); every table, figure, lesson, note and
required line comes from code. `render_text` (tools/letter/text.py) gives the exact text a
client receives: the gate checks it and the delivered hash covers it. The HTML and PDF render
the same sections, so they show what the text says and nothing else.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.schemas.vocabulary import Locale

Rounding = Literal["lots", "hundreds"]


class HoldingLine(BaseModel):
    """One holding of the plan, as the client reads it: what, how risky, what share, how much."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    name: str
    risk_rating: str
    weight: float = Field(ge=0, le=1)
    amount: float = Field(ge=0)  # CNY, rounded to what can be bought (see `rounding`)
    rounding: Rounding = "hundreds"
    units: int | None = Field(default=None, ge=0)  # exchange units, in lots of 100
    price: float | None = Field(default=None, gt=0)  # the last stored close the units are at
    house_product: bool = False


class TradeLine(BaseModel):
    """One step from today's holdings to the plan: sell or buy, in CNY."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    side: Literal["buy", "sell"]
    code: str
    name: str
    amount: float = Field(gt=0)


class Lesson(BaseModel):
    """Investor education for one behaviour flag the client has: 2-4 sentences that cite the
    client's own evidence, and the published material it draws on."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    flag: str
    title: str
    body: str
    source: str


class NoteLine(BaseModel):
    """A research note about something the plan holds: by title and publisher, never an id."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str
    publisher: str
    as_of: date
    summary: str


class AnswerLine(BaseModel):
    """The answer to one question the client asked about a product or theme on the shelf, from
    facts only (tools/letter/answers.py): what it is and tracks, its risk level against the
    client's, whether this plan holds it and why or why not, fees and liquidity. No forecast,
    no recommendation beyond the plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    question: str  # the client's words (masked), as the letter quotes them
    subject: str  # the product's or theme's name in the client's language
    lines: list[str] = Field(min_length=1)


class OfferLine(BaseModel):
    """One R4/R5 product of a special-care offer, with its particular risk points."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    name: str
    risk_rating: str
    weight: float = Field(gt=0, le=1)  # in the plan with the sleeve
    amount: float = Field(ge=0)  # CNY
    risk_points: list[str] = Field(min_length=1)


class OfferSection(BaseModel):
    """The special-care offer (CN-MIS-07 procedure): the higher-risk part offered, not imposed,
    with both plans' figures, each product's risk points, the cooling-off and how to accept."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    products: list[OfferLine] = Field(min_length=1)
    core_return: float
    core_volatility: float
    expected_return: float  # the plan with the sleeve
    expected_volatility: float
    cooling_off_hours: int = Field(ge=0)
    lines: list[str] = Field(min_length=1)  # what the offer means, the cooling-off, how to accept


class Signature(BaseModel):
    """The advisor who signed the plan off, as a person: name, registration number, contact."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    registration: str
    contact: str | None = None
    on: date


class Letter(BaseModel):
    """The whole letter, section by section, in one language: the client's."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    locale: Locale
    greeting: str
    opening: str
    holdings: list[HoldingLine]
    trades: list[TradeLine] = Field(default_factory=list)
    rationale: str
    answer: list[str] = Field(default_factory=list)  # the reply to the client's own request
    answers: list[AnswerLine] = Field(default_factory=list)  # to the client's shelf questions
    offer: OfferSection | None = None  # the special-care offer, for a long-tail C4/C5 client
    education: list[Lesson] = Field(default_factory=list)
    research: list[NoteLine] = Field(default_factory=list)
    disclosures: list[str] = Field(default_factory=list)
    signature: Signature | None = None
