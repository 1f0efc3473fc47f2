"""Settings: one BaseSettings read from TIERWISE_* environment variables, cached."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache
from itertools import pairwise
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.schemas.plan import CapacityFactor
from core.schemas.vocabulary import RISK_LEVELS, Goal, Jurisdiction, RiskLevel, Tier

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "sk-xxx", "your-api-key", "none", "empty"}


class TierPolicy(BaseModel):
    """AUM thresholds in CNY that split the three service tiers (DESIGN §2)."""

    mid_tier_from: float = 500_000
    hnw_from: float = 6_000_000

    def tier(self, aum: float) -> Tier:
        """The service tier from assets under management (DESIGN §2)."""
        if aum >= self.hnw_from:
            return "hnw"
        return "mid_tier" if aum >= self.mid_tier_from else "long_tail"

    @model_validator(mode="after")
    def _ordered(self) -> TierPolicy:
        if not 0 < self.mid_tier_from < self.hnw_from:
            raise ValueError("tier thresholds must satisfy 0 < mid_tier_from < hnw_from")
        return self


def _volatility_ceiling() -> dict[RiskLevel, float]:
    """DESIGN §4: the annual volatility ceiling of each effective risk level."""
    return {"C1": 0.01, "C2": 0.04, "C3": 0.10, "C4": 0.15, "C5": 0.20}


def _rising(
    word: str, plural: str, span: str, inside: Callable[[float], bool]
) -> Callable[[dict[RiskLevel, float]], dict[RiskLevel, float]]:
    """A validator of a per-level table: a value for every level, each `inside` its `span`,
    never lower for a higher level (DESIGN §4)."""

    def check(table: dict[RiskLevel, float]) -> dict[RiskLevel, float]:
        missing = [level for level in RISK_LEVELS if level not in table]
        if missing:
            raise ValueError(f"needs a {word} for every level C1-C5; missing {', '.join(missing)}")
        outside = [f"{level}={table[level]}" for level in RISK_LEVELS if not inside(table[level])]
        if outside:
            raise ValueError(f"{plural} are annual fractions in {span}: {', '.join(outside)}")
        for lower, higher in pairwise(RISK_LEVELS):
            if table[higher] < table[lower]:
                raise ValueError(f"{higher} ({table[higher]}) is below {lower} ({table[lower]})")
        return table

    return check


VolatilityCeiling = Annotated[
    dict[RiskLevel, float],
    AfterValidator(_rising("ceiling", "ceilings", "(0, 1]", lambda v: 0 < v <= 1)),
]


def _volatility_floor() -> dict[RiskLevel, float]:
    """The bottom of each level's band: what a client of that level with the least need and
    capacity aims at (README "Allocation"). The bands overlap; none sits below a lower one."""
    return {"C1": 0.0, "C2": 0.01, "C3": 0.03, "C4": 0.05, "C5": 0.07}


VolatilityFloor = Annotated[
    dict[RiskLevel, float],
    AfterValidator(_rising("floor", "floors", "[0, 1)", lambda v: 0 <= v < 1)),
]


def _class_caps() -> dict[RiskLevel, dict[str, float]]:
    """Asset-class caps that widen with the level: C4 and C5 may hold more of the classes with
    the highest expected returns, so a higher level can reach a higher volatility on the
    efficient frontier (issue 27: C5 came out as C4 under one set of caps)."""
    base = {"gold": 0.15, "us_equity": 0.25, "us_tech": 0.20, "cn_large_cap": 0.40,
            "cn_mid_cap": 0.30}  # fmt: skip
    c4 = {**base, "us_equity": 0.30, "us_tech": 0.25, "cn_mid_cap": 0.35}
    c5 = {"gold": 0.20, "us_equity": 0.40, "us_tech": 0.40, "cn_large_cap": 0.50,
          "cn_mid_cap": 0.45}  # fmt: skip
    return {"C1": base, "C2": base, "C3": base, "C4": c4, "C5": c5}


def _caps_widening(
    table: dict[RiskLevel, dict[str, float]],
) -> dict[RiskLevel, dict[str, float]]:
    """Caps in (0, 1] for every level; a class's cap never narrower at a higher level (a class
    a level leaves out is uncapped there)."""
    missing = [level for level in RISK_LEVELS if level not in table]
    if missing:
        raise ValueError(f"needs caps for every level C1-C5; missing {', '.join(missing)}")
    outside = [
        f"{lv} {c}={v}" for lv in RISK_LEVELS for c, v in table[lv].items() if not 0 < v <= 1
    ]
    if outside:
        raise ValueError(f"caps are fractions in (0, 1]: {', '.join(outside)}")
    for lower, higher in pairwise(RISK_LEVELS):
        for name, cap in table[lower].items():
            if table[higher].get(name, 1.0) < cap:
                raise ValueError(f"{higher} {name} ({table[higher].get(name)}) is below "
                                 f"{lower} ({cap})")  # fmt: skip
    return table


ClassCaps = Annotated[dict[RiskLevel, dict[str, float]], AfterValidator(_caps_widening)]


def _goal_range() -> dict[Goal, tuple[float, float]]:
    """The goal (need) as a range of positions in the band, (lowest, highest), 0 the floor and
    1 the ceiling; a goal further down this list never has a lower range."""
    return {
        "preservation": (0.0, 0.2),
        "income": (0.1, 0.45),
        "balanced": (0.25, 0.7),
        "growth": (0.4, 0.9),
        "aggressive_growth": (0.55, 1.0),
    }


def _capacity_weights() -> dict[CapacityFactor, float]:
    """The horizon weighs most: the issue's 2- and 12-year clients got one plan."""
    return {"horizon": 0.4, "age": 0.15, "liquidity": 0.15, "income": 0.15, "elsewhere": 0.15}


class RiskTargetPolicy(BaseModel):
    """Where in its level's band a client's volatility target sits (README "Allocation"): the
    goal picks a range of the band, capacity places the client in it."""

    # The goal (need) as a range of positions in the band, (lowest, highest), 0 the floor and
    # 1 the ceiling; a goal further down this list never has a lower range.
    goal_range: dict[Goal, tuple[float, float]] = Field(default_factory=_goal_range)
    # Capacity is the weighted mean of five scores in [0, 1]; the weights sum to 1.
    weights: dict[CapacityFactor, float] = Field(default_factory=_capacity_weights)
    full_horizon_years: float = Field(default=15, gt=1)  # 1 year scores 0, this many 1
    full_capacity_age: int = Field(default=35, ge=18)  # this age or younger scores 1
    no_capacity_age: int = Field(default=80, le=120)  # this age or older scores 0
    # The reserve beyond the emergency share, as a share of the assets, that scores 0.
    no_capacity_reserve: float = Field(default=0.45, gt=0, le=1)
    # Annual income (3-year average) over the assets here that scores 1.
    full_capacity_income: float = Field(default=0.5, gt=0)
    # The share of the client's financial assets held elsewhere that scores 1.
    full_capacity_elsewhere: float = Field(default=0.75, gt=0, le=1)

    @model_validator(mode="after")
    def _coherent(self) -> RiskTargetPolicy:
        for goal, (low, high) in self.goal_range.items():
            if not 0 <= low <= high <= 1:
                raise ValueError(f"goal_range {goal}: need 0 <= {low} <= {high} <= 1")
        goals = list(get_args(Goal))
        if set(self.goal_range) != set(goals):
            raise ValueError(f"goal_range needs every goal: {', '.join(goals)}")
        for lower, higher in pairwise(goals):
            a, b = self.goal_range[lower], self.goal_range[higher]
            if b[0] < a[0] or b[1] < a[1]:
                raise ValueError(f"goal_range {higher} {b} is below {lower} {a}")
        factors = list(get_args(CapacityFactor))
        if set(self.weights) != set(factors) or min(self.weights.values()) < 0:
            raise ValueError(f"weights needs every factor, none negative: {', '.join(factors)}")
        if abs(sum(self.weights.values()) - 1) > 1e-9:
            raise ValueError(f"weights sum to {sum(self.weights.values())}, not 1")
        if self.no_capacity_age <= self.full_capacity_age:
            raise ValueError("no_capacity_age must be above full_capacity_age")
        return self


HouseProducts = Literal["preferred", "neutral", "excluded"]


def _bands_rising(bands: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """AUM bands in rising order, each allowing at least one product and no fewer than the last."""
    for aum, count in bands:
        if aum <= 0 or count < 1:
            raise ValueError(f"a product band needs an AUM above 0 and a count of 1 or more: {aum}")
    for (low, few), (high, many) in pairwise(bands):
        if high <= low or many < few:
            raise ValueError(f"product bands must rise: ({low}, {few}) then ({high}, {many})")
    return bands


class AllocationPolicy(BaseModel):
    """Constraints the allocation agent builds every plan with (configurable policy)."""

    # What the allocation aims under; never above the gate's ceiling (Settings refuses that).
    volatility_ceiling: VolatilityCeiling = Field(default_factory=_volatility_ceiling)
    # The bottom of each level's band; with the ceiling, the band the target is placed in.
    volatility_floor: VolatilityFloor = Field(default_factory=_volatility_floor)
    risk_target: RiskTargetPolicy = Field(default_factory=RiskTargetPolicy)
    max_single_product: float = Field(default=0.40, gt=0, le=1)
    max_single_non_diversified: float = Field(default=0.20, gt=0, le=1)
    emergency_reserve_share: float = Field(default=0.05, ge=0, le=1)
    # The minimum position: no product is held below this share of the plan (no 0.4% slivers).
    # The liquidity reserve is held at least at this share too, so it needs no exception.
    min_weight: float = Field(default=0.02, ge=0, lt=0.2)
    # Products a plan may hold, by AUM band: (under this AUM in CNY, at most this many), then
    # max_products_above for every larger AUM. The smallest position goes first, and the plan
    # is solved again without it.
    max_products: Annotated[list[tuple[float, int]], AfterValidator(_bands_rising)] = Field(
        default_factory=lambda: [(200_000.0, 4), (1_000_000.0, 6), (5_000_000.0, 8)]
    )
    max_products_above: int = Field(default=10, ge=1, le=100)
    # Among look-alikes (products that track one index): the firm's own product first
    # (preferred), left out when a look-alike exists (excluded), or no say (neutral: total fee,
    # then liquidity decide). Recorded on every plan.
    house_products: HouseProducts = "neutral"
    min_trade_cny: float = Field(default=100.0, ge=0)
    transaction_cost: float = Field(default=0.002, ge=0, le=0.05)
    # A client's "more bonds" / "less equity" moves that share by this much, unless they named one.
    request_step: float = Field(default=0.05, gt=0, le=0.5)
    # A client's "safer" aims the plan's volatility this fraction below the plan without it.
    request_risk_cut: float = Field(default=0.25, gt=0, lt=1)
    # Per level: the most of a plan one asset class may take.
    asset_class_caps: ClassCaps = Field(default_factory=_class_caps)

    def band(self, level: RiskLevel) -> tuple[float, float]:
        """The level's volatility band: (floor, ceiling)."""
        return self.volatility_floor[level], self.volatility_ceiling[level]

    @model_validator(mode="after")
    def _floors_under_ceilings(self) -> AllocationPolicy:
        above = [
            f"{lv} {self.volatility_floor[lv]} > {self.volatility_ceiling[lv]}"
            for lv in RISK_LEVELS
            if self.volatility_floor[lv] > self.volatility_ceiling[lv]
        ]
        if above:
            raise ValueError("volatility_floor is above volatility_ceiling: " + ", ".join(above))
        return self

    def product_limit(self, aum: float) -> int:
        """How many products a plan for this AUM may hold."""
        return next((n for under, n in self.max_products if aum < under), self.max_products_above)

    @model_validator(mode="after")
    def _above_the_last_band(self) -> AllocationPolicy:
        if self.max_products and self.max_products_above < self.max_products[-1][1]:
            raise ValueError("max_products_above is below the last band's count")
        return self


class CompliancePolicy(BaseModel):
    """Thresholds the compliance rules check against (COMPLIANCE.md §2-§8 defaults, [P] policy)."""

    jurisdiction: Jurisdiction = "CN"
    kill_switch: bool = False
    # TW-VOL-01: no plan's expected volatility above its client's level's ceiling.
    volatility_ceiling: VolatilityCeiling = Field(default_factory=_volatility_ceiling)
    # SYS-02: a client who can bear no loss gets an advisor's sign-off, whatever their tier.
    lowest_category_signoff: bool = True
    assessment_valid_months: int = Field(default=24, gt=0)
    weight_tolerance: float = Field(default=1e-6, gt=0)
    max_single_product: float = Field(default=0.40, gt=0, le=1)
    single_security_escalate: float = Field(default=0.10, gt=0, le=1)
    single_security_block: float = Field(default=0.20, gt=0, le=1)
    max_single_issuer: float = Field(default=0.15, gt=0, le=1)
    max_single_non_diversified: float = Field(default=0.20, gt=0, le=1)
    max_single_sector: float = Field(default=0.30, gt=0, le=1)
    max_illiquid_share: float = Field(default=0.20, ge=0, le=1)
    senior_age: int = Field(default=65, gt=0)
    senior_max_illiquid_share: float = Field(default=0.10, ge=0, le=1)
    elderly_age: int = Field(default=70, gt=0)
    elderly_max_lockup_years: float = Field(default=3, gt=0)
    max_turnover: float = Field(default=6.0, gt=0)
    cooling_off_hours: int = Field(default=24, ge=0)
    eur_cny: float = Field(default=7.8, gt=0)
    number_tolerance_pp: float = Field(default=0.1, ge=0)
    # TW-REQ-04: how far a plan may move a share against the client's own wish (the share of
    # what they asked less of rose, or of what they asked more of fell) before an advisor must
    # see it. Above the weights' rounding (a tenth of a point), so only a real move counts.
    request_against_max: float = Field(default=0.05, ge=0.01, le=1)


class SpecialCarePolicy(BaseModel):
    """How a long-tail ordinary investor whose plan would hold R4/R5 is served (CN-MIS-07,
    适当性办法 Art 20; issue 28). `procedure`: the plan is capped at R3 and delivered at once,
    and the R4/R5 sleeve is offered in the letter, accepted explicitly after the cooling-off
    (compliance.cooling_off_hours) and delivered as a linked plan. `advisor`: the plan holds
    R4/R5 and waits for the client's advisor, as before. Mid-tier and HNW clients always keep
    their advisor."""

    mode: Literal["advisor", "procedure"] = "procedure"
    # The share of acceptances an advisor calls back (回访), sampled deterministically.
    callback_share: float = Field(default=0.2, ge=0, le=1)


class DutyPolicy(BaseModel):
    """The duty pool (值班投顾): reviews whose client has no advisor wait there until an
    advisor on duty claims one (core/services/approvals.claim)."""

    # True: the claimant becomes the client's advisor of record; False: they decide this
    # review (and the run's later rounds) only.
    claimant_becomes_advisor: bool = False


class PricePolicy(BaseModel):
    """The sanity gate every price import passes (README "Service effect"): beyond these, the
    import is refused with the lines named, unless overridden with a reason (audited)."""

    # Close to close between two price days of a product, either way, as a fraction. Shanghai
    # and Shenzhen cap most funds' daily move at 10%; a move past this is a typo or a unit error.
    # Under 1: no fall passes 100%, so from 1 on no fall would ever be refused.
    max_daily_move: float = Field(default=0.40, gt=0, lt=1)
    # Calendar days a row may run past the last day most other shelf products have prices on:
    # further, and those products would be missing from every outcome measured to it (a close
    # more than 10 days before `to` no longer prices a product).
    max_days_ahead: int = Field(default=10, ge=0, le=366)


class ModelPrice(BaseModel):
    """CNY per 1,000 tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class OpenAISettings(BaseModel):
    """How to talk to an OpenAI-compatible endpoint (OpenAI, DeepSeek, Qwen, vLLM, Ollama)."""

    structured_output: Literal["json_schema", "json_object", "tagged"] = "json_schema"
    timeout_seconds: float = Field(default=60, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=10)
    max_reasks: int = Field(default=2, ge=0, le=5)
    backoff_max_seconds: float = Field(default=20, gt=0)
    run_deadline_seconds: float = Field(default=300, gt=0)
    temperature: float = Field(default=0.2, ge=0, le=2)
    max_tokens: int = Field(default=2048, gt=0)
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    cache_dir: str | None = None
    cache_mode: Literal["off", "record", "replay"] = "off"


class Settings(BaseSettings):
    """Everything configurable, from TIERWISE_* variables (nested with __)."""

    # validate_by_name: the two OpenAI fields, read from either of two variables, are also
    # set by their field names in code, as in Settings(openai_api_key=...).
    model_config = SettingsConfigDict(
        env_prefix="TIERWISE_", env_nested_delimiter="__", extra="ignore", validate_by_name=True
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./tierwise.db"
    llm: Literal["offline", "openai"] = "offline"
    model: str = "offline-v1"
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "TIERWISE_OPENAI_BASE_URL")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "TIERWISE_OPENAI_API_KEY")
    )
    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    max_revisions: int = Field(default=2, ge=0, le=5)
    lease_seconds: float = Field(default=60, gt=0)
    rate_limit: str = "600/minute"  # per token, in the `limits` notation
    rate_limit_storage: str = "memory://"  # redis://127.0.0.1:6379 shares it across processes
    sweep_interval_seconds: float = Field(default=15, gt=0)
    # Serving under load (README "Limits"): every bound below is one of these settings.
    request_threads: int = Field(default=40, ge=1, le=1000)  # sync handlers run on these
    run_workers: int = Field(default=2, ge=1, le=64)  # new runs executed in-process
    # Decisions resume on threads of their own: a signed-off plan never waits behind new runs.
    resume_workers: int = Field(default=2, ge=1, le=64)
    pool_timeout_seconds: float = Field(default=30, gt=0)  # wait for a database connection
    max_in_flight: int = Field(default=256, ge=1)  # requests being handled; beyond, 503
    max_streams_per_token: int = Field(default=8, ge=1)  # open event streams; beyond, 429
    header_timeout_seconds: float = Field(default=5, gt=0)  # a request's head must arrive in this
    keep_alive_seconds: float = Field(default=5, gt=0)  # an idle kept-alive connection closes
    # A connection whose client takes none of its pending response for this long is dropped.
    write_timeout_seconds: float = Field(default=30, gt=0)
    # A list page stops before the item that would take its body past this; its `next` goes on
    # from that item (a single item larger than this is a page of its own).
    max_page_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    auth_failure_limit: str = "30/minute"  # bad tokens per client address; beyond, 429
    sign_in_limit: str = "10/minute"  # failed inbox sign-ins per client address; beyond, 429
    # Reverse proxies (addresses or networks) whose X-Forwarded-For and -Proto are believed, comma
    # separated. Empty, the default, believes none: anyone could otherwise name any address and
    # escape the per-address limits above.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    inbox_session_hours: float = Field(default=8, gt=0)
    # The inbox shows how long each plan has waited for review against this target.
    review_target_hours: float = Field(default=24, gt=0, le=8760)
    # A read of outcomes measures the stale ones itself when no more than this many are stale
    # (new deliveries); more (after a price import) are left to the API's background refresher.
    outcome_refresh_inline: int = Field(default=200, ge=0)
    # The task engine (DESIGN §9): unset, runs execute in the serving or batch process; set
    # (amqp://guest:guest@127.0.0.1:5672//), API processes enqueue and `tierwise worker`
    # processes execute runs, resumes and batch items.
    broker_url: str | None = None
    # Queue names start with this, so two deployments (or two tests) on one broker never meet.
    queue_prefix: str = Field(default="tierwise", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    # RabbitMQ closes a channel holding an unacknowledged message longer than this (its
    # consumer_timeout, 30 minutes by default); a task's hard time limit stays under it.
    broker_consumer_timeout_seconds: float = Field(default=1800, gt=0)
    batch_workers: int = Field(default=2, ge=1, le=64)  # embedded: batch items run on these
    # A batch item started this many times (each crash or redelivery is one) fails with why.
    batch_max_attempts: int = Field(default=3, ge=1, le=20)
    tiers: TierPolicy = Field(default_factory=TierPolicy)
    allocation: AllocationPolicy = Field(default_factory=AllocationPolicy)
    compliance: CompliancePolicy = Field(default_factory=CompliancePolicy)
    prices: PricePolicy = Field(default_factory=PricePolicy)
    special_care: SpecialCarePolicy = Field(default_factory=SpecialCarePolicy)
    duty: DutyPolicy = Field(default_factory=DutyPolicy)
    firm_name_zh: str = "Tierwise证券"
    firm_name_en: str = "Tierwise Securities"
    session_secret: SecretStr = SecretStr("dev-only-inbox-session-secret")
    # Keys the audit chain (HMAC); kept out of the database so a chain cannot be recomputed.
    audit_key: SecretStr = SecretStr("dev-only-audit-chain-key")

    @property
    def db_connections(self) -> int:
        """Database connections this process may use at once: one per request thread, two per
        run, resume or batch thread (the run and its lease heartbeat) and six for the sweeper,
        its heartbeat, the worker beat, an eval, the batch driver and the outcome refresher.
        None is held while waiting for another, so a wait is never a deadlock."""
        return self.request_threads + 2 * self.run_threads + 6

    @property
    def run_threads(self) -> int:
        """Threads that may execute a run at once: new runs, resumes and embedded batch items."""
        return self.run_workers + self.resume_workers + self.batch_workers

    @property
    def stalled_seconds(self) -> float:
        """A run with no progress for this long is hung: a step waits on the model at most until
        the run's deadline, then falls back offline; two leases more are its margin. Its lease
        heartbeat gives up then, and a task-engine task is told to stop."""
        return self.openai.run_deadline_seconds + 2 * self.lease_seconds

    @property
    def task_time_limit_seconds(self) -> float:
        """A task's hard limit: a lease after it was told to stop, for its lease to lapse."""
        return self.stalled_seconds + self.lease_seconds

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> object:
        """Each proxy an address or a network, normalised; "*" and names are refused, since
        uvicorn would trust everyone, or silently no one."""
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple):
            return value  # pydantic names the wrong type
        return tuple(_proxy(str(entry).strip()) for entry in value if str(entry).strip())

    @model_validator(mode="after")
    def _under_consumer_timeout(self) -> Settings:
        """A task's hard time limit (the model's deadline and three leases) stays under the
        broker's consumer timeout, or RabbitMQ would close the channel of a task still running
        and deliver its message again."""
        limit = self.task_time_limit_seconds
        if limit >= self.broker_consumer_timeout_seconds:
            raise ValueError(
                f"a task may run {limit:.0f}s (openai.run_deadline_seconds + 3 x lease_seconds), "
                f"not under broker_consumer_timeout_seconds "
                f"({self.broker_consumer_timeout_seconds:.0f}s)"
            )
        return self

    @model_validator(mode="after")
    def _aims_within_the_gate(self) -> Settings:
        """The allocation never aims above the ceiling the gate holds plans to (TW-VOL-01):
        it would aim at one figure and be sent back to the other, a revision in every run."""
        aimed, gate = self.allocation.volatility_ceiling, self.compliance.volatility_ceiling
        above = [f"{c} {aimed[c]} > {gate[c]}" for c in RISK_LEVELS if aimed[c] > gate[c]]
        if above:
            raise ValueError(
                "allocation.volatility_ceiling is above compliance.volatility_ceiling: "
                + ", ".join(above)
            )
        return self

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> Settings:
        """Outside development, a real provider needs a real key."""
        if self.environment == "production" and self.llm == "openai":
            key = self.openai_api_key.get_secret_value() if self.openai_api_key else ""
            if key.strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError("OPENAI_API_KEY is a placeholder; set the real key in production")
        if self.environment == "production" and self.session_secret.get_secret_value().startswith(
            "dev-only"
        ):
            raise ValueError("TIERWISE_SESSION_SECRET is the development default; set a real one")
        audit_key = self.audit_key.get_secret_value()
        if self.environment == "production" and (
            audit_key.startswith("dev-only") or audit_key.strip().lower() in PLACEHOLDER_SECRETS
        ):
            raise ValueError("TIERWISE_AUDIT_KEY is a placeholder; set a real one")
        return self


def _proxy(entry: str) -> str:
    """One trusted proxy as uvicorn reads it: an IP address, or a network without host bits."""
    try:
        if "/" in entry:
            return str(ipaddress.ip_network(entry))
        return str(ipaddress.ip_address(entry))
    except ValueError as exc:
        raise ValueError(
            f"trusted_proxies: {entry!r} is not an IP address or network ({exc}); list the "
            "proxies' own addresses, such as 10.0.0.5 or 10.0.0.0/24"
        ) from exc


@lru_cache
def get_settings() -> Settings:
    """The one settings instance of this process."""
    return Settings()
