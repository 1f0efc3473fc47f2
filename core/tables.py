"""SQLModel tables: principals, clients, runs, approvals, deliveries, feedback, audit trail,
workers, inbox sessions, batches with their items, prices, their imports and the outcomes of
delivered plans."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored time with its zone: SQLite hands datetimes back naive; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


class Principal(SQLModel, table=True):
    """Someone or something that may call the API; the token is stored only as a hash.

    `name` is the login id (adv-li), never shown to a client; an advisor signs letters as a
    person, by `display_name`, `registration` (执业证书编号) and `contact`
    (core/services/principals.py checks them)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    role: str = Field(max_length=16)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    display_name: str | None = Field(default=None, max_length=64)
    registration: str | None = Field(default=None, max_length=16)
    contact: str | None = Field(default=None, max_length=120)
    # An advisor on duty (值班投顾) may claim a review whose client has no advisor (issue 28).
    on_duty: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    created_at: datetime = Field(default_factory=utcnow)


class Client(SQLModel, table=True):
    """A client as last sent by the firm's systems (the ClientInput contract, as JSON)."""

    id: str = Field(primary_key=True, max_length=64)
    advisor_id: str | None = Field(default=None, index=True, max_length=64)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Run(SQLModel, table=True):
    """One advisory run; its id is the LangGraph thread id."""

    id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(index=True, max_length=64)
    advisor_id: str | None = Field(default=None, index=True, max_length=64)
    status: str = Field(index=True, max_length=24)
    tier: str | None = Field(default=None, max_length=16)
    locale: str = Field(max_length=8)
    request: str | None = Field(default=None, max_length=2000)
    as_of: str = Field(max_length=10)
    client_snapshot: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    trajectory: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    profile: dict[str, Any] | None = _json()
    research: dict[str, Any] | None = _json()
    plan: dict[str, Any] | None = _json()
    compliance: dict[str, Any] | None = _json()
    model_calls: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    error: str | None = Field(default=None, max_length=2000)
    idempotency_key: str | None = Field(default=None, unique=True, max_length=200)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = Field(default=None, index=True)
    # The process answerable for the run: the one that queued it, then the one holding its
    # lease. Once that process is known to be dead, another takes the run at once.
    worker: str | None = Field(default=None, index=True, max_length=96)
    checkpoints_pruned_at: datetime | None = None
    request_hash: str | None = Field(default=None, max_length=64)
    # A run made by accepting a special-care offer (CN-MIS-07 procedure) links to the run whose
    # letter made the offer, and carries the procedure's record (core/schemas/special_care.py).
    parent_run_id: str | None = Field(default=None, index=True, max_length=64)
    special_care: dict[str, Any] | None = _json()
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class Approval(SQLModel, table=True):
    """One advisor review round of a run; decided at most once."""

    # The inbox queue: an advisor's pending reviews in waiting order, paged on (created_at, id).
    __table_args__ = (Index("ix_approval_queue", "status", "advisor_id", "created_at", "id"),)
    id: str = Field(primary_key=True, max_length=96)
    run_id: str = Field(index=True, foreign_key="run.id", max_length=64)
    client_id: str = Field(index=True, max_length=64)
    advisor_id: str | None = Field(default=None, index=True, max_length=64)
    status: str = Field(default="pending", index=True, max_length=16)
    plan_hash: str = Field(max_length=64)
    plan: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    findings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    verdict: str = Field(max_length=16)
    # What the queue sorts by risk: the client's level and the plan's expected volatility when
    # the round opened (copied from the run's profile and the plan, which never change within it).
    risk_level: str = Field(default="", max_length=8)
    volatility: float = 0.0
    # The client's request (masked text), how it was read and routed, and the warnings.
    request: dict[str, Any] | None = _json()
    action: str | None = Field(default=None, max_length=16)
    decision: dict[str, Any] | None = _json()
    decided_by: str | None = Field(default=None, max_length=64)
    comment: str | None = Field(default=None, max_length=2000)
    # A review whose client has no advisor waits in the duty pool until an on-duty advisor
    # claims it (core/services/approvals.claim); the claimant then decides it.
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None


class Delivery(SQLModel, table=True):
    """A plan delivered to a client: at most one per run, enforced by the database."""

    __table_args__ = (UniqueConstraint("run_id", name="uq_delivery_run"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="run.id", max_length=64)
    plan_hash: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    approved_by: str | None = Field(default=None, max_length=64)
    text: str
    document: dict[str, Any] | None = _json()  # the Letter `text` renders, signed if signed off
    delivered_at: datetime = Field(default_factory=utcnow)


class Feedback(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, foreign_key="run.id", max_length=64)
    rating: int
    comment: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Append-only, per-run hash chain: each event stores the hash of the one before it."""

    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="uq_audit_seq"),
        UniqueConstraint("run_id", "key", name="uq_audit_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, max_length=64)
    seq: int
    key: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    actor: str = Field(max_length=64)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    created_at: str = Field(max_length=40)


class AuditHead(SQLModel, table=True):
    """A run's chain length and last hash, keyed, written with each event: truncation shows."""

    run_id: str = Field(primary_key=True, max_length=64)
    length: int
    head_hash: str = Field(max_length=64)
    mac: str = Field(max_length=64)


class EvalRun(SQLModel, table=True):
    """An eval suite started through the API, and its result once it has finished."""

    id: str = Field(primary_key=True, max_length=64)
    suite: str = Field(max_length=128)
    repeat: int | None = None
    status: str = Field(default="queued", max_length=16)
    requested_by: str = Field(max_length=64)
    result: dict[str, Any] | None = _json()
    error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class Worker(SQLModel, table=True):
    """A process that executes runs: it beats every lease/3 and says when it stops, so its runs
    are taken over as soon as it is known to be dead rather than when its leases run out."""

    id: str = Field(primary_key=True, max_length=96)
    host: str = Field(max_length=64)
    pid: int
    started_at: datetime = Field(default_factory=utcnow)
    seen_at: datetime = Field(default_factory=utcnow, index=True)
    stopped_at: datetime | None = None


class InboxSession(SQLModel, table=True):
    """A browser's signed-in inbox session. The cookie carries only a random id; the row, found
    by the id's hash, is what signs the browser in, and signing out ends it for every copy."""

    id_hash: str = Field(primary_key=True, max_length=64)
    principal: str = Field(index=True, max_length=64)
    token_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    ended_at: datetime | None = None


class Batch(SQLModel, table=True):
    """One push of runs to many clients (DESIGN §5.4); its progress is a query over its items
    and their runs, never the task engine's state."""

    id: str = Field(primary_key=True, max_length=64)
    status: str = Field(default="queued", index=True, max_length=16)
    total: int
    request: str | None = Field(default=None, max_length=2000)
    as_of: str = Field(max_length=10)
    selection: dict[str, Any] | None = _json()
    requested_by: str = Field(max_length=64)
    idempotency_key: str | None = Field(default=None, unique=True, max_length=200)
    request_hash: str | None = Field(default=None, max_length=64)
    # The process driving an embedded batch (no broker), renewed while it drives.
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class BatchItem(SQLModel, table=True):
    """One client of a batch: at most one per (batch, client), and at most one run, whose id is
    derived from the pair, so a retried or redelivered item finds the run it made before."""

    __table_args__ = (
        UniqueConstraint("batch_id", "client_id", name="uq_batch_item_client"),
        Index("ix_batch_item_open", "batch_id", "status", "id"),
        # Items still to publish, found without reading the (many) published ones.
        Index(
            "ix_batch_item_unpublished",
            "batch_id",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    batch_id: str = Field(foreign_key="batch.id", max_length=64)
    client_id: str = Field(max_length=64)
    run_id: str = Field(index=True, max_length=64)
    # pending (not started), started (its run exists), settled (its run ended or waits for an
    # advisor), cancelled (never started), failed (never got a run that could finish; see error)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    error: str | None = Field(default=None, max_length=2000)
    published_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class Price(SQLModel, table=True):
    """One closing price of a shelf product on one day (adjusted, as the firm's data gives it),
    the series the outcome of a delivered plan is measured on."""

    code: str = Field(primary_key=True, max_length=32)
    day: date = Field(primary_key=True)
    close: float
    imported_at: datetime = Field(default_factory=utcnow)


class PriceMark(SQLModel, table=True):
    """One row: bumped by every import that changes a price, so an outcome measured on other
    prices is known to be stale; and the lease of the one process measuring them again."""

    id: int = Field(default=1, primary_key=True)
    version: int = 0
    updated_at: datetime = Field(default_factory=utcnow)
    refresh_owner: str | None = Field(default=None, max_length=128)
    refresh_until: datetime | None = None


class Outcome(SQLModel, table=True):
    """What a delivered plan did from its as_of (DESIGN §5.5), measured on the prices of
    `prices_version`. One row per delivered run, kept whatever becomes of the client, so the
    aggregates count every plan delivered in a period (no survivorship bias)."""

    __table_args__ = (
        Index("ix_outcome_advisor_from", "advisor_id", "from_day"),
        Index("ix_outcome_breach", "breach", "client_id"),
    )
    run_id: str = Field(primary_key=True, foreign_key="run.id", max_length=64)
    client_id: str = Field(index=True, max_length=64)
    # The client's advisor when the plan was made: the plan's result is credited to them.
    advisor_id: str | None = Field(default=None, max_length=64)
    tier: str | None = Field(default=None, max_length=16)
    from_day: date = Field(index=True)
    to_day: date
    # When the plan was delivered: of two plans of a client, the later delivered is the latest.
    delivered_at: datetime
    coverage: float
    annualised: bool = False
    plan_return: float | None = None
    plan_volatility: float | None = None
    max_drawdown: float | None = None
    tolerance: float = 0.0  # the client's max_drawdown_tolerance_pct / 100
    excess_vs_holdings: float | None = None
    excess_vs_equal_weight: float | None = None
    breach: bool = False
    # The price import whose prices turned this plan's measure into a breach, when a measure
    # again on new prices found one where the last found none (README "Service effect").
    breach_import: str | None = Field(default=None, max_length=40)
    figures: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    prices_version: int
    computed_at: datetime = Field(default_factory=utcnow)


REASON_LENGTH = 500  # characters of an override's reason, as stored (masked)


class PriceImport(SQLModel, table=True):
    """One price import that was stored: who sent what, the sanity gate's refusals an override
    let through and why, and what it did to the stored outcomes once they were measured again
    on its prices (`version`, the price mark it made; None when it changed no price)."""

    id: str = Field(primary_key=True, max_length=40)
    actor: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    rows: int
    codes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    from_day: date
    to_day: date
    changed: int  # prices new or different from those stored
    replaced: int  # of those, stored closes it changed
    skipped: list[str] = Field(sa_column=Column(JSON, nullable=False))
    override_reason: str | None = Field(default=None, max_length=REASON_LENGTH)  # masked
    overridden: int = 0  # lines the sanity gate refused that the override let in
    overridden_lines: list[str] = Field(sa_column=Column(JSON, nullable=False))  # the first 50
    version: int | None = Field(default=None, unique=True)
    outcomes_changed: int = 0
    new_breaches: int = 0
    largest_change: dict[str, Any] | None = _json()


class SpecialCareAcceptance(SQLModel, table=True):
    """A client's explicit acceptance of a special-care offer (CN-MIS-07, 适当性办法 Art 20):
    at most one per offer, and one linked run that delivers the accepted plan."""

    __table_args__ = (UniqueConstraint("offer_run_id", name="uq_special_care_offer"),)
    id: int | None = Field(default=None, primary_key=True)
    offer_run_id: str = Field(foreign_key="run.id", max_length=64)
    run_id: str = Field(foreign_key="run.id", unique=True, max_length=64)  # the linked run
    client_id: str = Field(index=True, max_length=64)
    offered: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    offered_at: datetime  # when the letter with the offer was delivered
    accepted_at: datetime
    acknowledgement: str = Field(max_length=2000)  # the client's words, masked
    acknowledgement_hash: str = Field(max_length=64)  # SHA-256 of the acknowledgement as given
    accepted_by: str = Field(max_length=64)  # the principal (the firm's channel) that sent it
    callback: bool = False  # sampled for a follow-up call (回访)


class Callback(SQLModel, table=True):
    """A follow-up call (回访) an advisor owes a client after a special-care acceptance."""

    __table_args__ = (Index("ix_callback_queue", "status", "advisor_id", "created_at", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    acceptance_id: int = Field(foreign_key="specialcareacceptance.id", unique=True)
    run_id: str = Field(foreign_key="run.id", max_length=64)  # the linked (accepted) run
    client_id: str = Field(index=True, max_length=64)
    advisor_id: str | None = Field(default=None, max_length=64)  # None: the duty pool's
    status: str = Field(default="open", max_length=16)  # open, done
    outcome: str | None = Field(default=None, max_length=16)  # confirmed, concerns, unreachable
    note: str | None = Field(default=None, max_length=2000)  # masked
    done_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None
