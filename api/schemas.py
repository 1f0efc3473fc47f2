"""Public request and response schemas of the HTTP API (DESIGN §5.2)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
)

from core.schemas.client import ClientId, ClientInput, Contact
from core.schemas.letter import Letter
from core.schemas.request import RequestIntent, WishRoute
from core.schemas.special_care import SpecialCareRecord
from core.schemas.vocabulary import (
    BatchItemStatus,
    BatchStatus,
    DecisionAction,
    Locale,
    RiskLevel,
    RiskRating,
    RunStatus,
    Tier,
    Verdict,
)
from core.tables import REASON_LENGTH
from tools.market.assumptions import AssetClassId
from tools.market.shelf import Access, Category, Fees

T = TypeVar("T")
ApprovalStatus = Literal["pending", "approved", "rejected", "revised"]
EvalStatus = Literal["queued", "running", "done", "failed"]
ISO = "ISO 8601 time, as stored"


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: str = Field(min_length=1, max_length=64)
    request: str | None = Field(default=None, max_length=2000)
    locale: Locale | None = None


class BatchFilter(BaseModel):
    """Which stored clients: every condition given must hold."""

    model_config = ConfigDict(extra="forbid")
    tier: Tier | None = None
    advisor_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$"
    )
    risk_level: RiskLevel | None = None


def _day_text(value: object) -> object:
    """Only YYYY-MM-DD text is a day here: pydantic alone would read 0 or "0" as 1970-01-01."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    raise ValueError("must be a date as YYYY-MM-DD text")


Day = Annotated[date, BeforeValidator(_day_text)]


class BatchCreate(BaseModel):
    """A run for each client named, or for each stored client the filter keeps (neither: every
    stored client; both, even an empty filter: 422, naming both)."""

    model_config = ConfigDict(extra="forbid")
    client_ids: list[ClientId] | None = Field(default=None, min_length=1, max_length=200_000)
    filter: BatchFilter | None = Field(
        default=None, description="not with client_ids, not even {} (422); null is no filter"
    )
    request: str | None = Field(default=None, max_length=2000)
    as_of: Day | None = Field(
        default=None,
        description="the valuation date (YYYY-MM-DD); today if absent; not after today, nor "
        "before the earliest price (422)",
    )

    @field_validator("filter")
    @classmethod
    def _not_beside_ids(cls, found: BatchFilter | None, info: ValidationInfo) -> BatchFilter | None:
        # An empty filter filters nothing, but beside ids it still says two things at once;
        # batches.Selection, which every caller meets, cannot tell {} from no filter.
        if found is not None and info.data.get("client_ids") is not None:
            raise ValueError(
                "client_ids and filter cannot be given together, not even an empty filter: "
                "name the clients, or filter the stored ones"
            )
        return found


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: DecisionAction
    plan_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    comment: str | None = Field(default=None, max_length=2000)
    weights: dict[str, float] | None = None


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class SpecialCareAccept(BaseModel):
    """A client's acceptance of a special-care offer, sent by the firm's channel for them."""

    model_config = ConfigDict(extra="forbid")
    acknowledgement: str = Field(
        min_length=1,
        max_length=2000,
        description="the client's own words accepting the offer's risks; stored masked, with"
        " the SHA-256 of the text exactly as sent",
    )


class CallbackDone(BaseModel):
    """A follow-up call made: how it went, and a note (stored masked)."""

    model_config = ConfigDict(extra="forbid")
    outcome: Literal["confirmed", "concerns", "unreachable"]
    note: str | None = Field(default=None, max_length=2000)


class EvalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: str = Field(pattern=r"^[a-z0-9_-]{1,64}$")
    repeat: int | None = Field(default=None, ge=1, le=20)


# Responses: every field is always sent (null when empty), and nothing undeclared is; the
# free-form records (plan, compliance report, profile, ...) are sent as stored.
PUBLIC = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class Page(BaseModel, Generic[T]):
    """One page of a list; `next` is the cursor of the page after it, null on the last."""

    model_config = PUBLIC
    items: list[T]
    next: str | None = None


class FeedbackPublic(BaseModel):
    """The client's rating of a delivered plan."""

    model_config = PUBLIC
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(description="masked")
    created_at: str = Field(description=ISO)


class DeliveryPublic(BaseModel):
    """The plan as delivered to the client."""

    model_config = PUBLIC
    plan_hash: str
    channel: str
    approved_by: str | None = Field(description="the advisor who approved it, if one did")
    text: str = Field(description="the exact text sent: the delivered audit event hashes it")
    document: Letter | None = Field(
        description="the letter `text` renders, section by section; its `signature` is the "
        "approving advisor's (display name, registration number, contact, decision date), "
        "null for a plan delivered without sign-off; null for a text with no sections"
    )
    delivered_at: str = Field(description=ISO)


class RequestReviewPublic(BaseModel):
    """The rules' reading of a request: the intent, each wish's route, the warnings."""

    model_config = ConfigDict(extra="forbid")
    intent: RequestIntent
    routes: list[WishRoute] = Field(
        description="each wish: shaped, above_level (CN-MIS-06), lowest_category (CN-MIS-05), "
        "no_access, horizon or not_offered"
    )
    warnings: list[dict[str, str]] = Field(
        description="the unsuitability warning (不适当警示) with the CN-MIS-06 steps, per wish "
        "above the client's level: rule_id, zh-CN and en"
    )


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(description="the client's words, masked")
    review: RequestReviewPublic | None


class ApprovalPublic(BaseModel):
    """One advisor review round of a run's plan, and its decision once made."""

    model_config = PUBLIC
    id: str
    run_id: str
    client_id: str
    advisor_id: str | None
    status: ApprovalStatus
    plan_hash: str = Field(description="what a decision must quote (SHA-256 of the plan)")
    plan: dict[str, Any] = Field(description="the plan under review (core.schemas.plan.Plan)")
    findings: list[dict[str, Any]] = Field(description="the compliance findings")
    verdict: Verdict
    request: ApprovalRequest | None = Field(
        description="the client's own request and how the rules read it; null without one"
    )
    action: DecisionAction | None
    decided_by: str | None
    claimed_by: str | None = Field(
        description="the on-duty advisor who claimed the review from the duty pool (a client "
        "with no advisor); null for a review the client's own advisor decides"
    )
    claimed_at: str | None = Field(description=ISO)
    comment: str | None = Field(description="the advisor's comment, masked")
    created_at: str = Field(description=ISO)
    decided_at: str | None = Field(description=ISO)


class ApprovalQueueItem(ApprovalPublic):
    """A pending approval in the review queue."""

    client_changes: list[str] = Field(
        description="why the plan cannot be approved as it stands (the client's record changed "
        "since it was drafted, or the assessment expired); empty when it can"
    )


class PoolItem(ApprovalQueueItem):
    """A review in the duty pool (值班投顾): its client has no advisor, nobody has claimed it."""

    overdue: bool = Field(description="waiting longer than TIERWISE_REVIEW_TARGET_HOURS")


class PoolPage(BaseModel):
    """A page of the duty pool, oldest first, with what supervisors watch: how many wait
    unclaimed, how many past the review-time target, and who is on duty to claim them."""

    model_config = PUBLIC
    items: list[PoolItem]
    next: str | None = None
    total: int = Field(description="unclaimed reviews in the pool")
    overdue: int = Field(description="of them, waiting longer than the review-time target")
    target_hours: float = Field(description="the review-time target (TIERWISE_REVIEW_TARGET_HOURS)")
    on_duty: list[str] = Field(description="the advisors on duty now, by login id")


class RunPublic(BaseModel):
    """A run: its status, tier, trajectory, each node's record, and its review and delivery."""

    model_config = PUBLIC
    id: str
    client_id: str
    status: RunStatus
    tier: Tier | None
    request: str | None = Field(description="the client's own request, as stored (masked)")
    intent: RequestIntent | None = Field(
        description="the request as understood (core.schemas.request.RequestIntent), once the"
        " profile is built; its routing and warnings are in compliance.request"
    )
    trajectory: list[str] = Field(description="the graph nodes that have run, in order")
    profile: dict[str, Any] | None = Field(description="the client profile, once built")
    research: dict[str, Any] | None = Field(description="the research brief, once written")
    plan: dict[str, Any] | None = Field(description="the plan (core.schemas.plan.Plan)")
    compliance: dict[str, Any] | None = Field(description="the compliance report")
    approval: ApprovalPublic | None = Field(description="the latest review round")
    delivery: DeliveryPublic | None
    feedback: list[FeedbackPublic]
    parent_run_id: str | None = Field(
        description="the run whose letter offered the special-care sleeve this run delivers"
    )
    special_care: SpecialCareRecord | None = Field(
        description="the procedure's record (CN-MIS-07) for a run made by accepting an offer"
    )
    error: str | None
    model_calls: list[dict[str, Any]] = Field(description="every model call, in order")
    model_usage: dict[str, Any] = Field(
        description="totals: calls, tokens_in, tokens_out, latency_ms, cost, fallbacks, models"
    )
    created_at: str = Field(description=ISO)
    updated_at: str = Field(description=ISO)


class RunEvent(BaseModel):
    """The data of one server-sent event of a run; the event's own fields follow these."""

    model_config = ConfigDict(extra="allow")
    seq: int = Field(description="the event's place in the run's audit trail (also its id)")
    kind: str = Field(description="the audit event's kind")
    at: str = Field(description=ISO)


class AuditEventPublic(BaseModel):
    """One link of a run's audit chain."""

    model_config = PUBLIC
    seq: int
    kind: str
    actor: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    created_at: str = Field(description=ISO)


class AuditTrail(BaseModel):
    """A run's audit trail and whether its hash chain verifies."""

    model_config = PUBLIC
    run_id: str
    verified: bool
    broken_at: int | None = Field(description="the seq where the chain breaks, if one event")
    reason: str | None = Field(description="why it does not verify")
    length: int | None = Field(description="the length the run's head records")
    events: list[AuditEventPublic]


class MaskedContact(Contact):
    """The client's contact data, every field masked: a mask may be longer than what it hides
    (a short email's local part is padded), so the input's length limits do not apply."""

    phone: str | None = Field(default=None, description="masked")
    id_number: str | None = Field(default=None, description="masked")
    email: str | None = Field(default=None, description="masked")


class ClientPublic(ClientInput):
    """A client as every response shows it: contact masked, and so is anything sensitive in
    name or notes."""

    model_config = PUBLIC
    name: str
    notes: str
    contact: MaskedContact


class ProductPublic(BaseModel):
    """A product on the shelf."""

    model_config = PUBLIC
    code: str
    name_zh: str
    name_en: str
    category: Category
    asset_class: AssetClassId
    risk_rating: RiskRating
    redemption_days: int
    lockup_days: int
    daily_liquid: bool = Field(description="cash within a day and no lock-up")
    min_investment: float
    fees: Fees
    access: Access


class EvalRunPublic(BaseModel):
    """An eval suite started through the API; its result once done."""

    model_config = PUBLIC
    id: str
    suite: str
    repeat: int | None
    status: EvalStatus
    requested_by: str
    error: str | None
    summary: dict[str, Any] | None
    gate: dict[str, Any] | None
    provenance: dict[str, Any] | None
    scenarios: list[dict[str, Any]] | None
    created_at: str = Field(description=ISO)
    finished_at: str | None = Field(description=ISO)


class Health(BaseModel):
    model_config = PUBLIC
    status: Literal["ok"]
    database: Literal["ok"]


class ErrorBody(BaseModel):
    """Every error: the error class and what happened, for a person."""

    error: str
    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in [
        (401, "No valid bearer token"),
        (403, "The role may not do this"),
        (404, "Unknown id, or another advisor's client"),
        (409, "Conflict: already decided, stale plan_hash, reused Idempotency-Key, …"),
        (413, "Body over 1 MiB"),
        (422, "Invalid input; every bad field is named"),
    ]
}


class PrincipalPublic(BaseModel):
    """A principal as the API shows it: never its token. An advisor signs letters as a person
    by display name, registration number and contact; the login id never reaches a client."""

    model_config = PUBLIC
    name: str = Field(description="the login id (for an advisor, the advisor_id of their clients)")
    role: str
    display_name: str | None = Field(description="the name a client reads, e.g. 李明")
    registration: str | None = Field(
        description="执业证书编号: a letter and 13 digits, e.g. S0980120010001"
    )
    contact: str | None = Field(
        description="a line the client may use, the firm's own: the branch and its office line, "
        "e.g. 上海陆家嘴营业部 021-6888 0001"
    )
    on_duty: bool = Field(
        description="an advisor on duty (值班投顾) claims reviews whose client has no advisor"
    )
    created_at: str = Field(description=ISO)


class DutyUpdate(BaseModel):
    """An advisor going on duty (值班投顾) or off it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"on_duty": True}]})
    on_duty: bool = Field(strict=True)


class PrincipalUpdate(BaseModel):
    """The fields to change; a field left out stays, a null clears it. Checked by the service:
    a bad value is refused (422) naming the field."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "display_name": "李明",
                    "registration": "S0980120010001",
                    "contact": "上海陆家嘴营业部 021-6888 0001",
                }
            ]
        },
    )
    display_name: str | None = Field(default=None, max_length=200)
    registration: str | None = Field(
        default=None,
        max_length=200,
        description="执业证书编号: a letter and 13 digits (blanks dropped, letter upper-cased)",
    )
    contact: str | None = Field(
        default=None,
        max_length=200,
        description="one line: the branch and its office line; a mobile, e-mail address or any "
        "number masking would hide is refused, since the client's letter could not carry it",
    )


class BatchPublic(BaseModel):
    """A batch and its progress: `counts` has a key per status present and sums to `total`."""

    model_config = PUBLIC
    id: str
    status: BatchStatus
    total: int
    counts: dict[BatchItemStatus, int]
    request: str | None
    as_of: str
    selection: dict[str, Any] | None
    requested_by: str
    created_at: str = Field(description=ISO)
    finished_at: str | None = Field(description=ISO)


class BatchItemPublic(BaseModel):
    """One client of a batch: its run once it has started, and why it failed if it did."""

    model_config = PUBLIC
    client_id: str
    run_id: str | None
    status: BatchItemStatus
    error: str | None


class PriceRow(BaseModel):
    """One closing price of a shelf product (the code with or without its exchange suffix)."""

    model_config = ConfigDict(extra="forbid")
    # As a file gives them: the day as YYYY-MM-DD text (not a number of seconds), and the
    # close as a JSON number (not text or a boolean); each is checked as a file's line is.
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2026-02-26"])
    code: str = Field(min_length=1, max_length=32)
    close: StrictFloat | StrictInt = Field(description="positive; adjusted close")


class PriceOverride(BaseModel):
    """Store what the sanity gate refuses (a daily move past TIERWISE_PRICES__MAX_DAILY_MOVE, a
    row far past the other products' prices), for a reason recorded with the import and on the
    audit trail."""

    model_config = ConfigDict(extra="forbid")
    # As written; the service also refuses one blank once invisible characters are left out,
    # or too long once personal data in it is masked (it is stored and audited masked).
    reason: str = Field(min_length=1, max_length=REASON_LENGTH, pattern=r"\S")


class PricesPut(BaseModel):
    """Prices from the firm's systems: every row checked (each bad one named by its number,
    counting from 1) before any is stored; a stored (code, date) is replaced."""

    model_config = ConfigDict(extra="forbid")
    rows: list[PriceRow] = Field(min_length=1, max_length=20_000)
    override: PriceOverride | None = None


class PricesStored(BaseModel):
    model_config = PUBLIC
    rows: int
    codes: list[str]
    from_: str = Field(alias="from")
    to: str
    changed: int = Field(description="prices new or different from those stored")
    replaced: int = Field(description="of those, stored closes changed: history restated")
    skipped: list[str] = Field(description="columns of a wide file not on the shelf")
    import_id: str = Field(description="GET /v1/prices/imports/{import_id}: what it changed")
    overridden: int = Field(description="lines the sanity gate refused that the override let in")


class OverridePublic(BaseModel):
    model_config = PUBLIC
    reason: str = Field(description="as given, personal data masked")
    needed: bool = Field(description="false when the sanity gate refused nothing to let in")
    overridden: int = Field(description="lines the sanity gate refused that the override let in")
    overridden_lines: list[str] = Field(description="the first 50 of them, each named")


class OutcomeChange(BaseModel):
    """The largest change of one figure of one stored outcome."""

    model_config = PUBLIC
    run_id: str
    figure: str = Field(description="return, volatility, max_drawdown, excess_vs_*, coverage")
    before: float
    after: float


class ImportOutcomes(BaseModel):
    """What the import changed in the stored outcomes, as they are measured again on its
    prices (credited to the latest import when several land before that)."""

    model_config = PUBLIC
    pending: int = Field(description="delivered plans not yet measured on its prices")
    changed: int = Field(description="stored outcomes whose figures changed")
    new_breaches: int = Field(description="plans measured in breach that were not before")
    largest_change: OutcomeChange | None


class PriceImportPublic(BaseModel):
    """A stored price import: who sent what, any override, and what it changed."""

    model_config = PUBLIC
    id: str
    actor: str
    at: str = Field(description=ISO)
    rows: int
    codes: list[str]
    from_: str = Field(alias="from")
    to: str
    changed: int
    replaced: int
    skipped: list[str]
    override: OverridePublic | None
    outcomes: ImportOutcomes


class MissingProduct(BaseModel):
    model_config = PUBLIC
    code: str
    weight: float = Field(description="its share of the portfolio, left out of the figures")


class PortfolioOutcome(BaseModel):
    """One portfolio bought on `from` and held: fractions, not percents. `volatility` is
    annualised when the outcome is, otherwise over the period itself."""

    model_config = PUBLIC
    return_: float | None = Field(alias="return", description="cumulative, buy and hold")
    annualised_return: float | None = Field(description="only for a period of a year or more")
    volatility: float | None
    max_drawdown: float | None = Field(description="largest fall from a peak, positive")
    coverage: float = Field(description="share of the weight with prices or the cash yield")
    priced: list[str]
    cash_yield: list[str] = Field(description="codes grown at the stated cash yield")
    missing: list[MissingProduct]


class OutcomeBaselines(BaseModel):
    model_config = PUBLIC
    holdings: PortfolioOutcome = Field(description="the client's holdings before the plan")
    equal_weight: PortfolioOutcome = Field(description="1/N over the products they could hold")


class OutcomeExcess(BaseModel):
    model_config = PUBLIC
    holdings: float | None
    equal_weight: float | None


class CashYield(BaseModel):
    model_config = PUBLIC
    rate: float
    basis: str
    codes: list[str]


class OutcomePublic(BaseModel):
    """What a delivered plan did from its run's as_of (DESIGN §5.5). Past results, which do
    not predict future ones (`disclosure`); `client_facing` is false under six months."""

    model_config = PUBLIC
    run_id: str
    from_: str = Field(alias="from")
    to: str
    months: int
    coverage: float
    annualised: bool
    client_facing: bool
    plan: PortfolioOutcome
    baselines: OutcomeBaselines
    excess: OutcomeExcess
    tolerance: float = Field(description="the client's max_drawdown_tolerance_pct / 100")
    drawdown_breach: bool
    cash_yield: CashYield | None
    disclosure: str


class OutcomeGroup(BaseModel):
    """Every plan delivered in the period, per advisor (the client's advisor when the plan was
    made) or tier, whatever became of the client since."""

    model_config = PUBLIC
    key: str
    plans: int
    measured: int
    median_excess_vs_holdings: float | None
    iqr_excess_vs_holdings: tuple[float, float] | None
    median_excess_vs_equal_weight: float | None
    iqr_excess_vs_equal_weight: tuple[float, float] | None
    median_return: float | None
    breaches: int
    breach_share: float | None = Field(description="of the measured plans")


class OutcomeSummary(BaseModel):
    model_config = PUBLIC
    group_by: Literal["advisor", "tier"]
    from_: str | None = Field(alias="from")
    to: str | None
    groups: list[OutcomeGroup]
    pending: int = Field(
        description="delivered plans not yet measured on the latest prices (measured in the "
        "background; until then counted on earlier prices, or not yet counted if new)"
    )
    disclosure: str


class BreachPublic(BaseModel):
    """A client's latest delivered plan that fell further than they accepted."""

    model_config = PUBLIC
    run_id: str
    client_id: str
    advisor_id: str | None = Field(description="the client's advisor now")
    planned_by: str | None = Field(description="the client's advisor when the plan was made")
    from_: str = Field(alias="from")
    to: str
    max_drawdown: float
    tolerance: float
    return_: float | None = Field(alias="return")
    volatility: float | None = Field(
        description="annualised over a year or more, else the period's"
    )
    coverage: float = Field(description="share of the plan's weight the figures cover")
    price_import: str | None = Field(
        description="the price import that made it a breach when the plan was measured again "
        "(null when its first measure found it)"
    )


class BreachList(BaseModel):
    """A page of the open breaches (newest plan first), with the past-performance disclosure."""

    model_config = PUBLIC
    items: list[BreachPublic]
    next: str | None = Field(default=None, description="the next page's cursor; null on the last")
    pending: int = Field(description="delivered plans not yet measured on the latest prices")
    disclosure: str


class CallbackPublic(BaseModel):
    """A follow-up call (回访) owed after a special-care acceptance."""

    model_config = PUBLIC
    id: int
    run_id: str = Field(description="the linked run that delivers the accepted plan")
    offer_run_id: str = Field(description="the run whose letter made the offer")
    client_id: str
    client_name: str = Field(description="masked where it holds contact data")
    advisor_id: str | None = Field(description="null: the duty pool's")
    offered: list[str] = Field(description="the R4/R5 products the client accepted")
    accepted_at: str = Field(description=ISO)
    status: Literal["open", "done"]
    outcome: Literal["confirmed", "concerns", "unreachable"] | None
    note: str | None = Field(description="masked")
    done_by: str | None
    created_at: str = Field(description=ISO)
    done_at: str | None = Field(description=ISO)
